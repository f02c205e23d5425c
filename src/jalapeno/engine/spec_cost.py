"""What drafting costs on the chip: the k draft passes of a speculative step, and the draft's weights.

The draft (a catalog model, an EAGLE-style head or the model's MTP module; engine/speculative.py
says which) runs on the replica's own chips, after the target's pass in the same scheduled step:
k decode passes over the step's sequences, the first of which also takes the step's prompt
tokens (drafts keep their own KV cache of the prompt). Its layout is the target's tensor
parallelism, cut to a degree that divides the draft's heads (and expert parallelism for an MoE
MTP module); it lives on the last pipeline stage, so its time adds to that stage's, which sets
the pipeline's pace. The passes share the step's scheduling, so they pay no per-step host cost
of their own. EAGLE heads run in bf16 as published; MTP modules and draft models in the
target's precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jalapeno.engine.memory import weight_bytes_per_chip
from jalapeno.engine.step import step_cost
from jalapeno.formats import Precision
from jalapeno.models.lowering import Batch
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan


def in_step(stack):
    """The stack as the draft passes see it: they run inside the target's scheduled (and, with CUDA
    graphs, captured) step, so they pay no host scheduling or graph launch of their own."""
    return stack.model_copy(update={"host_step_s": 0.0, "graph_launch_s": 0.0})


@dataclass(frozen=True)
class DraftSetup:
    model: ModelSpec
    plan: ParallelPlan
    prec: Precision
    setup: Any  # the target's engine Setup (chip, stack, topology)


@dataclass
class DraftCost:
    time_s: np.ndarray
    energy_j: np.ndarray


def _draft_plan(draft: ModelSpec, plan: ParallelPlan, layers_across_chips: bool = False) -> ParallelPlan:
    """The draft's layout inside the target's replica: its tensor-parallel group, and on a stack
    that places layers chip by chip (weights in SRAM) the target's pipeline too, as far as the
    draft has layers."""
    heads = draft.layers[0].attention.heads
    tp = plan.tp
    while tp > 1 and heads % tp:
        tp //= 2
    experts = max((g.mlp.experts for g in draft.layers), default=0)
    ep = 1
    if experts:
        ep = plan.ep if experts % plan.ep == 0 else 1
        if ep <= tp and tp % ep:
            ep = 1
    pp = min(plan.pp, draft.num_layers) if layers_across_chips else 1
    return ParallelPlan(tp=tp, pp=pp, ep=ep)


def draft_setup(setup) -> DraftSetup:
    spec = setup.spec
    draft = spec.draft_model
    prec = setup.prec
    if spec.method == "eagle":
        prec = Precision("bf16", "bf16", prec.kv_cache)
    spread = setup.stack.capabilities.pp_to_layers
    return DraftSetup(draft, _draft_plan(draft, setup.plan, spread), prec, setup)


def draft_weight_bytes(setup) -> float:
    """Bytes per chip the draft adds (an MTP module shares the model's embedding and LM head)."""
    d = draft_setup(setup)
    total = weight_bytes_per_chip(d.model, d.prec, d.plan)
    if setup.spec.method == "mtp":
        total -= d.model.embedding_params / d.plan.tp * 2.0
    return max(total, 0.0)


# Draft passes are looked up in tables over a geometric grid of batch sizes and prompt tokens,
# built once per (draft, layout, chip, stack, precision, context): a draft is small and the planner
# asks for it on every layout.
_GRID = np.unique(np.round(np.geomspace(1, 65536, 56)))
_TABLES: dict = {}


def _tables(d: DraftSetup, ctx: float) -> tuple:
    s = d.setup
    chip, stack = s.system.chip, s.stack
    key = (id(chip), id(stack), d.model.id, d.model.layers, d.plan, d.prec, float(ctx), id(s.topology))
    hit = _TABLES.get(key)
    if hit is not None:
        return hit[1:]
    free = in_step(stack)
    g = _GRID
    zero = np.zeros_like(g)
    batch = Batch.of(decode_seqs=np.concatenate([g, zero]), decode_context=ctx,
                     prefill_seqs=np.concatenate([zero, zero + 1.0]), prefill_tokens=np.concatenate([zero, g]),
                     prefill_context=0.0)
    c = step_cost(d.model, chip, free, d.prec, d.plan, batch, s.topology)
    n = g.size
    tables = (c.time_s[:n], c.energy_j[:n], c.time_s[n:], c.energy_j[n:])
    if len(_TABLES) > 512:
        _TABLES.clear()
    _TABLES[key] = (chip, *tables)  # the chip object is kept so its id is not reused
    return tables


def draft_step_cost(d: DraftSetup, batch: Batch, k: int) -> DraftCost:
    """Time and energy of the k draft passes for each batch shape (per chip of the last stage).
    The passes draft for the sequences that decode; the first also takes the prompt tokens
    (its prompt share costs as a prefill of those tokens less the fixed part, weights and launches,
    that it shares with the decode pass; within ~5 % of costing each shape, draft_step_cost_exact)."""
    ctx = float(np.mean(batch.decode_context))
    t_dec, e_dec, t_pre, e_pre = _tables(d, ctx)
    seqs = np.maximum(batch.decode_seqs, 1.0)
    toks = batch.prefill_tokens
    td = np.interp(np.log(seqs), np.log(_GRID), t_dec)
    ed = np.interp(np.log(seqs), np.log(_GRID), e_dec)
    has = toks > 0
    tp_ = np.where(has, np.maximum(np.interp(np.log(np.maximum(toks, 1.0)), np.log(_GRID), t_pre) - t_pre[0], 0.0),
                   0.0)
    ep_ = np.where(has, np.maximum(np.interp(np.log(np.maximum(toks, 1.0)), np.log(_GRID), e_pre) - e_pre[0], 0.0),
                   0.0)
    return DraftCost(k * td + tp_, k * ed + ep_)


def draft_step_cost_exact(d: DraftSetup, batch: Batch, k: int) -> DraftCost:
    """The same passes costed shape by shape by the engine (what the tables approximate)."""
    s = d.setup
    stack = in_step(s.stack)
    shape = batch.decode_seqs
    first = Batch.of(decode_seqs=shape, decode_context=batch.decode_context, prefill_seqs=batch.prefill_seqs,
                     prefill_tokens=batch.prefill_tokens, prefill_context=batch.prefill_context)
    rest = Batch.of(decode_seqs=shape, decode_context=batch.decode_context)
    both = Batch.of(decode_seqs=np.concatenate([first.decode_seqs, rest.decode_seqs]),
                    decode_context=np.concatenate([first.decode_context, rest.decode_context]),
                    prefill_seqs=np.concatenate([first.prefill_seqs, rest.prefill_seqs]),
                    prefill_tokens=np.concatenate([first.prefill_tokens, rest.prefill_tokens]),
                    prefill_context=np.concatenate([first.prefill_context, rest.prefill_context]))
    c = step_cost(d.model, s.system.chip, stack, d.prec, d.plan, both, s.topology)
    n = shape.size
    time = c.time_s[:n] + (k - 1) * c.time_s[n:]
    energy = c.energy_j[:n] + (k - 1) * c.energy_j[n:]
    return DraftCost(time, energy)
