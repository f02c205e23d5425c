"""Attention kernels: FlashAttention-style prefill and bandwidth-bound decode, on the chip's own
execution model (kernels/execution.py).

Prefill (context) attention computes query-key `pairs` (causal, windowed and chunked masks are
already counted by the caller). The work is cut into items, one q tile of one head, each
walking its KV tiles: per KV tile the two matmuls (QK^T, PV) on the matrix unit and the
softmax exponentials on the special-function/vector unit. FlashAttention-3 (Shah et al. 2024)
overlaps the two by ping-pong scheduling of warpgroups and software pipelining inside one, so a
tile costs max(matmul, exp) + (1 - overlap) x min(matmul, exp) (`stack.softmax_overlap`; 1 = fully
hidden). Items are scheduled longest-first over the units (FA3's persistent tile scheduler), so the
body takes max(all items' work / units, the longest item); an item also pays a fixed prologue and
epilogue (load Q, normalize and write O).
- GPU: 128 x 128 tiles over the SMs; the item fixed cost is the stack's `attention_block_latency_s`;
  RoPE and the KV-cache write are a separate memory pass; the kernels' launches are paid.
- Systolic / SRAM-streaming: tiles are the arrays' tile_m x tile_n over the few arrays, the item
  fixed cost is the array fill, the vector units run the softmax beside the arrays, the
  compiler fuses RoPE and the cache write into the layer, and there is no launch.

Decode reads every cached token of every sequence once per step. Time is the larger of the bytes
over achievable bandwidth and the compute (matmuls and exponentials), plus on a GPU one fixed
latency per wave of thread blocks (one block per sequence and KV head: the pipeline fill of a
block, two dependent off-chip round trips, what dominates at short contexts and many sequences)
and the launches. A compiler-scheduled
chip streams the KV cache through its SRAM with DMA: no block waves, one memory round trip to fill
the stream; its arrays hold the few query rows of a KV group and take the cached values in at one
contraction row (tile_n values) per MAC cycle, so their intake rate, not their FLOPs, is the
compute bound.

The formulas are written once (`prefill_time`, `decode_time`) over scalars or numpy arrays: the
vectorized op costs here and the serving hot path (engine/fast_step.py) call the same functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jalapeno.hardware.spec import ChipSpec
from jalapeno.kernels.cost import COMPUTE, LATENCY, MEMORY, OpCost, pick_bound
from jalapeno.kernels.execution import array_fill_s, exp_per_s, is_compiler_scheduled, unit_flops
from jalapeno.stacks import StackProfile

Q_TILE = 128  # GPU FlashAttention q and KV tile (FA2/FA3 hdim-128 kernels)
# Kernel launches per attention op on a GPU: prefill = QKV preprocessing (RoPE, KV-cache write),
# the fused attention kernel, and output handling; decode = preprocessing and the decode kernel.
PREFILL_LAUNCHES = 3
DECODE_LAUNCHES = 2
# A decode thread block's pipeline fill: two dependent off-chip round trips (its query and page
# table, then the first KV page) before its stream runs. On H100 (600 ns) that is 1.2 us; a free
# fit to the H100 decode rows gives 1.4 us per wave.
_DECODE_ROUND_TRIPS = 2.0
# Bytes a separate RoPE / KV-cache-write pass moves per (token, head, dim): bf16 read and write.
_PRE_BYTES = 4.0


def attention_format(compute_fmt: str, stack: StackProfile) -> str:
    """The format prefill attention's matmuls run in: fp8 with fp8/fp4 weights on a stack with fp8
    attention kernels, else bf16."""
    return "fp8" if (compute_fmt in ("fp8", "fp4") and stack.fp8_attention) else "bf16"


def exp_rate(chip: ChipSpec, stack: StackProfile) -> float:
    """Softmax exponentials per second the chip sustains in attention."""
    return exp_per_s(chip) * stack.attention_efficiency


@dataclass(frozen=True)
class PrefillKernel:
    """Constants of prefill attention on one chip, stack and matmul format."""

    units: float
    q_tile: float
    kv_tile: float
    item_fixed_s: float  # prologue + epilogue of one (q tile, head) item
    mm_tile_s_per_dim: float  # both matmuls of one q x kv tile, per unit of (qk_dim + v_dim)
    exp_tile_s: float  # the exponentials of one tile on one unit
    overlap: float
    bw: float  # achievable off-chip bytes/s
    pre_pass: float  # 1.0: RoPE and the KV-cache write are their own memory pass
    fixed_s: float  # launches (GPU) or stream fill (compiler-scheduled)

    @staticmethod
    def on(chip: ChipSpec, stack: StackProfile, fmt: str) -> PrefillKernel:
        eff = stack.attention_efficiency
        sched = is_compiler_scheduled(chip)
        q = float(chip.matrix.tile_m if sched else Q_TILE)
        kv = float(chip.matrix.tile_n if sched else Q_TILE)
        units = float(chip.matrix.units)
        fill = array_fill_s(chip)
        return PrefillKernel(
            units=units, q_tile=q, kv_tile=kv,
            item_fixed_s=fill if sched else stack.attention_block_latency_s,
            mm_tile_s_per_dim=2.0 * q * kv / (unit_flops(chip, fmt) * eff),
            exp_tile_s=q * kv / (exp_per_s(chip) / units * eff),
            overlap=stack.softmax_overlap,
            bw=chip.main_memory.bandwidth_gb_s * 1e9 * stack.memory_efficiency,
            pre_pass=0.0 if sched else 1.0,
            fixed_s=fill if sched else stack.kernel_overhead_s * PREFILL_LAUNCHES)

    def tile_s(self, dims: float) -> float:
        """One q x kv tile on one unit: matmuls and exponentials, overlapped as far as the kernel can."""
        mm, ex = self.mm_tile_s_per_dim * dims, self.exp_tile_s
        return max(mm, ex) + (1.0 - self.overlap) * min(mm, ex)


def prefill_time(k: PrefillKernel, seqs, tokens, pairs, read, heads, kv_heads, qk, v, kv_bytes,
                 mx=max, ceil=math.ceil):
    """(time, off-chip bytes, FLOPs, body, memory time) of prefill attention; `seqs` > 0. Scalars
    with the defaults, numpy arrays with mx=np.maximum, ceil=np.ceil."""
    dims = qk + v
    items = seqs * heads * ceil(tokens / seqs / k.q_tile)
    tiles = heads * pairs / (k.q_tile * k.kv_tile) + 0.5 * items  # diagonal tiles run half masked
    t_tile = k.tile_s(dims)
    longest = k.item_fixed_s + ceil(read / seqs / k.kv_tile) * t_tile
    body = mx((items * k.item_fixed_s + tiles * t_tile) / k.units, longest)
    fmha_bytes = tokens * heads * dims * 2.0 + read * kv_heads * dims * kv_bytes
    pre_bytes = k.pre_pass * tokens * (heads + 2 * kv_heads) * qk * _PRE_BYTES
    mem = fmha_bytes / k.bw
    pre = pre_bytes / k.bw
    return (k.fixed_s + pre + mx(body, mem), fmha_bytes + pre_bytes, 2.0 * heads * pairs * dims,
            body, mem + pre)


def prefill_attention_cost(chip: ChipSpec, stack: StackProfile, seqs, tokens, pairs, kv_tokens_read,
                           heads: int, kv_heads: int, qk_dim: int, v_dim: int, kv_bytes: float,
                           compute_fmt: str = "bf16") -> OpCost:
    """Attention over `tokens` new query tokens in `seqs` sequences.

    `pairs`: query-key pairs per head actually computed (after causal/window masking).
    `kv_tokens_read`: cached plus new tokens whose K and V are read (per KV head).
    """
    seqs, tokens, pairs, read = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(x, dtype=float)) for x in (seqs, tokens, pairs, kv_tokens_read)))
    active = tokens > 0
    # A steady-state step carrying a fraction of a prompt (seqs < 1: B/OSL new prompts per step)
    # stands for steps that carry whole chunks that often: cost one chunk, times its share.
    share = np.where(seqs < 1.0, np.maximum(seqs, 1e-9), 1.0)
    seqs, tokens, pairs, read = (x / share for x in (np.maximum(seqs, 1e-9), tokens, pairs, read))
    k = PrefillKernel.on(chip, stack, attention_format(compute_fmt, stack))
    t, hbm, flops, body, mem = prefill_time(k, seqs, tokens, pairs, read, heads, kv_heads, qk_dim, v_dim,
                                            kv_bytes, mx=np.maximum, ceil=np.ceil)
    time = np.where(active, t * share, 0.0)
    hbm, flops = hbm * share, flops * share
    fixed = np.where(active, k.fixed_s * share, 0.0)
    bound = pick_bound(fixed, (COMPUTE, body * share), (MEMORY, mem * share))
    z = np.zeros_like(time)
    launches = np.where(active, 0.0 if is_compiler_scheduled(chip) else PREFILL_LAUNCHES * share, 0.0)
    return OpCost(time, flops, hbm, z, z.copy(), bound, fixed_s=fixed, launches=launches)


@dataclass(frozen=True)
class DecodeKernel:
    """Constants of decode attention on one chip and stack, for one KV-cache width."""

    slots: float  # thread blocks in flight at once (GPU); inf on a compiler-scheduled chip
    block_s: float  # fixed latency of one wave of blocks (GPU); 0 on a compiler-scheduled chip
    bw: float
    flops_rate: float  # attention matmul FLOP/s (GPU tensor cores); inf on a compiler-scheduled chip
    stream_rate: float  # cached values/s the arrays take in (compiler-scheduled); inf on a GPU
    exp_rate: float
    fixed_s: float
    overlap: float  # share of the shorter of matmul and exponentials hidden under the longer

    @staticmethod
    def on(chip: ChipSpec, stack: StackProfile, kv_bytes: float = 2.0) -> DecodeKernel:
        eff = stack.attention_efficiency
        if is_compiler_scheduled(chip):
            # The cached keys (then values) of one sequence stream through an array against the few
            # query rows of their KV group, one contraction row of tile_n values per MAC cycle: the
            # array takes in peak / (2 tile_n) values per second, whatever the group size.
            fmt = "fp8" if kv_bytes <= 1.0 else "bf16"
            return DecodeKernel(
                slots=math.inf, block_s=0.0, bw=chip.main_memory.bandwidth_gb_s * 1e9 * stack.memory_efficiency,
                flops_rate=math.inf, stream_rate=chip.peak_flops(fmt) / (2.0 * chip.matrix.tile_n),
                exp_rate=exp_rate(chip, stack),
                fixed_s=chip.main_memory.latency_ns * 1e-9 + array_fill_s(chip), overlap=stack.softmax_overlap)
        return DecodeKernel(
            slots=float(chip.matrix.units * stack.blocks_per_unit),
            block_s=_DECODE_ROUND_TRIPS * chip.main_memory.latency_ns * 1e-9,
            bw=chip.main_memory.bandwidth_gb_s * 1e9 * stack.memory_efficiency,
            flops_rate=chip.peak_flops("bf16") * eff, stream_rate=math.inf,
            exp_rate=exp_rate(chip, stack),
            fixed_s=stack.kernel_overhead_s * DECODE_LAUNCHES, overlap=stack.softmax_overlap)


def decode_time(k: DecodeKernel, seqs, ctx, heads, kv_heads, qk, v, kv_values, kv_bytes,
                queries_per_seq: float = 1.0, mx=max, ceil=math.ceil):
    """(time, off-chip bytes, FLOPs, memory time, compute time, block waves) of decode attention;
    `seqs` > 0. `ctx`: attended cached tokens summed over the sequences (times queries_per_seq when
    several tokens per sequence are verified at once). Scalars with the defaults, numpy arrays with
    mx=np.maximum, ceil=np.ceil."""
    dims = qk + v
    hbm = ctx * kv_values * kv_bytes + seqs * queries_per_seq * heads * dims * 2.0
    flops = 2.0 * heads * ctx * dims
    t_mem = hbm / k.bw
    t_mm = flops / k.flops_rate + ctx * kv_values / k.stream_rate
    t_exp = heads * ctx / k.exp_rate
    longer = mx(t_mm, t_exp)
    t_comp = longer + (1.0 - k.overlap) * (t_mm + t_exp - longer)
    t_blocks = ceil(seqs * kv_heads / k.slots) * k.block_s
    return k.fixed_s + mx(t_mem, t_comp) + t_blocks, hbm, flops, t_mem, t_comp, t_blocks


def decode_attention_cost(chip: ChipSpec, stack: StackProfile, seqs, context_tokens, heads: int,
                          kv_heads: int, qk_dim: int, v_dim: int, kv_values_per_token: float,
                          kv_bytes: float) -> OpCost:
    """One new token for each of `seqs` sequences attending to `context_tokens` cached tokens in all.

    `kv_values_per_token`: cached numbers per token on this chip for this layer (2*kv_heads*dim,
    or the MLA latent width).
    """
    seqs, ctx = np.broadcast_arrays(np.atleast_1d(np.asarray(seqs, dtype=float)),
                                    np.atleast_1d(np.asarray(context_tokens, dtype=float)))
    active = seqs > 0
    k = DecodeKernel.on(chip, stack, kv_bytes)
    t, hbm, flops, t_mem, t_comp, t_blocks = decode_time(k, seqs, ctx, heads, kv_heads, qk_dim, v_dim,
                                                         kv_values_per_token, kv_bytes, mx=np.maximum, ceil=np.ceil)
    time = np.where(active, t, 0.0)
    fixed = np.where(active, k.fixed_s, 0.0)
    bound = pick_bound(fixed + t_blocks, (MEMORY, t_mem), (COMPUTE, t_comp))
    bound = np.where((bound == LATENCY) | (t_blocks > np.maximum(t_mem, t_comp)), LATENCY, bound)
    z = np.zeros_like(time)
    launches = np.where(active, 0.0 if is_compiler_scheduled(chip) else DECODE_LAUNCHES, 0.0)
    return OpCost(time, flops, hbm, z, z.copy(), bound, fixed_s=fixed, launches=launches)
