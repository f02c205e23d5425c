"""Power validation: MLPerf whole-node wall power vs the engine's predicted power.

MLPerf's power runs (data/mlperf_power.csv, MLPerf Inference v4.0 and v4.1, every LLM result
with a power measurement) sample the wall power of the whole node with a power analyzer over the
performance run. The submissions ran "MaxQ": every GPU held at a configured power limit. Each
Offline row is predicted as its system ran it: the row's chip held at that limit
(`power_limit_w`), its layout and stack as in the throughput rows (e2e_rows), all samples
queued; the predicted wall power (chips, the hosts' share, power-supply losses: engine/power.py)
is compared with the measured average, and so are the throughput at the limit and tokens per
joule. Server rows and rows whose software or accelerator the catalog does not cover are listed
as skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from jalapeno.engine.predict import Prediction, Workload, predict
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.design import derive_chip
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile, load_stack
from jalapeno.validation.datafiles import read_csv, read_yaml
from jalapeno.validation.e2e_rows import _layout, _precision, _stack_for


@dataclass
class PowerCase:
    label: str
    chip: str
    chips: int
    model: str
    family: str
    precision: str
    power_limit_w: float
    input_tokens: int
    output_tokens: int
    beams: int
    measured_w: float
    measured_samples_per_s: float
    stack: str
    plan: ParallelPlan | None
    source: str
    predicted_w: float = 0.0
    predicted_samples_per_s: float = 0.0
    layout: str = ""

    @property
    def error_pct(self) -> float:
        """Wall power error."""
        return 100.0 * (self.predicted_w / self.measured_w - 1)

    @property
    def samples_error_pct(self) -> float:
        return 100.0 * (self.predicted_samples_per_s / self.measured_samples_per_s - 1)

    @property
    def samples_per_joule_error_pct(self) -> float:
        """Energy efficiency error (samples, or tokens, per joule of wall energy)."""
        measured = self.measured_samples_per_s / self.measured_w
        return 100.0 * (self.predicted_samples_per_s / self.predicted_w / measured - 1)


def power_cases() -> tuple[list[PowerCase], list[tuple[str, str]]]:
    """(cases, skipped rows with the reason)."""
    cfg = read_yaml("mlperf_cases.yaml")
    cases, skipped = [], []
    for r in read_csv("mlperf_power.csv"):
        label = f"MLPerf {r['round']} {r['submitter']} {r['system']} {r['benchmark']} {r['scenario']}"
        reason = None
        if not r["chip"]:
            reason = "accelerator not in the catalog"
        elif r["scenario"] != "Offline":
            reason = "Server power is predicted only at the Offline operating point (not compared)"
        elif not r["gpu_power_limit_w"]:
            reason = "the power limit of the run is not stated"
        elif not r["software"].startswith(("TensorRT 9.3", "TensorRT 10")):
            reason = f"software '{r['software']}' has no stack profile (before in-flight batching)"
        if reason:
            skipped.append((label, reason))
            continue
        b = cfg["benchmarks"][r["benchmark"]]
        row = {"submitter": r["submitter"], "system": r["system"], "sw": r["software"]}
        cases.append(PowerCase(
            label=label, chip=r["chip"], chips=int(r["n_acc"]), model=b["model"], family=r["benchmark"],
            precision=_precision(r["chip"], r["benchmark"]), power_limit_w=float(r["gpu_power_limit_w"]),
            input_tokens=int(b["input_tokens"]), output_tokens=int(b["output_tokens"]), beams=int(b.get("beams", 1)),
            measured_w=float(r["avg_system_power_w"]), measured_samples_per_s=float(r["samples_per_s"]),
            stack=_stack_for(r["software"]) or load_chip(r["chip"]).software_stack,
            plan=_layout(row, r["chip"], r["benchmark"]), source=r["source"]))
    return cases, skipped


def predict_power_case(case: PowerCase, stack: StackProfile | None = None) -> Prediction:
    chip = derive_chip(case.chip, {"power.tdp_w": case.power_limit_w})
    system = SystemSpec(chip=chip, num_chips=case.chips)
    wl = Workload(case.input_tokens, case.output_tokens, case.beams)
    pred = predict(load_model(case.model), system, wl, case.plan or ParallelPlan(), case.precision,
                   stack=stack or load_stack(case.stack))
    case.predicted_w = pred.power_w
    case.predicted_samples_per_s = pred.output_tokens_per_s / case.output_tokens / case.beams
    case.layout = pred.layout
    return pred


def run_power_rows(stacks: dict[str, StackProfile] | None = None) -> tuple[list[PowerCase], list[tuple[str, str]]]:
    cases, skipped = power_cases()
    done = []
    for c in cases:
        try:
            predict_power_case(c, (stacks or {}).get(c.stack))
        except JalapenoError as exc:
            skipped.append((c.label, str(exc)))
            continue
        done.append(c)
    return done, skipped
