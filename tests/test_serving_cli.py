"""`jalapeno simulate` and `jalapeno capacity` end to end: stable JSON, Chrome traces, scenario files
with flag overrides, and bad input refused in one line (or, for a request that cannot be served,
reported as dropped)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import fails_cleanly, run, stderr_of

from jalapeno.serving.capacity import CapacityResult

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SIMULATE_KEYS = {"ttft_s_p50", "ttft_s_p99", "tpot_s_p50", "tpot_s_p99", "output_tokens_per_s",
                 "goodput_requests_per_s", "output_tokens_per_joule", "prefix_hit_rate", "finished", "dropped",
                 "requests", "dropped_reasons", "scenario", "wall_s"}
AZURE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def ok_json(*args) -> dict:
    r = run(*args)
    assert r.exit_code == 0, f"exit {r.exit_code}: {r.output}\n{stderr_of(r)}\n{r.exception!r}"
    return json.loads(r.stdout)


def simulate_json(*args) -> dict:
    return ok_json("simulate", *args, "--json")




def azure_csv(tmp_path: Path, rows: list[str], name: str = "trace.csv") -> Path:
    p = tmp_path / name
    p.write_text(AZURE_HEADER + "".join(r + "\n" for r in rows))
    return p


def accounted(d: dict) -> None:
    assert d["finished"] + d["dropped"] == d["requests"], d
    assert d["dropped"] == sum(d["dropped_reasons"].values())


# --- simulate: JSON ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def azure_code_300(traces_dir) -> dict:
    return simulate_json("--trace", "azure-code", "--num-requests", "300")


def test_simulate_trace_json_has_stable_keys(azure_code_300):
    d = azure_code_300
    assert SIMULATE_KEYS <= set(d), SIMULATE_KEYS - set(d)
    assert d["requests"] == 300
    accounted(d)
    assert d["finished"] == 300 and d["dropped"] == 0 and d["dropped_reasons"] == {}
    for k in ("ttft_s_p50", "ttft_s_p99", "tpot_s_p50", "tpot_s_p99", "output_tokens_per_s",
              "goodput_requests_per_s", "output_tokens_per_joule"):
        assert isinstance(d[k], float) and d[k] > 0, (k, d[k])
    assert d["ttft_s_p50"] <= d["ttft_s_p99"] and d["tpot_s_p50"] <= d["tpot_s_p99"]
    assert d["prefix_hit_rate"] == 0.0  # the Azure traces carry no prefix ids
    assert d["goodput_requests_per_s"] <= d["requests_per_s"] + 1e-12
    sc = d["scenario"]
    assert sc["model"] == "llama-3.1-8b" and sc["chip"] == "h100-sxm"
    assert sc["workload"]["trace"] == "azure-code" and sc["workload"]["num_requests"] == 300


@pytest.mark.traces
def test_simulate_table_output():
    r = run("simulate", "--trace", "azure-code", "--num-requests", "20")
    assert r.exit_code == 0, r.output
    for k in ("ttft_s_p50", "tpot_s_p99", "output_tokens_per_s", "finished"):
        assert k in r.stdout


def test_trace_out_writes_chrome_trace(tmp_path):
    out = tmp_path / "timeline.json"
    d = simulate_json("--generator", "poisson", "--rate", "20", "--num-requests", "30", "--replicas", "2",
                      "--input-tokens", "500", "--output-tokens", "20", "--trace-out", out)
    trace = json.loads(out.read_text())
    events = trace["traceEvents"]
    steps = [e for e in events if e["ph"] == "X"]
    assert len(steps) == d["steps"]
    for e in steps:
        assert e["dur"] > 0 and e["ts"] >= 0 and e["pid"] in (0, 1) and e["tid"] == 0
        assert e["name"] in ("prefill", "decode", "mixed")
        assert {"decodes", "prefill_tokens", "energy_j"} <= set(e["args"])
    assert {e["pid"] for e in steps} == {0, 1}  # both replicas worked
    # Steps on one replica do not overlap.
    for pid in (0, 1):
        spans = sorted((e["ts"], e["dur"]) for e in steps if e["pid"] == pid)
        for (t0, d0), (t1, _) in zip(spans, spans[1:], strict=False):
            assert t0 + d0 <= t1 + 1e-6


def test_scenario_file_with_flag_overrides():
    d = simulate_json(EXAMPLES / "disaggregated.yaml", "--duration", "10", "--rate", "4")
    w = d["scenario"]["workload"]
    assert w["duration_s"] == 10 and w["rate_per_s"] == 4  # the flags
    assert w["generator"] == "poisson" and w["input_tokens"] == 3000 and w["length_sigma"] == 0.6  # the file
    dis = d["scenario"]["serving"]["disaggregation"]
    assert dis["enabled"] and dis["prefill_replicas"] == 1 and dis["decode_replicas"] == 3
    assert d["replicas"] == 4
    assert 0 < d["requests"] < 100  # about 40 arrivals in 10 s at 4/s
    accounted(d)


@pytest.mark.traces
def test_scenario_file_trace_flag_replaces_its_generator():
    d = simulate_json(EXAMPLES / "disaggregated.yaml", "--trace", "azure-code", "--num-requests", "40")
    w = d["scenario"]["workload"]
    assert w["trace"] == "azure-code" and w["generator"] is None
    assert d["requests"] == 40
    accounted(d)


def test_scenario_file_generator_flag_replaces_its_trace():
    d = simulate_json(EXAMPLES / "azure-code-h100.yaml", "--generator", "poisson", "--rate", "2",
                      "--duration", "10", "--model", "llama-3.1-8b", "--tp", "1")
    w = d["scenario"]["workload"]
    assert w["generator"] == "poisson" and w["trace"] is None
    assert d["scenario"]["model"] == "llama-3.1-8b" and d["scenario"]["tp"] == 1
    assert d["scenario"]["serving"]["replicas"] == 2  # from the file
    accounted(d)


def test_poisson_generator_from_flags():
    d = simulate_json("--generator", "poisson", "--rate", "2", "--duration", "30", "--input-tokens", "500",
                      "--output-tokens", "100")
    accounted(d)
    assert d["dropped"] == 0
    assert 30 <= d["requests"] <= 95  # Poisson(60)
    # No length spread given: every request is exactly 500 in, 100 out.
    assert d["input_tokens"] == 500 * d["finished"]
    assert d["output_tokens"] == 100 * d["finished"]
    w = d["scenario"]["workload"]
    assert w["generator"] == "poisson" and w["rate_per_s"] == 2 and w["duration_s"] == 30


def test_disaggregate_flag():
    d = simulate_json("--generator", "poisson", "--rate", "4", "--duration", "10", "--input-tokens", "2000",
                      "--output-tokens", "100", "--disaggregate", "1:1")
    dis = d["scenario"]["serving"]["disaggregation"]
    assert dis["enabled"] and dis["prefill_replicas"] == 1 and dis["decode_replicas"] == 1
    assert d["replicas"] == 2
    accounted(d)
    assert d["finished"] == d["requests"] > 0


def test_ngram_speculation_flag_cuts_time_per_token():
    args = ("--generator", "poisson", "--rate", "1", "--duration", "20", "--input-tokens", "500",
            "--output-tokens", "200", "--seed", "1")
    spec = simulate_json(*args, "--spec", "ngram")
    plain = simulate_json(*args)
    assert spec["scenario"]["serving"]["speculative"]["method"] == "ngram"
    assert plain["scenario"]["serving"]["speculative"]["method"] == "none"
    accounted(spec)
    assert spec["finished"] == plain["finished"] and spec["output_tokens"] == plain["output_tokens"]
    assert spec["tpot_s_p50"] < plain["tpot_s_p50"]


def test_same_seed_same_numbers():
    args = ("--generator", "profile", "--profile", "mooncake-conversation", "--rate", "3", "--duration", "20",
            "--replicas", "2", "--router", "prefix_affinity", "--spec", "ngram", "--seed", "5")
    a, b = simulate_json(*args), simulate_json(*args)
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b
    c = simulate_json(*args[:-1], "6")
    c.pop("wall_s")
    assert c != a  # the seed does change the draw


def test_same_trace_run_twice_is_identical(azure_code_300):
    again = simulate_json("--trace", "azure-code", "--num-requests", "300")
    first = dict(azure_code_300)
    first.pop("wall_s"), again.pop("wall_s")
    assert first == again


# --- capacity -----------------------------------------------------------------------------------------

def test_capacity_json():
    d = ok_json("capacity", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--generator", "poisson",
                "--input-tokens", "500", "--output-tokens", "100", "--duration", "20", "--json")
    assert d["max_rate_per_s"] > 0
    probes = d["probes"]
    assert isinstance(probes, list) and probes
    for p in probes:
        assert set(p) == {"rate_per_s", "passed", "ttft_s_p99", "tpot_s_p99", "seeds_passed", "seeds"}
        assert 1 <= p["seeds"] <= 3 and (2 * p["seeds_passed"] > p["seeds"]) == p["passed"]
        assert p["rate_per_s"] > 0 and isinstance(p["passed"], bool)
    passed = [p["rate_per_s"] for p in probes if p["passed"]]
    assert d["max_rate_per_s"] == max(passed)
    assert any(not p["passed"] and p["rate_per_s"] > d["max_rate_per_s"] for p in probes)  # bracketed
    assert d["ttft_s_p99"] <= 2.0 and d["tpot_s_p99"] <= 0.2  # the default SLOs
    assert d["output_tokens_per_s"] == pytest.approx(100 * d["max_rate_per_s"])
    lo, hi = d["rate_spread_per_s"]
    assert lo <= d["max_rate_per_s"] <= hi or lo == hi
    assert d["finished"] + d["dropped"] + d["in_flight"] == d["requests"] and d["dropped"] == 0


def _capture_capacity(monkeypatch) -> list:
    seen = []

    def fake(sc, duration_s=120.0, iterations=8, progress=None):
        seen.append(sc)
        return CapacityResult(1.0, {}, [])

    monkeypatch.setattr("jalapeno.cli.serve_cmds.find_capacity", fake)
    return seen


def test_capacity_slo_flags_reach_the_search(monkeypatch):
    seen = _capture_capacity(monkeypatch)
    ok_json("capacity", "--generator", "poisson", "--input-tokens", "500", "--output-tokens", "100",
            "--slo-ttft-ms", "500", "--slo-tpot-ms", "40", "--json")
    assert seen[0].serving.slo.ttft_s == pytest.approx(0.5) and seen[0].serving.slo.tpot_s == pytest.approx(0.04)


def test_capacity_keeps_the_scenario_files_slo(monkeypatch):
    seen = _capture_capacity(monkeypatch)
    ok_json("capacity", EXAMPLES / "azure-code-h100.yaml", "--json")
    assert seen[0].serving.slo.ttft_s == 1.0 and seen[0].serving.slo.tpot_s == 0.05  # as the file says


# --- bad input: non-zero exit, one line, no traceback -----------------------------------------------

def test_malformed_azure_trace_names_file_line_and_column(tmp_path):
    p = azure_csv(tmp_path, ["2023-11-16 18:17:03.9799600,2000,10", "2023-11-16 18:17:04.0319600,lots,8"])
    msg = fails_cleanly("simulate", "--trace", p, "--json")
    assert f"{p}:3:" in msg and "ContextTokens" in msg and "lots" in msg


def test_mooncake_trace_with_broken_json(tmp_path):
    p = tmp_path / "broken.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 100, "output_length": 5, "hash_ids": [1]}\n'
                 '{"timestamp": 5, "input_length": 100, "output_length": 5, "hash_ids": [1\n')
    msg = fails_cleanly("simulate", "--trace", p, "--json")
    assert f"{p}:2:" in msg and "JSON" in msg


def test_missing_trace_file(tmp_path):
    p = tmp_path / "nope.csv"
    msg = fails_cleanly("simulate", "--trace", p)
    assert str(p) in msg and "not found" in msg


def test_unknown_trace_name_suggests():
    msg = fails_cleanly("simulate", "--trace", "azure-cod")
    assert "azure-code" in msg


@pytest.mark.parametrize("value", ["2", "a:b", "1:2:3"])
def test_disaggregate_bad_format(value):
    msg = fails_cleanly("simulate", "--disaggregate", value, "--num-requests", "3")
    assert "--disaggregate" in msg and value in msg and "PREFILL:DECODE" in msg


def test_disaggregate_zero_replicas():
    msg = fails_cleanly("simulate", "--disaggregate", "0:1", "--num-requests", "3")
    assert "--disaggregate PREFILL" in msg and "at least 1" in msg


def test_unknown_router():
    msg = fails_cleanly("simulate", "--router", "random", "--num-requests", "3")
    assert "router" in msg and "random" in msg and "prefix_affinity" in msg


def test_draft_speculation_needs_a_draft_model():
    msg = fails_cleanly("simulate", "--spec", "draft", "--num-requests", "3")
    assert "draft_model" in msg


def test_poisson_without_rate_from_flags():
    msg = fails_cleanly("simulate", "--generator", "poisson", "--duration", "10")
    assert "rate_per_s" in msg and "command-line flags" in msg


@pytest.mark.parametrize(("command", "text", "key"), [
    ("simulate", "model: llama-3.1-8b\nserving:\n  replicas: 2\n  routr: round_robin\n", "serving.routr"),
    ("capacity", "wrkload: {}\n", "wrkload"),
])
def test_scenario_with_unknown_key_is_one_line(tmp_path, command, text, key):
    p = tmp_path / "typo.yaml"
    p.write_text(text)
    msg = fails_cleanly(command, p, "--json")
    assert str(p) in msg and key in msg


def test_scenario_file_missing(tmp_path):
    p = tmp_path / "missing.yaml"
    msg = fails_cleanly("simulate", p)
    assert str(p) in msg


# --- requests that cannot be served are reported, never lost -----------------------------------------

def test_prompt_longer_than_the_context_window_is_dropped_with_a_reason(tmp_path):
    p = azure_csv(tmp_path, ["2023-11-16 18:17:03.9799600,10000000,10"])
    d = simulate_json("--trace", p)
    assert d["requests"] == 1 and d["dropped"] == 1 and d["finished"] == 0 and d["in_flight"] == 0
    (reason, count), = d["dropped_reasons"].items()
    assert count == 1 and reason == "context_window" and "131072" in d["dropped_details"][reason]


def test_dropped_request_does_not_block_the_others(tmp_path):
    p = azure_csv(tmp_path, ["2023-11-16 18:17:03.9799600,10000000,10", "2023-11-16 18:17:04.0000000,500,10"])
    d = simulate_json("--trace", p)
    assert d["requests"] == 2 and d["dropped"] == 1 and d["finished"] == 1
    r = run("simulate", "--trace", p)  # the table run says so too
    assert r.exit_code == 0 and "dropped" in r.stdout


def test_prompt_over_the_token_budget_without_chunking_is_not_lost(tmp_path):
    p = azure_csv(tmp_path, ["2023-11-16 18:17:03.9799600,2000,10", "2023-11-16 18:17:04.0319600,300,8"])
    d = simulate_json("--trace", p, "--no-chunked-prefill", "--max-batched-tokens", "1024")
    accounted(d)


def test_preemption_on_a_decode_replica_loses_no_request(tmp_path):
    p = tmp_path / "dis.yaml"
    p.write_text("workload: {generator: poisson, rate_per_s: 4, num_requests: 60, input_tokens: 20000, "
                 "output_tokens: 3000}\n"
                 "serving:\n  scheduler: {kv_reservation: on_demand}\n"
                 "  disaggregation: {enabled: true, prefill_replicas: 1, decode_replicas: 1}\n")
    d = simulate_json(p)
    assert d["preemptions"] > 0  # the case under test happened
    accounted(d)
