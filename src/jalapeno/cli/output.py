"""Printing results: rich tables for people, JSON for machines, one-line errors for bad input."""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from jalapeno.errors import JalapenoError, JalapenoWarning

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


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[fmt(v) for v in r])
    console.print(t)


def fmt(v: Any) -> str:
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:,.2f}"
        return f"{v:.3g}"
    return str(v)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, JalapenoWarning):
        err_console.print(f"[bold yellow]warning:[/] {message}", highlight=False, soft_wrap=True)
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
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper
