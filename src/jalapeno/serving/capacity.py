"""Capacity: the highest request rate a deployment sustains within its latency SLOs.

As MLPerf's Server scenario measures it: Poisson (or the workload's own) arrivals at a target
rate, starting from an idle server; a rate passes if the p99 time to first token and the p99 time
per output token over the whole run both meet the SLOs and nothing is dropped. A run must last
many request lifetimes (MLPerf's minimum is 600 s): until the running batch has filled, even a
rate above what the server sustains shows good latencies. For short probes (a minute or two)
`stability_checks` adds two stand-ins for a longer run: the requests still waiting when arrivals
stop must be few enough to start within a quarter of the TTFT bound, and the outstanding work
then must not exceed its mean over the second half of the arrivals by more than 15 %. (They
are noisy: at a comfortable rate the work-growth ratio of a 600 s run ranges 0.7-1.15 with the
seed, so they can fail a rate the server sustains.)
The highest passing rate is found by bracketing from the steady-state throughput estimate and
bisecting; every probe reuses the first one's step tables. `completed_tokens_per_s` is LoadGen's
Server metric (drain included); `output_tokens_per_s` the arrival rate times the mean output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jalapeno.engine.predict import Workload, predict
from jalapeno.serving.run import scenario_setup, simulate
from jalapeno.serving.scenario import Scenario
from jalapeno.serving.simulator import serving_spec


@dataclass
class CapacityResult:
    rate_per_s: float
    summary: dict
    probes: list[tuple[float, bool, float, float]]  # rate, passed, ttft p99, tpot p99

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
        return {"max_rate_per_s": self.rate_per_s, "output_tokens_per_s": self.output_tokens_per_s,
                "ttft_s_p99": s.get("ttft_s_p99"), "tpot_s_p99": s.get("tpot_s_p99"),
                "goodput_requests_per_s": s.get("goodput_requests_per_s"),
                "output_tokens_per_joule": s.get("output_tokens_per_joule"),
                "probes": [{"rate_per_s": r, "passed": ok, "ttft_s_p99": t, "tpot_s_p99": p}
                           for r, ok, t, p in self.probes]}


def _passes(s: dict, sc: Scenario, rate: float, stability_checks: bool = True) -> bool:
    slo = sc.serving.slo
    if s["finished"] == 0 or s["dropped"]:
        return False
    stable = (not stability_checks or s["backlog_at_last_arrival"] <= max(rate * slo.ttft_s / 4, 1.0)
              and s["work_growth"] <= 1.15)
    return s["ttft_s_p99"] <= slo.ttft_s and s["tpot_s_p99"] <= slo.tpot_s and stable


def find_capacity(sc: Scenario, duration_s: float = 120.0, iterations: int = 8,
                  progress: Callable[[str], None] | None = None, stability_checks: bool = True) -> CapacityResult:
    """The highest passing rate. `stability_checks` adds the backlog and work-growth tests that
    stand in for a longer run; without them a rate passes on its latency percentiles alone, as in
    MLPerf, which is right only when the probe is long enough for the running batch to fill (many
    request lifetimes; MLPerf's 600 s minimum)."""
    w = sc.workload
    setup = scenario_setup(sc)
    replicas = sc.serving.replicas if not sc.serving.disaggregation.enabled else (
        sc.serving.disaggregation.prefill_replicas + sc.serving.disaggregation.decode_replicas)
    est = predict(setup.model, setup.system, Workload(int(w.input_tokens), int(w.output_tokens)), setup.plan,
                  sc.precision, stack=setup.stack, spec=serving_spec(setup, sc.serving))
    guess = replicas * est.output_tokens_per_s / max(w.output_tokens, 1)
    probes: list[tuple[float, bool, float, float]] = []
    best: tuple[float, dict] = (0.0, {})
    step_model = None  # the first probe's step tables, reused: only the arrival rate changes

    def trial(rate: float) -> bool:
        nonlocal best, step_model
        wl = w.model_copy(update={"rate_per_s": rate, "duration_s": duration_s, "num_requests": None})
        res = simulate(sc.model_copy(update={"workload": wl}), step_model=step_model)
        if step_model is None:
            step_model = res.replicas[0].fast
        s = res.summary()
        ok = _passes(s, sc, rate, stability_checks)
        probes.append((rate, ok, s["ttft_s_p99"], s["tpot_s_p99"]))
        if progress:
            progress(f"rate {rate:.3g}/s: {'pass' if ok else 'fail'} (p99 TTFT {s['ttft_s_p99']:.3g} s, "
                     f"p99 TPOT {s['tpot_s_p99']:.3g} s)")
        if ok and rate > best[0]:
            best = (rate, s)
        return ok

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
        mid = (lo + hi) / 2
        if trial(mid):
            lo = mid
        else:
            hi = mid
    return CapacityResult(best[0], best[1], probes)
