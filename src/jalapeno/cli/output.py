"""Printing results: rich tables for people, JSON for machines, one-line errors for bad input."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jalapeno.errors import JalapenoError, JalapenoWarning
from jalapeno.report.page import fmt as _report_fmt

console = Console()
err_console = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(_clean(data), indent=2) + "\n")


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item") and callable(x.item):
        return x.item()
    return x


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (stable keys, units in the names).")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print tables as CSV with raw numbers (as --format csv).")]

FORMATS = ("table", "markdown", "csv")
_state: dict[str, Any] = {"format": "table", "csv_tables": 0}


def set_format(fmt_name: str | None) -> None:
    """How `table` prints: rich tables (default), GitHub markdown, or CSV (raw numbers)."""
    if fmt_name is None:
        return
    if fmt_name not in FORMATS:
        raise JalapenoError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt_name}'")
    _state["format"] = fmt_name
    _state["csv_tables"] = 0


def use_csv(flag: bool) -> None:
    if flag:
        set_format("csv")


def _is_empty(v: Any) -> bool:
    return v is None or v == "" or v == "-" or (isinstance(v, float) and not math.isfinite(v))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under short, unit-bearing headers. Columns empty in every row are dropped;
    numbers are right-aligned and never wrapped; when stdout is not a terminal the table prints at
    its natural width (a pipe gets unbroken rows)."""
    rows = [list(r) for r in rows]
    keep = [i for i, c in enumerate(columns) if not rows or not all(_is_empty(r[i]) for r in rows)]
    columns = [columns[i] for i in keep]
    rows = [[r[i] for i in keep] for r in rows]
    mode = _state["format"]
    if mode == "csv":
        _print_csv(title, columns, rows)
        return
    cells = [[fmt(v) for v in r] for r in rows]
    if mode == "markdown":
        out = [f"**{title}**", "", "| " + " | ".join(columns) + " |",
               "|" + "|".join("---:" if rows and all(_is_number(r[i]) or _is_empty(r[i]) for r in rows) else "---"
                              for i in range(len(columns))) + "|"]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in cells]
        sys.stdout.write("\n".join(out) + "\n\n")
        return
    numeric = [bool(rows) and all(_is_number(r[i]) or _is_empty(r[i]) for r in rows) for i in range(len(columns))]
    target = console
    if not console.is_terminal:
        t = _rich_table(title, columns, cells, numeric, compact=False)
        width = Console(width=100_000).measure(t).maximum
        target = Console(width=max(width, len(title)), highlight=False)
    else:
        t = _rich_table(title, columns, cells, numeric, compact=False)
        if not _fits(t, target.width):  # too wide for boxed columns: thinner separators
            t = _rich_table(title, columns, cells, numeric, compact=True)
            if not _fits(t, target.width):  # too wide even so: one block of "field value" per row
                _print_records(title, columns, cells)
                return
    target.print(t)


def _fits(t: Table, width: int) -> bool:
    """Whether the table renders within `width` columns with every number whole (rendered, not
    estimated: rich would crop what overflows)."""
    out = io.StringIO()
    Console(width=100_000, file=out, color_system=None).print(t, width=width)
    return max((len(line) for line in out.getvalue().splitlines()), default=0) <= width


def _min_width(header: str, cells: list[str], numeric: bool) -> int:
    """A column's narrowest width: every number whole (and the header's longest word); text may
    fold down to its longest header word, but no narrower than 8 unless all of it is shorter."""
    widest = max([len(x) for x in cells] + [1])
    longest_word = max((len(w) for w in header.split()), default=1)
    if numeric:
        return max(widest, longest_word)
    return min(widest, max(longest_word, 8))


def _print_records(title: str, columns: Sequence[str], cells: list[list[str]]) -> None:
    """Rows as blocks of aligned `field  value` lines: for terminals narrower than the table."""
    console.print(f"[bold]{title}[/]", highlight=False)
    pad = max(len(c) for c in columns)
    for r in cells:
        console.print("")
        for c, v in zip(columns, r, strict=True):
            console.print(f"  {c:<{pad}}  {v}", highlight=False, soft_wrap=True)


def _rich_table(title: str, columns: Sequence[str], cells: list[list[str]], numeric: list[bool],
                compact: bool) -> Table:
    """Numbers never wrap or fold (their column is at least as wide as the widest value; only a
    header may break, between words); text wraps at word boundaries, folding only long words."""
    t = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
              pad_edge=not compact, padding=(0, 1))
    for i, c in enumerate(columns):
        least = _min_width(c, [r[i] for r in cells], numeric[i])
        if numeric[i]:
            t.add_column(c, justify="right", min_width=least, overflow="ellipsis")
        else:
            t.add_column(c, min_width=least, overflow="fold")
    for r in cells:
        t.add_row(*r)
    return t


def _print_csv(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    w = csv.writer(sys.stdout, lineterminator="\n")
    if _state["csv_tables"]:
        sys.stdout.write("\n")
    _state["csv_tables"] += 1
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if _is_empty(v) else (repr(v) if isinstance(v, float) else v) for v in r])


@contextmanager
def progress_bar(label: str, total: float | None = None) -> Iterator[Callable[..., None]]:
    """A transient progress bar on stderr (shown under --json too: stdout stays clean). Yields
    `update(advance=0, info=None, total=None)`."""
    columns = [TextColumn(label), BarColumn()]
    if total is not None:
        columns.append(MofNCompleteColumn())
    columns += [TextColumn("{task.fields[info]}"), TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=total, info="")

        def update(advance: float = 0, info: str | None = None, total: float | None = None) -> None:
            fields: dict[str, Any] = {}
            if info is not None:
                fields["info"] = info
            if total is not None:
                fields["total"] = total
            bar.update(task, advance=advance, **fields)

        yield update


def fmt(v: Any) -> str:
    """A number as tables print it: the same rule as the HTML report's (report/page.py)."""
    return _report_fmt(v)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, JalapenoWarning):
        err_console.print(f"[bold yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def user_errors(fn: Callable) -> Callable:
    """Turn JalapenoError (and other bad-input errors) into one line on stderr and exit code 2."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", JalapenoWarning)
                warnings.showwarning = _show_warning
                return fn(*args, **kwargs)
        except JalapenoError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper
