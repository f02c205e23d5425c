"""Speed of the economics layer and of fleet plans.

(1) `jalapeno fleet` on built-in defaults as a user runs it (a fresh process, CLI start-up
included), median of 3; target <= 10 s. (2) In-process: the area estimate, unit cost and cost per
chip-hour of every catalog chip, and one money step (what every throughput command adds), after a
warm-up.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path


def _cli_fleet() -> float:
    exe = Path(sys.executable).with_name("jalapeno")
    t = time.perf_counter()
    subprocess.run([str(exe), "fleet", "--json"], check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    from jalapeno.economics.chip_area import chip_area
    from jalapeno.economics.money import money_fields
    from jalapeno.economics.tco import chip_hour_cost
    from jalapeno.economics.unit_cost import unit_cost
    from jalapeno.hardware.catalog import chip_ids, load_chip

    chips = [load_chip(c) for c in chip_ids()]
    for c in chips:  # warm-up (YAML reads are cached)
        chip_hour_cost(c, "build", unit=unit_cost(c, chip_area(c)))
    t = time.perf_counter()
    for c in chips:
        chip_hour_cost(c, "build", unit=unit_cost(c, chip_area(c)))
    per_chip_ms = (time.perf_counter() - t) / len(chips) * 1e3
    h100 = load_chip("h100-sxm")
    t = time.perf_counter()
    for _ in range(200):
        money_fields(h100, 8, 10000.0, 30000.0, 8000.0, "build")
    money_ms = (time.perf_counter() - t) / 200 * 1e3
    print(f"area + unit cost + chip-hour cost: {per_chip_ms:.2f} ms per chip ({len(chips)} chips)")
    print(f"money fields (build basis): {money_ms:.3f} ms per result")
    runs = [_cli_fleet() for _ in range(3)]
    print(f"jalapeno fleet (defaults, fresh process): median {statistics.median(runs):.2f} s "
          f"(runs: {', '.join(f'{r:.2f}' for r in runs)}; target <= 10 s)")


if __name__ == "__main__":
    main()
