"""The deployment planner: every layout, speculative method and batch size of a model on a
system that its software stack runs, the Pareto frontier of throughput per chip against
tokens/s per user, and the best point per objective.

Layouts come from `compare.candidate_plans` under the stack's declared capabilities; the
speculative methods are the ones the stack and model both run (engine/speculative.py). Each
layout's batch sizes and methods are evaluated in one vectorized engine pass (plus one per
draft); points violating the latency SLOs are dropped. Objectives: `throughput` (output
tokens/s per chip of the system, idle chips included), `tokens-per-joule`, and `cost` (dollars
per million output tokens from a chip-hour price and an electricity price the user gives: the
catalog carries no prices).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from jalapeno.engine.disagg import disaggregated, prefill_pool_shapes
from jalapeno.engine.predict import Workload, batch_grid, evaluate_with_extra, make_setup, max_batch
from jalapeno.engine.speculative import SpecRequest, spec_options
from jalapeno.errors import JalapenoError
from jalapeno.formats import short_label
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.spec import ModelSpec
from jalapeno.stacks import StackProfile, load_stack

OBJECTIVES = ("throughput", "tokens-per-joule", "cost")
_GRID = batch_grid(1 << 20, per_doubling=4)
SERVER_CHIPS = 8  # chips of one server, the unit a stack's serving concurrency limit counts in


@dataclass
class PlanPoint:
    layout: str
    replicas: int
    chips_used: int
    concurrency: int
    precision: str
    precision_short: str
    speculative: str
    disaggregated: bool
    output_tokens_per_s_per_chip: float
    output_tokens_per_s_per_user: float
    ttft_s: float
    tpot_s: float
    tpot_p50_s: float
    tpot_p99_s: float
    output_tokens_per_joule: float
    power_w: float
    usd_per_million_tokens: float | None
    prefill_replicas: int = 0  # disaggregated: replicas in the prefill pool (the rest decode)
    pareto: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def method(self) -> str:
        """Compact: `tp=1 ep=8 x8 eagle k=3`."""
        layout = " ".join(p for p in self.layout.split(",") if p != "pp=1")
        spec = "" if self.speculative == "none" else " " + self.speculative.split(" (")[0]
        if self.disaggregated:
            pools = f" {self.prefill_replicas}P+{self.replicas - self.prefill_replicas}D"
            return f"{layout} x{self.replicas}{spec} disagg{pools}"
        return f"{layout} x{self.replicas}{spec}"


@dataclass
class PlanResult:
    points: list[PlanPoint]
    frontier: list[PlanPoint]
    best: dict[str, PlanPoint]
    layouts_tried: int
    layouts_feasible: int
    rejected: dict[str, str]
    note: str = ""  # e.g. the narrower format planned when the model's own does not fit


# Narrower weight formats tried, in order, when a model's native format fits no layout and the
# user named none: the chip's own 8-bit then 4-bit matrix formats (Groq serves Llama-3.3-70B on
# 576 LPUs with 8-bit weights, where 16-bit ones do not fit in their SRAM).
FALLBACK_FORMATS = (("fp8", "int8"), ("fp4", "int4"))


def plan_deployment(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None = None,
                    slo_ttft_s: float | None = None, slo_tpot_s: float | None = None,
                    chip_hour_usd: float | None = None, usd_per_kwh: float = 0.0, max_pp: int | None = None,
                    spec: SpecRequest | None = None, stack: StackProfile | None = None,
                    disaggregate: bool = False) -> PlanResult:
    """`spec`: the speculative methods to search (None: none; SpecRequest("auto"): every method the
    stack and model run). `disaggregate`: also try prefill/decode pools where the stack has them.
    The CLI's plan and compare search both by default; a caller that checks a point in the serving
    simulator (fleet) keeps the defaults, which that simulator reproduces. Without `precision`,
    a model whose own format fits no layout is planned at the chip's 8-bit, else its 4-bit,
    format (FALLBACK_FORMATS), and `note` says so."""
    args = (slo_ttft_s, slo_tpot_s, chip_hour_usd, usd_per_kwh, max_pp, spec, stack, disaggregate)
    res = _plan(model, system, wl, precision, *args)
    if res.points or precision is not None or res.layouts_feasible:
        return res
    native = set(system.chip.native_formats())
    for formats in FALLBACK_FORMATS:
        fmt = next((f for f in formats if f in native), formats[0])
        if fmt == model.native_format:
            continue
        narrow = _plan(model, system, wl, fmt, *args)
        if narrow.points:
            narrow.note = (f"{model.native_format} weights of {model.id} fit no layout on {system.num_chips} x "
                           f"{system.chip.id}; planned at {fmt}, give --precision to choose")
            return narrow
    return res


def _plan(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None,
          slo_ttft_s: float | None, slo_tpot_s: float | None, chip_hour_usd: float | None, usd_per_kwh: float,
          max_pp: int | None, spec: SpecRequest | None, stack: StackProfile | None,
          disaggregate: bool) -> PlanResult:
    from jalapeno.engine.compare import candidate_plans  # compare builds on the planner

    stack = stack or load_stack(system.chip.software_stack)
    chip_caps = stack.capabilities.for_chip(system.chip.id)  # as the stack runs on this chip
    if chip_caps is not stack.capabilities:
        stack = stack.model_copy(update={"capabilities": chip_caps})
    if max_pp is not None:
        caps = stack.capabilities.model_copy(update={"max_pp": max_pp, "pp_to_layers": False})
        stack = stack.model_copy(update={"capabilities": caps})
    specs = spec_options(model, stack, spec or SpecRequest("none"))
    points: list[PlanPoint] = []
    plans = candidate_plans(model, system, stack=stack)
    rejected: dict[str, str] = {}
    feasible = 0
    n = system.num_chips
    fitted_tp: set[tuple[int, int]] = set()
    for plan in sorted(plans, key=lambda p: (p.pp, p.tp, p.ep)):
        # Pipelines within a node only when the layout does not fit without one (the stacks'
        # public configurations use tp, ep and attention-DP inside a scale-up domain), except
        # on SRAM-resident stacks, which place layers chip by chip.
        if plan.pp > 1 and not stack.capabilities.pp_to_layers and (plan.tp, plan.ep) in fitted_tp:
            continue
        used = n // plan.chips_per_replica * plan.chips_per_replica
        sys_used = system if used == n else system.model_copy(update={"num_chips": used})
        try:
            setup = make_setup(model, sys_used, plan, precision, stack)
            b_max, _, _, _ = max_batch(setup, wl)
        except JalapenoError as exc:
            rejected[plan.label()] = str(exc)
            continue
        fitted_tp.add((plan.tp, plan.ep))
        feasible += 1
        label, short = setup.prec.label(), short_label(setup.prec)
        usable = []
        for sp in specs:
            try:
                b_sp, _, _, _ = max_batch(replace(setup, spec=sp), wl)
            except JalapenoError:
                continue
            usable.append((sp, b_sp))
        if not usable:
            continue
        b_top = max(b for _, b in usable)
        # One grid for every layout (cut at its largest batch), so GEMMs of equal shapes repeat
        # across layouts and are costed once (engine/gemm_memo.py).
        grid = np.unique(np.append(_GRID[_GRID < b_top], b_top))
        pool = prefill_pool_shapes(setup, wl) if disaggregate else None
        results, pool_t, pool_e = evaluate_with_extra(setup, wl, grid, [sp for sp, _ in usable],
                                                      pool[0] if pool else None)
        idle_w = (n - used) * system.chip.power.idle_w
        split = (disaggregated(setup, wl, grid, results, [sp for sp, _ in usable], pool, pool_t, pool_e)
                 if pool else None)
        replicas = setup.replicas
        # A co-located replica is run at most at the stack's largest public serving concurrency
        # (its capabilities), counted per 8-chip server, the unit the public single-node
        # configurations sweep (a wide-EP replica over 64 chips takes 8 servers' worth);
        # disaggregated decode pools at the multi-node recipes' larger ones.
        limit = stack.capabilities.max_concurrency_per_replica
        cap = limit * max(1, plan.chips_per_replica // SERVER_CHIPS) if limit else b_top
        for j, ((sp, b_sp), r) in enumerate(zip(usable, results, strict=True)):
            sp_label = sp.label()
            variants = [(r, None)]
            if split is not None:
                variants.append((split[j], split[j]["prefill_replicas"]))
            for res, n_pre in variants:
                per_chip = res["throughput"] / n
                user = 1.0 / res["tpot"]
                power = res["power"] + idle_w
                tpj = res["throughput"] / power
                ok = grid <= (b_sp if n_pre is not None else min(b_sp, cap))
                if slo_tpot_s:
                    ok &= res["tpot_p99"] <= slo_tpot_s
                if slo_ttft_s:
                    ok &= res["ttft"] <= slo_ttft_s
                for i in np.flatnonzero(ok):
                    usd = None
                    if chip_hour_usd is not None:
                        hours_per_mtok = 1e6 / res["throughput"][i] / 3600
                        usd = hours_per_mtok * (n * chip_hour_usd + power[i] / 1000 * usd_per_kwh)
                    decoding = replicas if n_pre is None else replicas - int(n_pre[i])
                    points.append(PlanPoint(
                        plan.label(), replicas, used, int(grid[i]) * decoding, label, short, sp_label,
                        n_pre is not None, float(per_chip[i]), float(user[i]), float(res["ttft"][i]),
                        float(res["tpot"][i]), float(res["tpot_p50"][i]), float(res["tpot_p99"][i]), float(tpj[i]),
                        float(power[i]), usd, 0 if n_pre is None else int(n_pre[i])))
    frontier = pareto(points)
    best = {}
    if points:
        best["throughput"] = max(points, key=lambda p: p.output_tokens_per_s_per_chip)
        best["tokens-per-joule"] = max(points, key=lambda p: p.output_tokens_per_joule)
        if chip_hour_usd is not None:
            best["cost"] = min(points, key=lambda p: p.usd_per_million_tokens if p.usd_per_million_tokens is not None
                               else float("inf"))
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
