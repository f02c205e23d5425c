"""Ctrl-C during a run: one line, "interrupted", exit code 130 (the shell's convention), no
traceback; a streamed --trace-out file is closed as valid JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def test_sigint_prints_one_line_and_exits_130(tmp_path):
    out = tmp_path / "timeline.json"
    code = ("import sys; from jalapeno.cli.main import run; "
            f"sys.argv = ['jalapeno', 'simulate', '--num-requests', '2000000', '--trace-out', {str(out)!r}]; run()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "100"})
    deadline = time.monotonic() + 60
    while not (out.exists() and out.stat().st_size > 0) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == ["interrupted"], err
    json.loads(out.read_text())  # closed, valid
