"""Checks on command-line figures, made before any work starts.

Typer checks a flag's type; these check its meaning: a count is a whole number of at least 1
(an explicit 0 is an error, never "use the default"), a figure is finite and positive, two flags
that say the same thing differently are refused naming both, and an output file's folder must
exist and be writable before a long run, not after it. Also the one-line reporting of the
command-line parser's own errors and of Ctrl-C.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from pathlib import Path
from typing import Any

from typer.core import TyperGroup

from jalapeno.errors import JalapenoError

try:
    from typer._click import exceptions as _click_exc  # typer >= 0.20 vendors click
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as _click_exc  # type: ignore[no-redef,import-not-found,unused-ignore]


MAX_CHIPS = 1_000_000
MAX_TOKENS = 100_000_000


def check_context(model, input_tokens: int | None, output_tokens: int | None) -> None:
    """A request must fit the model's context window (prompt plus output), as a server refuses it."""
    window = getattr(model, "max_context", 0)
    if window and input_tokens and output_tokens and input_tokens + output_tokens > window:
        raise JalapenoError(f"--input-tokens {input_tokens:,} + --output-tokens {output_tokens:,} is longer than "
                            f"{model.id}'s context window ({window:,} tokens)")


def count(flag: str, value: int | None, lo: int = 1, hi: int = 10**9) -> int | None:
    """A whole-number flag: None (not given) or within [lo, hi]."""
    if value is None:
        return None
    if value < lo:
        raise JalapenoError(f"{flag} must be at least {lo}, got {value}")
    if value > hi:
        raise JalapenoError(f"{flag} {value:,} is above the limit of {hi:,}")
    return value


def figure(flag: str, value: float | None, lo: float = 0.0, hi: float = 1e12, lo_inclusive: bool = False,
           unit: str = "") -> float | None:
    """A number flag: None (not given) or finite within (lo, hi] ([lo, hi] if `lo_inclusive`)."""
    if value is None:
        return None
    u = f" {unit}" if unit else ""
    if not math.isfinite(value):
        raise JalapenoError(f"{flag} must be a finite number, got {value}")
    if value < lo or (value == lo and not lo_inclusive):
        raise JalapenoError(f"{flag} must be {'at least' if lo_inclusive else 'above'} {lo:g}{u}, got {value:g}")
    if value > hi:
        raise JalapenoError(f"{flag} {value:g}{u} is above the limit of {hi:g}{u}")
    return value


def exclusive(*pairs: tuple[str, Any]) -> None:
    """Refuse flags given together that say the same thing (each pair: flag name, value or None)."""
    given = [name for name, v in pairs if v is not None and v is not False]
    if len(given) > 1:
        raise JalapenoError(f"{' and '.join(given)} conflict: give one of them")


def output_path(flag: str, path: Path | None) -> Path | None:
    """An output file that can be written: its folder exists and is writable, it is not a folder."""
    if path is None:
        return None
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise JalapenoError(f"{flag} {path}: is a folder, not a file")
    if not parent.exists():
        raise JalapenoError(f"{flag} {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise JalapenoError(f"{flag} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise JalapenoError(f"{flag} {path}: not writable")
    return path


class Interrupted(BaseException):
    """Ctrl-C: raised from the SIGINT handler (not KeyboardInterrupt, which typer swallows)."""


def _on_sigint(signum, frame):
    raise Interrupted()


def install_interrupt_handler() -> None:
    signal.signal(signal.SIGINT, _on_sigint)


class OneLineErrors(TyperGroup):
    """The command group, reporting the parser's own errors (a bad type, an unknown flag, a
    missing value) as one line naming the flag, exit 2, like every other input error."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click_exc.NoArgsIsHelpError as exc:  # the help is already printed (typer formats it on creation)
            if standalone_mode:
                sys.exit(exc.exit_code)
            raise
        except _click_exc.ClickException as exc:
            sys.stderr.write(f"error: {' '.join(exc.format_message().split())}\n")
            if standalone_mode:
                sys.exit(exc.exit_code)
            raise
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv
