"""Attention kernels: FlashAttention-style prefill and bandwidth-bound decode.

Prefill (context) attention computes query-key `pairs` (causal, windowed and chunked masks are
already counted by the caller) in q-tiles of 128 rows per head, spread over the engines in waves;
it is compute bound at long prompts and latency bound at short ones.

Decode reads every cached token of every sequence once per step: one thread block per
(sequence, KV head) streams that head's keys and values. Time is the larger of the bytes over
achievable bandwidth and the block waves times a per-block fixed latency (the pipeline fill of a
block: what dominates at short contexts and many sequences).
"""

from __future__ import annotations

import numpy as np

from jalapeno.hardware.spec import ChipSpec
from jalapeno.kernels.cost import COMPUTE, LATENCY, MEMORY, OpCost, pick_bound
from jalapeno.stacks import StackProfile

Q_TILE = 128
# Kernel launches per attention op: prefill = QKV preprocessing (RoPE, KV-cache write), the
# fused attention kernel, and output handling; decode = preprocessing and the decode kernel.
PREFILL_LAUNCHES = 3
DECODE_LAUNCHES = 2
# Special-function (exp) throughput relative to the fp32 FMA FLOP rate: an NVIDIA SM has 16 SFU
# lanes beside 128 FP32 lanes (2 FLOPs per FMA), so 16 / 256 (Hopper whitepaper; FlashAttention-3,
# Shah et al. 2024: H100's 989 TFLOPS of matmul face only 3.9 TFLOPS of exponentials).
EXP_SHARE_OF_VECTOR = 1.0 / 16


def attention_format(compute_fmt: str, stack: StackProfile) -> str:
    """The format prefill attention's matmuls run in: fp8 with fp8/fp4 weights on a stack with fp8
    attention kernels, else bf16."""
    return "fp8" if (compute_fmt in ("fp8", "fp4") and stack.fp8_attention) else "bf16"


def exp_rate(chip: ChipSpec, stack: StackProfile) -> float:
    """Softmax exponentials per second the chip sustains in attention."""
    return chip.vector.peak_tflops * 1e12 * EXP_SHARE_OF_VECTOR * stack.attention_efficiency


def prefill_attention_cost(chip: ChipSpec, stack: StackProfile, seqs, tokens, pairs, kv_tokens_read,
                           heads: int, kv_heads: int, qk_dim: int, v_dim: int, kv_bytes: float,
                           compute_fmt: str = "bf16") -> OpCost:
    """Attention over `tokens` new query tokens in `seqs` sequences.

    `pairs`: query-key pairs per head actually computed (after causal/window masking).
    `kv_tokens_read`: cached plus new tokens whose K and V are read (per KV head).
    """
    seqs, tokens, pairs = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(x, dtype=float)) for x in (seqs, tokens, pairs)))
    seqs = np.maximum(seqs, 1e-9)
    fmt = attention_format(compute_fmt, stack)
    flops = 2.0 * heads * pairs * (qk_dim + v_dim)
    peak = chip.peak_flops(fmt) * stack.attention_efficiency
    blocks = seqs * heads * np.ceil(tokens / seqs / Q_TILE)
    units = chip.matrix.units
    wave_factor = np.where(blocks > 0, np.ceil(blocks / units) * units / np.maximum(blocks, 1e-9), 1.0)
    # The exponentials of the softmax and the two matmuls share each block's critical path; the
    # overlap FlashAttention-3 gets between them is partial, so they add (with fp8 matmuls the
    # exponentials become the larger share, why fp8 attention is far from 2x faster).
    t_compute = (flops / peak + heads * pairs / exp_rate(chip, stack)) * wave_factor
    t_blocks = np.ceil(blocks / units) * stack.attention_block_latency_s
    hbm = (tokens * heads * (qk_dim + v_dim) * 2.0
           + np.asarray(kv_tokens_read, dtype=float) * kv_heads * (qk_dim + v_dim) * kv_bytes)
    t_mem = hbm / (chip.main_memory.bandwidth_gb_s * 1e9 * stack.memory_efficiency)
    overhead = np.where(tokens > 0, stack.kernel_overhead_s * PREFILL_LAUNCHES, 0.0)
    time = np.where(tokens > 0, np.maximum(np.maximum(t_compute, t_mem), t_blocks) + overhead, 0.0)
    bound = pick_bound(overhead, (COMPUTE, t_compute), (MEMORY, t_mem), (LATENCY, t_blocks))
    z = np.zeros_like(time)
    return OpCost(time, flops, hbm, z, z.copy(), bound)


def decode_attention_cost(chip: ChipSpec, stack: StackProfile, seqs, context_tokens, heads: int,
                          kv_heads: int, qk_dim: int, v_dim: int, kv_values_per_token: float,
                          kv_bytes: float) -> OpCost:
    """One new token for each of `seqs` sequences attending to `context_tokens` cached tokens in all.

    `kv_values_per_token`: cached numbers per token on this chip for this layer (2*kv_heads*dim,
    or the MLA latent width).
    """
    seqs, ctx = np.broadcast_arrays(np.atleast_1d(np.asarray(seqs, dtype=float)),
                                    np.atleast_1d(np.asarray(context_tokens, dtype=float)))
    hbm = ctx * kv_values_per_token * kv_bytes + seqs * heads * (qk_dim + v_dim) * 2.0
    t_mem = hbm / (chip.main_memory.bandwidth_gb_s * 1e9 * stack.memory_efficiency)
    blocks = seqs * kv_heads
    waves = np.ceil(blocks / (chip.matrix.units * stack.blocks_per_unit))
    t_blocks = waves * stack.attention_block_latency_s
    flops = 2.0 * heads * ctx * (qk_dim + v_dim)
    t_compute = flops / (chip.peak_flops("bf16") * stack.attention_efficiency)
    overhead = np.where(seqs > 0, stack.kernel_overhead_s * DECODE_LAUNCHES, 0.0)
    time = np.where(seqs > 0, np.maximum(np.maximum(t_mem, t_blocks), t_compute) + overhead, 0.0)
    bound = pick_bound(overhead, (MEMORY, t_mem), (LATENCY, t_blocks), (COMPUTE, t_compute))
    z = np.zeros_like(time)
    return OpCost(time, flops, hbm, z, z.copy(), bound)
