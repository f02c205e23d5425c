"""The command line reads well: every option has help, flags show no metavar, --version works,
tables keep numbers whole at 80 columns and print at natural width into a pipe, and --csv /
--format give machine-readable tables."""

from __future__ import annotations

import csv
import io

import pytest
import typer.main
from cli_helpers import run

import jalapeno
from jalapeno.cli.main import app


def _commands(group, prefix: str = ""):
    """(name, command) of every command and sub-command (duck-typed: typer may vendor click)."""
    yield prefix or "jalapeno", group
    for name, cmd in (getattr(group, "commands", None) or {}).items():
        yield from _commands(cmd, f"{prefix} {name}".strip())


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_has_help_and_flags_have_no_metavar(name, cmd):
    for p in cmd.params:
        if type(p).__name__.endswith("Argument") or getattr(p, "hidden", False):
            continue
        assert p.help, f"{name} {p.opts[0]} has no help"
    assert cmd.help, f"{name} has no help"


def test_help_renders_for_every_command():
    for name, _ in COMMANDS:
        r = run(*([] if name == "jalapeno" else name.split()), "--help")
        assert r.exit_code == 0, name
        assert "<bool>" not in r.stdout.lower() and "boolean" not in r.stdout.lower(), name


def test_version():
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"jalapeno {jalapeno.__version__}"


def test_precision_help_lists_the_integer_formats():
    assert "int8" in run("predict", "--help").stdout and "int4" in run("predict", "--help").stdout


def _rows_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("│", "┃"))]


def test_piped_table_rows_are_unbroken():
    r = run("chips")  # CliRunner's stdout is not a terminal: natural width
    assert r.exit_code == 0
    rows = _rows_of(r.stdout)
    ids = [line.split("│")[1].strip() for line in rows if line.startswith("│")]
    assert "h100-sxm" in ids and "jalapeno-ref" in ids  # one line per chip, nothing folded
    assert len({len(line) for line in rows}) == 1


def test_numbers_whole_in_a_narrow_terminal():
    from rich.console import Console

    from jalapeno.cli import output

    buf = io.StringIO()
    narrow = Console(file=buf, width=60, force_terminal=True, color_system=None)
    old = output.console
    output.set_format("table")
    output.console = narrow
    try:
        output.table("metrics", ["precision", "a rather long description", "tokens/s/chip", "TTFT s"],
                     [["fp8", "words " * 10, 12345.678, 0.0098123], ["bf16", "x", 3.5, 123.0]])
    finally:
        output.console = old
    text = buf.getvalue()
    assert "12,346" in text and "0.00981" in text and "precision" in text


def test_empty_columns_are_dropped():
    from jalapeno.cli import output

    r = run("--format", "csv", "chips")
    header = next(csv.reader(io.StringIO(r.stdout)))
    assert "fp4 TF" in header  # some chips have fp4
    buf = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(buf):
        output.set_format("csv")
        try:
            output.table("t", ["a", "b", "c"], [[1, "-", None], [2, "-", None]])
        finally:
            output.set_format("table")
    assert buf.getvalue().splitlines()[0] == "a"


def test_csv_flag_and_format_option():
    r = run("models", "--csv")
    assert r.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert {"id", "layers"} <= set(rows[0]) and any(x["id"] == "llama-3.1-8b" for x in rows)
    md = run("--format", "markdown", "models")
    assert md.exit_code == 0 and md.stdout.count("| llama-3.1-8b |") == 1
    bad = run("--format", "xml", "models")
    assert bad.exit_code == 2 and "--format" in (bad.stderr if hasattr(bad, "stderr") else bad.output)


@pytest.mark.parametrize("width", [80, 60, 40])
def test_a_wide_table_never_crops_or_splits_a_number(width):
    from rich.console import Console

    from jalapeno.cli import output

    rows = [[f"{n} x chip-number-{n}", "tp=1,pp=1,ep=16", "fp4", 14560.2 * n, 101.3, 0.00986, 17.95, 3244.0 * n]
            for n in (1, 8, 16)]
    cols = ["system", "layout", "format", "tok/s per chip", "tok/s per user", "TTFT s", "tok/J", "power W"]
    buf = io.StringIO()
    old = output.console
    output.set_format("table")  # an earlier CLI run in this process may have left csv or markdown
    output.console = Console(file=buf, width=width, force_terminal=True, color_system=None)
    try:
        output.table("compare", cols, rows)
    finally:
        output.console = old
    lines = buf.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    for n in (1, 8, 16):
        for value in (f"{14560.2 * n:,.0f}", f"{3244.0 * n:,.0f}", "0.00986", "17.95"):
            assert any(value in line for line in lines), (width, value)
