"""Synthetic request streams: open-loop arrivals with chosen length distributions.

Every generator is a lazy, deterministic stream for a given seed: it yields Requests in arrival
order, drawing numpy batches of `CHUNK` values at a time, so a million requests stream in flat
memory. Arrivals, input lengths, output lengths and prefix ids each use their own random stream
(spawned from the seed), so changing one distribution does not reshuffle the others, and the first
N requests of a longer run equal a run of N.

A stream stops after `num_requests` requests or at `duration_s` seconds (arrivals strictly before
it), whichever comes first; at least one of the two is required.

Arrival models: `poisson` (exponential gaps) and `gamma_bursty` (gamma gaps with a chosen
coefficient of variation cv: cv < 1 is smoother than Poisson, cv > 1 burstier; a renewal process,
so it matches the spread of gaps but not slow swings of the rate). `from_profile` combines a gamma
process at a trace's rate and cv with its empirical length distributions (drawn independently: the
trace's input/output correlation is not kept) and, for the Mooncake profiles, synthetic prefix ids
(see prefixes.py). Caveat: the Azure code trace's cv of 13 comes from minutes-long on/off swings;
a gamma process with that cv instead puts requests in near-simultaneous clumps between long gaps.
Multi-turn agent sessions live in agents.py (`agent_sessions` is re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from jalapeno.errors import JalapenoError
from jalapeno.workloads.agents import agent_sessions
from jalapeno.workloads.distributions import Distribution, Empirical, Exponential, Fixed, LogNormal, as_tokens
from jalapeno.workloads.prefixes import PrefixSynthesizer
from jalapeno.workloads.profiles import get_profile
from jalapeno.workloads.request import Request

__all__ = [
    "CHUNK",
    "Empirical",
    "Exponential",
    "Fixed",
    "LogNormal",
    "agent_sessions",
    "from_profile",
    "gamma_bursty",
    "poisson",
]

CHUNK = 4096
"""Values drawn per numpy call; part of the definition of a seed's stream, do not change lightly."""

GapSampler = Callable[[np.random.Generator, int], np.ndarray]


def _check_stop(duration_s: float | None, num_requests: int | None) -> None:
    if duration_s is None and num_requests is None:
        raise JalapenoError("give duration_s or num_requests (or both) to bound the request stream")
    if duration_s is not None and not duration_s >= 0:
        raise JalapenoError(f"duration_s must be >= 0, got {duration_s}")
    if num_requests is not None and num_requests < 0:
        raise JalapenoError(f"num_requests must be >= 0, got {num_requests}")


def _check_rate(rate_per_s: float) -> None:
    if not (rate_per_s > 0 and math.isfinite(rate_per_s)):
        raise JalapenoError(f"rate must be a positive number of requests per second, got {rate_per_s}")


def _stream(
    gaps: GapSampler,
    input_dist: Distribution,
    output_dist: Distribution,
    seed: int,
    duration_s: float | None,
    num_requests: int | None,
    prefix_factory: Callable[[np.random.Generator], PrefixSynthesizer] | None = None,
) -> Iterator[Request]:
    rng_gap, rng_in, rng_out, rng_prefix = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    synth = prefix_factory(rng_prefix) if prefix_factory else None
    limit = math.inf if num_requests is None else num_requests
    end_s = math.inf if duration_s is None else duration_s
    t = 0.0
    rid = 0
    while rid < limit:
        times = t + np.cumsum(gaps(rng_gap, CHUNK))
        t = float(times[-1])
        ins = as_tokens(input_dist.sample(rng_in, CHUNK)).tolist()
        outs = as_tokens(output_dist.sample(rng_out, CHUNK)).tolist()
        for arrival_s, n_in, n_out in zip(times.tolist(), ins, outs, strict=True):
            if rid >= limit or arrival_s >= end_s:
                return
            hashes = synth.hashes(n_in) if synth else ()
            yield Request(rid, arrival_s, n_in, n_out, hashes)
            rid += 1


def _gamma_gaps(rate_per_s: float, cv: float) -> GapSampler:
    if cv == 0:
        return lambda rng, n: np.full(n, 1.0 / rate_per_s)
    shape = 1.0 / cv**2
    scale = 1.0 / (rate_per_s * shape)
    return lambda rng, n: rng.gamma(shape, scale, n)


def poisson(
    rate_per_s: float,
    duration_s: float | None = None,
    num_requests: int | None = None,
    input_dist: Distribution = Fixed(1024),
    output_dist: Distribution = Fixed(128),
    seed: int = 0,
) -> Iterator[Request]:
    """Poisson arrivals (exponential gaps, mean 1 / rate_per_s) from t = 0."""
    _check_rate(rate_per_s)
    _check_stop(duration_s, num_requests)
    return _stream(lambda rng, n: rng.exponential(1.0 / rate_per_s, n), input_dist, output_dist, seed,
                   duration_s, num_requests)


def gamma_bursty(
    rate_per_s: float,
    cv: float,
    duration_s: float | None = None,
    num_requests: int | None = None,
    input_dist: Distribution = Fixed(1024),
    output_dist: Distribution = Fixed(128),
    seed: int = 0,
) -> Iterator[Request]:
    """Gamma-distributed gaps with mean 1 / rate_per_s and coefficient of variation `cv`
    (shape 1/cv^2; cv = 1 is Poisson, cv = 0 evenly spaced)."""
    _check_rate(rate_per_s)
    if not (cv >= 0 and math.isfinite(cv)):
        raise JalapenoError(f"cv must be a finite number >= 0, got {cv}")
    _check_stop(duration_s, num_requests)
    return _stream(_gamma_gaps(rate_per_s, cv), input_dist, output_dist, seed, duration_s, num_requests)


def from_profile(
    name: str,
    rate_per_s: float | None = None,
    duration_s: float | None = None,
    num_requests: int | None = None,
    seed: int = 0,
) -> Iterator[Request]:
    """A stream fitted to a built-in trace profile (profiles.py): gamma arrivals with the trace's
    inter-arrival cv at `rate_per_s` (default: the trace's mean rate), the trace's empirical input
    and output lengths, and for Mooncake profiles prefix ids with the trace's reuse."""
    profile = get_profile(name)
    rate = profile.mean_rate_per_s if rate_per_s is None else rate_per_s
    _check_rate(rate)
    _check_stop(duration_s, num_requests)
    prefix = profile.prefix
    factory = (lambda rng: PrefixSynthesizer(prefix, rng)) if prefix is not None else None
    return _stream(_gamma_gaps(rate, profile.interarrival_cv), profile.input_distribution(),
                   profile.output_distribution(), seed, duration_s, num_requests, factory)
