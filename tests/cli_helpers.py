"""Running the `jalapeno` command in-process, shared by the CLI test files."""

from __future__ import annotations

import json
from unittest.mock import patch

import typer.main
import typer.testing
from typer.testing import CliRunner

from jalapeno.cli.main import app


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click >= 8.2 / typer's own runner: stdout and stderr are kept apart


class _Built:
    """The app's click command, built once: typer rebuilds it on every invoke (~65 ms)."""

    command = None


def _command(_app):
    if _Built.command is None:
        _Built.command = typer.main.get_command(app)
    return _Built.command


def run(*args):
    with patch.object(typer.testing, "_get_command", _command):
        return _runner().invoke(app, [str(a) for a in args])


def stderr_of(result) -> str:
    try:
        return result.stderr
    except ValueError:  # stderr mixed into output
        return result.output


def ok_json(*args):
    r = run(*args)
    assert r.exit_code == 0, f"exit {r.exit_code}: {r.output}\n{r.exception!r}"
    return json.loads(r.stdout)


def fails_cleanly(*args) -> str:
    """Run a command expected to be rejected; return its one-line error message."""
    r = run(*args)
    assert r.exit_code != 0, f"expected failure, got exit 0: {r.output}"
    assert r.exception is None or isinstance(r.exception, SystemExit), f"uncaught exception {r.exception!r}"
    everything = r.output + stderr_of(r)
    assert "Traceback" not in everything
    msg = stderr_of(r).strip() or r.output.strip()
    assert msg, "no error message"
    assert "\n" not in msg, f"error message is not one line:\n{msg}"
    return msg
