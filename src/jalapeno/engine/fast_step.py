"""A fast step-time model for the serving simulator's hot path.

The engine's `step_cost` lowers and costs every operator with numpy (about 2 ms per call): right
for sweeps of many batch shapes at once, far too slow for a discrete-event simulator that asks
for one shape per step, tens of thousands of times. This module splits a step the way its cost
splits:

- operators whose shapes depend only on the step's token count T (projections, MLP and expert
  GEMMs, norms, all-reduces): tabulated once for every T up to the largest step;
- operators that depend on the number of sequences emitting a token (LM head, sampling):
  tabulated over that count;
- attention, which depends on contexts: the kernels' own scalar forms (kernels/attention.py
  `prefill_time` / `decode_time`, with constants built once per chip and stack), per layer group
  in plain Python floats (about a microsecond);
- the step's fixed costs from kernels/execution.py `step_time` (the same function step_cost uses),
  with the kernel launches counted once per table.

Energy is tabulated the same way, and the power cap is applied per step. `tests/test_fast_step.py`
checks that this model reproduces `step_cost` on random batches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jalapeno.engine.power import cap_step, chip_power, joules_per_flop, work_energy
from jalapeno.engine.predict import Setup
from jalapeno.engine.step import op_cost, stage_layers, step_ops
from jalapeno.kernels.attention import (
    DecodeKernel,
    PrefillKernel,
    attention_format,
    decode_attention_cost,
    decode_time,
    prefill_attention_cost,
    prefill_time,
)
from jalapeno.kernels.execution import pipeline_time, step_time
from jalapeno.kernels.gemm import compute_format
from jalapeno.models.lowering import (
    CONTEXT_OPS,
    DECODE_OPS,
    OUTPUT_OPS,
    Batch,
    lower_step,
)
from jalapeno.models.ops import DecodeAttention, PrefillAttention


@dataclass(frozen=True)
class _AttnGroup:
    """Attention constants of one layer group on one chip (per step, all its layers)."""

    count: float
    window: int
    chunk: int
    heads: int
    kv_heads: int
    qk: int
    v: int
    kv_values: float
    kv_bytes: float
    prefill_heads: int
    prefill_kv_heads: int
    prefill_qk: int
    prefill_v: int
    prefill_kv_bytes: float


@dataclass
class StepEstimate:
    time_s: float
    energy_j: float


class FastStep:
    """Step time and energy of one replica (one pipeline stage's chip, times pp) for a batch."""

    def __init__(self, setup: Setup, max_tokens: int | None = None, max_seqs: int | None = None):
        self.setup = s = setup
        chip, stack = s.system.chip, s.stack
        self.max_tokens = int(max_tokens or (s.stack.max_num_tokens + s.stack.max_batch_size))
        self.max_seqs = int(max_seqs or s.stack.max_batch_size)
        self.pp = s.plan.pp
        # A replica's batch spreads over pp microbatches and attn_dp attention groups; groups
        # run side by side, microbatches one after another through the stages.
        self.split = s.plan.pp * s.plan.attn_dp
        fmt = compute_format(s.prec.weights, s.prec.activations)
        self._fmt = fmt
        T = np.arange(self.max_tokens + 1, dtype=float)
        tok_batch = Batch.of(prefill_seqs=0, prefill_tokens=T)
        self.token_time, self.token_energy, self._tok_launches = self._tabulate(
            tok_batch, lambda op: not _is_attention(op) and op.name not in OUTPUT_OPS | CONTEXT_OPS | DECODE_OPS)
        dec_batch = Batch.of(decode_seqs=T)
        self.dec_time, self.dec_energy, self._dec_launches = self._tabulate(dec_batch, lambda op: op.name in DECODE_OPS)
        # MLA prefill expands the cached latent of every attended token: sized by new + cached tokens.
        self.ctx_grid = np.unique(np.round(np.geomspace(1, 4_194_304, 3000)))
        ctx_batch = Batch.of(prefill_seqs=1, prefill_tokens=self.ctx_grid)
        self.ctx_time, self.ctx_energy, self._ctx_launches = self._tabulate(
            ctx_batch, lambda op: op.name in CONTEXT_OPS)
        self._has_ctx_ops = bool(self.ctx_time.any())
        N = np.arange(self.max_seqs + 1, dtype=float)
        out_batch = Batch.of(decode_seqs=N)
        self.out_time, self.out_energy, self._out_launches = self._tabulate(out_batch, lambda op: op.name in OUTPUT_OPS)
        # Python lists of (time, energy): scalar lookups on numpy arrays cost microseconds each.
        self._tok = list(zip(self.token_time.tolist(), self.token_energy.tolist(), strict=True))
        self._out = list(zip(self.out_time.tolist(), self.out_energy.tolist(), strict=True))
        self._dec = list(zip(self.dec_time.tolist(), self.dec_energy.tolist(), strict=True))
        # A decode-only step of one token per sequence reads all three tables at the same index (tokens
        # = sequences): their sum, one lookup instead of three.
        n = min(len(self._tok), len(self._out), len(self._dec))
        self._decode_only = [(a[0] + b[0] + c[0], a[1] + b[1] + c[1])
                             for a, b, c in zip(self._tok[:n], self._out[:n], self._dec[:n], strict=True)]
        # Attention constants: the kernels' own, built once.
        self._pk = PrefillKernel.on(chip, stack, attention_format(fmt, stack))
        self._dk = {kvb: DecodeKernel.on(chip, stack, kvb) for kvb in {2.0, s.prec.kv_bytes()}}
        self._chip, self._stack = chip, stack
        self._layers = stage_layers(s.model, s.plan)
        probe = Batch.of(decode_seqs=1, decode_context=1, prefill_seqs=1, prefill_tokens=1)
        groups = []
        ops = lower_step(s.model, probe, s.prec, s.plan.tp, s.plan.pp, s.plan.ep)
        dec = [op for op in ops if isinstance(op, DecodeAttention)]
        pre = [op for op in ops if isinstance(op, PrefillAttention)]
        for g, d, p in zip(s.model.layers, dec, pre, strict=True):
            groups.append(_AttnGroup(d.count, g.attention.window, g.attention.chunk, d.heads, d.kv_heads,
                                     d.qk_dim, d.v_dim, d.kv_values_per_token, d.kv_bytes, p.heads, p.kv_heads,
                                     p.qk_dim, p.v_dim, p.kv_bytes))
        self.groups = groups
        # Launches of the attention ops per step (the same for every batch that has them).
        self._dec_att_launches = sum(float(np.atleast_1d(decode_attention_cost(
            chip, stack, 1, 1, d.heads, d.kv_heads, d.qk_dim, d.v_dim, d.kv_values_per_token, d.kv_bytes).launches)[0])
                                     * d.count for d in dec)
        self._pre_att_launches = sum(float(np.atleast_1d(prefill_attention_cost(
            chip, stack, 1, 1, 1, 1, p.heads, p.kv_heads, p.qk_dim, p.v_dim, p.kv_bytes).launches)[0]) * p.count
                                     for p in pre)
        self.j_per_flop = joules_per_flop(chip, fmt)
        self.j_per_byte = chip.main_memory.energy_pj_per_byte * 1e-12
        self.power = chip_power(chip)
        self.chips = s.plan.chips_per_replica

    def _tabulate(self, batch: Batch, keep) -> tuple[np.ndarray, np.ndarray, float]:
        """(time, energy) per entry and the kernel launches of an entry with work (the same for all)."""
        s = self.setup
        ops = [op for op in step_ops(s.model, batch, s.prec, s.plan) if keep(op)]
        n = batch.size
        topo = s.topology
        time, flops, hbm, onchip, link_j, launches = (np.zeros(n) for _ in range(6))
        for op in ops:
            c = op_cost(op, s.system.chip, s.stack, s.prec, topo)
            time += c.time_s * op.count
            flops += c.flops * op.count
            hbm += c.hbm_bytes * op.count
            onchip += c.onchip_bytes * op.count
            if c.link_energy_j is not None:
                link_j += c.link_energy_j * op.count
            launches += c.launches * op.count
        energy = work_energy(s.system.chip, self._fmt, flops, hbm, onchip, link_j)
        return time, np.asarray(energy, dtype=float), float(launches[-1]) if n else 0.0

    def step(self, decode_seqs: int, decode_context_sum: float, prefill_chunks: Sequence[tuple[int, int]] = (),
             decode_tokens_per_seq: int = 1) -> StepEstimate:
        """One step of a replica: `decode_seqs` sequences each adding `decode_tokens_per_seq` tokens
        (more than one when verifying speculative drafts) after `decode_context_sum` cached tokens in
        all, plus prefill chunks given as (new tokens, tokens already cached) per sequence.
        Microbatches of a pipeline are folded in: the time is that of the whole replica's step."""
        pp, split = self.pp, self.split
        n_pref = len(prefill_chunks)
        pref_tokens = sum(c for c, _ in prefill_chunks)
        T = decode_seqs * decode_tokens_per_seq + pref_tokens
        outs = decode_seqs + n_pref
        if T > self.max_tokens or outs > self.max_seqs:
            raise ValueError(f"step of {T} tokens / {outs} sequences exceeds the tabulated "
                             f"{self.max_tokens} / {self.max_seqs}")
        # One microbatch of one attention group; tables hold (time, energy) per stage and chip.
        if not n_pref and decode_tokens_per_seq == 1:
            time, energy = _interp(self._decode_only, decode_seqs / split)
        else:
            t1, e1 = _interp(self._tok, T / split)
            t2, e2 = _interp(self._out, outs / split)
            time, energy = t1 + t2, e1 + e2
        if decode_seqs and (n_pref or decode_tokens_per_seq != 1):
            t3, e3 = _interp(self._dec, decode_seqs * decode_tokens_per_seq / split)
            time += t3
            energy += e3
        if n_pref and self._has_ctx_ops:
            expanded = (pref_tokens + sum(p for _, p in prefill_chunks)) / split
            time += float(np.interp(expanded, self.ctx_grid, self.ctx_time))
            energy += float(np.interp(expanded, self.ctx_grid, self.ctx_energy))
        flops = 0.0
        hbm = 0.0
        mean_ctx = decode_context_sum / decode_seqs if decode_seqs else 0.0
        seqs = decode_seqs / split
        dk, pk = self._dk, self._pk
        launches = (self._tok_launches if T else 0.0) + (self._out_launches if outs else 0.0)
        if decode_seqs:
            launches += self._dec_att_launches + self._dec_launches
        if n_pref:
            pseqs = n_pref / split
            launches += self._pre_att_launches * min(1.0, pseqs)
            launches += self._ctx_launches if self._has_ctx_ops else 0.0
            ptoks = pref_tokens / split
        for g in self.groups:
            cnt = g.count  # already per pipeline stage (lowered with pp)
            if decode_seqs:
                per_seq = mean_ctx + decode_tokens_per_seq  # as models.lowering.attended_context
                if g.window:
                    per_seq = min(per_seq, g.window)
                elif g.chunk and per_seq >= g.chunk:
                    per_seq = g.chunk / 2
                # Verified tokens of a sequence share one read of its cache: w queries per head
                # (models.lowering's DecodeAttention with heads x w).
                t, b, f, _, _, _ = decode_time(dk[g.kv_bytes], seqs, per_seq * seqs, g.heads * decode_tokens_per_seq,
                                               g.kv_heads, g.qk, g.v, g.kv_values, g.kv_bytes)
                time += t * cnt
                flops += f * cnt
                hbm += b * cnt
            if n_pref:
                pairs = 0.0
                read = 0.0
                for chunk, prior in prefill_chunks:
                    if g.window or g.chunk:
                        pairs += _masked_pairs(float(prior), float(chunk), g.window, g.chunk)
                    else:  # full causal attention: attended_pairs' closed form, in plain floats
                        pairs += chunk * float(prior) + chunk * (chunk + 1.0) / 2
                    read += min(prior + chunk, (g.window + chunk) if g.window else math.inf)
                # As prefill_attention_cost: a fraction of a prompt per microbatch costs one chunk x its share.
                share = pseqs if pseqs < 1.0 else 1.0
                t, b, f, _, _ = prefill_time(pk, pseqs / share, ptoks / share, pairs / split / share,
                                             read / split / share, g.prefill_heads, g.prefill_kv_heads, g.prefill_qk,
                                             g.prefill_v, g.prefill_kv_bytes)
                t, b, f = t * share, b * share, f * share
                time += t * cnt
                flops += f * cnt
                hbm += b * cnt
        time = step_time(self._chip, self._stack, time, launches, self._layers, min(1.0, n_pref / split))
        # The power cap per microbatch stage time, then pp stages of it (as engine.power.cap_step).
        time, energy, _ = cap_step(float(time), float(energy + flops * self.j_per_flop + hbm * self.j_per_byte),
                                   self.power)
        # pp stages of it, the host scheduling once per microbatch (as engine.predict).
        return StepEstimate(pipeline_time(time, pp, self._stack.host_step_s, min(1.0, outs / pp)),
                            energy * pp * self.chips)


def _interp(table: list[tuple[float, float]], x: float) -> tuple[float, float]:
    """(time, energy) at a fractional index of a table of Python floats (fast scalar lookups)."""
    if x <= 0:
        return 0.0, 0.0
    if x < 1.0:
        x = 1.0  # a microbatch share below one token still launches every kernel
    i = int(x)
    last = len(table) - 1
    if i >= last:
        return table[last]
    f = x - i
    if f == 0:
        return table[i]
    (ta, ea), (tb, eb) = table[i], table[i + 1]
    return ta + (tb - ta) * f, ea + (eb - ea) * f


def _masked_pairs(prior: float, new: float, window: int, chunk: int) -> float:
    """models.lowering.attended_pairs for a sliding window or chunked attention, term for term in
    plain floats (numpy on one scalar costs microseconds per call)."""
    if window:
        if new <= 0:
            return 0.0
        a, b = prior + 1, prior + new
        hi = min(b, window)
        part1 = (a + hi) * (hi - a + 1) / 2 if a <= window else 0.0
        return part1 + max(0.0, b - max(a, window + 1) + 1) * window
    return min(new * prior + new * (new + 1) / 2, new * (chunk + 1) / 2)


def _is_attention(op) -> bool:
    return isinstance(op, DecodeAttention | PrefillAttention)
