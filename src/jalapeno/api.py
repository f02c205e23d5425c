"""The Python API: the CLI's operations as functions returning typed results.

`import jalapeno` re-exports the names of `API` lazily (this module loads on first use), so
scripts get `jalapeno.predict(model="llama-3.1-8b", chip="h100-sxm")` without four internal
imports. Every function takes catalog ids, file paths or already-built objects (ModelSpec,
ChipSpec, SystemSpec, Scenario) and returns a result with `.to_dict()` (the same keys, with units
in their names, as the command's `--json`) and `.to_frame()` (a pandas DataFrame, when pandas is
installed). Units: seconds (`_s`), watts (`_w`), joules (`_j`), bytes (`_bytes`), dollars
(`_usd`); rates are per second.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jalapeno import API  # the one list of public names (add `cost` / `explore` there)
from jalapeno.economics.money import money_fields, parse_cost_basis
from jalapeno.engine.compare import SystemBest, best_on_system
from jalapeno.engine.planner import OBJECTIVES, PlanPoint, plan_deployment
from jalapeno.engine.planner import PlanResult as _PlannerResult
from jalapeno.engine.predict import Prediction, Workload
from jalapeno.engine.predict import predict as _predict
from jalapeno.engine.speculative import SpecRequest, resolve_spec
from jalapeno.errors import JalapenoError
from jalapeno.hardware import catalog, systems
from jalapeno.hardware.spec import ChipSpec, SystemSpec
from jalapeno.models import config as model_config
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan
from jalapeno.serving.capacity import CapacityResult as _CapacityResult
from jalapeno.serving.capacity import find_capacity
from jalapeno.serving.metrics import RequestRecord
from jalapeno.serving.run import simulate as _simulate
from jalapeno.serving.scenario import Scenario, load_scenario, merge, parse_scenario
from jalapeno.serving.simulator import SimulationResult
from jalapeno.stacks import load_stack
from jalapeno.validation.summary import ValidationResult, run_validation

__all__ = [*API, "Result", "PredictResult", "CompareResult", "PlanResult", "SimulateResult", "CapacityResult",
           "ValidateResult", "CostResult", "SensitivityResult", "ExploreResult"]

ModelRef = str | os.PathLike | ModelSpec
ChipRef = str | os.PathLike | ChipSpec
SystemRef = str | os.PathLike | SystemSpec | ChipSpec


# --- loading -------------------------------------------------------------------------------------

def load_chip(chip: ChipRef) -> ChipSpec:
    """A chip by catalog id or chip-YAML path (a ChipSpec is returned as is)."""
    return chip if isinstance(chip, ChipSpec) else catalog.load_chip(os.fspath(chip))


def load_model(model: ModelRef) -> ModelSpec:
    """A model by catalog id or config.json path (a ModelSpec is returned as is)."""
    return model if isinstance(model, ModelSpec) else model_config.load_model(os.fspath(model))


def derive_chip(base: ChipRef, overrides: dict[str, Any] | None = None, **fields: Any) -> ChipSpec:
    """A validated what-if chip: `base` (id, path or ChipSpec) with dotted-path overrides of its
    design primitives or figures (`{"matrix.units": 16, "memory.hbm.stacks": 6}`); every total a
    changed primitive determines (peaks, bandwidths, capacities) follows it."""
    from jalapeno.hardware.design import derive_chip as _derive

    return _derive(load_chip(base), overrides, **fields)


def load_system(system: SystemRef, chips: int | None = None) -> SystemSpec:
    """A system by catalog id or path (resized to `chips` if given), or `chips` of a chip on its
    own links (default: one node, within the chip's scale-up domain)."""
    if isinstance(system, SystemSpec):
        return system
    if isinstance(system, ChipSpec):
        return _chip_system(system, chips)
    ref = os.fspath(system)
    if ref in systems.system_ids() or (Path(ref).is_file() and _is_system_file(ref)):
        return systems.load_system(ref, num_chips=chips).system_spec()
    return _chip_system(catalog.load_chip(ref), chips)


def _is_system_file(path: str) -> bool:
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError:
        return False
    return isinstance(raw, dict) and "topology" in raw


def _chip_system(chip: ChipSpec, chips: int | None) -> SystemSpec:
    return catalog.make_system(chip, chips or min(chip.node.chips_per_node, chip.links.max_domain_chips))


# --- results -------------------------------------------------------------------------------------

class Result:
    """What every API call returns: `.to_dict()` for JSON, `.rows()` for tables, `.to_frame()` for
    pandas."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def rows(self) -> list[dict[str, Any]]:
        """One dict per table row (the natural unit of the result: a system, a point, a request)."""
        return [self.to_dict()]

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas: `pip install pandas`)."""
        try:
            import pandas as pd
        except ImportError:
            raise JalapenoError("to_frame() needs pandas (pip install pandas); to_dict() and rows() do not") from None
        return pd.DataFrame(self.rows())


@dataclass(frozen=True)
class PredictResult(Result):
    """One steady-state operating point; its fields (output_tokens_per_s, ttft_s, tpot_s, power_w,
    output_tokens_per_joule, ...) are readable as attributes, and `money` holds $/Mtoken and
    tokens/s per MW on the chosen cost basis."""

    prediction: Prediction
    money: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.prediction, name)

    def to_dict(self) -> dict[str, Any]:
        return {**self.prediction.to_dict(), **self.money}


@dataclass(frozen=True)
class CompareResult(Result):
    model: str
    input_tokens: int
    output_tokens: int
    min_tokens_per_s_per_user: float
    systems: list[SystemBest]

    def rows(self) -> list[dict[str, Any]]:
        return [{"chip": r.chip, "chips": r.chips, "note": r.note, **(r.prediction.to_dict() if r.prediction else {})}
                for r in self.systems]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "min_tokens_per_s_per_user": self.min_tokens_per_s_per_user, "systems": self.rows()}


@dataclass(frozen=True)
class PlanResult(Result):
    model: str
    chip: str
    chips: int
    objective: str
    result: _PlannerResult

    @property
    def best(self) -> PlanPoint:
        """The best point for the chosen objective."""
        return self.result.best[self.objective]

    @property
    def frontier(self) -> list[PlanPoint]:
        return self.result.frontier

    def rows(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.result.frontier]

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {"model": self.model, "chip": self.chip, "chips": self.chips, "objective": self.objective,
                "layouts_tried": r.layouts_tried, "layouts_feasible": r.layouts_feasible,
                "best": {k: v.to_dict() for k, v in r.best.items()}, "frontier": self.rows(),
                "rejected": r.rejected, **({"note": r.note} if r.note else {})}


@dataclass(frozen=True)
class SimulateResult(Result):
    """A simulation's summary (`summary[...]`: percentiles, throughput, energy) and, with
    `keep_requests=True`, one record per finished request (`requests`)."""

    scenario: Scenario
    summary: dict[str, Any]
    requests: list[RequestRecord] = field(default_factory=list)
    simulation: SimulationResult | None = field(default=None, repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.summary[key]

    def rows(self) -> list[dict[str, Any]]:
        if not self.requests:
            return [self.summary]
        return [{"id": r.id, "arrival_s": r.arrival_s, "ttft_s": r.ttft_s, "tpot_s": r.tpot_s, "finish_s": r.finish_s,
                 "input_tokens": r.input_tokens, "output_tokens": r.output_tokens, "replica": r.replica,
                 "preemptions": r.preemptions} for r in self.requests]

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario.model_dump(), **self.summary}


@dataclass(frozen=True)
class CapacityResult(Result):
    scenario: Scenario
    result: _CapacityResult

    @property
    def max_rate_per_s(self) -> float:
        return self.result.rate_per_s

    def rows(self) -> list[dict[str, Any]]:
        return self.to_dict()["probes"]

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()


@dataclass(frozen=True)
class ValidateResult(Result):
    result: ValidationResult

    @property
    def summary(self) -> dict[str, Any]:
        return self.result.summary()

    def rows(self) -> list[dict[str, Any]]:
        return self.to_dict()["rows"]

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()


@dataclass(frozen=True)
class CostResult(Result):
    """Die area by block (mm^2), unit build cost (USD) and cost per chip-hour (USD/h) of one chip,
    with its public cloud prices: the `jalapeno cost --json` keys."""

    data: dict[str, Any]

    @property
    def usd_per_chip_hour(self) -> float:
        return float(self.data["chip_hour_build"]["usd_per_chip_hour"])

    def rows(self) -> list[dict[str, Any]]:
        return [{"chip": self.data["chip"], "unit_usd": self.data["unit_cost"]["unit_usd"],
                 "usd_per_chip_hour_build": self.usd_per_chip_hour,
                 "usd_per_chip_hour_asp": (self.data["chip_hour_asp"] or {}).get("usd_per_chip_hour")}]

    def to_dict(self) -> dict[str, Any]:
        return self.data


@dataclass(frozen=True)
class SensitivityResult(Result):
    """Each assumption's effect on a comparison (the `jalapeno sensitivity --json` keys): per system
    its metric and band, per assumption its low/high ends, the ratio there and the spread."""

    data: dict[str, Any]

    def rows(self) -> list[dict[str, Any]]:
        return list(self.data["swings"])

    def to_dict(self) -> dict[str, Any]:
        return self.data


@dataclass(frozen=True)
class ExploreResult(Result):
    """A design search: trials run, feasible ones, what rejected the others, and the Pareto front
    (each design's parameters, objectives and metrics: area mm^2, TDP W, unit USD, tokens/J, ...)."""

    data: dict[str, Any]

    @property
    def front(self) -> list[dict[str, Any]]:
        return list(self.data["pareto_front"])

    def rows(self) -> list[dict[str, Any]]:
        return self.front

    def to_dict(self) -> dict[str, Any]:
        return self.data


# --- operations ----------------------------------------------------------------------------------

def predict(model: ModelRef, chip: ChipRef | None = None, system: SystemRef | None = None, chips: int | None = None,
            layout: str | ParallelPlan | None = None, precision: str | None = None, input_tokens: int = 2048,
            output_tokens: int = 256, concurrency: int | None = None, cost_basis: str = "auto",
            spec: str = "none", spec_tokens: int | None = None, spec_acceptance: str | float | None = None,
            draft_model: ModelRef | None = None) -> PredictResult:
    """Throughput (tokens/s), latency (s), power (W) and energy of one model on one system.

    `spec` is the speculative method (none, ngram, draft, eagle, mtp) with `spec_tokens` drafted
    per step, `spec_acceptance` per drafted token (or "0.9,0.8,0.6" per position) and, for
    `draft`, a `draft_model`, as the CLI's --spec options.

    `layout` is "tp=8,pp=2,ep=16,dp=4" or a ParallelPlan (default: tensor parallel over all chips
    within the scale-up domain). Without `concurrency`, all requests are queued: the largest batch
    that fits. `cost_basis` prices the chips for the money fields (as the CLI's --cost-basis).
    """
    m = load_model(model)
    plan, dp = (ParallelPlan.parse(layout) if isinstance(layout, str) else (layout, None))
    if system is None and chip is None:
        raise JalapenoError("predict needs chip= or system=")
    n = chips or ((dp or 1) * plan.chips_per_replica if plan else None)
    if system is not None:
        sysspec = load_system(system, n)
    else:
        assert chip is not None
        sysspec = catalog.make_system(load_chip(chip), n or 1)
    if dp and plan and dp * plan.chips_per_replica != sysspec.num_chips:
        raise JalapenoError(f"layout {layout}: dp={dp} replicas of {plan.chips_per_replica} chips is "
                            f"{dp * plan.chips_per_replica} chips, but the system has {sysspec.num_chips}")
    if plan is None:
        plan = ParallelPlan(tp=min(sysspec.num_chips, sysspec.scale_up_chips))
    stack = load_stack(sysspec.chip.software_stack)
    sp = resolve_spec(m, spec, spec_tokens, spec_acceptance, load_model(draft_model) if draft_model else None,
                      tuple(stack.capabilities.spec_methods), stack.id)
    p = _predict(m, sysspec, Workload(input_tokens, output_tokens), plan, precision, concurrency, spec=sp)
    money = money_fields(sysspec.chip, sysspec.num_chips, p.output_tokens_per_s,
                         p.output_tokens_per_s * input_tokens / output_tokens, p.power_w,
                         parse_cost_basis(cost_basis), hosts=sysspec.hosts).to_dict()
    return PredictResult(p, money)


DEFAULT_COMPARE = ["jalapeno-ref", "h100-sxm", "b200", "mi300x", "tpu-v6e", "trainium2"]


def compare(model: ModelRef = "gpt-oss-120b", systems: list[SystemRef] | None = None, chips: int | None = None,
            precision: str | None = None, input_tokens: int = 2048, output_tokens: int = 256,
            min_tokens_per_s_per_user: float = 100.0) -> CompareResult:
    """Each system (ids, chip or system files, objects; default: the main job's chips) at its best
    layout for the workload, keeping operating points where every user gets at least
    `min_tokens_per_s_per_user`."""
    m = load_model(model)
    wl = Workload(input_tokens, output_tokens)
    rows = [best_on_system(m, load_system(s, chips), wl, precision, min_tokens_per_s_per_user or None)
            for s in (systems or DEFAULT_COMPARE)]
    return CompareResult(m.id, input_tokens, output_tokens, min_tokens_per_s_per_user, rows)


def plan(model: ModelRef, system: SystemRef, chips: int | None = None, precision: str | None = None,
         input_tokens: int = 2048, output_tokens: int = 256, slo_ttft_s: float | None = None,
         slo_tpot_s: float | None = None, objective: str = "throughput", chip_hour_usd: float | None = None,
         usd_per_kwh: float = 0.0, spec: str = "auto", spec_tokens: int | None = None,
         spec_acceptance: str | float | None = None, draft_model: ModelRef | None = None,
         disaggregate: bool = True) -> PlanResult:
    """Every layout, speculative method and batch size of a model on a system that its stack runs
    (as `jalapeno plan`): the Pareto frontier (tokens/s per chip against tokens/s per user) and
    the best point per objective (throughput, tokens-per-joule, cost). `spec="auto"` searches every
    method the stack and model run; `disaggregate` also tries prefill/decode pools."""
    if objective not in OBJECTIVES:
        raise JalapenoError(f"objective must be one of {', '.join(OBJECTIVES)}, got '{objective}'")
    if objective == "cost" and chip_hour_usd is None:
        raise JalapenoError("objective 'cost' needs chip_hour_usd (the catalog holds no prices)")
    m = load_model(model)
    s = load_system(system, chips)
    req = SpecRequest(spec, spec_tokens, spec_acceptance, load_model(draft_model) if draft_model else None)
    res = plan_deployment(m, s, Workload(input_tokens, output_tokens), precision, slo_ttft_s, slo_tpot_s,
                          chip_hour_usd, usd_per_kwh, spec=req, disaggregate=disaggregate)
    if not res.points:
        raise JalapenoError(f"no layout of {m.id} on {s.num_chips} x {s.chip.id} meets the bounds")
    return PlanResult(m.id, s.chip.id, s.num_chips, objective, res)


def _scenario(scenario: str | os.PathLike | Scenario | dict | None, overrides: dict[str, Any],
              defaults: dict[str, Any] | None = None) -> Scenario:
    if isinstance(scenario, Scenario):
        base = scenario.model_dump(exclude_none=True)
        where = "scenario"
    elif isinstance(scenario, dict):
        base, where = scenario, "scenario dict"
    elif scenario is not None:
        where = os.fspath(scenario)
        base = load_scenario(where).model_dump(exclude_none=True)
    else:
        base, where = {}, "arguments"
    return parse_scenario(merge(merge(defaults or {}, base), overrides), where)


def simulate(scenario: str | os.PathLike | Scenario | dict | None = None, keep_requests: bool = False,
             progress: Callable[[float, int], None] | None = None, **overrides: Any) -> SimulateResult:
    """Simulate a server: a scenario file, Scenario or dict, with keyword overrides of its top-level
    keys (model=, chip=, tp=, workload={...}, serving={...}). `keep_requests` keeps one record per
    request (arrival_s, ttft_s, tpot_s, finish_s, tokens, replica) in `.requests`."""
    sc = _scenario(scenario, overrides)
    res = _simulate(sc, keep_requests=keep_requests, progress=progress)
    return SimulateResult(sc, res.summary(), list(res.metrics.records), res)


def capacity(scenario: str | os.PathLike | Scenario | dict | None = None, duration_s: float = 120.0,
             progress: Callable[[str], None] | None = None, **overrides: Any) -> CapacityResult:
    """The highest request rate (requests/s) whose p99 TTFT and p99 TPOT meet the scenario's SLOs."""
    # The search sets rate and duration per probe; these placeholders only let the scenario parse.
    sc = _scenario(scenario, overrides, {"workload": {"duration_s": duration_s, "rate_per_s": 1.0}})
    return CapacityResult(sc, find_capacity(sc, duration_s=duration_s, progress=progress))


def cost(chip: ChipRef | None = None, system: str | None = None, yield_model: str | None = None,
         life_years: float | None = None, cost_of_capital: float | None = None, pue: float | None = None,
         usd_per_kwh: float | None = None) -> CostResult:
    """Die area, dies per wafer, yield, unit cost and total cost of ownership per chip-hour (USD)
    of a chip (id, path or ChipSpec), or of a catalog system's chip with its hosts and wiring."""
    from jalapeno.economics.breakdown import cost_breakdown

    if chip is None and system is None:
        raise JalapenoError("cost needs chip= or system=")
    topo = systems.load_system(system) if system else None
    if topo is not None:
        c = topo.chip
    else:
        assert chip is not None
        c = load_chip(chip)
    return CostResult(cost_breakdown(c, topo, yield_model, life_years, cost_of_capital, pue, usd_per_kwh).data)


def sensitivity(model: ModelRef = "gpt-oss-120b", systems: list[SystemRef] | None = None,
                chips: int | None = None, input_tokens: int = 2048, output_tokens: int = 256,
                min_tokens_per_s_per_user: float | None = 100.0, metric: str = "output_tokens_per_joule",
                precision: str | None = None) -> SensitivityResult:
    """Vary each stated assumption range of each system one at a time (default: jalapeno-ref
    against B200) and rank them by how much they move the ratio of the first system's metric over
    the second's."""
    from jalapeno.engine.sensitivity import sensitivity as _sensitivity

    specs = [load_system(s, chips) for s in (systems or ["jalapeno-ref", "b200"])]
    res = _sensitivity(load_model(model), specs, Workload(input_tokens, output_tokens), precision,
                       min_tokens_per_s_per_user, metric)
    return SensitivityResult(res.to_dict())


def explore_space(space: str | os.PathLike, trials: int = 100, storage: str | None = None,
                  study_name: str | None = None, sampler: str = "nsga2", seed: int = 0, resume: bool = False,
                  workers: int = 1, ray_address: str | None = None, batch: int = 8) -> ExploreResult:
    """Search a design space file (examples/spaces) with optuna, every finished trial committed to
    `storage` (default: sqlite:///study.db here); the Pareto front of the feasible designs. (Not
    `jalapeno.explore`: that name is the design-search package, which an import would rebind.)"""
    from jalapeno.explore import load_space
    from jalapeno.explore.evaluate import check_constraints
    from jalapeno.explore.results import feasible_trials, pareto_front
    from jalapeno.explore.study import DEFAULT_STORAGE, Backend, finished, open_study, rejection_counts, run

    if trials < 1 or workers < 1 or batch < 1:
        raise JalapenoError("explore: trials, workers and batch must be at least 1")
    sp = load_space(Path(space))
    check_constraints(sp)
    study = open_study(sp, storage or DEFAULT_STORAGE, study_name, sampler, seed, resume)
    before = finished(study.memory)
    backend = Backend(sp, workers, ray_address)
    try:
        ran = run(study, trials, backend, batch)
    finally:
        backend.close()
    feas = feasible_trials(study.durable)
    front = pareto_front(feas, sp.directions)
    rows = [{"trial": t.number, "params": dict(t.params),
             **{o.name: v for o, v in zip(sp.objectives, t.values, strict=True)},
             "metrics": dict(t.user_attrs.get("metrics", {}))} for t in front]
    return ExploreResult({"study": study.durable.study_name, "trials_before": before, "trials_run": ran,
                          "feasible": len(feas), "rejected_by": rejection_counts(study.durable),
                          "pareto_front": rows})


def validate(server: bool = False) -> ValidateResult:
    """Predict every shipped measurement the catalog covers; per-row and summary errors (percent)."""
    return ValidateResult(run_validation(server=server))
