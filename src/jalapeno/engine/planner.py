"""The deployment planner: every layout and batch size of a model on a system, the Pareto frontier
of throughput per chip against tokens/s per user, and the best point per objective.

Each feasible layout (network/parallel.py, from `compare.candidate_plans`) is evaluated over a
grid of batch sizes in one vectorized engine pass; points violating the latency SLOs are dropped.
Objectives: `throughput` (output tokens/s per chip), `tokens-per-joule`, and `cost` (dollars per
million output tokens from a chip-hour price and an electricity price the user gives: the
catalog carries no prices).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from jalapeno.engine.compare import candidate_plans
from jalapeno.engine.predict import Workload, batch_grid, evaluate, make_setup, max_batch
from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.spec import ModelSpec

OBJECTIVES = ("throughput", "tokens-per-joule", "cost")


@dataclass
class PlanPoint:
    layout: str
    replicas: int
    concurrency: int
    output_tokens_per_s_per_chip: float
    output_tokens_per_s_per_user: float
    ttft_s: float
    tpot_s: float
    output_tokens_per_joule: float
    usd_per_million_tokens: float | None
    pareto: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PlanResult:
    points: list[PlanPoint]
    frontier: list[PlanPoint]
    best: dict[str, PlanPoint]
    layouts_tried: int
    layouts_feasible: int
    rejected: dict[str, str]


def plan_deployment(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None = None,
                    slo_ttft_s: float | None = None, slo_tpot_s: float | None = None,
                    chip_hour_usd: float | None = None, usd_per_kwh: float = 0.0, max_pp: int = 8) -> PlanResult:
    points: list[PlanPoint] = []
    plans = candidate_plans(model, system, max_pp)
    rejected: dict[str, str] = {}
    feasible = 0
    for plan in plans:
        try:
            setup = make_setup(model, system, plan, precision)
            b_max, _, _, _ = max_batch(setup, wl)
        except JalapenoError as exc:
            rejected[plan.label()] = str(exc)
            continue
        feasible += 1
        grid = batch_grid(b_max)
        r = evaluate(setup, wl, grid)
        chips = system.num_chips
        per_chip = r["throughput"] / chips
        user = 1.0 / r["tpot"]
        tpj = r["throughput"] / r["power"]
        ok = np.ones(grid.shape, dtype=bool)
        if slo_tpot_s:
            ok &= r["tpot"] <= slo_tpot_s
        if slo_ttft_s:
            ok &= r["ttft"] <= slo_ttft_s
        for i in np.flatnonzero(ok):
            usd = None
            if chip_hour_usd is not None:
                hours_per_mtok = 1e6 / r["throughput"][i] / 3600
                usd = hours_per_mtok * (chips * chip_hour_usd + r["power"][i] / 1000 * usd_per_kwh)
            points.append(PlanPoint(plan.label(), setup.replicas, int(grid[i]) * setup.replicas,
                                    float(per_chip[i]), float(user[i]), float(r["ttft"][i]), float(r["tpot"][i]),
                                    float(tpj[i]), usd))
    frontier = pareto(points)
    best = {}
    if points:
        best["throughput"] = max(points, key=lambda p: p.output_tokens_per_s_per_chip)
        best["tokens-per-joule"] = max(points, key=lambda p: p.output_tokens_per_joule)
        if chip_hour_usd is not None:
            best["cost"] = min(points, key=lambda p: p.usd_per_million_tokens)
    return PlanResult(points, frontier, best, len(plans), feasible, rejected)


def pareto(points: list[PlanPoint]) -> list[PlanPoint]:
    """Points no other point beats on both throughput per chip and tokens/s per user."""
    ordered = sorted(points, key=lambda p: (-p.output_tokens_per_s_per_user, -p.output_tokens_per_s_per_chip))
    front, best_tput = [], -1.0
    for p in ordered:
        if p.output_tokens_per_s_per_chip > best_tput:
            p.pareto = True
            front.append(p)
            best_tput = p.output_tokens_per_s_per_chip
    return front
