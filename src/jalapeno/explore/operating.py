"""A design's operating points: the engine's planner over its layouts, then a refinement.

`plan_points` asks the engine's planner (`engine.planner.plan_deployment`, which chooses the
layouts) for every (layout, batch) point without an SLO filter, so one planning pass serves every
per-user target; the search passes a coarse batch grid where the planner takes one. `refine`
re-sweeps the best layout between the best SLO-meeting batch and the next one on the grid with
the engine's `evaluate`. Points are read into `OperatingPoint` by name, so fields the planner
adds (speculative method, p99 TPOT, power) are used when present and not required.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.predict import Workload, evaluate, make_setup, max_batch
from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile

COARSE_POINTS = 14  # batch sizes per layout in the planning pass (geometric, 1 to the largest)
REFINE_POINTS = 8  # batch sizes tried between the best point and its next grid neighbour


@dataclass
class OperatingPoint:
    layout: str
    replicas: int
    batch: int  # per replica
    speculative: str
    tokens_per_s_per_chip: float
    tokens_per_s_per_user: float
    ttft_s: float
    tpot_p99_s: float
    tokens_per_joule: float

    def to_dict(self) -> dict:
        return asdict(self)


def coarse_grid(b_max: int) -> np.ndarray:
    return np.unique(np.round(np.geomspace(1, max(b_max, 1), COARSE_POINTS)))


@lru_cache(maxsize=1)
def _planner_takes() -> frozenset[str]:
    return frozenset(inspect.signature(plan_deployment).parameters)


def _point(p: Any) -> OperatingPoint:
    return OperatingPoint(p.layout, p.replicas, max(p.concurrency // max(p.replicas, 1), 1),
                          getattr(p, "speculative", "none"), p.output_tokens_per_s_per_chip,
                          p.output_tokens_per_s_per_user, p.ttft_s, getattr(p, "tpot_p99_s", p.tpot_s),
                          p.output_tokens_per_joule)


def plan_points(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None, max_pp: int,
                stack: StackProfile | None = None, speculative: str = "auto") -> list[OperatingPoint]:
    """Every point of every layout the planner finds (empty: the model fits at no layout)."""
    kw: dict[str, Any] = {"max_pp": max_pp}
    takes = _planner_takes()
    if "spec" in takes:
        from jalapeno.engine.speculative import SpecRequest  # with the planner that searches it

        kw["spec"] = SpecRequest(method=speculative)
    elif speculative not in ("auto", "none"):
        raise JalapenoError(f"workload.speculative '{speculative}': this build's planner runs plain decoding only")
    if "batch_sizes" in takes:
        kw["batch_sizes"] = coarse_grid
    if stack is not None and "stack" in takes:
        kw["stack"] = stack
        stack = None
    points = [_point(p) for p in plan_deployment(model, system, wl, precision, **kw).points]
    if stack is None:
        return points
    # A planner without a stack argument: its layouts, swept here under the other stack.
    out: list[OperatingPoint] = []
    for label in sorted({p.layout for p in points}):
        out += sweep(model, system, wl, precision, stack, ParallelPlan.parse(label)[0], None)
    return out


def sweep(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None, stack: StackProfile | None,
          plan: ParallelPlan, sizes: np.ndarray | None) -> list[OperatingPoint]:
    """One layout at the given per-replica batch sizes (the coarse grid when None)."""
    try:
        setup = make_setup(model, system, plan, precision, stack)
        b_max = max_batch(setup, wl)[0]
    except JalapenoError:
        return []
    grid = coarse_grid(b_max) if sizes is None else sizes[sizes <= b_max]
    if not grid.size:
        return []
    r = evaluate(setup, wl, grid)
    chips = system.num_chips
    p99 = r.get("tpot_p99", r["tpot"])
    return [OperatingPoint(plan.label(), setup.replicas, int(grid[i]), "none", float(r["throughput"][i] / chips),
                           float(1.0 / r["tpot"][i]), float(r["ttft"][i]), float(p99[i]),
                           float(r["throughput"][i] / r["power"][i])) for i in range(grid.size)]


def refine(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None, stack: StackProfile | None,
           best: OperatingPoint, points: list[OperatingPoint], ok) -> OperatingPoint:
    """The best point of `best`'s layout between its batch and the next larger one of the grid."""
    if best.speculative not in ("none", ""):
        return best  # the engine's evaluate sweeps plain decoding only; keep the planner's point
    above = sorted(p.batch for p in points if p.layout == best.layout and p.batch > best.batch
                   and p.speculative == best.speculative)
    if not above or above[0] <= best.batch + 1:
        return best
    sizes = np.unique(np.round(np.linspace(best.batch + 1, above[0] - 1, REFINE_POINTS)))
    cands = [p for p in sweep(model, system, wl, precision, stack, ParallelPlan.parse(best.layout)[0], sizes)
             if ok(p)]
    return max([best, *cands], key=lambda p: p.tokens_per_s_per_chip)
