"""Workloads layer: trace loaders on the real shared traces, generators, statistics, scaling.

The trace tests read shared/data/traces through the same lookup users get (JALAPENO_TRACES_DIR,
else shared/data/traces in an ancestor of the working directory or the package, which covers a
checkout with shared/ beside it as in CI).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jalapeno.errors import JalapenoError
from jalapeno.workloads import (
    BLOCK_TOKENS,
    TRACE_FILES,
    Empirical,
    Fixed,
    LogNormal,
    Request,
    agent_session_plans,
    agent_sessions,
    from_profile,
    gamma_bursty,
    get_profile,
    load_profiles,
    load_trace,
    poisson,
    resolve_trace,
    scale_to_rate,
    take,
    trace_stats,
)
from jalapeno.workloads.paths import candidate_dirs
from jalapeno.workloads.prefixes import fit_prefix_profile
from jalapeno.workloads.stats import PROFILE_QUANTILES
from jalapeno.workloads.timestamps import TimestampParser

EXPECTED_COUNTS = {
    "azure-code": 8_819,
    "azure-conv": 19_366,
    "mooncake-conversation": 12_031,
    "mooncake-synthetic": 3_993,
}


@pytest.fixture(scope="module")
def real_stats(traces_dir):
    return {name: trace_stats(load_trace(name), quantiles=PROFILE_QUANTILES) for name in EXPECTED_COUNTS}


# --- trace files -------------------------------------------------------------------------------


def test_traces_found_from_repo_root(traces_dir):
    repo = Path(__file__).resolve().parents[1]
    assert (repo.parent / "shared" / "data" / "traces") in candidate_dirs()
    for name, file in TRACE_FILES.items():
        assert resolve_trace(name).name == file


def test_traces_found_from_elsewhere(traces_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the package's own location still leads to ../shared/data/traces
    assert resolve_trace("azure-code").is_file()


def test_env_var_wins(tmp_path, monkeypatch):
    (tmp_path / "AzureLLMInferenceTrace_code.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n0,5,6\n")
    monkeypatch.setenv("JALAPENO_TRACES_DIR", str(tmp_path))
    assert list(load_trace("azure-code")) == [Request(0, 0.0, 5, 6)]


def test_missing_trace_says_where_it_looked_and_how_to_get_it():
    with pytest.raises(JalapenoError) as err:
        load_trace("no_such_trace.jsonl")
    msg = str(err.value)
    assert "Looked in" in msg and "shared/data/traces" in msg
    assert "Azure/AzurePublicDataset" in msg and "kvcache-ai/Mooncake" in msg


@pytest.mark.parametrize("name", list(EXPECTED_COUNTS))
def test_trace_counts(real_stats, name):
    s = real_stats[name]
    assert s.requests == EXPECTED_COUNTS[name]
    assert s.clamped_input_requests == 0 and s.clamped_output_requests == 0  # the shared traces hold no zeros


def test_azure_code_means(real_stats):
    s = real_stats["azure-code"]
    assert s.input_tokens.mean == pytest.approx(2048, rel=0.01)
    assert s.output_tokens.mean == pytest.approx(28, rel=0.01)
    assert s.duration_s == pytest.approx(3435.948056, abs=1e-6)


def test_mooncake_loader_keeps_hashes_and_ms(traces_dir):
    first = next(iter(load_trace("mooncake-conversation")))
    assert first == Request(0, 0.0, 6758, 500, tuple(range(14)))
    for r in take(load_trace("mooncake-synthetic"), num=500):
        assert len(r.prefix_hashes) == -(-r.input_tokens // BLOCK_TOKENS)


def test_profiles_match_the_traces(real_stats, traces_dir):
    """The shipped profile figures are what jalapeno computes from the shared files."""
    for name, prof in load_profiles().items():
        s = real_stats[name]
        assert "computed by jalapeno" in prof.source and prof.file in prof.source
        assert prof.requests == s.requests
        assert prof.mean_rate_per_s == pytest.approx(s.mean_rate_per_s, abs=1e-4)
        assert prof.interarrival_cv == pytest.approx(s.interarrival_cv, abs=1e-4)
        assert prof.input_mean_tokens == pytest.approx(s.input_tokens.mean, abs=0.01)
        expected = [s.input_tokens.quantiles[q] for q in PROFILE_QUANTILES]
        assert prof.input_distribution().values == pytest.approx(expected, abs=1e-6)
        if prof.prefix is not None:
            assert prof.prefix.reuse_fraction == pytest.approx(s.prefix_reuse_fraction, abs=1e-4)
            assert prof.prefix.mean_blocks_per_request == pytest.approx(s.mean_blocks_per_request, abs=1e-4)
    assert get_profile("mooncake-synthetic").prefix.reuse_fraction == pytest.approx(
        fit_prefix_profile(load_trace("mooncake-synthetic")).reuse_fraction, abs=1e-4
    )


# --- malformed files ---------------------------------------------------------------------------

AZ_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
AZ_ROW = "2023-11-16 18:15:46.6805900,374,44\n"


def _load_error(path: Path) -> str:
    with pytest.raises(JalapenoError) as err:
        list(load_trace(path))
    return str(err.value)


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        (AZ_ROW + "2023-11-16 18:15:47.0,abc,3\n", 3, "column 'ContextTokens': 'abc' is not a number"),
        (AZ_ROW + "2023-11-16 18:15:47.0,12,-3\n", 3, "column 'GeneratedTokens': -3 is negative"),
        (AZ_ROW + "2023-11-16 18:15:47.0,12.5,3\n", 3, "not a whole number"),
        (AZ_ROW + AZ_ROW + "2023-11-16 18:15:47.0,12\n", 4, "column 'GeneratedTokens' is missing"),
        (AZ_ROW + "yesterday,12,3\n", 3, "column 'TIMESTAMP'"),
        (AZ_ROW + "2023-11-16 18:15:40.0,12,3\n", 3, "goes back in time"),
    ],
)
def test_malformed_azure_rows(tmp_path, body, line, needle):
    path = tmp_path / "bad.csv"
    path.write_text(AZ_HEADER + body)
    msg = _load_error(path)
    assert msg.startswith(f"{path}:{line}: ")
    assert needle in msg


def test_azure_missing_header_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.68,3\n")
    msg = _load_error(path)
    assert msg.startswith(f"{path}:1: ") and "column 'GeneratedTokens' is missing" in msg


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ('{"timestamp": 5, "input_length": 10, "output_length": 3', "invalid JSON"),
        ('{"timestamp": 5, "output_length": 3, "hash_ids": [0]}', "column 'input_length' is missing"),
        ('{"timestamp": 5, "input_length": 10, "output_length": -1, "hash_ids": [0]}', "column 'output_length'"),
        ('{"timestamp": "5", "input_length": 10, "output_length": 3, "hash_ids": [0]}', "column 'timestamp'"),
        ('{"timestamp": 5, "input_length": 10, "output_length": 3, "hash_ids": [0, "x"]}', "column 'hash_ids'"),
    ],
)
def test_malformed_mooncake_rows(tmp_path, row, needle):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 10, "output_length": 3, "hash_ids": [0]}\n' + row + "\n")
    msg = _load_error(path)
    assert msg.startswith(f"{path}:2: ") and needle in msg


def test_zero_tokens_are_kept_as_one_and_counted(tmp_path):
    path = tmp_path / "zeros.csv"
    path.write_text(AZ_HEADER + AZ_ROW + "2023-11-16 18:15:47.6805900,100,0\n")
    trace = load_trace(path)
    rows = list(trace)
    assert [r.output_tokens for r in rows] == [44, 1]  # never silently dropped
    s = trace_stats(trace)
    assert s.requests == 2 and s.clamped_output_requests == 1 and s.clamped_input_requests == 0
    with pytest.raises(JalapenoError, match=r"zeros.csv:3: column 'GeneratedTokens': 0 tokens"):
        list(load_trace(path, zero_tokens="error"))


def test_format_sniffed_from_content(tmp_path):
    path = tmp_path / "trace.txt"
    path.write_text('{"timestamp": 1000, "input_length": 600, "output_length": 3, "hash_ids": [7, 8]}\n')
    assert list(load_trace(path)) == [Request(0, 0.0, 600, 3, (7, 8))]


def test_timestamps_parse_precisely():
    clock = TimestampParser()
    assert clock.seconds("2023-11-16 23:59:59.9999999") == 0.0
    assert clock.seconds("2023-11-17 00:00:00.0000001") == pytest.approx(2e-7, abs=1e-12)
    assert clock.seconds("2023-11-17T00:00:01.5") == pytest.approx(1.5000001, abs=1e-9)
    assert TimestampParser().seconds("12.5") == 0.0
    tz = TimestampParser()
    tz.seconds("2024-05-10 00:00:00.000000+00:00")
    assert tz.seconds("2024-05-10 01:00:00.000000+01:00") == pytest.approx(0.0)
    with pytest.raises(ValueError):
        TimestampParser().seconds("2023-11-16 25:00:00")


# --- statistics --------------------------------------------------------------------------------


def test_stats_on_a_small_stream():
    reqs = [Request(i, float(i), 10 * (i + 1), i + 1, (0, i + 1)) for i in range(10)]
    s = trace_stats(reqs)
    assert s.requests == 10 and s.duration_s == 9.0 and s.mean_rate_per_s == 1.0
    assert s.interarrival_cv == pytest.approx(0.0)
    assert s.input_tokens.mean == 55 and s.input_tokens.p50 == 55 and s.output_tokens.p90 == pytest.approx(9.1)
    assert s.prefix_blocks == 20 and s.reused_blocks == 9 and s.prefix_reuse_fraction == pytest.approx(0.45)


def test_stats_reservoir_bounds_memory_but_keeps_quantiles():
    reqs = list(poisson(100.0, num_requests=50_000, input_dist=LogNormal(1000, 1.0), seed=2))
    exact = trace_stats(reqs)
    sampled = trace_stats(reqs, reservoir_size=5_000)
    assert sampled.input_tokens.mean == exact.input_tokens.mean  # running sums stay exact
    assert sampled.input_tokens.p50 == pytest.approx(exact.input_tokens.p50, rel=0.05)
    assert sampled.input_tokens.p90 == pytest.approx(exact.input_tokens.p90, rel=0.08)


# --- generators --------------------------------------------------------------------------------


def test_generators_are_deterministic_and_seed_dependent():
    def run(seed):
        return list(gamma_bursty(5.0, 2.0, num_requests=3000, input_dist=LogNormal(500, 1.0), seed=seed))

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert list(from_profile("mooncake-synthetic", num_requests=500, seed=1)) == list(
        from_profile("mooncake-synthetic", num_requests=500, seed=1)
    )


def test_shorter_run_is_a_prefix_of_a_longer_one():
    long = list(poisson(3.0, num_requests=5000, input_dist=LogNormal(100, 1.0), seed=4))
    assert list(poisson(3.0, num_requests=1234, input_dist=LogNormal(100, 1.0), seed=4)) == long[:1234]


def test_poisson_rate_and_stop_rules():
    reqs = list(poisson(50.0, num_requests=20_000, seed=3))
    s = trace_stats(reqs)
    assert s.mean_rate_per_s == pytest.approx(50.0, rel=0.03)
    assert s.interarrival_cv == pytest.approx(1.0, rel=0.05)
    assert [r.id for r in reqs] == list(range(20_000))
    timed = list(poisson(50.0, duration_s=10.0, seed=3))
    assert timed == reqs[: len(timed)] and timed[-1].arrival_s < 10.0 <= reqs[len(timed)].arrival_s
    with pytest.raises(JalapenoError):
        poisson(1.0)
    with pytest.raises(JalapenoError):
        poisson(-1.0, num_requests=3)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(rate=st.floats(0.5, 200.0), cv=st.floats(0.2, 3.0), seed=st.integers(0, 2**31))
def test_gamma_cv(rate, cv, seed):
    s = trace_stats(gamma_bursty(rate, cv, num_requests=20_000, seed=seed), track_prefix=False)
    assert s.interarrival_cv == pytest.approx(cv, rel=0.15)
    assert s.mean_rate_per_s == pytest.approx(rate, rel=0.1)


def test_gamma_cv_zero_is_evenly_spaced():
    times = [r.arrival_s for r in gamma_bursty(4.0, 0.0, num_requests=5)]
    assert times == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25])


def test_length_distributions():
    rng = np.random.default_rng(0)
    assert set(Fixed(7).sample(rng, 10)) == {7.0}
    x = LogNormal(300, 0.8, max_value=2000).sample(rng, 200_000)
    assert x.min() >= 1 and x.max() <= 2000 and x.mean() == pytest.approx(300, rel=0.03)
    with pytest.raises(JalapenoError):
        Empirical({0.0: 10, 0.5: 5})  # decreasing


def test_empirical_reproduces_profile_quantiles():
    prof = get_profile("azure-conv")
    dist = prof.input_distribution()
    draws = dist.sample(np.random.default_rng(1), 400_000)
    for p, v in zip(dist.probs, dist.values, strict=True):
        lo = np.quantile(draws, max(p - 0.002, 0.0)) if p > 0 else v
        hi = np.quantile(draws, min(p + 0.002, 1.0)) if p < 1 else v
        assert lo <= v <= hi, (p, v, lo, hi)
    assert draws.min() >= dist.values[0] and draws.max() <= dist.values[-1]
    assert Empirical({"p0": 0, "p100": 10}).mean == 5.0


@pytest.mark.parametrize("name", list(EXPECTED_COUNTS))
def test_from_profile_matches_its_trace(name):
    prof = get_profile(name)
    s = trace_stats(from_profile(name, num_requests=prof.requests, seed=5))
    assert s.requests == prof.requests
    assert s.mean_rate_per_s == pytest.approx(prof.mean_rate_per_s, rel=0.25 if prof.interarrival_cv > 5 else 0.1)
    assert s.interarrival_cv == pytest.approx(prof.interarrival_cv, rel=0.25)
    assert s.input_tokens.mean == pytest.approx(prof.input_mean_tokens, rel=0.08)
    assert s.output_tokens.mean == pytest.approx(prof.output_mean_tokens, rel=0.08)
    assert s.input_tokens.p50 == pytest.approx(prof.input_distribution().value_at(0.5), rel=0.1)
    if prof.prefix is None:
        assert s.prefix_blocks == 0
    else:
        assert s.prefix_reuse_fraction == pytest.approx(prof.prefix.reuse_fraction, abs=0.04)
        assert s.mean_blocks_per_request == pytest.approx(prof.prefix.mean_blocks_per_request, rel=0.08)


def test_from_profile_rate_override_and_unknown_name():
    s = trace_stats(from_profile("azure-conv", rate_per_s=20.0, num_requests=20_000, seed=1))
    assert s.mean_rate_per_s == pytest.approx(20.0, rel=0.05)
    with pytest.raises(JalapenoError, match="azure-code"):
        from_profile("azure-cod", num_requests=1)


def test_synthetic_prefixes_are_shared_prefixes():
    seen: set[int] = set()
    for r in from_profile("mooncake-conversation", num_requests=3000, seed=2):
        assert len(r.prefix_hashes) == -(-r.input_tokens // BLOCK_TOKENS)
        flags = [h in seen for h in r.prefix_hashes]
        assert flags == sorted(flags, reverse=True)  # reused blocks form a leading run
        seen.update(r.prefix_hashes)


# --- agent sessions ----------------------------------------------------------------------------


def test_agent_turns_extend_the_previous_context():
    system = 3000
    reqs = list(agent_sessions(40, system_prompt_tokens=system, session_rate_per_s=0.5, seed=3))
    assert [r.arrival_s for r in reqs] == sorted(r.arrival_s for r in reqs)
    assert [r.id for r in reqs] == list(range(len(reqs)))
    by_session: dict[int, list[Request]] = {}
    for r in reqs:
        by_session.setdefault(r.session, []).append(r)
        assert r.prefix_hashes[: system // BLOCK_TOKENS] == tuple(range(system // BLOCK_TOKENS))
        assert len(r.prefix_hashes) == -(-r.input_tokens // BLOCK_TOKENS)
    assert len(by_session) == 40 and any(len(t) > 5 for t in by_session.values())
    for turns in by_session.values():
        for prev, nxt in zip(turns, turns[1:], strict=False):
            full = prev.input_tokens // BLOCK_TOKENS
            assert nxt.prefix_hashes[:full] == prev.prefix_hashes[:full]
            assert nxt.input_tokens > prev.input_tokens + prev.output_tokens
            assert nxt.arrival_s > prev.arrival_s + 0.5  # at least the estimated time to first token
            new = set(nxt.prefix_hashes[full:])
            assert not new & set(prev.prefix_hashes)  # the partial block and beyond are new


def test_agent_sessions_deterministic_and_capped():
    a = list(agent_sessions(10, seed=1))
    assert a == list(agent_sessions(10, seed=1)) and a != list(agent_sessions(10, seed=2))
    capped = list(agent_sessions(10, seed=1, max_context_tokens=20_000))
    assert capped and max(r.input_tokens for r in capped) <= 20_000


def test_session_plans_do_not_depend_on_consumption_order():
    plans = list(agent_session_plans(5, turns=Fixed(4), seed=9))
    forward = [list(p.turns()) for p in plans]
    backward = [list(p.turns()) for p in reversed(plans)][::-1]
    assert forward == backward
    assert all(len(t) == 4 for t in forward)
    assert [p.start_s for p in plans] == sorted(p.start_s for p in plans)


# --- scaling -----------------------------------------------------------------------------------


def test_scaling_doubles_the_rate_exactly(traces_dir):
    trace = load_trace("azure-code")
    base = trace_stats(trace)
    doubled = trace_stats(scale_to_rate(trace, 2 * base.mean_rate_per_s))  # two passes over the file
    assert doubled.mean_rate_per_s == pytest.approx(2 * base.mean_rate_per_s, rel=1e-12)
    assert doubled.interarrival_cv == pytest.approx(base.interarrival_cv, rel=1e-9)
    assert doubled.requests == base.requests


def test_scaling_a_one_shot_stream_needs_its_rate():
    gen = poisson(10.0, num_requests=100, seed=1)
    with pytest.raises(JalapenoError, match="source_rate_per_s"):
        scale_to_rate(gen, 20.0)
    out = list(scale_to_rate(poisson(10.0, num_requests=100, seed=1), 20.0, source_rate_per_s=10.0))
    ref = list(poisson(10.0, num_requests=100, seed=1))
    assert [o.arrival_s for o in out] == [r.arrival_s / 2 for r in ref]


def test_take():
    src = [Request(i, float(i), 1, 1) for i in range(10)]
    assert [r.id for r in take(src, num=3)] == [0, 1, 2]
    assert [r.id for r in take(src, duration_s=4.5)] == [0, 1, 2, 3, 4]
    assert [r.id for r in take(src, num=2, duration_s=4.5)] == [0, 1]
    endless = poisson(1.0, num_requests=10**12, seed=0)
    assert len(list(take(endless, duration_s=5.0))) < 50
    assert math.isfinite(sum(r.arrival_s for r in take(poisson(1.0, num_requests=10**12), num=5)))
