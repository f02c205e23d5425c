"""Is a queue still growing when the arrivals stop? A least-squares slope with its standard error.

A short capacity probe cannot wait for an overloaded server's latencies to blow up; it can see
the number of requests waiting (or in the system) still climbing. The slope over the second half
of the arrivals, with its standard error, lets the capacity search project that growth to a
longer run and act on it only when it is significant (serving/capacity.py), instead of a ratio of
two noisy samples failing probes that are far inside their SLOs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def slope(samples: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(slope, standard error of the slope) of y over t by ordinary least squares; (0, 0) for
    fewer than three samples or no spread in t. Samples of a queue are autocorrelated, so the
    error is a floor on the true uncertainty: callers ask for several of them."""
    n = len(samples)
    if n < 3:
        return 0.0, 0.0
    mt = sum(t for t, _ in samples) / n
    my = sum(y for _, y in samples) / n
    stt = sum((t - mt) ** 2 for t, _ in samples)
    if stt <= 0:
        return 0.0, 0.0
    b = sum((t - mt) * (y - my) for t, y in samples) / stt
    resid = sum((y - my - b * (t - mt)) ** 2 for t, y in samples)
    return b, math.sqrt(resid / (n - 2) / stt)


def second_half(samples: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The samples from the second half of the time they span (the first half holds the warm-up)."""
    if not samples:
        return []
    t0, t1 = samples[0][0], samples[-1][0]
    mid = (t0 + t1) / 2
    return [s for s in samples if s[0] >= mid]
