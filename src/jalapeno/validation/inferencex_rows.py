"""Calibration rows: InferenceX (SemiAnalysis InferenceMAX) highest-throughput serving
configurations, predicted at their public configurations.

Each row (data/inferencex_peak_configs.csv, copied from shared/data/measured with its source) is
one deployment's best measured point: framework, concurrency, median TPOT and total (input +
output) tokens/s per GPU, for gpt-oss-120b, DeepSeek-R1 and Llama-3.3-70B on seven GPUs. Its
`layouts` column lists the candidate configurations the benchmark's public config files give for
that GPU, model, lengths and concurrency (tensor / expert parallelism, attention data
parallelism, MTP, disaggregated prefill and decode workers; `layout_source` says which file and
commit). A row is predicted at each candidate with every request of its concurrency in flight,
and the candidate with the highest predicted throughput per GPU is kept, as the source keeps its
highest-throughput configuration. Prompts are uniform in [0.8 L, L], so the mean lengths are
0.9 x nominal. Disaggregated rows: the decode workers run decode-only steps at concurrency /
workers each, the prefill workers full token-budget prompt steps; the deployment delivers the
smaller of the two pools' rates. Reported apart from the end-to-end tables (their own summary).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from jalapeno.economics.cloud import cloud_price
from jalapeno.engine.predict import Workload, evaluate, make_setup, max_batch
from jalapeno.engine.speculative import resolve_spec
from jalapeno.engine.step import step_cost
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import load_chip, make_system
from jalapeno.models.config import load_model
from jalapeno.models.lowering import Batch
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile
from jalapeno.validation.datafiles import read_csv

CHIPS = {"h100": "h100-sxm", "h200": "h200-sxm", "b200": "b200", "gb200": "gb200", "mi300x": "mi300x",
         "mi325x": "mi325x", "mi355x": "mi355x"}
_SIDE = re.compile(r"(\d+)x\(tp=(\d+),ep=(\d+),dpa=(\d)\)")


@dataclass
class Side:
    workers: int
    tp: int
    ep: int
    dp_attn: bool

    def plan(self, moe: bool) -> ParallelPlan:
        """Attention data parallelism over the tp GPUs with experts spread over them is wide EP
        here (ep = the group, tp = 1); otherwise tensor parallelism with EP = ep."""
        if self.dp_attn and moe:
            return ParallelPlan(tp=1, ep=max(self.ep, self.tp))
        return ParallelPlan(tp=self.tp, ep=self.ep if moe else 1)


@dataclass
class Candidate:
    text: str
    decode: Side
    prefill: Side | None = None
    spec: str = "none"  # none | mtpK


@dataclass
class IxRow:
    label: str
    model: str
    chip: str
    framework: str
    precision: str
    isl: int
    osl: int
    concurrency: int
    measured_tok_s_per_gpu: float  # input + output
    measured_tok_s_per_user: float
    candidates: list[Candidate]
    source: str
    published_usd_per_mtok: float | None = None  # per million total tokens, at the source's GPU-hour rate
    predicted_tok_s_per_gpu: float = float("nan")
    predicted_tok_s_per_user: float = float("nan")
    layout: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def error_pct(self) -> float:
        return (self.predicted_tok_s_per_gpu / self.measured_tok_s_per_gpu - 1) * 100

    def usd_per_mtok(self, tok_s_per_gpu: float) -> float:
        """Dollars per million total tokens at the chip's committed GPU-hour rate (economics/data:
        the rate the source itself prices GPUs at), from a throughput per GPU."""
        return cloud_price(self.chip, "committed").usd_per_chip_hour / (tok_s_per_gpu * 3600 / 1e6)

    @property
    def usd_error_pct(self) -> float | None:
        if self.published_usd_per_mtok is None or not np.isfinite(self.predicted_tok_s_per_gpu):
            return None
        return (self.usd_per_mtok(self.predicted_tok_s_per_gpu) / self.published_usd_per_mtok - 1) * 100

    @property
    def user_error_pct(self) -> float:
        return (self.predicted_tok_s_per_user / self.measured_tok_s_per_user - 1) * 100


def _candidate(text: str) -> Candidate:
    spec = text.split("spec=")[1].strip() if "spec=" in text else "none"
    if text.startswith("disagg"):
        (pw, ptp, pep, pdp), (dw, dtp, dep, ddp) = _SIDE.findall(text)
        return Candidate(text, Side(int(dw), int(dtp), int(dep), ddp == "1"),
                         Side(int(pw), int(ptp), int(pep), pdp == "1"), spec)
    m = re.match(r"tp=(\d+),ep=(\d+),dpa=(\d)", text)
    if m is None:
        raise ValueError(f"inferencex_peak_configs.csv: layout '{text}' is not tp=N,ep=N,dpa=0|1")
    return Candidate(text, Side(1, int(m.group(1)), int(m.group(2)), m.group(3) == "1"), None, spec)


def inferencex_rows() -> list[IxRow]:
    out = []
    for r in read_csv("inferencex_peak_configs.csv"):
        cands = [_candidate(t.strip()) for t in r["layouts"].split(";") if t.strip()]
        label = f"{r['model']} {r['gpu']} {r['framework']} {r['isl']}/{r['osl']} c={r['concurrency']}"
        out.append(IxRow(label, r["model"], CHIPS[r["gpu"]], r["framework"], r["precision"], int(r["isl"]),
                         int(r["osl"]), int(r["concurrency"]), float(r["tok_s_per_gpu"]),
                         float(r["tok_s_per_user"]), cands, f"{r['source']}; layouts: {r['layout_source']}",
                         float(r["usd_per_mtok"]) if r["usd_per_mtok"] else None))
    return out


def _spec(model, text: str):
    if text.startswith("mtp"):
        return resolve_spec(model, "mtp", int(text[3:] or 1))
    return None


def _colocated(row: IxRow, model, cand: Candidate, wl: Workload,
               stack: StackProfile | None = None) -> tuple[float, float, int]:
    plan = cand.decode.plan(model.is_moe)
    system = make_system(row.chip, plan.chips_per_replica)
    setup = make_setup(model, system, plan, row.precision, stack, spec=_spec(model, cand.spec))
    b_max, _, _, _ = max_batch(setup, wl)
    b = min(row.concurrency, b_max)
    r = evaluate(setup, wl, [b])
    return float(r["throughput"][0]), float(1.0 / r["tpot"][0]), plan.chips_per_replica


def _disaggregated(row: IxRow, model, cand: Candidate, wl: Workload,
                   stack: StackProfile | None = None) -> tuple[float, float, int]:
    d, p = cand.decode, cand.prefill
    assert p is not None  # only called for disaggregated candidates
    dplan, pplan = d.plan(model.is_moe), p.plan(model.is_moe)
    dsetup = make_setup(model, make_system(row.chip, dplan.chips_per_replica), dplan, row.precision, stack,
                        spec=_spec(model, cand.spec))
    b_max, _, _, _ = max_batch(dsetup, wl)
    b = min(row.concurrency / d.workers, b_max)
    r = evaluate(dsetup, wl, [b])
    gain = dsetup.spec.tokens_per_step
    emit = b * gain / float(r["step_decode"][0])  # one decode worker's output tokens/s
    psetup = make_setup(model, make_system(row.chip, pplan.chips_per_replica), pplan, row.precision, stack)
    budget = psetup.stack.max_num_tokens
    prompts = max(budget // wl.input_tokens, 1)
    groups = pplan.attn_dp
    full = Batch.of(prefill_seqs=prompts, prefill_tokens=prompts * wl.input_tokens)
    t_full = float(step_cost(model, psetup.system.chip, psetup.stack, psetup.prec, pplan, full,
                             psetup.topology).time_s[0])
    capacity = prompts * groups / t_full * wl.output_tokens  # output tokens/s one prefill worker feeds
    tput = min(d.workers * emit, p.workers * capacity)
    gpus = d.workers * dplan.chips_per_replica + p.workers * pplan.chips_per_replica
    return tput, float(1.0 / r["tpot_p50"][0]), gpus


def stack_of(row: IxRow) -> str:
    """The id of the software-stack profile the row's chip runs."""
    return load_chip(row.chip).software_stack


def predict_row(row: IxRow, stack: StackProfile | None = None) -> None:
    """`stack`: a profile to predict with instead of the chip's own (validate --refit)."""
    model = load_model(row.model)
    row.notes = []  # this prediction's candidates only (a refit predicts each row many times)
    wl = Workload(max(int(round(0.9 * row.isl)), 1), max(int(round(0.9 * row.osl)), 1))
    total_per_output = (wl.input_tokens + wl.output_tokens) / wl.output_tokens
    best = None
    for cand in row.candidates:
        try:
            fn = _disaggregated if cand.prefill else _colocated
            tput, user, gpus = fn(row, model, cand, wl, stack)
        except JalapenoError as exc:
            row.notes.append(f"{cand.text}: {exc}")
            continue
        per_gpu = tput / gpus * total_per_output
        if best is None or per_gpu > best[0]:
            best = (per_gpu, user, cand.text)
    if best is None:
        row.layout = "does not fit"
        return
    row.predicted_tok_s_per_gpu, row.predicted_tok_s_per_user, row.layout = best


def predict_inferencex(stacks: dict[str, StackProfile] | None = None) -> list[IxRow]:
    """Every row at its candidates; `stacks`: profiles by id to use instead of the shipped ones."""
    rows = inferencex_rows()
    for r in rows:
        predict_row(r, (stacks or {}).get(stack_of(r)))
    return [r for r in rows if np.isfinite(r.predicted_tok_s_per_gpu)] + \
        [r for r in rows if not np.isfinite(r.predicted_tok_s_per_gpu)]
