"""Memory per chip: weights, KV cache and runtime reserve under a parallel layout.

Weights split `tp` ways within a layer (experts `ep` x `tp/ep` ways) and `pp` ways across
layers; MLA's latent down-projections and the KV latent are replicated on each tensor-parallel
rank, as are KV heads when there are fewer of them than `tp`. Embedding and LM head stay in
bf16 (quantized checkpoints keep them so) and are vocabulary-parallel. Sliding-window and
chunked-attention layers keep at most a window of KV per sequence.
"""

from __future__ import annotations

import numpy as np

from jalapeno.errors import DoesNotFitError
from jalapeno.formats import BYTES_PER_ELEMENT, Precision
from jalapeno.hardware.spec import ChipSpec
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile


def weight_bytes_per_chip(model: ModelSpec, prec: Precision, plan: ParallelPlan) -> float:
    """Bytes of weights on the chip of the fullest pipeline stage: each module in its own format
    (a checkpoint's bf16 modules stay bf16), embedding and LM head in bf16, vocabulary-parallel
    over tp, on the first and last stage respectively when there is a pipeline."""
    h = model.hidden
    wa = prec.module_weight_bytes("attention")
    ws = prec.module_weight_bytes("shared_experts")
    wn = BYTES_PER_ELEMENT["bf16"]
    total = 0.0
    for g in model.layers:
        a = g.attention
        attn = a.params(h)
        replicated = 0
        if a.is_mla:  # down-projections to the latent run on every rank
            latent = a.kv_lora_rank + a.qk_rope_head_dim
            replicated = h * (latent + a.q_lora_rank)
        elif a.kv_heads < plan.tp:
            replicated = 2 * h * a.head_dim * a.kv_heads * (plan.tp // a.kv_heads - 1)
        wm = prec.module_weight_bytes("experts" if g.mlp.is_moe else "mlp")
        shared = g.mlp.shared_params(h)
        router = h * g.mlp.experts if g.mlp.is_moe else 0
        experts = g.mlp.params(h) - shared - router
        if g.mlp.is_moe and plan.ep > plan.tp:  # whole experts split ep ways; shared experts tp ways
            mlp = experts / plan.ep * wm
        else:
            mlp = experts / plan.tp * wm
        mlp += shared / plan.tp * ws + router * wn  # the router is replicated, in bf16
        per_layer = ((attn - replicated) / plan.tp + replicated) * wa + mlp + 2 * h * wn
        total += per_layer * g.count
    # Embedding and LM head are vocabulary-parallel over tp. With a pipeline they are placed with
    # the stages: the first stage holds the embedding and the last the LM head, and the
    # partitioner gives those stages fewer layers so that every stage holds about the same bytes
    # (as pipeline partitioners balance by weight; an SRAM-resident chip has no room otherwise).
    tables = model.embedding_params * wn
    if plan.pp == 1:
        return total + tables / plan.tp
    return (total + tables / plan.tp) / plan.pp


def kv_bytes_per_sequence(model: ModelSpec, prec: Precision, plan: ParallelPlan, context_tokens) -> np.ndarray:
    """KV-cache bytes on one chip for sequences holding `context_tokens` tokens."""
    ctx = np.asarray(context_tokens, dtype=float)
    total = np.zeros_like(ctx)
    for g in model.layers:
        a = g.attention
        if a.is_mla:
            per_token = a.kv_lora_rank + a.qk_rope_head_dim
        else:
            per_token = 2 * max(a.kv_heads // plan.tp, 1) * a.head_dim
        kept = ctx
        if a.window:
            kept = np.minimum(ctx, a.window)
        elif a.chunk:
            kept = np.minimum(ctx, a.chunk)
        total = total + g.count / plan.pp * per_token * kept
    return total * prec.kv_bytes()


def activation_bytes(model: ModelSpec, stack: StackProfile, plan: ParallelPlan) -> float:
    """Workspace for the largest step the scheduler allows (max_num_tokens through one layer)."""
    widest = max(max(g.mlp.intermediate * max(g.mlp.top_k, 1), g.attention.heads * g.attention.qk_head_dim * 3)
                 for g in model.layers)
    return stack.max_num_tokens * (4 * model.hidden + 2 * widest / plan.tp) * 2.0


def kv_budget_bytes(chip: ChipSpec, stack: StackProfile, model: ModelSpec, prec: Precision,
                    plan: ParallelPlan) -> tuple[float, float]:
    """(KV bytes available per chip, weight bytes per chip); raises DoesNotFitError if none is left."""
    capacity = chip.main_memory.capacity_bytes
    weights = weight_bytes_per_chip(model, prec, plan)
    other = activation_bytes(model, stack, plan) + stack.runtime_reserve_gb * 1e9
    free = (capacity - weights - other) * stack.memory_utilization
    if free <= 0:
        raise DoesNotFitError(
            f"{model.id} in {prec.weights} on {chip.id} with {plan.label()}", weights + other, capacity,
            _advice(prec, plan, weights + other, capacity))
    return free, weights


def _advice(prec: Precision, plan: ParallelPlan, needed: float, capacity: float) -> str:
    # Weights split over tp*pp chips; leave a fifth of each chip for the KV cache.
    chips = plan.tp * plan.pp * max(2, int(-(-needed // (0.8 * capacity))))
    chips = 1 << (chips - 1).bit_length()  # layouts come in powers of two
    tips = [f"at least {chips} chips (e.g. --chips {chips} --tp {min(chips, 8)} --pp {max(chips // 8, 1)})"]
    if prec.weights in ("bf16", "fp16"):
        tips.append("a smaller format (--precision fp8 or fp4)")
    elif prec.weights in ("fp8", "int8"):
        tips.append("a smaller format (--precision fp4)")
    return "Try " + " or ".join(tips) + "."
