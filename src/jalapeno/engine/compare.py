"""Comparing systems on one workload, each at its own best layout inside one scale-up domain.

For every system the tensor/pipeline/expert layouts that fit are enumerated; each layout's batch
sizes are swept (vectorized) and the operating point with the highest throughput per chip whose
per-user rate meets the bound is kept. A system that cannot reach the bound at any layout is
reported as such, with the best per-user rate it can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from jalapeno.engine.predict import Prediction, Workload, best_under_user_rate, evaluate, make_setup
from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile


@dataclass
class CompareRow:
    chip: str
    chips: int
    prediction: Prediction | None
    note: str = ""


def candidate_plans(model: ModelSpec, system: SystemSpec, max_pp: int = 8) -> list[ParallelPlan]:
    """Layouts worth trying: tensor parallelism inside the scale-up domain, pipelines, and for
    MoE models expert parallelism inside the tp group or wide (ep > tp, attention data parallel)."""
    n, domain = system.num_chips, system.scale_up_chips
    heads = model.layers[0].attention.heads
    experts = max((g.mlp.experts for g in model.layers), default=0)
    powers = [1 << i for i in range(0, 11) if 1 << i <= n]
    plans = []
    for tp in powers:
        if tp > domain or heads % tp:
            continue
        for pp in (p for p in powers if p <= max_pp and p <= model.num_layers):
            eps = [1]
            if experts:
                eps = [e for e in powers if experts % e == 0 and (tp % e == 0 or e % tp == 0)]
            for e in eps:
                plan = ParallelPlan(tp=tp, pp=pp, ep=e)
                if plan.chips_per_replica <= n and n % plan.chips_per_replica == 0:
                    plans.append(plan)
    return plans


def best_on_system(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None,
                   min_user_rate: float | None, stack: StackProfile | None = None) -> CompareRow:
    """`stack`: run the system on this software-stack profile instead of its chip's own."""
    best: Prediction | None = None
    fastest_user = 0.0
    fits = False
    for plan in candidate_plans(model, system):
        try:
            setup = make_setup(model, system, plan, precision, stack)
            p = best_under_user_rate(setup, wl, min_user_rate)  # raises if the layout does not fit
            fits = True
            fastest_user = max(fastest_user, _fastest_user_rate(setup, wl))
        except JalapenoError:
            continue
        if p and (best is None or p.output_tokens_per_s_per_chip > best.output_tokens_per_s_per_chip):
            best = p
    if not fits:
        return CompareRow(system.chip.id, system.num_chips, None, "does not fit at any layout")
    if best is None:
        return CompareRow(system.chip.id, system.num_chips, None,
                          f"cannot reach {min_user_rate:g} tokens/s per user (best {fastest_user:.0f})")
    return CompareRow(system.chip.id, system.num_chips, best)


def _fastest_user_rate(setup, wl: Workload) -> float:
    return float(1.0 / evaluate(setup, wl, [1])["tpot"][0])
