"""Figures with a plausible range and a unit: a slipped unit is caught where it is written.

A field typed `Figure(...)` accepts only a finite number (no text, no bool, no inf/NaN) inside
[lo, hi]; outside it, the message says the unit the field is in and what the slip probably
was ("a clock written in MHz"), so a chip file with `clock_ghz: 1980` or
`bandwidth_gb_s: 3.35` (TB/s) is refused with a line that says how to fix it. The bounds are
wide on purpose (from a microcontroller to a wafer-scale engine): they catch slips of a factor of
a thousand, not unusual designs. Pure pydantic annotations, so any spec class can use them.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator


def _number(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"expected a number, got {v!r}")
    if not math.isfinite(v):
        raise ValueError(f"expected a finite number, got {v!r}")
    return v


def _integer(v: Any) -> Any:
    v = _number(v)
    if int(v) != v:
        raise ValueError(f"expected a whole number, got {v!r}")
    return int(v)


def _check(lo: float, hi: float, unit: str, low: str, high: str, lo_inclusive: bool):
    def check(v):
        if v < lo or (v == lo and not lo_inclusive):
            bound = f"at least {lo:g}" if lo_inclusive else f"above {lo:g}"
            raise ValueError(f"{v:g} {unit} is implausibly small (expected {bound} {unit})"
                             + (f"; {low}" if low else ""))
        if v > hi:
            raise ValueError(f"{v:g} {unit} is implausibly large (expected at most {hi:g} {unit})"
                             + (f"; {high}" if high else ""))
        return v
    return check


def Figure(lo: float, hi: float, unit: str, low: str = "", high: str = "", lo_inclusive: bool = False) -> Any:
    """A finite float in (lo, hi] (or [lo, hi]); `low` / `high` say what a value outside probably is."""
    return Annotated[float, BeforeValidator(_number), AfterValidator(_check(lo, hi, unit, low, high, lo_inclusive))]


def Count(lo: int, hi: int, what: str, high: str = "") -> Any:
    """A whole number in [lo, hi]."""
    return Annotated[int, BeforeValidator(_integer), AfterValidator(_check(lo, hi, what, "", high, True))]
