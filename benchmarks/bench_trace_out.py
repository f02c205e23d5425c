"""Memory of `simulate --trace-out` as the run grows: peak RSS of 100k and 1M requests streamed
from `from_profile('azure-conv')` at 120 requests/s into 8 replicas, each in its own process,
with the step timeline written to a temporary file. Flat memory: the two peaks within ~10 %."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import resource, sys
from jalapeno.cli.main import run
sys.argv = ['jalapeno', 'simulate', '--generator', 'profile', '--profile', 'azure-conv', '--rate', '120',
            '--num-requests', sys.argv[1], '--replicas', '8', '--trace-out', sys.argv[2], '--json']
try:
    run()
except SystemExit:
    pass
print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "100000,1000000").split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            out = Path(tmp) / f"timeline_{n}.json"
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", CHILD, str(n), str(out)], capture_output=True, text=True)
            rss = next(int(ln.split()[1]) for ln in r.stderr.splitlines() if ln.startswith("RSS_KB"))
            print(f"{n:>9,} requests: wall {time.perf_counter() - t0:6.1f} s, peak RSS {rss / 1024:6.1f} MB, "
                  f"timeline {out.stat().st_size / 1e6:,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
