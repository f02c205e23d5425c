"""End-to-end validation cases: published serving throughput vs `predict`.

Two tables (see data/SOURCES.md): TensorRT-LLM's perf-overview (fixed input/output lengths, all
requests queued, the layout given) and MLPerf Inference v4.1 Offline results (every sample
queued; mean lengths of the dataset). An MLPerf row is predicted at the layout its submission's
config ran (data/mlperf_cases.yaml `layouts`), or, where that is not known, at the best layout
for its system, as a tuned submission would be; its chip is the catalog entry for its
accelerator, or the board variant its system description gives (data/mlperf_accelerators.yaml).
MLPerf rows that repeat one measurement (the -99 and -99.9 accuracy variants of one run) count
once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jalapeno.engine.compare import candidate_plans
from jalapeno.engine.predict import Workload, predict
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import chip_ids, load_chip
from jalapeno.hardware.design import derive_chip
from jalapeno.hardware.spec import SystemSpec
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile
from jalapeno.validation.datafiles import read_csv, read_yaml


@dataclass
class Case:
    table: str  # trtllm | mlperf
    label: str
    vendor: str
    model: str
    chip: str
    chips: int
    precision: str
    input_tokens: int
    output_tokens: int
    measured: float  # output tokens/s of the whole system (samples/s when unit says so)
    unit: str = "tokens/s"
    plan: ParallelPlan | None = None
    beams: int = 1
    tdp_w: float | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)
    predicted: float = 0.0
    layout: str = ""
    stack: str = ""  # software stack profile; empty: the chip's default

    @property
    def stack_id(self) -> str:
        return self.stack or load_chip(self.chip).software_stack

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.predicted - self.measured) / self.measured


def _mlperf_config() -> dict:
    return read_yaml("mlperf_cases.yaml")


def trtllm_cases() -> list[Case]:
    out = []
    for r in read_csv("trtllm_perf_overview.csv"):
        chip = load_chip(r["device"])
        out.append(Case(
            "trtllm", f"{r['model']} {r['chips']}x{r['device']} tp{r['tensor_parallel']} {r['precision']} "
            f"{r['input_tokens']}/{r['output_tokens']}", chip.vendor, r["model"], r["device"], int(r["chips"]),
            r["precision"], int(r["input_tokens"]), int(r["output_tokens"]), float(r["output_tokens_per_s"]),
            plan=ParallelPlan(tp=int(r["tensor_parallel"]), pp=int(r["pipeline_parallel"])), source=r["source"]))
    return out


def _accel_chip(row: dict) -> str | None:
    entry = read_yaml("mlperf_accelerators.yaml")["accelerators"].get(row["accel"], {})
    # A system wired differently from the accelerator's default chip names its own (its links differ).
    chip = entry.get("systems", {}).get(f"{row['submitter']}/{row['system']}", {}).get("chip") or entry.get("chip")
    if chip == "by_system":
        markers = _mlperf_config()["cpu_systems"]
        chip = next((c for k, c in markers.items() if k in row["system"]), None)
    return chip if chip in chip_ids() else None


def _matches(allowed: str | list[str] | None, value: str) -> bool:
    """A rule field: absent (anything matches), one value, or a list of them."""
    return not allowed or value in ([allowed] if isinstance(allowed, str) else allowed)


def _precision(chip: str, family: str) -> str:
    for rule in _mlperf_config()["precision"]:
        if _matches(rule.get("chip"), chip) and _matches(rule.get("benchmark"), family):
            return rule["precision"]
    return "fp8"


def _layout(row: dict, chip: str, family: str) -> ParallelPlan | None:
    """The layout the submission ran (mlperf_cases.yaml `layouts`), if known."""
    system = f"{row['submitter']}/{row['system']}"
    for rule in _mlperf_config().get("layouts", []):
        if rule["benchmark"] != family or not _matches(rule.get("system"), system):
            continue
        if not _matches(rule.get("chip"), chip) or not row["sw"].startswith(rule.get("software", "")):
            continue
        return ParallelPlan(tp=int(rule["tp"]))
    return None


def _stack_for(software: str) -> str:
    """The stack profile of a submission's software, where it differs from the chip's default."""
    return "trtllm-0.9" if software.startswith("TensorRT 9.") else ""


def mlperf_cases(scenario: str = "Offline") -> tuple[list[Case], list[tuple[str, str]]]:
    """(cases, skipped rows with the reason) for one MLPerf scenario."""
    cfg = _mlperf_config()
    cases, skipped, seen = [], [], set()
    for r in read_csv("mlperf_v4.1_llm.csv"):
        if r["scenario"] != scenario or r["division"] != "closed":
            continue
        family = next((f for f in cfg["benchmarks"] if r["benchmark"].startswith(f)), None)
        label = f"{r['submitter']} {r['system']} {r['benchmark']}"
        chip = _accel_chip(r)
        reason = None
        if family is None:
            reason = "benchmark not modeled"
        elif chip is None:
            reason = f"accelerator '{r['accel']}' not in the catalog"
        elif "MaxQ" in r["system"]:
            reason = "MaxQ power-limited configuration (the power limit is not in the data)"
        elif load_chip(chip).vendor == "NVIDIA" and not r["sw"].startswith("TensorRT"):
            reason = f"software '{r['sw']}' has no stack profile"
        if reason:
            skipped.append((label, reason))
            continue
        assert chip is not None and family is not None  # both checked above
        b = cfg["benchmarks"][family]
        unit = "tokens/s" if r["tokens_per_s"] else "samples/s"
        measured = float(r["tokens_per_s"] or r["samples_per_s"])
        key = (r["submitter"], r["system"], family, measured)
        if key in seen:
            continue
        seen.add(key)
        over = cfg["overrides"].get(r["accel"], {})
        per_node = int(r["n_acc"]) if r["n_acc"].isdigit() and int(r["n_acc"]) > 0 else 2  # CPU rows: 2 sockets
        n_acc = per_node * int(r["nodes"] or 1)
        cases.append(Case(
            "mlperf", label, load_chip(chip).vendor, b["model"], chip, n_acc, _precision(chip, family),
            int(b["input_tokens"]), int(over.get("output_tokens", b["output_tokens"])), measured, unit=unit,
            plan=_layout(r, chip, family),
            beams=int(b.get("beams", 1)), tdp_w=over.get("tdp_w"), source=f"MLPerf Inference v4.1 {scenario}, {label}",
            extra={"submitter": r["submitter"], "software": r["sw"]}, stack=_stack_for(r["sw"])))
    return cases, skipped


def best_plan(case: Case, stack: StackProfile | None = None) -> tuple[ParallelPlan | None, float]:
    """The layout a tuned submission would run for a case (its own, or the one with the highest
    predicted throughput with every request queued) and that throughput in output tokens/s."""
    model = load_model(case.model)
    chip = load_chip(case.chip)
    if case.tdp_w:
        chip = derive_chip(chip, {"power.tdp_w": case.tdp_w})
    system = SystemSpec(chip=chip, num_chips=case.chips)
    # Beam search: each sample decodes `beams` sequences that share one prompt prefill.
    wl = Workload(case.input_tokens, case.output_tokens, case.beams)
    # MLPerf LLM submissions on these stacks used tensor parallelism (and replicas), not pipelines.
    plans = [case.plan] if case.plan else [p for p in candidate_plans(model, system) if p.pp == 1]
    best, chosen = 0.0, None
    for plan in plans:
        try:
            p = predict(model, system, wl, plan, case.precision, stack=stack)
        except JalapenoError:
            continue
        if p.output_tokens_per_s > best:
            best, chosen = p.output_tokens_per_s, plan
    return chosen, best


def predict_case(case: Case, stack: StackProfile | None = None) -> float:
    """Predicted value of a case in its own unit; also records the layout used."""
    plan, best = best_plan(case, stack)
    case.layout = plan.label() if plan else "does not fit"
    if case.unit == "samples/s":
        return best / case.output_tokens / case.beams
    return best
