"""Reshaping a request stream in time: change its rate, cut it short.

Traces come at the rate they were recorded; studies sweep load. `scale_to_rate` stretches or
compresses arrival times by one factor (keeping burstiness: the inter-arrival cv is unchanged), and
`take` bounds a stream by count or time. Both stream lazily.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Iterator

from jalapeno.errors import JalapenoError
from jalapeno.workloads.request import Request


def _measured_rate(requests: Iterable[Request]) -> float:
    """(n - 1) / (last - first arrival) in one pass over a re-iterable source."""
    n = 0
    first = last = 0.0
    for r in requests:
        if n == 0:
            first = r.arrival_s
        last = r.arrival_s
        n += 1
    if n < 2 or last <= first:
        raise JalapenoError(f"cannot measure the rate of a stream of {n} request(s) spanning {last - first} s")
    return (n - 1) / (last - first)


def scale_to_rate(
    requests: Iterable[Request], target_rate_per_s: float, source_rate_per_s: float | None = None
) -> Iterator[Request]:
    """Multiply every arrival time by source_rate / target_rate so the mean rate becomes the target.

    Times are scaled about t = 0 (traces and generators start there), so a rate measured as
    (n - 1) / (last - first) scales by exactly that factor. Without `source_rate_per_s` the source
    is read twice (one pass to measure the rate); that needs a re-iterable source, such as a list
    or a loaded trace. For a one-shot iterator, pass the rate (e.g. from `trace_stats`).
    """
    if not (target_rate_per_s > 0 and math.isfinite(target_rate_per_s)):
        raise JalapenoError(f"target_rate_per_s must be a positive number, got {target_rate_per_s}")
    if source_rate_per_s is None:
        if iter(requests) is requests:
            raise JalapenoError(
                "scale_to_rate needs source_rate_per_s for a one-shot iterator (it cannot be read twice); "
                "pass the rate from trace_stats, or a list or loaded trace"
            )
        source_rate_per_s = _measured_rate(requests)
    elif not (source_rate_per_s > 0 and math.isfinite(source_rate_per_s)):
        raise JalapenoError(f"source_rate_per_s must be a positive number, got {source_rate_per_s}")
    factor = source_rate_per_s / target_rate_per_s
    return (dataclasses.replace(r, arrival_s=r.arrival_s * factor) for r in requests)


def take(requests: Iterable[Request], num: int | None = None, duration_s: float | None = None) -> Iterator[Request]:
    """The first `num` requests and/or those arriving before `duration_s` (stops reading at the first later one)."""
    if num is not None and num < 0:
        raise JalapenoError(f"num must be >= 0, got {num}")
    it: Iterable[Request] = requests if num is None else itertools.islice(requests, num)
    if duration_s is not None:
        it = itertools.takewhile(lambda r: r.arrival_s < duration_s, it)
    return iter(it)
