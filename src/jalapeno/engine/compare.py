"""Comparing systems on one workload: each system's interactivity frontier, read at several
per-user speeds.

For every system the planner (planner.py) searches the layouts and speculative methods its
software stack runs; at each per-user speed asked for (tokens/s per user, e.g. 50 to 1,000) the
operating point with the highest throughput per chip that reaches it is kept. A system that
cannot reach a speed is reported as such, with the fastest per-user rate it can reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jalapeno.engine.planner import PlanPoint, plan_deployment
from jalapeno.engine.predict import Prediction, Workload, best_under_user_rate, evaluate, make_setup
from jalapeno.engine.speculative import SpecRequest
from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile, load_stack

DEFAULT_USER_RATES = (50.0, 100.0, 200.0, 500.0, 1000.0)


@dataclass
class CompareRow:
    chip: str
    chips: int
    system: str
    cells: dict[float, PlanPoint | None] = field(default_factory=dict)  # per-user rate -> best point
    fastest: PlanPoint | None = None  # the highest per-user rate the system reaches
    note: str = ""


@dataclass
class SystemBest:
    chip: str
    chips: int
    prediction: Prediction | None
    note: str = ""


def candidate_plans(model: ModelSpec, system: SystemSpec, max_pp: int = 8, stack=None) -> list[ParallelPlan]:
    """Layouts worth trying: tensor parallelism inside the scale-up domain, pipelines, and for
    MoE models expert parallelism inside the tp group or wide (ep > tp, attention data parallel).

    With a stack profile, only what its `capabilities` declare: attention data parallelism and
    the widest EP it runs, its deepest pipeline (up to one layer per chip for SRAM-resident
    stacks), and layouts that leave chips idle when they do not divide the system (a 64-way
    wide-EP replica on a 72-GPU NVLink domain). Without one, the historical search (pipelines up
    to `max_pp`, every replica the same size and dividing the system)."""
    n, domain = system.num_chips, system.scale_up_chips
    heads = model.layers[0].attention.heads
    experts = max((g.mlp.experts for g in model.layers), default=0)
    powers = [1 << i for i in range(0, 14) if 1 << i <= n]
    caps = stack.capabilities if stack is not None else None
    pp_limit = caps.pipeline_limit(model.num_layers) if caps else min(max_pp, model.num_layers)
    pps = sorted({p for p in powers if p <= pp_limit}
                 | ({d for d in range(8, pp_limit + 1) if model.num_layers % d == 0 and d <= n}
                    if caps and caps.pp_to_layers else set()))
    plans = []
    for tp in powers:
        if tp > domain or heads % tp:
            continue
        for pp in pps:
            eps = [1]
            if experts:
                eps = [e for e in powers if experts % e == 0 and (tp % e == 0 or e % tp == 0)]
                if caps:
                    # Inside the tp group the stacks split experts tp ways (EP = TP) or not at all
                    # (experts tensor-parallel, EP = 1), as their public configurations do; beyond
                    # it, wide EP with attention data parallelism where the stack has it.
                    eps = [e for e in eps if e <= caps.max_ep and e <= domain
                           and (e in (1, tp) or (e > tp and caps.attention_dp))]
            for e in eps:
                plan = ParallelPlan(tp=tp, pp=pp, ep=e)
                if plan.chips_per_replica > n:
                    continue
                if caps is None and n % plan.chips_per_replica:
                    continue
                plans.append(plan)
    return plans


def on_common_stack(own: StackProfile, common: StackProfile) -> StackProfile:
    """`common`'s costs (achievable fractions of peak, fixed costs, batching policy) with the layouts
    and methods `own` runs: the system's hardware alone, priced on another stack's software."""
    if own.id == common.id:
        return own
    return StackProfile.model_validate({**common.model_dump(), "id": f"{common.id} costs, {own.id} layouts",
                                        "capabilities": own.capabilities.model_dump()})


def compare_system(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None,
                   user_rates: tuple[float, ...] = DEFAULT_USER_RATES, spec: SpecRequest | None = None,
                   name: str = "", stack: StackProfile | None = None) -> CompareRow:
    """`stack`: price the system on this stack's costs (its own layouts and methods kept)."""
    row = CompareRow(system.chip.id, system.num_chips, name or f"{system.num_chips} x {system.chip.id}")
    if stack is not None:
        stack = on_common_stack(load_stack(system.chip.software_stack), stack)
    try:
        res = plan_deployment(model, system, wl, precision, spec=spec or SpecRequest("auto"), disaggregate=True,
                              stack=stack)
    except JalapenoError as exc:
        row.note = str(exc)
        return row
    if not res.points:
        row.note = "does not fit at any layout"
        return row
    row.fastest = max(res.points, key=lambda p: p.output_tokens_per_s_per_user)
    for rate in user_rates:
        ok = [p for p in res.frontier if p.output_tokens_per_s_per_user >= rate]
        row.cells[rate] = max(ok, key=lambda p: p.output_tokens_per_s_per_chip) if ok else None
    return row


def best_on_system(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None,
                   min_user_rate: float | None, stack: StackProfile | None = None) -> SystemBest:
    """One operating point per system (the highest throughput per chip meeting one per-user rate,
    without speculative decoding), as `jalapeno sensitivity` compares them. `stack`: run the system
    on this software-stack profile instead of its chip's own."""
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
        return SystemBest(system.chip.id, system.num_chips, None, "does not fit at any layout")
    if best is None:
        return SystemBest(system.chip.id, system.num_chips, None,
                          f"cannot reach {min_user_rate:g} tokens/s per user (best {fastest_user:.0f})")
    return SystemBest(system.chip.id, system.num_chips, best)


def _fastest_user_rate(setup, wl: Workload) -> float:
    return float(1.0 / evaluate(setup, wl, [1])["tpot"][0])
