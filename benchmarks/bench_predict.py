"""Speed of the foundation: one in-process `predict` (llama-3.3-70b on 8 x h100-sxm) and the
whole `validate`. Prints the figures; the targets are <= 20 ms median and <= 10 s.

    .venv/bin/python benchmarks/bench_predict.py
"""

from __future__ import annotations

import statistics
import time

from jalapeno.engine.predict import Workload, predict
from jalapeno.hardware.catalog import make_system
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan
from jalapeno.validation.summary import run_validation


def main() -> None:
    model, system = load_model("llama-3.3-70b"), make_system("h100-sxm", 8)
    wl = Workload(2048, 256)
    predict(model, system, wl, ParallelPlan(tp=8), "fp8")  # warm-up (imports, YAML parsing)
    times = []
    for _ in range(50):
        t = time.perf_counter()
        predict(model, system, wl, ParallelPlan(tp=8), "fp8")
        times.append(time.perf_counter() - t)
    print(f"predict llama-3.3-70b on 8 x h100-sxm: median {statistics.median(times) * 1e3:.2f} ms "
          f"(p90 {sorted(times)[int(0.9 * len(times))] * 1e3:.2f} ms) over {len(times)} runs; target <= 20 ms")
    t = time.perf_counter()
    res = run_validation()
    s = res.summary()
    print(f"validate: {time.perf_counter() - t:.2f} s for {len(res.cases)} end-to-end and {len(res.kernels)} "
          f"kernel rows; target <= 10 s")
    print(f"  end-to-end median {s['end_to_end']['median_abs_error_pct']:.1f} %, "
          f"p90 {s['end_to_end']['p90_abs_error_pct']:.1f} %")


if __name__ == "__main__":
    main()
