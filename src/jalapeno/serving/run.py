"""Running a scenario: build the replica's engine setup from the scenario and simulate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from jalapeno.engine.predict import Setup, make_setup
from jalapeno.hardware.catalog import load_chip, make_system
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan
from jalapeno.serving.scenario import Scenario
from jalapeno.serving.simulator import SimulationResult, Simulator
from jalapeno.serving.timeline import TimelineWriter
from jalapeno.stacks import load_stack
from jalapeno.workloads.request import Request


def scenario_setup(sc: Scenario) -> Setup:
    chip = load_chip(sc.chip)
    plan = ParallelPlan(tp=sc.tp, pp=sc.pp, ep=sc.ep)
    stack = load_stack(sc.stack) if sc.stack else None
    return make_setup(load_model(sc.model), make_system(chip, plan.chips_per_replica), plan, sc.precision, stack)


def simulate(sc: Scenario, requests: Iterable[Request] | None = None, keep_requests: bool = False,
             timeline: bool = False, progress: Callable[[float, int], None] | None = None,
             step_model=None, timeline_path: Path | str | None = None) -> SimulationResult:
    """`step_model`: a step-time model to reuse (e.g. a previous run's, for the same deployment and
    scheduler limits) instead of building the engine's anew. `timeline_path`: stream the step
    timeline there as Chrome/Perfetto JSON while the run goes (memory stays flat)."""
    sim = Simulator(scenario_setup(sc), sc.serving, keep_requests, timeline, progress, step_model=step_model)
    if timeline_path is None:
        return sim.run(requests if requests is not None else sc.workload.requests())
    writer = TimelineWriter(timeline_path, kv_blocks_per_replica=sim.blocks)
    sim.metrics.timeline_writer = writer
    try:
        return sim.run(requests if requests is not None else sc.workload.requests())
    finally:
        writer.close()
