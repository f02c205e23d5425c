"""Scale-out speed: `plan` for deepseek-r1 on a 72-chip GB200 NVL72 and on a 256-chip TPU v6e
slice (targets <= 10 s each), and one `predict` on a 1,024-chip system (target <= 100 ms).

    .venv/bin/python benchmarks/bench_scale.py
"""

from __future__ import annotations

import statistics
import time

from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.predict import Workload, predict
from jalapeno.hardware.systems import load_system
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan


def main() -> None:
    r1 = load_model("deepseek-r1")
    for sid in ("gb200-nvl72", "tpu-v6e-256"):
        system = load_system(sid).system_spec()
        t = time.perf_counter()
        res = plan_deployment(r1, system, Workload(2048, 512))
        dt = time.perf_counter() - t
        best = res.best["throughput"]
        print(f"plan deepseek-r1 on {sid} ({system.num_chips} chips): {dt:.2f} s, {res.layouts_tried} layouts "
              f"({res.layouts_feasible} fit), {len(res.points)} points, frontier {len(res.frontier)}; "
              f"best {best.layout} {best.output_tokens_per_s_per_chip:,.0f} tokens/s/chip; target <= 10 s")
    system = load_system("dgx-h100-superpod", num_chips=1024).system_spec()
    model = load_model("llama-3.1-405b")
    plan, wl = ParallelPlan(tp=8, pp=2), Workload(2048, 256)
    predict(model, system, wl, plan, "fp8")  # warm-up
    times = []
    for _ in range(20):
        t = time.perf_counter()
        predict(model, system, wl, plan, "fp8")
        times.append(time.perf_counter() - t)
    print(f"predict llama-3.1-405b on 1,024 x h100-sxm (dgx-h100-superpod, tp=8,pp=2): median "
          f"{statistics.median(times) * 1e3:.1f} ms; target <= 100 ms")


if __name__ == "__main__":
    main()
