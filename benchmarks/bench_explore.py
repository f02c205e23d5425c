"""Speed of the design search on the default space (examples/spaces/default.yaml). Prints:

1. the evaluator alone, one process: designs per minute (each: chip derived, constraints checked,
   layouts planned by the engine's planner, SLO checked, objectives computed), over the points an
   NSGA-II study draws, with the share that were rejected before planning;
2. the whole study (NSGA-II, SQLite storage, every trial committed) with --workers 2;
3. Ray: the same points as tasks on a local Ray of 1 and of 2 CPUs, and the scaling ratio (2 = linear; the
   target is >= 1.6, within 20 % of linear).

Target: >= 1,000 designs per minute on 2 cores. The machine is shared: the load average is printed
beside each figure.

    .venv/bin/python benchmarks/bench_explore.py [--trials 600] [--skip-ray]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

SPACE = Path(__file__).parent.parent / "examples" / "spaces" / "default.yaml"


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _points(space, n: int) -> list[dict]:
    """The points a seeded NSGA-II study asks (in memory, told the evaluator's results)."""
    from jalapeno.explore.study import Backend, open_study, run

    with tempfile.TemporaryDirectory() as tmp:
        study = open_study(space, f"sqlite:///{tmp}/points.db", None, "nsga2", 0, False)
        run(study, n, Backend(space), batch=8)
        return [dict(t.params) for t in study.memory.trials]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=600)
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from jalapeno.explore import Evaluator, load_space
    from jalapeno.explore.study import Backend, open_study, run

    space = load_space(SPACE)
    points = _points(space, args.trials)
    ev = Evaluator(space)
    ev(points[0])  # warm-up
    t, cpu = time.perf_counter(), time.process_time()
    rejected = sum(1 for p in points if ev(p).rejected_by in ("tdp_w", "hbm_shoreline", "design"))
    dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"evaluator, 1 process: {len(points) / dt * 60:,.0f} designs/min ({dt / len(points) * 1e3:.1f} ms each; "
          f"{rejected} of {len(points)} rejected before planning) [{_load()}]")
    print(f"  per CPU: {len(points) / dcpu * 60:,.0f} designs per CPU-minute ({dcpu / len(points) * 1e3:.1f} ms of CPU "
          f"each): what one free core does, whatever the load")

    with tempfile.TemporaryDirectory() as tmp:
        study = open_study(space, f"sqlite:///{tmp}/bench.db", None, "nsga2", 0, False)
        backend = Backend(space, 2)
        backend.map(points[:4])  # start the workers
        t = time.perf_counter()
        n = run(study, args.trials, backend, batch=16)
        dt = time.perf_counter() - t
        backend.close()
    print(f"study, NSGA-II, SQLite, --workers 2: {n / dt * 60:,.0f} designs/min ({n} trials in {dt:.1f} s); "
          f"target >= 1,000 [{_load()}]")

    if args.skip_ray:
        return
    try:
        import ray
    except ImportError:
        print("ray: not installed (pip install 'jalapeno[distributed]'), scaling not measured")
        return
    rates = {}
    for workers in (1, 2):
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        backend = Backend(space, workers, "local")
        list(backend.map(points[: 4 * workers]))  # workers up, evaluators built
        t = time.perf_counter()
        list(backend.map(points))
        rates[workers] = len(points) / (time.perf_counter() - t) * 60
        backend.close()
        ray.shutdown()
    print(f"ray, local workers: 1 -> {rates[1]:,.0f}, 2 -> {rates[2]:,.0f} designs/min; scaling "
          f"{rates[2] / rates[1]:.2f}x (linear 2.00x, target >= 1.60x) [{_load()}]")


if __name__ == "__main__":
    main()
