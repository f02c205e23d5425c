"""Shared by the bad-input catalogue tests: run a command in-process, demand a clean refusal."""

from __future__ import annotations

from cli_helpers import run, stderr_of


def refused(*args, names: tuple[str, ...] = ()) -> str:
    """Run the command; it must exit 2 with one line on stderr (no traceback) that contains every
    string in `names` (the file or flag, and the field). Returns that line."""
    r = run(*args)
    out = r.output + stderr_of(r)
    assert "Traceback" not in out, out
    assert r.exception is None or isinstance(r.exception, SystemExit), f"uncaught {r.exception!r}"
    assert r.exit_code == 2, f"exit {r.exit_code}: {out}"
    lines = [ln for ln in stderr_of(r).splitlines() if ln.strip()]
    assert len(lines) == 1, f"not one line: {lines}"
    msg = lines[0]
    for n in names:
        assert n in msg, f"{n!r} not in: {msg}"
    return msg
