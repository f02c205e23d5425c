"""One design of a space, evaluated: chip derived, constraints checked, layouts planned, SLO
checked, objectives computed.

Cheap constraints run first (TDP, die area, shoreline, unit cost) so a rejected design costs
microseconds. The layout comes from the engine's planner (`plan_deployment`) swept over a
coarse batch grid with no SLO filter, so one planning pass serves every per-user target; the
best SLO-meeting point is then refined between its grid neighbours with the engine's
`evaluate` on that layout. Every objective is taken at that one operating point (the highest
tokens/s per chip that meets the SLOs) and aggregated over the workload's scenarios (model x
length bucket x per-user target) by a weighted geometric mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

import numpy as np

from jalapeno.engine.predict import Workload
from jalapeno.errors import JalapenoError
from jalapeno.explore import costing
from jalapeno.explore.design import derive_design
from jalapeno.explore.operating import OperatingPoint, plan_points, refine
from jalapeno.explore.space import Space
from jalapeno.formats import precision_for
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.spec import ChipSpec, SystemSpec
from jalapeno.kernels.gemm import compute_format
from jalapeno.models.config import load_model
from jalapeno.models.spec import ModelSpec
from jalapeno.stacks import StackProfile


@dataclass
class Evaluation:
    objectives: dict[str, float]
    violations: dict[str, float]  # constraint -> relative excess (> 0: violated)
    rejected_by: str | None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.rejected_by is None


@lru_cache(maxsize=16)
def _model(ref: str) -> ModelSpec:
    return load_model(ref)


class Evaluator:
    """Evaluates points of one space; holds what every design shares (base chip, models)."""

    def __init__(self, space: Space):
        self.space = space
        self.base = load_chip(space.base)
        self.models = [(_model(m), p) for m, p in space.model_precisions()]
        first, first_prec = self.models[0]
        prec = precision_for(first_prec or first.native_format, self.base.native_formats())
        self.compute_format = compute_format(prec.weights, prec.activations)
        self.has_econ = costing.has_economics()

    def chip(self, point: dict[str, Any]) -> ChipSpec:
        return derive_design(self.base, point, self.compute_format)

    def __call__(self, point: dict[str, Any], stack: StackProfile | None = None,
                 chip: ChipSpec | None = None) -> Evaluation:
        try:
            chip = chip or self.chip(point)
        except JalapenoError as exc:
            return self._rejected("design", 1.0, {"error": str(exc)})
        metrics: dict[str, Any] = {"tdp_w": chip.power.tdp_w, "peak_tflops": dict(chip.matrix.peak_tflops),
                                   "memory_gib": chip.main_memory.capacity_gib,
                                   "memory_gb_s": chip.main_memory.bandwidth_gb_s}
        violations = self._cheap_constraints(chip, point, metrics)
        first = next((k for k, v in violations.items() if v > 0), None)
        if first:
            return self._rejected(first, violations[first], metrics, violations)
        chips = int(point.get("chips", 1))
        system = SystemSpec(chip=chip, num_chips=chips)
        scen = self._scenarios(system, stack, metrics)
        if scen is None:
            violations["memory_fits"] = 1.0
            return self._rejected("memory_fits", 1.0, metrics, violations)
        worst_slo = max((s["slo_shortfall"] for s in scen), default=0.0)
        violations["slo"] = worst_slo
        if worst_slo > 0:
            return self._rejected("slo", worst_slo, metrics, violations)
        objectives = self._objectives(chip, scen, metrics)
        return Evaluation(objectives, violations, None, metrics)

    # -- constraints ---------------------------------------------------------------------------
    def _cheap_constraints(self, chip: ChipSpec, point: dict, metrics: dict) -> dict[str, float]:
        c = self.space.constraints
        out: dict[str, float] = {}
        if c.tdp_w:
            out["tdp_w"] = chip.power.tdp_w / c.tdp_w.max - 1.0
        # Area only where a constraint reads it (the front's areas and costs are computed when shown).
        needs_area = bool(c.die_area_mm2 or c.unit_cost_usd or (c.hbm_shoreline and chip.main_memory.kind == "hbm"))
        area = costing.die_area_mm2(chip) if self.has_econ and needs_area else None
        if area is not None:
            metrics["die_area_mm2"] = area
        if c.die_area_mm2:
            if area is None:
                costing.economics()  # raises Unavailable with the reason
            metrics["die_area_mm2"] = area
            out["die_area_mm2"] = area / c.die_area_mm2.max - 1.0  # type: ignore[operator]
        if c.hbm_shoreline and chip.main_memory.kind == "hbm":
            # The die's edge: its estimated area, else the area budget (a die built to the budget).
            edge_area = area or (c.die_area_mm2.max if c.die_area_mm2 else chip.silicon.die_area_mm2)
            if edge_area:
                stacks = point.get("memory_stacks", getattr(chip.main_memory, "stacks", None))
                if stacks:
                    allowed = costing.shoreline_stacks(edge_area)
                    metrics["shoreline_stacks"] = allowed
                    out["hbm_shoreline"] = int(stacks) / max(allowed, 1) - 1.0
        if c.unit_cost_usd:
            cost = costing.unit_cost_usd(chip)
            metrics["unit_cost_usd"] = cost
            out["unit_cost_usd"] = cost / c.unit_cost_usd.max - 1.0
        return out

    def _rejected(self, by: str, amount: float, metrics: dict, violations: dict | None = None) -> Evaluation:
        v = dict(violations or {})
        v[by] = max(amount, 1e-9)
        worst = {o.name: (0.0 if o.sense == "maximize" else 1e12) for o in self.space.objectives}
        return Evaluation(worst, v, by, metrics)

    # -- planning ------------------------------------------------------------------------------
    def _scenarios(self, system: SystemSpec, stack: StackProfile | None, metrics: dict) -> list[dict] | None:
        w = self.space.workload
        out = []
        for model, precision in self.models:
            for lengths in w.lengths:
                wl = Workload(lengths.input_tokens, lengths.output_tokens)
                points = plan_points(model, system, wl, precision, w.max_pp, stack, w.speculative)
                if not points:
                    return None
                for target in w.min_tokens_per_s_per_user:
                    ok = partial(self._ok, target=target)
                    meets = [p for p in points if ok(p)]
                    best = max(meets, key=lambda p: p.tokens_per_s_per_chip) if meets else None
                    if best is not None:
                        best = refine(model, system, wl, precision, stack, best, points, ok)
                    fastest = max(p.tokens_per_s_per_user for p in points)
                    out.append({"model": model.id, "input_tokens": wl.input_tokens,
                                "output_tokens": wl.output_tokens, "min_tokens_per_s_per_user": target,
                                "weight": lengths.weight,
                                "slo_shortfall": 0.0 if best else max(target / max(fastest, 1e-9) - 1.0, 1e-6),
                                "point": best, "fastest_tokens_per_s_per_user": fastest})
        metrics["scenarios"] = [{k: (v.to_dict() if isinstance(v, OperatingPoint) else v) for k, v in s.items()}
                                for s in out]
        return out

    def _ok(self, p: OperatingPoint, target: float) -> bool:
        w = self.space.workload
        return (p.tokens_per_s_per_user >= target and (not w.slo_ttft_s or p.ttft_s <= w.slo_ttft_s)
                and (not w.slo_tpot_p99_s or p.tpot_p99_s <= w.slo_tpot_p99_s))

    # -- objectives ----------------------------------------------------------------------------
    def _objectives(self, chip: ChipSpec, scen: list[dict], metrics: dict) -> dict[str, float]:
        weights = np.array([s["weight"] for s in scen])
        tps = np.array([s["point"].tokens_per_s_per_chip for s in scen])
        tpj = np.array([s["point"].tokens_per_joule for s in scen])
        out: dict[str, float] = {}
        for o in self.space.objectives:
            if o.name == "tokens_per_s_per_chip":
                out[o.name] = _geomean(tps, weights)
            elif o.name == "tokens_per_joule":
                out[o.name] = _geomean(tpj, weights)
            elif o.name == "tokens_per_s_per_user":
                out[o.name] = _geomean(np.array([s["fastest_tokens_per_s_per_user"] for s in scen]), weights)
            elif o.name == "usd_per_mtoken":
                # Wall power per chip (the host's share included): throughput per chip / tokens per joule.
                usd = [costing.usd_per_mtoken(chip, s["point"].tokens_per_s_per_chip,
                                              s["point"].tokens_per_s_per_chip * s["input_tokens"] / s["output_tokens"],
                                              s["point"].tokens_per_s_per_chip / s["point"].tokens_per_joule)
                       for s in scen]
                out[o.name] = _geomean(np.array(usd), weights)
        metrics["tokens_per_s_per_chip"] = _geomean(tps, weights)
        metrics["tokens_per_joule"] = _geomean(tpj, weights)
        metrics["tokens_per_s_per_user"] = _geomean(np.array([s["fastest_tokens_per_s_per_user"] for s in scen]),
                                                    weights)
        if "usd_per_mtoken" in out:
            metrics["usd_per_mtoken"] = out["usd_per_mtoken"]
        return out


def _geomean(x: np.ndarray, w: np.ndarray) -> float:
    return float(math.exp(float(np.sum(w * np.log(np.maximum(x, 1e-300))) / np.sum(w))))



PROBES = 48  # seeded random points (plus the all-low and all-high corners) for `check_constraints`


def probe_points(space: Space, n: int = PROBES, seed: int = 0) -> list[dict[str, Any]]:
    """The corners of the space (every parameter at its low end, at its high end) and `n` seeded draws."""
    import random

    from jalapeno.explore.design import PARAMETERS

    rng = random.Random(seed)

    def value(name: str, prm, pick: str) -> Any:
        if prm.choices is not None:
            return prm.choices[0] if pick == "low" else prm.choices[-1] if pick == "high" else rng.choice(prm.choices)
        lo, hi = prm.range
        v = lo if pick == "low" else hi if pick == "high" else rng.uniform(lo, hi)
        return int(round(v)) if PARAMETERS[name][0] is int else float(v)

    picks = ["low", "high"] + ["draw"] * n
    return [{k: value(k, p, pick) for k, p in space.parameters.items()} for pick in picks]


def check_constraints(space: Space) -> None:
    """A space whose constraints no design can meet is a bad space: probe it (corners and seeded
    draws, cheap constraints only) and name the constraint, or the pair, no probe satisfies."""
    ev = Evaluator(space)
    rows: list[dict[str, float]] = []
    first_error = ""
    for point in probe_points(space):
        try:
            chip = ev.chip(point)
        except JalapenoError as exc:
            first_error = first_error or str(exc)
            continue
        rows.append(ev._cheap_constraints(chip, point, {}))
    where = space.path or "<space>"
    if not rows:
        raise JalapenoError(f"{where}: field 'parameters': no probed point of the space makes a valid chip "
                            f"(first: {first_error})")
    names = sorted({k for r in rows for k in r})
    for k in names:
        if all(r.get(k, 0.0) > 0 for r in rows):
            best = min(r.get(k, 0.0) for r in rows)
            raise JalapenoError(f"{where}: field 'constraints.{k}': no design in the space meets it (of "
                                f"{len(rows)} probes incl. the corners, the closest is {best:.0%} over the bound)")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if not any(r.get(a, 0.0) <= 0 and r.get(b, 0.0) <= 0 for r in rows):
                raise JalapenoError(f"{where}: fields 'constraints.{a}' and 'constraints.{b}' contradict: "
                                    f"designs of the space meet one or the other, none of {len(rows)} probes both")
