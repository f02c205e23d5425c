"""Capacity: the highest request rate a deployment sustains within its latency SLOs.

As MLPerf's Server scenario measures it: Poisson (or the workload's own) arrivals at a target
rate; a rate passes if the p99 time to first token and the p99 time per output token both meet
the SLOs (a growing queue shows as a growing time to first token) and nothing is dropped.
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

    def to_dict(self) -> dict:
        s = self.summary
        return {"max_rate_per_s": self.rate_per_s, "output_tokens_per_s": s.get("output_tokens_per_s", 0.0),
                "ttft_s_p99": s.get("ttft_s_p99"), "tpot_s_p99": s.get("tpot_s_p99"),
                "goodput_requests_per_s": s.get("goodput_requests_per_s"),
                "output_tokens_per_joule": s.get("output_tokens_per_joule"),
                "probes": [{"rate_per_s": r, "passed": ok, "ttft_s_p99": t, "tpot_s_p99": p}
                           for r, ok, t, p in self.probes]}


def _passes(s: dict, sc: Scenario) -> bool:
    slo = sc.serving.slo
    if s["finished"] == 0 or s["dropped"]:
        return False
    return s["ttft_s_p99"] <= slo.ttft_s and s["tpot_s_p99"] <= slo.tpot_s


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
        ok = _passes(s, sc)
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
