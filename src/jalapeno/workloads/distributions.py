"""Small, seedable distributions for token counts and times used by the generators.

Each draws a numpy batch at a time (`sample(rng, n)`): generators pull a few thousand values per
call, which is what keeps a million-request stream fast. Values are floats; `as_tokens` rounds a
batch to whole tokens of at least 1.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from jalapeno.errors import JalapenoError


class Distribution:
    """Base class: a distribution that can draw `n` values at once."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    @property
    def mean(self) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class Fixed(Distribution):
    """Always `value`."""

    value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, float(self.value))

    @property
    def mean(self) -> float:
        return float(self.value)


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential with the given mean (e.g. think times)."""

    mean_value: float

    def __post_init__(self) -> None:
        if not self.mean_value > 0:
            raise JalapenoError(f"Exponential mean must be > 0, got {self.mean_value}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_value, n)

    @property
    def mean(self) -> float:
        return float(self.mean_value)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Log-normal with arithmetic mean `mean_value` and log-space std `sigma`, clipped to [min_value, max_value].

    The mean is that of the unclipped distribution (mu = ln(mean) - sigma^2 / 2); clipping moves
    it a little when the bounds bite.
    """

    mean_value: float
    sigma: float
    max_value: float | None = None
    min_value: float = 1.0

    def __post_init__(self) -> None:
        if not self.mean_value > 0 or self.sigma < 0:
            raise JalapenoError(f"LogNormal needs mean > 0 and sigma >= 0, got {self.mean_value}, {self.sigma}")
        if self.max_value is not None and self.max_value < self.min_value:
            raise JalapenoError(f"LogNormal max_value {self.max_value} is below min_value {self.min_value}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu = math.log(self.mean_value) - self.sigma**2 / 2
        return np.clip(rng.lognormal(mu, self.sigma, n), self.min_value, self.max_value)

    @property
    def mean(self) -> float:
        return float(self.mean_value)


_PERCENT_KEY = re.compile(r"^p(\d+(?:\.\d+)?)$")


def probability(key: float | str) -> float:
    """A quantile key as a probability: 0.5, or 'p50' (percent), both mean the median."""
    if isinstance(key, str):
        m = _PERCENT_KEY.match(key.strip())
        if not m:
            raise JalapenoError(f"quantile key {key!r} is neither a probability nor like 'p50'")
        return float(m.group(1)) / 100.0
    return float(key)


@dataclass(frozen=True, init=False)
class Empirical(Distribution):
    """Piecewise-linear inverse CDF through (probability, value) points, e.g. a profile's quantiles.

    Keys are probabilities in [0, 1] or percent labels ('p0' ... 'p100'). Below the smallest and
    above the largest given probability the value is held flat, so include p0 and p100 (min and
    max) to cover the whole range.
    """

    probs: tuple[float, ...]
    values: tuple[float, ...]

    def __init__(self, quantiles: Mapping[str, float] | Mapping[float, float] | Iterable[tuple[float | str, float]]):
        items = quantiles.items() if isinstance(quantiles, Mapping) else quantiles
        pairs = sorted((probability(k), float(v)) for k, v in items)
        if not pairs:
            raise JalapenoError("Empirical needs at least one (probability, value) point")
        ps = [p for p, _ in pairs]
        vs = [v for _, v in pairs]
        if ps[0] < 0 or ps[-1] > 1 or len(set(ps)) != len(ps):
            raise JalapenoError(f"Empirical probabilities must be distinct and in [0, 1], got {ps}")
        if any(b < a for a, b in zip(vs, vs[1:], strict=False)):
            raise JalapenoError(f"Empirical values must not decrease with probability, got {vs}")
        object.__setattr__(self, "probs", tuple(ps))
        object.__setattr__(self, "values", tuple(vs))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.inverse_cdf(rng.random(n))

    def inverse_cdf(self, u: np.ndarray | float) -> np.ndarray:
        return np.asarray(np.interp(u, self.probs, self.values))

    def value_at(self, u: float) -> float:
        """`inverse_cdf` for one probability, in plain Python (much faster than numpy for a scalar)."""
        ps, vs = self.probs, self.values
        if u <= ps[0]:
            return vs[0]
        if u >= ps[-1]:
            return vs[-1]
        i = bisect.bisect_right(ps, u)
        p0, p1 = ps[i - 1], ps[i]
        return vs[i - 1] + (vs[i] - vs[i - 1]) * (u - p0) / (p1 - p0)

    def scaled(self, factor: float, max_value: float | None = None) -> Empirical:
        """The same shape with every value times `factor` (e.g. to move the mean), optionally
        capped at `max_value`."""
        if not factor > 0:
            raise JalapenoError(f"Empirical scale factor must be > 0, got {factor}")
        cap = math.inf if max_value is None else max_value
        return Empirical(zip(self.probs, (min(v * factor, cap) for v in self.values), strict=True))

    def with_mean(self, mean: float, max_value: float | None = None) -> Empirical:
        """Scaled so that its mean is `mean` (before the optional cap at `max_value`)."""
        return self.scaled(mean / self.mean, max_value)

    @property
    def mean(self) -> float:
        ps = (0.0, *self.probs, 1.0)
        vs = (self.values[0], *self.values, self.values[-1])
        return float(sum((p1 - p0) * (v0 + v1) / 2 for p0, p1, v0, v1 in zip(ps, ps[1:], vs, vs[1:], strict=False)))


def as_tokens(values: np.ndarray) -> np.ndarray:
    """Round a batch of draws to whole tokens, at least 1."""
    return np.maximum(np.rint(values), 1).astype(np.int64)


class Draws:
    """Values of one distribution handed out one or a few at a time, drawn `chunk` at a time."""

    def __init__(self, dist: Distribution, rng: np.random.Generator, chunk: int = 4096):
        self.dist, self.rng, self.chunk = dist, rng, chunk
        self._buf: list[float] = []
        self._i = 0

    def take(self, n: int) -> list[float]:
        out: list[float] = []
        while len(out) < n:
            if self._i >= len(self._buf):
                self._buf = self.dist.sample(self.rng, self.chunk).tolist()
                self._i = 0
            got = self._buf[self._i : self._i + n - len(out)]
            self._i += len(got)
            out.extend(got)
        return out

    def next(self) -> float:
        return self.take(1)[0]
