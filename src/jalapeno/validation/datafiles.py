"""Reading the measured tables and their digests in validation/data (see data/SOURCES.md)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from jalapeno.safeload import parse_yaml
from jalapeno.sourced import split_sources

_DATA = resources.files("jalapeno.validation") / "data"


def read_csv(name: str) -> list[dict]:
    """The rows of one data/*.csv, as dicts keyed by its header."""
    with (_DATA / name).open() as f:
        return list(csv.DictReader(f))


@cache
def read_yaml(name: str) -> dict:
    """One data/*.yaml as plain values (its `{value, source}` figures split by jalapeno.sourced).
    Parsed once; callers must not modify the result."""
    plain, _, _ = split_sources(parse_yaml((_DATA / name).read_text(), str(_DATA / name)))
    return plain
