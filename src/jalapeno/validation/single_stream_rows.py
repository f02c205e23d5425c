"""Single-stream speeds: the fastest tokens/s per user `plan` reaches against published
one-user measurements (data/single_stream.csv: vendor blogs, tutorials and Artificial Analysis
figures on 8 x B200, 8 x H200, Trainium2, Groq, Cerebras WSE-3 and SambaNova SN40L, with and
without speculative decoding, each with its source).

Each row is planned as a user would ask: the model on the catalog system, at the precision and
speculative method the source states (its named draft, else the catalog's automatic draft; a
method it does not state is left to the planner's search), and the fastest point per user is
compared with the measurement. Where the source gives no chip count, the system grows by
doublings until the model fits (a 405B model spans more CS-3 wafers than a 4-wafer cluster).
Reported apart from the throughput tables (their own summary).
"""

from __future__ import annotations

from dataclasses import dataclass

from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.predict import Workload
from jalapeno.engine.speculative import SpecRequest
from jalapeno.errors import JalapenoError
from jalapeno.hardware.systems import load_system
from jalapeno.models.config import load_model
from jalapeno.validation.datafiles import read_csv

MAX_DOUBLINGS = 4  # a system grows at most 16x to fit a model whose source gives no chip count


@dataclass
class SingleStreamRow:
    label: str
    model: str
    system: str
    chips: int | None
    precision: str | None
    spec: str
    draft_model: str | None
    measured_tok_s_per_user: float
    input_tokens: int
    output_tokens: int
    source: str
    notes: str
    predicted_tok_s_per_user: float | None = None
    method: str = ""

    @property
    def error_pct(self) -> float | None:
        if self.predicted_tok_s_per_user is None:
            return None
        return (self.predicted_tok_s_per_user / self.measured_tok_s_per_user - 1) * 100


def single_stream_rows() -> list[SingleStreamRow]:
    out = []
    for r in read_csv("single_stream.csv"):
        spec = r["spec"]
        label = f"{r['model']} {r['system']} spec={spec} ({r['date'] or 'undated'})"
        out.append(SingleStreamRow(label, r["model"], r["system"], int(r["chips"]) if r["chips"] else None,
                                   r["precision"] or None, spec, r["draft_model"] or None,
                                   float(r["tok_s_per_user"]), int(r["input_tokens"] or 1000),
                                   int(r["output_tokens"] or 1000), r["source"], r["notes"]))
    return out


def predict_single_stream(row: SingleStreamRow) -> None:
    model = load_model(row.model)
    draft = load_model(row.draft_model) if row.draft_model else None
    request = SpecRequest(row.spec, draft_model=draft)
    wl = Workload(row.input_tokens, row.output_tokens)
    base = load_system(row.system).system_spec()
    sizes = [row.chips] if row.chips else [base.num_chips * 2 ** i for i in range(MAX_DOUBLINGS + 1)]
    last = ""
    for n in sizes:
        try:
            system = load_system(row.system, num_chips=n).system_spec()
            res = plan_deployment(model, system, wl, row.precision, spec=request)
        except JalapenoError as exc:
            last = str(exc)
            break
        if res.points:
            best = max(res.points, key=lambda p: p.output_tokens_per_s_per_user)
            row.predicted_tok_s_per_user = best.output_tokens_per_s_per_user
            row.method = f"{n} chips: {best.method} ({best.precision_short})"
            return
        last = next(iter(res.rejected.values()), "no layout fits")
    row.method = f"not planned: {last}"


def predict_single_streams() -> list[SingleStreamRow]:
    rows = single_stream_rows()
    for r in rows:
        predict_single_stream(r)
    return rows
