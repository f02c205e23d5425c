"""A fresh clone without the shared traces: examples fall back to the fitted profiles with a
warning, the missing-trace message says where to get the files, and nothing suggests the name
the user already typed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import fails_cleanly, run, stderr_of

from jalapeno.errors import JalapenoError, JalapenoWarning
from jalapeno.serving.scenario import WorkloadSpec, load_scenario
from jalapeno.workloads import paths

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def no_traces(monkeypatch, tmp_path):
    """Pretend the traces are nowhere: only an empty directory is searched."""
    monkeypatch.setattr(paths, "candidate_dirs", lambda: [tmp_path / "empty"])
    return tmp_path


def test_known_name_is_not_suggested_as_a_fix_for_itself(no_traces):
    with pytest.raises(JalapenoError) as err:
        paths.resolve_trace("azure-code")
    msg = str(err.value)
    assert "Did you mean" not in msg
    assert "AzureLLMInferenceTrace_code.csv" in msg and paths.ENV_VAR in msg
    assert "github.com/Azure/AzurePublicDataset" in msg and "--generator profile --profile azure-code" in msg


def test_typo_still_gets_a_suggestion(no_traces):
    with pytest.raises(JalapenoError, match="Did you mean 'azure-code'"):
        paths.resolve_trace("azure-cod")


def test_cli_missing_trace_is_one_line(no_traces):
    msg = fails_cleanly("simulate", "--trace", "azure-code", "--num-requests", "5")
    assert "Did you mean" not in msg and paths.ENV_VAR in msg


@pytest.mark.parametrize("name", ["coding-agent.yaml", "azure-code-h100.yaml"])
def test_trace_examples_fall_back_to_their_profile_with_a_warning(no_traces, name):
    sc = load_scenario(EXAMPLES / name)
    assert sc.workload.fallback == "profile"
    w = sc.workload.model_copy(update={"num_requests": 50})
    with pytest.warns(JalapenoWarning, match=f"profile fitted to it.*{paths.ENV_VAR}"):
        reqs = list(w.requests())
    assert len(reqs) == 50
    assert all(r.input_tokens >= 1 and r.output_tokens >= 1 for r in reqs)


def test_fallback_is_opt_in(no_traces):
    w = WorkloadSpec(trace="azure-code", num_requests=5)
    with pytest.raises(JalapenoError, match="not found"):
        list(w.requests())


def test_cli_prints_the_fallback_warning_on_stderr(no_traces):
    r = run("simulate", EXAMPLES / "azure-code-h100.yaml", "--num-requests", "20", "--json")
    assert r.exit_code == 0, r.output
    err = stderr_of(r)
    assert err.startswith("warning: trace 'azure-code'") and "Traceback" not in err


def test_fallback_unused_when_the_trace_is_there(traces_dir, recwarn):
    w = WorkloadSpec(trace="azure-code", num_requests=5, fallback="profile")
    assert len(list(w.requests())) == 5
    assert not [x for x in recwarn if issubclass(x.category, JalapenoWarning)]
