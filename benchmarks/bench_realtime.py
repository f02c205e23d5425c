"""Speed of the real-time frontier: one in-process `plan` of gpt-oss-120b on 8 x B200 with
speculative decoding in the search (targets <= 100 ms), and `jalapeno compare` on its defaults
as a whole process (target <= 3 s). Prints the figures.

    .venv/bin/python benchmarks/bench_realtime.py
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from jalapeno.engine import gemm_memo
from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.predict import Workload
from jalapeno.engine.speculative import SpecRequest
from jalapeno.hardware.catalog import make_system
from jalapeno.models.config import load_model


def main() -> None:
    model, system, wl = load_model("gpt-oss-120b"), make_system("b200", 8), Workload(2048, 256)
    search = {"spec": SpecRequest("auto"), "disaggregate": True}  # as `jalapeno plan` searches
    res = plan_deployment(model, system, wl, **search)  # warm-up: imports, YAML, draft tables
    times, cpu_times = [], []
    for _ in range(10):
        gemm_memo._MEMO.clear()  # each plan starts without cached GEMM costs
        t, c = time.perf_counter(), time.process_time()
        res = plan_deployment(model, system, wl, **search)
        times.append(time.perf_counter() - t)
        cpu_times.append(time.process_time() - c)
    methods = sorted({p.speculative.split(" (")[0] for p in res.points})
    print(f"plan gpt-oss-120b on 8 x b200 ({res.layouts_feasible} layouts, methods {', '.join(methods)}, "
          f"{len(res.points)} points): median {statistics.median(times) * 1e3:.0f} ms wall, "
          f"{statistics.median(cpu_times) * 1e3:.0f} ms CPU over {len(times)} runs; target <= 100 ms")
    exe = Path(sys.executable).with_name("jalapeno")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([str(exe), "compare"], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "COLUMNS": "200"})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"jalapeno compare (defaults) as a process: {wall:.2f} s wall, {cpu:.2f} s CPU; target <= 3 s")


if __name__ == "__main__":
    main()
