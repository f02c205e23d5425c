"""Errors a user can act on.

Every problem with input (an unknown id, a bad field in a YAML file, a model that does not fit)
is raised as a `JalapenoError` whose message names the file, the field and what is wrong. The
CLI prints that one message and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

import difflib


class JalapenoError(Exception):
    """A problem with the user's input or request, with a message meant for that user."""

    exit_code = 2


class JalapenoWarning(UserWarning):
    """Something the user should know about a result that still ran (e.g. a missing trace replaced
    by its fitted profile). The CLI prints each as one `warning:` line on stderr."""


class UnknownIdError(JalapenoError):
    def __init__(self, kind: str, wanted: str, known: list[str]):
        close = difflib.get_close_matches(wanted, known, n=4, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(
            f"unknown {kind} '{wanted}'.{hint} Known {kind}s: {', '.join(sorted(known))}. "
            f"A path to a file also works."
        )


class SpecError(JalapenoError):
    """A data file that does not describe a valid chip, model or scenario."""

    def __init__(self, path: str, problems: list[tuple[str, str]]):
        lines = "; ".join(f"field '{field}': {msg}" for field, msg in problems)
        super().__init__(f"{path}: {lines}")
        self.path = path
        self.problems = problems


class DoesNotFitError(JalapenoError):
    def __init__(self, what: str, needed_bytes: float, available_bytes: float, advice: str):
        super().__init__(
            f"{what} does not fit: needs {needed_bytes / 1e9:,.1f} GB per chip but only "
            f"{available_bytes / 1e9:,.1f} GB is available. {advice}"
        )
        self.needed_bytes = needed_bytes
        self.available_bytes = available_bytes


def pydantic_problems(exc) -> list[tuple[str, str]]:
    """Turn a pydantic ValidationError into (dotted field, message) pairs."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or "(top level)"
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        if err.get("type") == "missing":
            msg = "is required but missing"
        elif "input" in err and not isinstance(err["input"], dict | list) and repr(err["input"]) not in msg \
                and str(err["input"]) not in msg:
            msg = f"{msg} (got {err['input']!r})"
        out.append((loc, msg))
    return out
