"""The README runs as written: its worked example top to bottom (in one scratch directory, so a
file one line writes is there for the lines after it) and its Python section.

Commands that take seconds each (compare, plan, validate, capacity, report, the scenario runs) are in the
`slow` test that CI runs in its own step; the quick ones run in every `pytest -q`. Lines that need
the shared traces are skipped without them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from cli_helpers import run, stderr_of

from jalapeno.workloads.paths import find_traces_dir

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
SLOW = ("compare", "plan", "validate", "capacity", "report")


def _section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert m, f"README has no '## {title}' section"
    return m.group(1)


def worked_example() -> list[str]:
    """The `$ jalapeno ...` lines of the worked example, continuations joined."""
    block = re.search(r"```\n(.*?)```", _section("Worked example"), re.S).group(1)
    lines, cur = [], ""
    for raw in block.splitlines():
        line = raw.strip()
        if cur:
            cur += " " + line.rstrip("\\").strip()
        elif line.startswith("$ "):
            cur = line[2:].rstrip("\\").strip()
        if cur and not line.endswith("\\"):
            lines.append(cur)
            cur = ""
    return lines


def _is_slow(cmd: list[str]) -> bool:
    return cmd[1] in SLOW or (cmd[1] == "simulate" and len(cmd) > 2 and cmd[2].endswith(".yaml"))


def _run_line(line: str) -> None:
    words = shlex.split(line, comments=True)
    out_file = None
    if ">" in words:
        i = words.index(">")
        out_file, words = words[i + 1], words[:i]
    assert words[0] == "jalapeno", line
    r = run(*[str(REPO / w) if w.startswith("examples/") else w for w in words[1:]])
    assert r.exit_code == 0, f"{line}\nexit {r.exit_code}: {r.stdout}\n{stderr_of(r)}\n{r.exception!r}"
    assert (r.stdout + stderr_of(r)).strip(), f"{line} printed nothing"
    if out_file:
        Path(out_file).write_text(r.stdout)


def _run_example(tmp_path, monkeypatch, slow: bool) -> int:
    monkeypatch.chdir(tmp_path)
    ran = 0
    for line in worked_example():
        words = shlex.split(line, comments=True)
        needs_traces = "--trace" in words
        if needs_traces and find_traces_dir() is None:
            continue
        if _is_slow(words) and not slow:
            # Its outputs may be read by a later line: run the cheap ones that write files anyway.
            if ">" not in words:
                continue
        _run_line(line)
        ran += 1
    return ran


def test_worked_example_lines_are_found():
    lines = worked_example()
    assert len(lines) >= 15
    assert all(line.startswith("jalapeno ") for line in lines)
    # A file is created before a later line reads it.
    written = [i for i, line in enumerate(lines) if "> my-chip.yaml" in line]
    read = [i for i, line in enumerate(lines) if "--chip my-chip.yaml" in line]
    assert written and read and written[0] < min(read)


def test_worked_example_quick_lines(tmp_path, monkeypatch):
    assert _run_example(tmp_path, monkeypatch, slow=False) >= 8


@pytest.mark.slow
def test_worked_example_every_line(tmp_path, monkeypatch):
    assert _run_example(tmp_path, monkeypatch, slow=True) >= 15
def test_python_section_runs(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.*?)```", _section("Python"), re.S)
    assert code, "README's Python section has no ```python block"
    monkeypatch.chdir(tmp_path)
    for block in code:
        exec(compile(block, "README.md (Python section)", "exec"), {"__name__": "readme"})
