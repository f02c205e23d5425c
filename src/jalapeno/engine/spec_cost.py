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

import numpy as np

from jalapeno.engine.memory import weight_bytes_per_chip
from jalapeno.engine.step import step_cost
from jalapeno.formats import Precision
from jalapeno.models.lowering import Batch
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan


@dataclass(frozen=True)
class DraftSetup:
    model: ModelSpec
    plan: ParallelPlan
    prec: Precision
    setup: object  # the target's engine Setup (chip, stack, topology)


@dataclass
class DraftCost:
    time_s: np.ndarray
    energy_j: np.ndarray


def _draft_plan(draft: ModelSpec, plan: ParallelPlan) -> ParallelPlan:
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
    return ParallelPlan(tp=tp, pp=1, ep=ep)


def draft_setup(setup) -> DraftSetup:
    spec = setup.spec
    draft = spec.draft_model
    prec = setup.prec
    if spec.method == "eagle":
        prec = Precision("bf16", "bf16", prec.kv_cache)
    return DraftSetup(draft, _draft_plan(draft, setup.plan), prec, setup)


def draft_weight_bytes(setup) -> float:
    """Bytes per chip the draft adds (an MTP module shares the model's embedding and LM head)."""
    d = draft_setup(setup)
    total = weight_bytes_per_chip(d.model, d.prec, d.plan)
    if setup.spec.method == "mtp":
        total -= d.model.embedding_params / d.plan.tp * 2.0
    return max(total, 0.0)


def draft_step_cost(d: DraftSetup, batch: Batch, k: int) -> DraftCost:
    """Time and energy of the k draft passes for each batch shape (per chip of the last stage).
    The passes draft for the sequences that decode; the first also takes the prompt tokens."""
    s = d.setup
    stack = s.stack.model_copy(update={"host_step_s": 0.0, "graph_launch_s": 0.0})
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
