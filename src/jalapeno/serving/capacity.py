"""Capacity: the highest request rate a deployment sustains within its latency SLOs.

As MLPerf's Server scenario measures it: Poisson (or the workload's own) arrivals at a target
rate; a rate passes if the p99 time to first token and the p99 time per output token both meet
the SLOs, nothing is dropped, and the server keeps up: a probe is a minute or two, not MLPerf's
ten, so a rate just above what the server sustains would still look fine on latency while its
running batch swells. So the requests still waiting when arrivals stop must be few enough to
start within a quarter of the TTFT bound, and the outstanding work then must not exceed its
mean over the second half of the arrivals by more than 15 %.
The highest passing rate is found by bracketing from
the steady-state throughput estimate and bisecting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jalapeno.engine.predict import Workload, predict
from jalapeno.serving.run import scenario_setup, simulate
from jalapeno.serving.scenario import Scenario


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

    def to_dict(self) -> dict:
        s = self.summary
        return {"max_rate_per_s": self.rate_per_s, "output_tokens_per_s": self.output_tokens_per_s,
                "ttft_s_p99": s.get("ttft_s_p99"), "tpot_s_p99": s.get("tpot_s_p99"),
                "goodput_requests_per_s": s.get("goodput_requests_per_s"),
                "output_tokens_per_joule": s.get("output_tokens_per_joule"),
                "probes": [{"rate_per_s": r, "passed": ok, "ttft_s_p99": t, "tpot_s_p99": p}
                           for r, ok, t, p in self.probes]}


def _passes(s: dict, sc: Scenario, rate: float) -> bool:
    slo = sc.serving.slo
    if s["finished"] == 0 or s["dropped"]:
        return False
    stable = s["backlog_at_last_arrival"] <= max(rate * slo.ttft_s / 4, 1.0) and s["work_growth"] <= 1.15
    return s["ttft_s_p99"] <= slo.ttft_s and s["tpot_s_p99"] <= slo.tpot_s and stable


def find_capacity(sc: Scenario, duration_s: float = 120.0, iterations: int = 8,
                  progress: Callable[[str], None] | None = None) -> CapacityResult:
    w = sc.workload
    setup = scenario_setup(sc)
    replicas = sc.serving.replicas if not sc.serving.disaggregation.enabled else (
        sc.serving.disaggregation.prefill_replicas + sc.serving.disaggregation.decode_replicas)
    est = predict(setup.model, setup.system, Workload(int(w.input_tokens), int(w.output_tokens)), setup.plan,
                  sc.precision)
    guess = replicas * est.output_tokens_per_s / max(w.output_tokens, 1)
    probes: list[tuple[float, bool, float, float]] = []
    best: tuple[float, dict] = (0.0, {})

    def trial(rate: float) -> bool:
        nonlocal best
        wl = w.model_copy(update={"rate_per_s": rate, "duration_s": duration_s, "num_requests": None,
                                  })
        s = simulate(sc.model_copy(update={"workload": wl})).summary()
        ok = _passes(s, sc, rate)
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
