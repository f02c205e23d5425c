"""Which assumption decides a comparison: one-at-a-time sweeps over stated ranges (a tornado).

Every uncertain figure of a chip file (`{value, range: [lo, hi], source}`) and of its software
stack profile (`ranges:` in stacks.yaml) is an assumption. For a comparison of systems on one
workload, each assumption is set to its low and its high end in turn, everything else held, and
the metric (tokens per joule by default) of its own system is recomputed at the operating point
the comparison chose (the same layout; the batch re-chosen under the per-user rate bound). The
swing of the ratio between the two systems ranks the assumptions; a swing that crosses 1 flips
the ranking. A system's band is the lowest and highest value its own assumptions reach.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from jalapeno.engine.compare import best_on_system
from jalapeno.engine.predict import Prediction, Workload, batch_grid, evaluate, make_setup, max_batch
from jalapeno.errors import JalapenoError
from jalapeno.hardware.design import derive_chip, node_at
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile, load_stack

METRICS = ("output_tokens_per_joule", "output_tokens_per_s_per_chip")


@dataclass(frozen=True)
class Assumption:
    system: str  # the label of the system it belongs to
    kind: str  # chip | stack
    path: str  # dotted path in the chip file, or the stack parameter
    value: float
    low: float
    high: float
    source: str = ""


@dataclass
class Swing:
    assumption: Assumption
    metric_low: float
    metric_high: float
    ratio_low: float | None = None  # the compared ratio (system / reference) at the low end
    ratio_high: float | None = None

    @property
    def spread(self) -> float:
        lo, hi = (self.ratio_low, self.ratio_high) if self.ratio_low is not None else (self.metric_low,
                                                                                       self.metric_high)
        return abs((hi or 0.0) - (lo or 0.0))


@dataclass
class SystemBaseline:
    label: str
    prediction: Prediction | None
    note: str = ""
    band: tuple[float, float] | None = None


@dataclass
class Sensitivity:
    metric: str
    systems: list[SystemBaseline]
    swings: list[Swing] = field(default_factory=list)
    reference: str = ""
    subject: str = ""
    baseline_ratio: float | None = None

    def top(self, n: int = 3) -> list[Swing]:
        return sorted(self.swings, key=lambda s: -s.spread)[:n]

    def flips(self) -> list[Swing]:
        if self.baseline_ratio is None:
            return []
        side = self.baseline_ratio > 1
        return [s for s in self.swings
                if any(r is not None and (r > 1) != side for r in (s.ratio_low, s.ratio_high))]

    def to_dict(self) -> dict:
        return {
            "metric": self.metric, "reference": self.reference, "subject": self.subject,
            "baseline_ratio": self.baseline_ratio,
            "systems": [{"system": b.label, "note": b.note, "layout": b.prediction.layout if b.prediction else None,
                         self.metric: getattr(b.prediction, self.metric) if b.prediction else None,
                         "band": list(b.band) if b.band else None} for b in self.systems],
            "swings": [{**asdict(s.assumption), "metric_low": s.metric_low, "metric_high": s.metric_high,
                        "ratio_low": s.ratio_low, "ratio_high": s.ratio_high, "spread": s.spread}
                       for s in sorted(self.swings, key=lambda s: -s.spread)],
            "flips_ranking": [s.assumption.path for s in self.flips()],
        }


def label_of(system: SystemSpec) -> str:
    return f"{system.num_chips} x {system.chip.id}"


def assumptions_of(system: SystemSpec, stack: StackProfile) -> list[Assumption]:
    """Every figure of the system's chip and stack that carries a range."""
    label = label_of(system)
    out = [Assumption(label, "chip", path, _chip_value(system, path), lo, hi, system.chip.sources.get(path, ""))
           for path, (lo, hi) in sorted(system.chip.ranges.items())]
    out += [Assumption(label, "stack", name, float(getattr(stack, name)), lo, hi,
                       stack.notes.get(name, stack.notes.get("ranges", "")))
            for name, (lo, hi) in sorted(stack.ranges.items())]
    return out


def _chip_value(system: SystemSpec, path: str) -> float:
    v = node_at(system.chip.model_dump(), path.replace("[", ".").replace("]", ""))
    return float(v) if isinstance(v, int | float) else float("nan")


def varied(system: SystemSpec, stack: StackProfile, a: Assumption, value: float) -> tuple[SystemSpec, StackProfile]:
    """The system and stack with one assumption set to `value` (a validated chip, a stack copy)."""
    if a.kind == "stack":
        return system, StackProfile.model_validate({**stack.model_dump(), a.path: value})
    counted = float(a.value).is_integer() and a.path.endswith(("stacks", "units"))
    v: float | int = int(round(value)) if counted else value
    return system.model_copy(update={"chip": derive_chip(system.chip, {a.path: v})}), stack


def _best_at(model: ModelSpec, system: SystemSpec, stack: StackProfile, plan: ParallelPlan, wl: Workload,
             precision: str | None, min_user_rate: float | None, metric: str,
             around: float | None = None) -> tuple[float, float]:
    """(metric, batch per replica) at the layout, the batch re-chosen under the rate bound; (0, 0)
    when the variation makes the layout unable to meet it. `around`: search batches within a
    factor of 3 of it only (a varied assumption within its range moves the best batch by less).

    The figures come straight from the vectorized sweep (predict.evaluate), without building a
    full Prediction (its latency breakdown is not needed here): one engine pass."""
    used = system.num_chips // plan.chips_per_replica * plan.chips_per_replica  # as the planner: whole replicas
    if 0 < used < system.num_chips:
        system = system.model_copy(update={"num_chips": used})
    try:
        setup = make_setup(model, system, plan, precision, stack)
        b_max = max_batch(setup, wl)[0]
    except JalapenoError:
        return 0.0, 0.0
    full = batch_grid(b_max)
    grid = full
    if around:
        near = full[(full >= around / 3) & (full <= around * 3)]
        grid = near if near.size else full

    def sweep(g):
        r = evaluate(setup, wl, g)
        return r, np.ones(g.shape, dtype=bool) if not min_user_rate else (1.0 / r["tpot"] >= min_user_rate)

    r, ok = sweep(grid)
    if not ok.any() and grid.size < full.size:  # the bound moved out of the window: search them all
        grid = full
        r, ok = sweep(grid)
    if not ok.any():
        return 0.0, 0.0
    i = int(np.argmax(np.where(ok, r["throughput"], -1.0)))
    per = r["power"][i] if metric == "output_tokens_per_joule" else system.num_chips
    return float(r["throughput"][i] / per), float(grid[i])


def _metric_at(model: ModelSpec, system: SystemSpec, stack: StackProfile, plan: ParallelPlan, wl: Workload,
               precision: str | None, min_user_rate: float | None, metric: str, around: float | None = None) -> float:
    return _best_at(model, system, stack, plan, wl, precision, min_user_rate, metric, around)[0]


def sensitivity(model: ModelSpec, systems: list[SystemSpec], wl: Workload, precision: str | None = None,
                min_user_rate: float | None = None, metric: str = "output_tokens_per_joule",
                stacks: list[StackProfile | None] | None = None, progress=None) -> Sensitivity:
    """Tornado of every system's assumptions; the ratio is systems[0] over systems[1] (the subject
    over its reference) when two or more are given."""
    if metric not in METRICS:
        raise JalapenoError(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
    stacks = stacks or [None] * len(systems)
    baselines: list[SystemBaseline] = []
    plans: list[ParallelPlan | None] = []
    used: list[StackProfile] = []
    for system, stack in zip(systems, stacks, strict=True):
        st = stack or load_stack(system.chip.software_stack)
        row = best_on_system(model, system, wl, precision, min_user_rate, stack=st)
        baselines.append(SystemBaseline(label_of(system), row.prediction, row.note))
        plans.append(ParallelPlan.parse(row.prediction.layout)[0] if row.prediction else None)
        used.append(st)
    base_val = [float(getattr(b.prediction, metric)) if b.prediction else 0.0 for b in baselines]
    result = Sensitivity(metric, baselines)
    if len(systems) >= 2:
        result.subject, result.reference = baselines[0].label, baselines[1].label
        result.baseline_ratio = base_val[0] / base_val[1] if base_val[1] else None
    work = [(i, a) for i, (s, st) in enumerate(zip(systems, used, strict=True)) if plans[i]
            for a in assumptions_of(s, st)]
    for i, a in work:
        ends = []
        for value in (a.low, a.high):
            try:
                sys_v, st_v = varied(systems[i], used[i], a, value)
            except (JalapenoError, ValueError) as exc:
                raise JalapenoError(f"{a.system}: assumption {a.path} = {value:g} gives no valid chip: {exc}") from None
            plan = plans[i]
            assert plan is not None  # `work` holds only systems with a plan
            ends.append(_metric_at(model, sys_v, st_v, plan, wl, precision, min_user_rate, metric))
        swing = Swing(a, ends[0], ends[1])
        if result.baseline_ratio is not None and i in (0, 1):
            other = base_val[1 - i]
            if i == 0:
                swing.ratio_low, swing.ratio_high = (e / other if other else None for e in ends)
            else:
                swing.ratio_low, swing.ratio_high = (base_val[0] / e if e else None for e in ends)
        result.swings.append(swing)
        if progress:
            progress()
    for i, b in enumerate(baselines):
        own = [v for s in result.swings if s.assumption.system == b.label for v in (s.metric_low, s.metric_high)]
        if b.prediction:
            b.band = (min([base_val[i], *own]), max([base_val[i], *own]))
    return result


def point_band(model: ModelSpec, system: SystemSpec, layout: str, wl: Workload, precision: str | None,
               min_user_rate: float | None, stack: StackProfile | None = None,
               metric: str = "output_tokens_per_joule") -> tuple[float, float] | None:
    """The band of a metric at one operating point, as factors of its value: each of the system's
    assumptions set to its low and high end in turn at the point's layout (the batch re-chosen
    under the rate bound), relative to the same evaluation with nothing varied. None when the
    layout cannot meet the bound without speculation (no plain baseline to scale)."""
    st = stack or load_stack(system.chip.software_stack)
    plan = ParallelPlan.parse(layout)[0]
    base, batch = _best_at(model, system, st, plan, wl, precision, min_user_rate, metric)
    if base <= 0:
        return None
    lo = hi = 1.0
    for a in assumptions_of(system, st):
        for value in (a.low, a.high):
            sys_v, st_v = varied(system, st, a, value)
            f = _metric_at(model, sys_v, st_v, plan, wl, precision, min_user_rate, metric, around=batch) / base
            lo, hi = min(lo, f), max(hi, f)
    return lo, hi


def work_items(systems: list[SystemSpec], stacks: list[StackProfile | None] | None = None) -> int:
    """How many assumptions a sensitivity run will vary (for a progress bar)."""
    stacks = stacks or [None] * len(systems)
    return sum(len(assumptions_of(s, st or load_stack(s.chip.software_stack))) for s, st in zip(systems, stacks,
                                                                                            strict=True))
