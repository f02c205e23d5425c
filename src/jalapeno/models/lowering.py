"""Lowering one forward step of a model to operators, per chip of a parallel layout.

A step is a batch that mixes decodes (one new token per sequence, attending to its cache, or
`decode_width` tokens when the target verifies speculative drafts) and prefill chunks (several
new prompt tokens after some already cached). `Batch` holds that shape
as arrays, so many candidate batches lower in one pass. Tensor parallelism splits heads and FFN
widths `tp` ways (KV heads are replicated when there are fewer than `tp`; MLA's compressed
latent is replicated on every rank); experts split `ep` ways inside the tp group; pipeline
parallelism gives each stage `1/pp` of the layers. This module knows nothing of chips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from jalapeno.formats import Precision
from jalapeno.models.ops import AllReduce, AllToAll, DecodeAttention, Elementwise, Gemm, Op, PrefillAttention
from jalapeno.models.spec import Attention, LayerGroup, Mlp, ModelSpec

# Operators whose size follows the number of sequences emitting a token, not the token count.
OUTPUT_OPS = frozenset({"lm_head", "sampling", "logits_gather"})
# Operators sized by prefill tokens plus the context they attend to (MLA's latent expansion).
CONTEXT_OPS = frozenset({"kv_b_proj"})
# Operators sized by decode tokens only (weight-absorbed MLA decode).
DECODE_OPS = frozenset({"q_absorb", "v_absorb"})


@dataclass(frozen=True, eq=False)
class Batch:
    """Batch shapes, one entry per candidate: decodes and prefill chunks with mean contexts."""

    decode_seqs: np.ndarray
    decode_context: np.ndarray
    prefill_seqs: np.ndarray
    prefill_tokens: np.ndarray
    prefill_context: np.ndarray
    # Tokens each decoding sequence adds in the step: 1, or k + 1 when verifying k drafted tokens
    # (their queries share one read of the sequence's cache; each needs its own logits).
    decode_width: np.ndarray

    @staticmethod
    def of(decode_seqs=0, decode_context=0, prefill_seqs=0, prefill_tokens=0, prefill_context=0,
           decode_width=1) -> Batch:
        arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=float)) for x in
                                     (decode_seqs, decode_context, prefill_seqs, prefill_tokens, prefill_context,
                                      decode_width)))
        return Batch(*arrs)

    @property
    def decode_tokens(self) -> np.ndarray:
        return self.decode_seqs * self.decode_width

    @property
    def tokens(self) -> np.ndarray:
        return self.decode_tokens + self.prefill_tokens

    @property
    def size(self) -> int:
        return self.decode_seqs.size


def attended_pairs(prior, new, window: int, chunk: int):
    """Query-key pairs for `new` causal queries after `prior` cached tokens, per sequence."""
    prior, new = np.asarray(prior, dtype=float), np.asarray(new, dtype=float)
    full = new * prior + new * (new + 1) / 2
    if window:
        a, b = prior + 1, prior + new
        hi = np.minimum(b, window)
        part1 = np.where(a <= window, (a + hi) * (hi - a + 1) / 2, 0.0)
        part2 = np.maximum(0.0, b - np.maximum(a, window + 1) + 1) * window
        return np.where(new > 0, part1 + part2, 0.0)
    if chunk:
        return np.minimum(full, new * (chunk + 1) / 2)
    return full


def attended_context(context, window: int, chunk: int):
    """Cached tokens one decode query attends to, per sequence."""
    ctx = np.asarray(context, dtype=float) + 1
    if window:
        return np.minimum(ctx, window)
    if chunk:
        return np.where(ctx < chunk, ctx, chunk / 2)
    return ctx


def lower_step(model: ModelSpec, batch: Batch, prec: Precision, tp: int = 1, pp: int = 1, ep: int = 1) -> list[Op]:
    """Operators one chip of the slowest pipeline stage runs for this batch (counts per step).

    With pipeline parallelism the stages run in lockstep, so the slowest sets the pace: it holds
    ceil(layers / pp) layers and the last stage also runs the LM head and sampling (the first
    stage's embedding gather is lighter and hides behind it). That imbalance is the pipeline's
    bubble in steady state; with one microbatch per stage in flight there is no fill bubble.
    """
    ops: list[Op] = []
    layers = model.num_layers
    imbalance = math.ceil(layers / pp) / (layers / pp)
    for group in model.layers:
        ops += _layer_ops(model, group, batch, prec, tp, ep, group.count / pp * imbalance)
    T = batch.tokens
    out_seqs = batch.decode_tokens + batch.prefill_seqs
    # Embedding gather on the first stage, logits on the last: one stage's share each.
    if pp == 1:
        ops.append(Elementwise("embedding", T * model.hidden * 2.0, np.zeros_like(T), 1, 1.0))
    ops.append(Gemm("lm_head", out_seqs, -(-model.vocab // tp), model.hidden, 1.0, "bf16", "bf16"))
    ops.append(Elementwise("sampling", out_seqs * model.vocab / tp * 4.0, out_seqs * model.vocab / tp * 5.0,
                           2, 1.0))
    if tp > 1:
        ops.append(AllReduce("logits_gather", out_seqs * 8.0 * tp, tp, 1.0))
    return ops


def _layer_ops(model: ModelSpec, g: LayerGroup, b: Batch, prec: Precision, tp: int, ep: int, count: float) -> list[Op]:
    a, h = g.attention, model.hidden
    T = b.tokens
    ops = _attention_ops(a, h, b, prec, tp, count)
    ops += _mlp_ops(g.mlp, h, T, prec, tp, ep, count)
    # Norms, residual adds, RoPE, activation function, KV-cache write: streaming passes.
    heads_l = a.heads / tp
    inter = (g.mlp.intermediate * max(g.mlp.top_k, 1) + g.mlp.shared_intermediate) / tp
    elem_bytes = T * (h * 2.0 * 6 + heads_l * a.qk_head_dim * 2.0 * 2 + inter * 2.0 * 3)
    ops.append(Elementwise("norm_rope_act", elem_bytes, T * (h * 8.0 + inter * 4.0), 4, count))
    if tp > 1:
        ops.append(AllReduce("attn_allreduce", T * h * 2.0, tp, count))
        ops.append(AllReduce("mlp_allreduce", T * h * 2.0, tp, count))
    return ops


def _wide_ep_ops(m: Mlp, h: int, T, prec: Precision, tp: int, ep: int, count: float) -> list[Op]:
    """Wide expert parallelism (ep > tp): `T` is one attention group's tokens; ep/tp groups feed
    the experts, each chip holds E/ep whole experts; dispatch and combine are all-to-alls in
    which each chip sends its 1/tp share of the group's tokens, top_k copies each."""
    w, act, ws = prec.module_weights("experts"), prec.activations, prec.module_weights("shared_experts")
    up = m.matrices - 1
    groups = ep // tp
    global_tokens = T * groups
    assignments = global_tokens * m.top_k
    busiest = assignments / ep * ep_imbalance(assignments, ep)
    local = m.experts // ep
    touched = np.minimum(np.maximum(expected_experts_touched(global_tokens, m.top_k, m.experts) / ep,
                                    np.minimum(busiest, 1.0)), local)
    per_expert = busiest / np.maximum(touched, 1e-9)
    sent = T / tp * m.top_k * h
    ops: list[Op] = [
        Gemm("router", T, m.experts, h, count, "bf16", "bf16"),
        AllToAll("moe_dispatch", sent * prec.act_bytes(), ep, count),
        Elementwise("moe_permute", busiest * h * 2.0 * 4, busiest * h * 2.0, 3, count),
        Gemm("experts_up", per_expert, up * m.intermediate, h, count, w, act, groups=touched),
        Gemm("experts_down", per_expert, h, m.intermediate, count, w, act, groups=touched),
        AllToAll("moe_combine", sent * 2.0, ep, count),
    ]
    if m.shared_intermediate:
        sh = -(-m.shared_intermediate // tp)
        ops += [Gemm("shared_up", T, up * sh, h, count, ws, act), Gemm("shared_down", T, h, sh, count, ws, act)]
    return ops


def _attention_ops(a: Attention, h: int, b: Batch, prec: Precision, tp: int, count: float) -> list[Op]:
    T = b.tokens
    w, act, kvb = prec.module_weights("attention"), prec.activations, prec.kv_bytes()
    heads_l = a.heads // tp
    ops: list[Op] = []
    pseqs = np.maximum(b.prefill_seqs, 1e-9)
    chunk = b.prefill_tokens / pseqs
    pairs = b.prefill_seqs * attended_pairs(b.prefill_context, chunk, a.window, a.chunk)
    read = b.prefill_seqs * np.minimum(b.prefill_context + chunk,
                                       (a.window + chunk) if a.window else np.inf)
    dctx = b.decode_seqs * attended_context(b.decode_context, a.window, a.chunk)
    # Decode queries per head-slot: w verified tokens per sequence share one read of its cache.
    width = b.decode_width
    dec_heads: Any = heads_l if np.all(width == 1) else heads_l * width
    if a.is_mla:
        latent = a.kv_lora_rank + a.qk_rope_head_dim
        if a.q_lora_rank:
            ops.append(Gemm("q_a_proj", T, a.q_lora_rank + latent, h, count, w, act))
            ops.append(Gemm("q_b_proj", T, heads_l * a.qk_head_dim, a.q_lora_rank, count, w, act))
        else:
            ops.append(Gemm("q_proj", T, heads_l * a.qk_head_dim, h, count, w, act))
            ops.append(Gemm("kv_a_proj", T, latent, h, count, w, act))
        # Prefill expands the latent of every attended token into per-head K and V.
        ops.append(Gemm("kv_b_proj", b.prefill_tokens + b.prefill_seqs * b.prefill_context,
                        heads_l * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank, count, w, act))
        ops.append(PrefillAttention("prefill_attention", b.prefill_seqs, b.prefill_tokens, pairs, read,
                                    heads_l, heads_l, a.qk_head_dim, a.v_head_dim, 2.0, count))
        # Decode absorbs the up-projections into the query and output (weight-absorbed MLA).
        ops.append(Gemm("q_absorb", b.decode_tokens, a.kv_lora_rank, a.qk_nope_head_dim, count, "bf16", "bf16",
                        groups=float(heads_l)))
        ops.append(DecodeAttention("decode_attention", b.decode_seqs, dctx, dec_heads, 1, latent,
                                   a.kv_lora_rank, latent, kvb, count))
        ops.append(Gemm("v_absorb", b.decode_tokens, a.v_head_dim, a.kv_lora_rank, count, "bf16", "bf16",
                        groups=float(heads_l)))
        ops.append(Gemm("o_proj", T, h, heads_l * a.v_head_dim, count, w, act))
        return ops
    kv_l = max(a.kv_heads // tp, 1)
    ops.append(Gemm("qkv_proj", T, (heads_l + 2 * kv_l) * a.head_dim, h, count, w, act))
    ops.append(PrefillAttention("prefill_attention", b.prefill_seqs, b.prefill_tokens, pairs, read,
                                heads_l, kv_l, a.head_dim, a.head_dim, kvb, count))
    ops.append(DecodeAttention("decode_attention", b.decode_seqs, dctx, dec_heads, kv_l, a.head_dim,
                               a.head_dim, 2 * kv_l * a.head_dim, kvb, count))
    ops.append(Gemm("o_proj", T, h, heads_l * a.head_dim, count, w, act))
    return ops


def expected_experts_touched(tokens, top_k: int, experts: int):
    """Expected number of distinct experts chosen by `tokens` tokens routing to top_k of `experts`
    each (uniform routing): E * (1 - (1 - k/E)^T)."""
    t = np.asarray(tokens, dtype=float)
    return experts * (1.0 - np.power(1.0 - top_k / experts, t))


def ep_imbalance(assignments, ep: int):
    """Busiest expert-parallel rank's load over the mean (binomial spread of uniform routing)."""
    if ep <= 1:
        return np.ones_like(np.asarray(assignments, dtype=float))
    mean = np.maximum(np.asarray(assignments, dtype=float) / ep, 1e-9)
    return 1.0 + np.sqrt(2.0 * np.log(ep)) * np.sqrt(mean) / mean


def _mlp_ops(m: Mlp, h: int, T, prec: Precision, tp: int, ep: int, count: float) -> list[Op]:
    act = prec.activations
    w = prec.module_weights("experts" if m.is_moe else "mlp")
    ws = prec.module_weights("shared_experts")
    up = m.matrices - 1
    if m.is_moe and ep > tp:
        return _wide_ep_ops(m, h, T, prec, tp, ep, count)
    if not m.is_moe:
        inter = -(-m.intermediate // tp)
        return [Gemm("mlp_up", T, up * inter, h, count, w, act), Gemm("mlp_down", T, h, inter, count, w, act)]
    moe_tp = tp // ep
    inter = -(-m.intermediate // moe_tp)
    local_experts = m.experts // ep
    assignments = T * m.top_k
    busiest = assignments / ep * ep_imbalance(assignments, ep)
    touched = np.maximum(expected_experts_touched(T, m.top_k, m.experts) / ep, np.minimum(busiest, 1.0))
    touched = np.minimum(touched, local_experts)
    per_expert = busiest / np.maximum(touched, 1e-9)
    ops: list[Op] = [
        Gemm("router", T, m.experts, h, count, "bf16", "bf16"),
        # Top-k selection, permuting token copies into expert order and the weighted un-permute.
        Elementwise("moe_permute", assignments * h * 2.0 * 4, assignments * h * 2.0, 3, count),
        Gemm("experts_up", per_expert, up * inter, h, count, w, act, groups=touched),
        Gemm("experts_down", per_expert, h, inter, count, w, act, groups=touched),
    ]
    if m.shared_intermediate:
        sh = -(-m.shared_intermediate // tp)
        ops += [Gemm("shared_up", T, up * sh, h, count, ws, act), Gemm("shared_down", T, h, sh, count, ws, act)]
    return ops
