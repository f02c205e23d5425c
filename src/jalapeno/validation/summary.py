"""Running the whole validation and summarizing errors (median and 90th percentile)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jalapeno.stacks import StackProfile, load_stack
from jalapeno.validation.e2e_rows import Case, mlperf_cases, predict_case, trtllm_cases
from jalapeno.validation.inferencex_frontier import FrontierPoint, frontier_points
from jalapeno.validation.inferencex_rows import IxRow, predict_inferencex
from jalapeno.validation.kernel_rows import KernelRow, kernel_rows
from jalapeno.validation.power_rows import PowerCase, run_power_rows
from jalapeno.validation.single_stream_rows import SingleStreamRow, predict_single_streams


def error_summary(errors_pct) -> dict:
    e = np.abs(np.asarray(errors_pct, dtype=float))
    if e.size == 0:
        return {"count": 0, "median_abs_error_pct": None, "p90_abs_error_pct": None}
    return {"count": int(e.size), "median_abs_error_pct": float(np.median(e)),
            "p90_abs_error_pct": float(np.percentile(e, 90)),
            "median_signed_error_pct": float(np.median(np.asarray(errors_pct, dtype=float)))}


@dataclass
class ValidationResult:
    cases: list[Case]
    skipped: list[tuple[str, str]]
    kernels: list[KernelRow]
    stacks: dict[str, StackProfile]
    server_cases: list[Case] = field(default_factory=list)
    power: list[PowerCase] = field(default_factory=list)
    inferencex: list[IxRow] = field(default_factory=list)
    frontier: list[FrontierPoint] = field(default_factory=list)
    single_stream: list[SingleStreamRow] = field(default_factory=list)

    def summary(self) -> dict:
        out: dict[str, Any] = {"end_to_end": error_summary([c.error_pct for c in self.cases])}
        out["by_table"] = {t: error_summary([c.error_pct for c in self.cases if c.table == t])
                           for t in sorted({c.table for c in self.cases})}
        out["by_vendor"] = {v: error_summary([c.error_pct for c in self.cases if c.vendor == v])
                            for v in sorted({c.vendor for c in self.cases})}
        out["vendors"] = len({c.vendor for c in self.cases})
        if self.server_cases:
            out["server"] = error_summary([c.error_pct for c in self.server_cases])
        if self.power:
            out["power"] = {"wall_power": error_summary([c.error_pct for c in self.power]),
                            "throughput_at_limit": error_summary([c.samples_error_pct for c in self.power]),
                            "energy_per_sample": error_summary([c.samples_per_joule_error_pct for c in self.power])}
        out["kernels"] = {k: error_summary([r.error_pct for r in self.kernels if r.kind == k])
                          for k in ("gemm", "attention", "allreduce")}
        if self.inferencex:
            fitted = [r for r in self.inferencex if np.isfinite(r.predicted_tok_s_per_gpu)]
            out["inferencex"] = {**error_summary([r.error_pct for r in fitted]),
                                 "rows": len(self.inferencex), "predicted": len(fitted),
                                 "tokens_per_s_per_user": error_summary([r.user_error_pct for r in fitted]),
                                 "usd_per_mtok": error_summary([e for r in fitted
                                                                if (e := r.usd_error_pct) is not None])}
        if self.single_stream:
            planned = [r.error_pct for r in self.single_stream if r.error_pct is not None]
            out["single_stream"] = {**error_summary(planned), "rows": len(self.single_stream),
                                    "not_planned": len(self.single_stream) - len(planned)}
        if self.frontier:
            reached = [f.error_pct for f in self.frontier if f.error_pct is not None]
            out["inferencex_frontier"] = {**error_summary(reached), "points": len(self.frontier),
                                          "unreachable": len(self.frontier) - len(reached),
                                          "usd_per_mtok": error_summary([e for f in self.frontier
                                                                         if (e := f.usd_error_pct) is not None])}
        return out

    def to_dict(self) -> dict:
        """Everything `jalapeno validate --json` prints (the CLI, the Python API and reports share it)."""
        return {
            "summary": self.summary(),
            "fitted_parameters": {sid: st.fitted() for sid, st in sorted(self.stacks.items())},
            "rows": [{"table": c.table, "label": c.label, "vendor": c.vendor, "model": c.model, "chip": c.chip,
                      "chips": c.chips, "precision": c.precision, "input_tokens": c.input_tokens,
                      "output_tokens": c.output_tokens, "layout": c.layout, "unit": c.unit,
                      "measured": c.measured, "predicted": c.predicted, "error_pct": c.error_pct,
                      "source": c.source} for c in self.cases],
            "kernel_rows": [{"kind": r.kind, "label": r.label, "chip": r.chip, "measured_s": r.measured_s,
                             "predicted_s": r.predicted_s, "error_pct": r.error_pct} for r in self.kernels],
            "skipped": [{"row": label, "reason": why} for label, why in self.skipped],
            "power_rows": [{"label": c.label, "layout": c.layout, "power_limit_w": c.power_limit_w,
                            "measured_w": c.measured_w, "predicted_w": c.predicted_w, "error_pct": c.error_pct,
                            "measured_samples_per_s": c.measured_samples_per_s,
                            "predicted_samples_per_s": c.predicted_samples_per_s,
                            "samples_error_pct": c.samples_error_pct,
                            "samples_per_joule_error_pct": c.samples_per_joule_error_pct, "source": c.source}
                           for c in self.power],
            "server_rows": [{"label": c.label, "layout": c.layout, "measured": c.measured, "predicted": c.predicted,
                             "error_pct": c.error_pct} for c in self.server_cases],
            "inferencex_rows": [{"label": r.label, "layout": r.layout, "concurrency": r.concurrency,
                                 "measured_tokens_per_s_per_gpu": r.measured_tok_s_per_gpu,
                                 "predicted_tokens_per_s_per_gpu": r.predicted_tok_s_per_gpu,
                                 "error_pct": r.error_pct, "measured_tokens_per_s_per_user": r.measured_tok_s_per_user,
                                 "predicted_tokens_per_s_per_user": r.predicted_tok_s_per_user,
                                 "user_error_pct": r.user_error_pct, "source": r.source} for r in self.inferencex],
            "inferencex_frontier_rows": [{"label": f.label, "measured_tokens_per_s_per_user": f.measured_tok_s_per_user,
                                          "measured_tokens_per_s_per_gpu": f.measured_tok_s_per_gpu,
                                          "planned_tokens_per_s_per_gpu": f.predicted_tok_s_per_gpu,
                                          "error_pct": f.error_pct,
                                          "fastest_tokens_per_s_per_user": f.best_tok_s_per_user,
                                          "method": f.method} for f in self.frontier],
            "single_stream_rows": [{"label": r.label, "model": r.model, "system": r.system, "spec": r.spec,
                                    "measured_tokens_per_s_per_user": r.measured_tok_s_per_user,
                                    "predicted_tokens_per_s_per_user": r.predicted_tok_s_per_user,
                                    "error_pct": r.error_pct, "method": r.method, "notes": r.notes,
                                    "source": r.source} for r in self.single_stream],
        }


def run_validation(stacks: dict[str, StackProfile] | None = None, server: bool = False,
                   inferencex: bool = True) -> ValidationResult:
    stacks = dict(stacks or {})
    cases = trtllm_cases()
    mlperf, skipped = mlperf_cases("Offline")
    cases += mlperf
    used = {}
    for c in cases:
        sid = c.stack_id
        used[sid] = stacks.get(sid) or load_stack(sid)
        c.predicted = predict_case(c, used[sid])
    kernels = kernel_rows(stacks.get("trtllm"))
    power, power_skipped = run_power_rows(stacks)
    skipped += power_skipped
    server_cases: list[Case] = []
    if server:
        from jalapeno.validation.server_rows import predict_servers
        from jalapeno.validation.server_rows import server_cases as load_server

        server_cases, server_skipped = load_server()
        skipped += server_skipped
        predict_servers(server_cases)
    ix = predict_inferencex(stacks) if inferencex else []
    frontier = frontier_points(ix) if inferencex else []
    single = predict_single_streams() if inferencex else []
    return ValidationResult(cases, skipped, kernels, used, server_cases, power, ix, frontier, single)
