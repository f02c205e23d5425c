"""Serving metrics with memory that stays flat however many requests pass through.

Latencies go into log-spaced histograms (0.5 % wide bins from 10 us to 3 hours), so
percentiles are exact to within half a percent and a million requests cost the same memory as
ten. Sums and counts are exact. Optionally every request's record and every step's span can be
kept (`keep_requests`, `timeline`) for small runs, tests and Chrome/Perfetto traces.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from jalapeno.serving.timeline import TimelineWriter, replica_events, request_events, step_events

_LO, _HI, _RATIO = 1e-5, 1.1e4, 1.005
_NBINS = int(math.log(_HI / _LO) / math.log(_RATIO)) + 2


class LogHistogram:
    def __init__(self):
        self.counts = np.zeros(_NBINS, dtype=np.int64)
        self.n = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, x: float) -> None:
        i = 0 if x <= _LO else min(int(math.log(x / _LO) / math.log(_RATIO)) + 1, _NBINS - 1)
        self.counts[i] += 1
        self.n += 1
        self.total += x
        if x > self.max:
            self.max = x

    def percentile(self, q: float) -> float:
        if not self.n:
            return float("nan")
        rank = q / 100 * (self.n - 1)
        i = int(np.searchsorted(np.cumsum(self.counts), rank + 1))
        if i == 0:
            return _LO
        return min(_LO * _RATIO ** (i - 0.5), self.max)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else float("nan")


@dataclass
class RequestRecord:
    id: int
    arrival_s: float
    first_token_s: float
    finish_s: float
    input_tokens: int
    output_tokens: int
    replica: int
    preemptions: int

    @property
    def ttft_s(self) -> float:
        return self.first_token_s - self.arrival_s

    @property
    def tpot_s(self) -> float:
        return (self.finish_s - self.first_token_s) / (self.output_tokens - 1) if self.output_tokens > 1 else 0.0


@dataclass
class Metrics:
    slo_ttft_s: float
    slo_tpot_s: float
    keep_requests: bool = False
    timeline: bool = False
    ttft: LogHistogram = field(default_factory=LogHistogram)
    tpot: LogHistogram = field(default_factory=LogHistogram)
    e2e: LogHistogram = field(default_factory=LogHistogram)
    arrived: int = 0
    finished: int = 0
    dropped: int = 0
    dropped_reasons: dict = field(default_factory=dict)  # reason key -> count
    dropped_details: dict = field(default_factory=dict)  # reason key -> what it means for this run
    good: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    first_arrival_s: float = math.inf
    last_finish_s: float = 0.0
    records: list = field(default_factory=list)
    spans: list = field(default_factory=list)
    timeline_writer: TimelineWriter | None = None  # spans and finished requests streamed to a file

    def arrive(self, t: float) -> None:
        self.arrived += 1
        self.first_arrival_s = min(self.first_arrival_s, t)

    def drop(self, reason: str, detail: str = "") -> None:
        """Count a request that will never finish, under a short stable reason key (`kv_cache`,
        `context_window`, ...); `detail` says what the key means in this run."""
        self.dropped += 1
        self.dropped_reasons[reason] = self.dropped_reasons.get(reason, 0) + 1
        if detail and reason not in self.dropped_details:
            self.dropped_details[reason] = detail

    def finish(self, seq, now: float, replica: int) -> None:
        r = seq.req
        ttft = seq.first_token_s - r.arrival_s
        out = seq.target
        tpot = (now - seq.first_token_s) / (out - 1) if out > 1 else 0.0
        self.ttft.add(ttft)
        if out > 1:
            self.tpot.add(tpot)
        self.e2e.add(now - r.arrival_s)
        self.finished += 1
        self.input_tokens += r.input_tokens
        self.output_tokens += out
        self.last_finish_s = max(self.last_finish_s, now)
        if ttft <= self.slo_ttft_s and tpot <= self.slo_tpot_s:
            self.good += 1
        if self.keep_requests:
            self.records.append(RequestRecord(r.id, r.arrival_s, seq.first_token_s, now, r.input_tokens, out,
                                              replica, seq.preemptions))
        if self.timeline_writer is not None:
            self.timeline_writer.request(r.id, replica, r.arrival_s, seq.first_token_s, now, r.input_tokens, out)

    def span(self, replica: int, start: float, plan, waiting: int = 0, kv_blocks_used: int = 0) -> None:
        """One step of one replica: (replica, start s, duration s, decodes, prefill tokens, energy J,
        requests waiting, KV blocks in use) at the step's start."""
        if self.timeline:
            self.spans.append((replica, start, plan.time_s, plan.n_decodes, sum(c for _, c in plan.chunks),
                               plan.energy_j, waiting, kv_blocks_used))
        if self.timeline_writer is not None:
            self.timeline_writer.span(replica, start, plan.time_s, plan.n_decodes, sum(c for _, c in plan.chunks),
                                      plan.energy_j, waiting, kv_blocks_used)

    def chrome_trace(self, kv_blocks_per_replica: int | None = None) -> str:
        """The kept timeline as Chrome/Perfetto trace-event JSON (serving/timeline.py's events:
        a process per replica, steps named by kind, counters, finished requests as spans)."""
        events: list[dict] = []
        for rep in sorted({s[0] for s in self.spans} | {r.replica for r in self.records}):
            events += replica_events(rep)
        for rep, start, dur, d, p, energy, waiting, kv in self.spans:
            events += step_events(rep, start, dur, d, p, energy, waiting, kv, kv_blocks_per_replica)
        for r in self.records:
            events += request_events(r.id, r.replica, r.arrival_s, r.first_token_s, r.finish_s, r.input_tokens,
                                     r.output_tokens)
        return json.dumps({"traceEvents": events, "displayTimeUnit": "ms"})
