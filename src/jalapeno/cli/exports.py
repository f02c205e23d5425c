"""Files a simulation writes for other tools: one row per request (CSV, or Parquet through
pyarrow); the Chrome/Perfetto timeline streams from serving/timeline.py. And the arrival count
behind `simulate`'s realized-rate check."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from jalapeno.errors import JalapenoError
from jalapeno.serving.metrics import RequestRecord
from jalapeno.workloads.request import Request

REQUEST_COLUMNS = ["id", "arrival_s", "first_token_s", "finish_s", "ttft_s", "tpot_s", "e2e_s", "input_tokens",
                   "output_tokens", "replica", "preemptions"]


def check_requests_out(path: Path | None) -> None:
    if path is None:
        return
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise JalapenoError(f"--requests-out '{path}': the name must end in .csv or .parquet")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise JalapenoError("--requests-out .parquet needs pyarrow: pip install 'jalapeno[export]' "
                                "(or write .csv)") from None


def _columns(records: list[RequestRecord]) -> dict[str, list]:
    return {
        "id": [r.id for r in records], "arrival_s": [r.arrival_s for r in records],
        "first_token_s": [r.first_token_s for r in records], "finish_s": [r.finish_s for r in records],
        "ttft_s": [r.ttft_s for r in records], "tpot_s": [r.tpot_s for r in records],
        "e2e_s": [r.finish_s - r.arrival_s for r in records], "input_tokens": [r.input_tokens for r in records],
        "output_tokens": [r.output_tokens for r in records], "replica": [r.replica for r in records],
        "preemptions": [r.preemptions for r in records],
    }


def write_requests(records: list[RequestRecord], path: Path) -> int:
    """One row per finished request, in finishing order; returns the row count."""
    check_requests_out(path)
    cols = _columns(records)
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(cols), path)
    else:
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(REQUEST_COLUMNS)
            w.writerows(zip(*(cols[c] for c in REQUEST_COLUMNS), strict=True))
    return len(records)


class ArrivalCounter:
    """Passes a request stream through, counting arrivals and noting the first and last times."""

    def __init__(self, requests: Iterable[Request]):
        self._it = iter(requests)
        self.count = 0
        self.first_s = 0.0
        self.last_s = 0.0

    def __iter__(self) -> Iterator[Request]:
        for r in self._it:
            if self.count == 0:
                self.first_s = r.arrival_s
            self.count += 1
            self.last_s = r.arrival_s
            yield r

    def rate_per_s(self, duration_s: float | None, num_requests: int | None = None) -> float | None:
        """Arrivals over the arrival window: the stated duration when the stream ended by it (not
        by reaching `num_requests`), else the span from the first to the last arrival."""
        if duration_s and (num_requests is None or self.count < num_requests):
            return self.count / duration_s
        span = self.last_s - self.first_s
        return (self.count - 1) / span if self.count > 1 and span > 0 else None
