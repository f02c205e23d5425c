"""Shared test setup: the `traces` and `slow` markers.

Tests that read the real request traces (shared/data/traces beside the repository, or
$JALAPENO_TRACES_DIR) take the `traces_dir` fixture or carry `@pytest.mark.traces`. On a fresh
clone without the traces they are skipped with a reason saying where to get them. CI, which has
the traces, sets JALAPENO_REQUIRE_TRACES=1 (see .ci/run): there a missing trace fails the test
instead, so a broken path cannot turn into a quietly green run.

`slow` marks the long tests (the MLPerf Server validation); the default `pytest -q` deselects
them (pyproject addopts) and CI runs them in their own step with `-m slow`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jalapeno.workloads.paths import ENV_VAR, HOW_TO_GET, candidate_dirs, find_traces_dir

REQUIRE_ENV = "JALAPENO_REQUIRE_TRACES"


def _no_traces_reason() -> str:
    return ("needs the request traces (shared/data/traces or $" + ENV_VAR + "), not found in: "
            + ", ".join(map(str, candidate_dirs()[:3])) + ". " + HOW_TO_GET)


def require_traces() -> Path:
    """The traces directory, or skip (fail under JALAPENO_REQUIRE_TRACES=1) with the reason."""
    found = find_traces_dir()
    if found is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but the traces are missing: " + _no_traces_reason())
        pytest.skip(_no_traces_reason())
    return found


def pytest_runtest_setup(item):
    if item.get_closest_marker("traces") is not None:
        require_traces()


@pytest.fixture(scope="session")
def traces_dir() -> Path:
    return require_traces()
