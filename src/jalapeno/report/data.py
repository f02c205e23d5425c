"""The figures a report draws, gathered from the layers below as plain dicts and lists.

Charts only ever see these dicts (the same shapes as the commands' `--json` where one exists),
so a report can also be drawn from a saved JSON file. Three things have no `--json` of their own
and are computed here: the Pareto frontier of each system of a comparison (the planner over the
comparison's workload), a simulation's latency CDFs and time series (from its flat-memory
histograms and step timeline), and one step's cost by operator (the engine's own lowering and
per-operator costs, so the bars add up to the step the prediction used).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.power import active_power_w, work_energy
from jalapeno.engine.predict import Workload, make_setup
from jalapeno.engine.step import op_cost, prefill_share, stage_layers, step_ops
from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import SystemSpec
from jalapeno.kernels.execution import step_time
from jalapeno.kernels.gemm import compute_format
from jalapeno.models.lowering import Batch
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan
from jalapeno.serving.metrics import LogHistogram
from jalapeno.serving.simulator import SimulationResult

MAX_SERIES_POINTS = 2000
"""Time series are thinned to about this many points per replica (the page stays small)."""


def frontier(model: ModelSpec, system: SystemSpec, wl: Workload, precision: str | None) -> list[dict[str, Any]]:
    """The system's Pareto frontier (tokens/s per chip against tokens/s per user) over every
    layout and batch size, as PlanPoint dicts; empty when nothing fits."""
    try:
        res = plan_deployment(model, system, wl, precision)
    except JalapenoError:
        return []
    return [p.to_dict() for p in res.frontier]


def _cdf(h: LogHistogram) -> list[list[float]]:
    """[value, fraction at or below] at every occupied bin of a log histogram."""
    if not h.n:
        return []
    idx = np.flatnonzero(h.counts)
    lo, ratio = 1e-5, 1.005  # the histogram's own bin edges (serving/metrics.py)
    upper = np.minimum(lo * ratio ** idx.astype(float), h.max)
    frac = np.cumsum(h.counts)[idx] / h.n
    return [[float(x), float(f)] for x, f in zip(upper, frac, strict=True)]


def simulation(res: SimulationResult) -> dict[str, Any]:
    """Summary, TTFT / TPOT / end-to-end CDFs, and (when the run kept its timeline) per-replica
    series of requests waiting, KV-cache occupancy and power at each step start."""
    m = res.metrics
    out: dict[str, Any] = {"summary": res.summary(),
                           "cdf": {"ttft_s": _cdf(m.ttft), "tpot_s": _cdf(m.tpot), "e2e_s": _cdf(m.e2e)},
                           "series": {}}
    blocks = max(res.kv_blocks_per_replica, 1)
    by_rep: dict[int, list] = {}
    for span in m.spans:
        by_rep.setdefault(span[0], []).append(span)
    for rep, spans in sorted(by_rep.items()):
        step = max(1, math.ceil(len(spans) / MAX_SERIES_POINTS))
        kept = spans[::step]
        out["series"][str(rep)] = {
            "t_s": [s[1] for s in kept],
            "waiting": [s[6] for s in kept],
            "kv_occupancy": [s[7] / blocks for s in kept],
            "power_w": [s[5] / s[2] if s[2] > 0 else 0.0 for s in kept],
        }
    return out


def _first(x) -> float:
    """The one batch shape's value (cost fields are arrays over shapes, or scalars)."""
    return float(np.atleast_1d(np.asarray(x, dtype=float))[0])


def step_breakdown(model: ModelSpec, system: SystemSpec, layout: str, precision: str | None,
                   wl: Workload, concurrency: int) -> dict[str, Any]:
    """Time (s) and energy (J) by operator of a representative steady-state step at a
    prediction's operating point: B decodes at the mean context plus the B/OSL prompts that arrive
    per step (the mean of the step shapes engine/predict averages over), costed by the engine's own
    lowering and per-operator costs, so the bars add up to `engine.step.step_cost` of that batch.
    Also a roofline point per operator: arithmetic intensity (FLOP per main-memory byte) and
    achieved FLOP/s, with the chip's roofs."""
    plan, _ = ParallelPlan.parse(layout)
    setup = make_setup(model, system, plan, precision)
    chip, prec = system.chip, setup.prec
    b = max(concurrency // setup.replicas, 1)
    micro = b / plan.pp / plan.attn_dp
    batch = Batch.of(decode_seqs=micro, decode_context=wl.input_tokens + wl.output_tokens / 2,
                     prefill_seqs=micro / wl.output_tokens, prefill_tokens=micro * wl.input_tokens / wl.output_tokens,
                     prefill_context=0)
    fmt = compute_format(prec.weights, prec.activations)
    active_w = active_power_w(chip)
    ops: dict[str, dict[str, float]] = {}
    device_s = launches = 0.0
    for op in step_ops(model, batch, prec, plan):
        c = op_cost(op, chip, setup.stack, prec, setup.topology)
        n = op.count
        t = _first(c.time_s) * n
        link_j = _first(c.link_energy_j) if c.link_energy_j is not None else 0.0
        e = _first(work_energy(chip, fmt, _first(c.flops), _first(c.hbm_bytes), _first(c.onchip_bytes), link_j)) * n
        e += active_w * t
        device_s += t
        launches += _first(c.launches) * n
        row = ops.setdefault(op.name, {"time_s": 0.0, "energy_j": 0.0, "flops": 0.0, "memory_bytes": 0.0})
        row["time_s"] += t
        row["energy_j"] += e
        row["flops"] += _first(c.flops) * n
        row["memory_bytes"] += _first(c.hbm_bytes) * n
    # What the step adds beyond its operators: launches, host scheduling, per-layer sync.
    wall_s = step_time(chip, setup.stack, device_s, launches, stage_layers(model, plan),
                       float(prefill_share(batch)[0]))
    order = sorted(ops, key=lambda k: -ops[k]["time_s"])
    rows = [{"op": k, **ops[k], "achieved_flops": ops[k]["flops"] / ops[k]["time_s"] if ops[k]["time_s"] else 0.0,
             "intensity_flop_per_byte": ops[k]["flops"] / ops[k]["memory_bytes"] if ops[k]["memory_bytes"] else None}
            for k in order]
    return {"chip": chip.id, "layout": layout, "precision": prec.weights, "batch_per_replica": b,
            "peak_flops": float(chip.peak_flops(fmt)), "memory_bandwidth_bytes_per_s": chip.main_memory.bandwidth_gb_s
            * 1e9, "step_overhead_s": max(wall_s - device_s, 0.0), "ops": rows}


def kernel_point(d: dict[str, Any], chip) -> dict[str, Any]:
    """A `jalapeno kernel` result as a one-operator breakdown (for its roofline)."""
    fmt = d.get("dtype", "bf16")
    row = {"op": d["op"], "time_s": d["time_s"], "energy_j": d["energy_j"], "flops": d["flops"],
           "memory_bytes": d["memory_bytes"],
           "intensity_flop_per_byte": d["flops"] / d["memory_bytes"] if d["memory_bytes"] else None,
           "achieved_flops": d["flops"] / d["time_s"] if d["time_s"] else 0.0}
    peak = float(chip.peak_flops(fmt))  # falls back to the next wider format the chip has
    return {"chip": chip.id, "layout": "-", "precision": fmt, "batch_per_replica": 1, "peak_flops": peak,
            "memory_bandwidth_bytes_per_s": chip.main_memory.bandwidth_gb_s * 1e9, "step_overhead_s": 0.0,
            "ops": [row]}
