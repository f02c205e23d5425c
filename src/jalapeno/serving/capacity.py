"""Capacity: the highest request rate a deployment sustains within its latency SLOs.

As MLPerf's Server scenario measures it: Poisson (or the workload's own) arrivals at a target
rate, starting from an idle server; a rate passes if the p99 time to first token and the p99 time
per output token over the whole run both meet the SLOs and nothing is dropped for want of
capacity (requests the deployment can never serve, such as prompts beyond the context window,
are reported with the answer but do not fail a rate). A run must last
many request lifetimes (MLPerf's minimum is 600 s): until the running batch has filled, even a
rate above what the server sustains shows good latencies. A shorter probe (`stability_checks`)
therefore projects what it sees to a 600 s run: the growth of the waiting queue over the second
half of its arrivals (least squares, counted only beyond three standard errors) adds
growth x remaining time / rate to the p99 TTFT, and a still-growing running batch (up to its
cap) scales the p99 TPOT. A server that keeps up has no significant growth, so a probe far
inside its SLOs is never failed by noise.

Verdicts near the bound (a metric within a factor of two of its SLO) are noisy in the arrival
sequence, so they are decided by `repeats` probes on different seeds (majority); far ones take
one probe. The highest passing rate is found by bracketing from the steady-state throughput
estimate and bisecting to `rel_tol`; each seed's own boundary among the probed rates gives the
spread reported with the answer. Every probe reuses the first one's step tables.
`completed_tokens_per_s` is LoadGen's Server metric (drain included); `output_tokens_per_s`
the arrival rate times the mean output.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from jalapeno.engine.predict import Workload, predict
from jalapeno.serving.run import scenario_setup, simulate
from jalapeno.serving.scenario import Scenario
from jalapeno.serving.simulator import serving_spec

MLPERF_MIN_DURATION_S = 600.0  # MLPerf Inference's minimum Server run (LoadGen min_duration)
_SIGNIFICANT = 3.0  # standard errors a queue's growth must exceed to count (samples are autocorrelated)
_CLOSE = 2.0  # a verdict within this factor of a bound is decided by several seeds
# Requests this deployment can never serve, at any rate (longer than the context window, than one
# replica's KV cache, or than the step budget without chunking): reported with the result, but
# they do not fail a rate. Any other drop does.
INTRINSIC_DROPS = frozenset({"context_window", "kv_cache", "token_budget"})


@dataclass
class Probe:
    rate_per_s: float
    passed: bool
    ttft_s_p99: float
    tpot_s_p99: float
    seeds: dict[int, bool] = field(default_factory=dict)  # seed -> verdict (one entry unless close)


@dataclass
class CapacityResult:
    rate_per_s: float
    summary: dict
    probes: list[Probe]
    rate_by_seed_per_s: dict[int, float] = field(default_factory=dict)

    @property
    def spread(self) -> tuple[float, float]:
        """Lowest and highest capacity of the seeds tried near the bound (the answer alone if one)."""
        vals = list(self.rate_by_seed_per_s.values()) or [self.rate_per_s]
        return min(vals), max(vals)

    @property
    def output_tokens_per_s(self) -> float:
        """Sustained output rate at capacity: the request rate times the mean output length (the
        probe's own tokens/s would include the drain after the last arrival)."""
        s = self.summary
        return self.rate_per_s * s["output_tokens"] / s["finished"] if s.get("finished") else 0.0

    @property
    def completed_tokens_per_s(self) -> float:
        """The passing probe's output tokens over the time from its first arrival to its last
        completion, drain included: MLPerf LoadGen's Server metric (result_completed_tokens_per_second
        = tokens / final_query_all_samples_done_time)."""
        return self.summary.get("output_tokens_per_s", 0.0)

    def to_dict(self) -> dict:
        s = self.summary
        lo, hi = self.spread
        return {"max_rate_per_s": self.rate_per_s, "rate_spread_per_s": [lo, hi],
                "rate_by_seed_per_s": {str(k): v for k, v in self.rate_by_seed_per_s.items()},
                "output_tokens_per_s": self.output_tokens_per_s,
                "ttft_s_p99": s.get("ttft_s_p99"), "tpot_s_p99": s.get("tpot_s_p99"),
                "goodput_requests_per_s": s.get("goodput_requests_per_s"),
                "output_tokens_per_joule": s.get("output_tokens_per_joule"),
                "requests": s.get("requests", 0), "finished": s.get("finished", 0), "dropped": s.get("dropped", 0),
                "dropped_reasons": s.get("dropped_reasons", {}), "in_flight": s.get("in_flight", 0),
                "probes": [{"rate_per_s": p.rate_per_s, "passed": p.passed, "ttft_s_p99": p.ttft_s_p99,
                            "tpot_s_p99": p.tpot_s_p99, "seeds_passed": sum(p.seeds.values()),
                            "seeds": len(p.seeds)} for p in self.probes]}


def _verdict(s: dict, sc: Scenario, rate: float, stability_checks: bool = True,
             duration_s: float = MLPERF_MIN_DURATION_S) -> tuple[bool, float]:
    """(passes, closeness): closeness is the largest ratio of a (projected) p99 to its bound, so
    1 is at the bound; inf when a request was dropped or none finished."""
    slo = sc.serving.slo
    load_drops = sum(n for r, n in s.get("dropped_reasons", {}).items() if r not in INTRINSIC_DROPS)
    if s["finished"] == 0 or load_drops or s.get("in_flight", 0):
        return False, math.inf
    ttft, tpot = s["ttft_s_p99"], s["tpot_s_p99"]
    tpot = 0.0 if math.isnan(tpot) else tpot  # one-token outputs have no TPOT
    if stability_checks:
        horizon = max(MLPERF_MIN_DURATION_S - duration_s, 0.0)
        waiting = max(s.get("waiting_growth_per_s", 0.0) - _SIGNIFICANT * s.get("waiting_growth_se_per_s", 0.0), 0)
        ttft += waiting * horizon / rate
        running = max(s.get("running_growth_per_s", 0.0) - _SIGNIFICANT * s.get("running_growth_se_per_s", 0.0), 0)
        if running > 0:
            mean = max(s.get("running_mean", 0.0), 1.0)
            cap = sc.serving.scheduler.max_num_seqs * s.get("replicas", 1)
            tpot *= max(min(mean + running * horizon, cap), mean) / mean
    closeness = max(ttft / slo.ttft_s, tpot / slo.tpot_s)
    return closeness <= 1.0, closeness


def _passes(s: dict, sc: Scenario, rate: float, stability_checks: bool = True,
            duration_s: float = MLPERF_MIN_DURATION_S) -> bool:
    return _verdict(s, sc, rate, stability_checks, duration_s)[0]


def find_capacity(sc: Scenario, duration_s: float = 120.0, iterations: int = 8,
                  progress: Callable[[str], None] | None = None, stability_checks: bool = True,
                  repeats: int = 3, rel_tol: float = 0.01) -> CapacityResult:
    """The highest passing rate. `stability_checks` projects a short probe's queue growth to a
    600 s run (see the module docstring); without them a rate passes on its latency percentiles
    alone, as in MLPerf, which is right only when the probe is long enough for the running batch
    to fill. `repeats` seeds decide a close verdict; bisection stops after `iterations` steps or
    when the bracket is within `rel_tol` of its lower end."""
    w = sc.workload
    setup = scenario_setup(sc)
    replicas = sc.serving.replicas if not sc.serving.disaggregation.enabled else (
        sc.serving.disaggregation.prefill_replicas + sc.serving.disaggregation.decode_replicas)
    est = predict(setup.model, setup.system, Workload(int(w.input_tokens), int(w.output_tokens)), setup.plan,
                  sc.precision, stack=setup.stack, spec=serving_spec(setup, sc.serving))
    guess = replicas * est.output_tokens_per_s / max(w.output_tokens, 1)
    probes: list[Probe] = []
    best: tuple[float, dict] = (0.0, {})
    step_model = None  # the first probe's step tables, reused: only the arrival rate and seed change
    seeds = [w.seed + 1000 * i for i in range(max(repeats, 1))]

    def run(rate: float, seed: int) -> tuple[bool, float, dict]:
        nonlocal step_model
        wl = w.model_copy(update={"rate_per_s": rate, "duration_s": duration_s, "num_requests": None, "seed": seed})
        serving = sc.serving.model_copy(update={"seed": sc.serving.seed + seed - w.seed})
        res = simulate(sc.model_copy(update={"workload": wl, "serving": serving}), step_model=step_model)
        if step_model is None:
            step_model = res.replicas[0].fast
        s = res.summary()
        ok, close = _verdict(s, sc, rate, stability_checks, duration_s)
        return ok, close, s

    def trial(rate: float) -> bool:
        nonlocal best
        ok, close, s = run(rate, seeds[0])
        verdicts = {seeds[0]: ok}
        passing = s if ok else None  # the summary reported: the first passing seed's
        if len(seeds) > 1 and 1 / _CLOSE <= close <= _CLOSE:
            for seed in seeds[1:]:
                verdicts[seed], _, other = run(rate, seed)
                passing = passing or (other if verdicts[seed] else None)
        passed = 2 * sum(verdicts.values()) > len(verdicts)
        probes.append(Probe(rate, passed, s["ttft_s_p99"], s["tpot_s_p99"], verdicts))
        if progress:
            seen = f", {sum(verdicts.values())} of {len(verdicts)} seeds" if len(verdicts) > 1 else ""
            progress(f"rate {rate:.3g}/s: {'pass' if passed else 'fail'} (p99 TTFT {s['ttft_s_p99']:.3g} s, "
                     f"p99 TPOT {s['tpot_s_p99']:.3g} s{seen})")
        if passed and rate > best[0]:
            best = (rate, passing or s)
        return passed

    lo, hi = 0.0, guess
    while trial(hi) and len(probes) < 20:
        lo, hi = hi, hi * 2
    if lo == 0.0:
        hi_fail = hi
        lo = hi / 2
        while not trial(lo) and len(probes) < 20:
            hi_fail, lo = lo, lo / 2
            if lo < 1e-4:
                return CapacityResult(0.0, {}, probes)
        hi = hi_fail
    for _ in range(iterations):
        if hi - lo <= rel_tol * lo:
            break
        mid = (lo + hi) / 2
        if trial(mid):
            lo = mid
        else:
            hi = mid
    return CapacityResult(best[0], best[1], probes, _by_seed(probes, seeds))


def _by_seed(probes: list[Probe], seeds: list[int]) -> dict[int, float]:
    """Each seed's own capacity among the probed rates: its highest pass below its lowest fail (a
    single-seed probe counts for every seed: its verdict was far from the bound)."""
    out = {}
    for seed in seeds:
        verdicts = [(p.rate_per_s, p.seeds.get(seed, p.passed)) for p in probes]
        fail = min((r for r, ok in verdicts if not ok), default=math.inf)
        out[seed] = max((r for r, ok in verdicts if ok and r < fail), default=0.0)
    return out
