"""Capacity robustness to the seed: `jalapeno capacity` on its defaults (llama-3.1-8b on one
h100-sxm, Poisson arrivals, 500 input and 100 output tokens, 120 s probes) for seeds 0-9, and
the spread of the answers ((max - min) / min; target <= 10 %). Prints each seed's answer, its
reported spread over the seeds tried near the bound, the probes it ran and its wall time."""

from __future__ import annotations

import argparse
import time

from jalapeno.serving.capacity import find_capacity
from jalapeno.serving.scenario import Scenario, WorkloadSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--duration", type=float, default=120.0)
    args = ap.parse_args()
    rates = []
    for seed in range(args.seeds):
        sc = Scenario(workload=WorkloadSpec(generator="poisson", rate_per_s=1.0, duration_s=args.duration,
                                            input_tokens=500, output_tokens=100, seed=seed),
                      serving={"seed": seed})
        t0 = time.perf_counter()
        res = find_capacity(sc, duration_s=args.duration)
        lo, hi = res.spread
        rates.append(res.rate_per_s)
        print(f"seed {seed}: {res.rate_per_s:.2f} requests/s (seeds near the bound: {lo:.2f}-{hi:.2f}), "
              f"{len(res.probes)} probes, {time.perf_counter() - t0:.1f} s", flush=True)
    lo, hi = min(rates), max(rates)
    print(f"ten-seed range {lo:.2f}-{hi:.2f} requests/s: spread {(hi - lo) / lo * 100:.1f} % (target <= 10 %)")


if __name__ == "__main__":
    main()
