"""The planner's frontier against the InferenceX points: what `plan` reaches at each measured
point's interactivity.

The calibration rows (inferencex_rows.py) predict each point at its public layout and
concurrency; this asks the harder question a user asks of `plan`: searching the layouts,
concurrencies and pools the stack runs, how many tokens/s per GPU does the tool say the system
delivers at the measured tokens/s per user? The search is the planner's own, told only what the
source states: its speculative method family (MTP or none; "unknown" as none) and whether it
disaggregated. A point whose per-user speed the planner cannot reach is counted apart
("unreachable"), not as an error. Systems: 8 GPUs per node, a GB200 NVL72 domain, and the
source's own GPU count where its layout needs more than one node.
"""

from __future__ import annotations

from dataclasses import dataclass

from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.predict import Workload
from jalapeno.engine.speculative import SpecRequest
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import make_system
from jalapeno.models.config import load_model
from jalapeno.validation.inferencex_rows import IxRow


@dataclass
class FrontierPoint:
    label: str
    measured_tok_s_per_gpu: float  # input + output, as the source counts
    measured_tok_s_per_user: float
    predicted_tok_s_per_gpu: float | None  # None: the planner cannot reach the per-user speed
    best_tok_s_per_user: float  # the fastest per-user speed the planner reaches
    method: str
    usd_error_pct: float | None = None  # $/Mtoken at the planned throughput against the source's

    @property
    def error_pct(self) -> float | None:
        if self.predicted_tok_s_per_gpu is None:
            return None
        return (self.predicted_tok_s_per_gpu / self.measured_tok_s_per_gpu - 1) * 100


def _chips(row: IxRow) -> int:
    if row.chip == "gb200":
        return 72
    need = max(c.decode.workers * c.decode.tp + (c.prefill.workers * c.prefill.tp if c.prefill else 0)
               for c in row.candidates)
    return max(8, -(-need // 8) * 8)


def frontier_point(row: IxRow) -> FrontierPoint:
    model = load_model(row.model)
    system = make_system(row.chip, _chips(row))
    wl = Workload(max(int(round(0.9 * row.isl)), 1), max(int(round(0.9 * row.osl)), 1))
    spec = "mtp" if any(c.spec.startswith("mtp") for c in row.candidates) else "none"
    disagg = any(c.prefill is not None for c in row.candidates)
    try:
        res = plan_deployment(model, system, wl, row.precision, spec=SpecRequest(spec), disaggregate=disagg)
    except JalapenoError as exc:
        return FrontierPoint(row.label, row.measured_tok_s_per_gpu, row.measured_tok_s_per_user, None, 0.0,
                             f"error: {exc}")
    fastest = max((p.output_tokens_per_s_per_user for p in res.points), default=0.0)
    ok = [p for p in res.points if p.output_tokens_per_s_per_user >= row.measured_tok_s_per_user]
    if not ok:
        return FrontierPoint(row.label, row.measured_tok_s_per_gpu, row.measured_tok_s_per_user, None, fastest,
                             "unreachable")
    best = max(ok, key=lambda p: p.output_tokens_per_s_per_chip)
    total_per_output = (wl.input_tokens + wl.output_tokens) / wl.output_tokens
    planned = best.output_tokens_per_s_per_chip * total_per_output
    usd = None if row.published_usd_per_mtok is None else \
        (row.usd_per_mtok(planned) / row.published_usd_per_mtok - 1) * 100
    return FrontierPoint(row.label, row.measured_tok_s_per_gpu, row.measured_tok_s_per_user, planned, fastest,
                         best.method, usd)


def frontier_points(rows: list[IxRow]) -> list[FrontierPoint]:
    return [frontier_point(r) for r in rows]
