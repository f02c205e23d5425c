"""Comparing systems on one workload, each at its own best layout inside one scale-up domain.

For every system the tensor/pipeline/expert layouts that fit are enumerated; each layout's batch
sizes are swept (vectorized) and the operating point with the highest throughput per chip whose
per-user rate meets the bound is kept. A system that cannot reach the bound at any layout is
reported as such, with the best per-user rate it can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from jalapeno.engine.predict import Prediction, Workload, best_under_user_rate, evaluate, make_setup
from jalapeno.errors import DoesNotFitError, JalapenoError
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan


@dataclass
class CompareRow:
    chip: str
    chips: int
    prediction: Prediction | None
    note: str = ""


def candidate_plans(model: ModelSpec, system: SystemSpec) -> list[ParallelPlan]:
    n, domain = system.num_chips, system.chip.links.max_domain_chips
    heads = model.layers[0].attention.heads
    experts = max((g.mlp.experts for g in model.layers), default=0)
    plans = []
    for tp in (1, 2, 4, 8, 16, 32, 64):
        if tp > min(n, domain) or heads % tp:
            continue
        for pp in (1, 2, 4, 8):
            if tp * pp > min(n, domain) or n % (tp * pp) or pp > model.num_layers:
                continue
            eps = [e for e in (1, 2, 4, 8, 16, 32, 64)
                   if e <= tp and tp % e == 0 and (experts % e == 0 if experts else e == 1)]
            plans += [ParallelPlan(tp=tp, pp=pp, ep=e) for e in eps]
    return plans


def best_on_system(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None,
                   min_user_rate: float | None) -> CompareRow:
    best: Prediction | None = None
    fastest_user = 0.0
    fits = False
    for plan in candidate_plans(model, system):
        try:
            setup = make_setup(model, system, plan, precision)
            p = best_under_user_rate(setup, wl, None)
            fits = True
            fastest_user = max(fastest_user, _fastest_user_rate(setup, wl))
            p = best_under_user_rate(setup, wl, min_user_rate) if min_user_rate else p
        except (DoesNotFitError, JalapenoError):
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
