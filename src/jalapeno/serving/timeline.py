"""The step timeline as Chrome/Perfetto trace-event JSON: the event shapes, and a writer that
streams them to a file as the run goes.

Events: one process per replica (named `replica N`) with a `steps` thread whose spans are named
by step kind only (prefill, decode or mixed: a bounded set of names, sizes in args); counter
tracks per replica for requests waiting, KV blocks in use (and free) and power; each finished
request as an async span (arrival to last token, with a `first token` instant). The in-memory
trace (Metrics.chrome_trace) and the streamed file are built from the same functions.

Holding every step's span until the run ends costs memory in proportion to the run (hundreds of
MB for a million requests); writing each span when its step starts keeps memory flat however
long the run. The file is one JSON document (`{"traceEvents": [...]}`), valid once `close()`d,
gzip-compressed when its name ends in `.gz`. A write that fails (a full disk) is reported naming
the file, not as a traceback.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import IO, Any

from jalapeno.errors import JalapenoError


def replica_events(replica: int) -> list[dict[str, Any]]:
    """Names and order of a replica's process and thread."""
    return [{"name": "process_name", "ph": "M", "pid": replica, "args": {"name": f"replica {replica}"}},
            {"name": "thread_name", "ph": "M", "pid": replica, "tid": 0, "args": {"name": "steps"}},
            {"name": "process_sort_index", "ph": "M", "pid": replica, "args": {"sort_index": replica}}]


def step_events(replica: int, start_s: float, dur_s: float, decodes: int, prefill_tokens: int, energy_j: float,
                waiting: int, kv_blocks_used: int, kv_blocks_total: int | None = None) -> list[dict[str, Any]]:
    """A step's span and the counters at its start."""
    kind = "mixed" if decodes and prefill_tokens else ("prefill" if prefill_tokens else "decode")
    ts = start_s * 1e6
    kv: dict[str, Any] = {"blocks": kv_blocks_used}
    if kv_blocks_total:
        kv["free"] = max(kv_blocks_total - kv_blocks_used, 0)
    return [{"name": kind, "cat": "step", "ph": "X", "ts": ts, "dur": dur_s * 1e6, "pid": replica, "tid": 0,
             "args": {"decodes": decodes, "prefill_tokens": prefill_tokens, "energy_j": energy_j}},
            {"name": "requests waiting", "ph": "C", "ts": ts, "pid": replica, "args": {"requests": waiting}},
            {"name": "kv blocks used", "ph": "C", "ts": ts, "pid": replica, "args": kv},
            {"name": "power W", "ph": "C", "ts": ts, "pid": replica,
             "args": {"watts": energy_j / dur_s if dur_s > 0 else 0.0}}]


def request_events(request_id: int, replica: int, arrival_s: float, first_token_s: float, finish_s: float,
                   input_tokens: int, output_tokens: int) -> list[dict[str, Any]]:
    """A finished request as an async span on its replica."""
    common = {"name": "request", "cat": "request", "id": request_id, "pid": replica, "tid": 0}
    return [{**common, "ph": "b", "ts": arrival_s * 1e6,
             "args": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "ttft_s": first_token_s - arrival_s}},
            {**common, "ph": "n", "name": "first token", "ts": first_token_s * 1e6},
            {**common, "ph": "e", "ts": finish_s * 1e6}]


class TimelineWriter:
    def __init__(self, path: Path | str, flag: str = "--trace-out", kv_blocks_per_replica: int | None = None):
        self.path, self.flag = Path(path), flag
        self.kv_blocks_per_replica = kv_blocks_per_replica
        self.events = 0
        self._replicas: set[int] = set()
        try:
            if self.path.name.endswith(".gz"):
                self._f: IO[str] = gzip.open(self.path, "wt", encoding="utf-8")
            else:
                self._f = open(self.path, "w", buffering=1 << 16)  # noqa: SIM115 - closed in close()
            self._f.write('{"displayTimeUnit": "ms", "traceEvents": [\n')
        except OSError as exc:
            raise JalapenoError(f"{flag} {self.path}: cannot write: {exc.strerror or exc}") from None

    def _write(self, events: list[dict[str, Any]]) -> None:
        try:
            for ev in events:
                self._f.write(("," if self.events else "") + json.dumps(ev) + "\n")
                self.events += 1
        except OSError as exc:
            self._fail(exc)

    def _replica(self, replica: int) -> None:
        if replica not in self._replicas:
            self._replicas.add(replica)
            self._write(replica_events(replica))

    def span(self, replica: int, start_s: float, dur_s: float, decodes: int, prefill_tokens: int,
             energy_j: float = 0.0, waiting: int = 0, kv_blocks_used: int = 0) -> None:
        self._replica(replica)
        self._write(step_events(replica, start_s, dur_s, decodes, prefill_tokens, energy_j, waiting, kv_blocks_used,
                                self.kv_blocks_per_replica))

    def request(self, request_id: int, replica: int, arrival_s: float, first_token_s: float, finish_s: float,
                input_tokens: int, output_tokens: int) -> None:
        self._replica(replica)
        self._write(request_events(request_id, replica, arrival_s, first_token_s, finish_s, input_tokens,
                                   output_tokens))

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self._f.write("]}\n")
            self._f.close()
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError):
        try:
            self._f.close()
        except OSError:
            pass
        raise JalapenoError(f"{self.flag} {self.path}: write failed: {exc.strerror or exc}") from None
