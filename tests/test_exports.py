"""What `simulate` writes for other tools, and what it says about the traffic it ran: the Chrome
trace (named replicas, counters, per-request spans, a bounded set of event names, gzip), one row
per request (CSV, Parquet), and the offered against the realized arrival rate."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from cli_helpers import fails_cleanly, run, stderr_of

ARGS = ("simulate", "--generator", "poisson", "--rate", "8", "--num-requests", "60", "--replicas", "2",
        "--input-tokens", "400", "--output-tokens", "30", "--seed", "1")


def _ok(*args):
    r = run(*args)
    assert r.exit_code == 0, f"exit {r.exit_code}: {r.stdout}\n{stderr_of(r)}\n{r.exception!r}"
    return r


def test_chrome_trace_is_named_counted_and_bounded(tmp_path):
    out = tmp_path / "timeline.json.gz"
    d = json.loads(_ok(*ARGS, "--trace-out", out, "--json").stdout)
    with gzip.open(out, "rt") as f:  # gzip because of the name
        events = json.load(f)["traceEvents"]
    names = {e["name"] for e in events}
    assert len(names) <= 12, names  # bounded: not one name per batch shape
    meta = [e for e in events if e["ph"] == "M"]
    assert {e["args"]["name"] for e in meta if e["name"] == "process_name"} == {"replica 0", "replica 1"}
    assert {e["args"]["name"] for e in meta if e["name"] == "thread_name"} == {"steps"}
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert counters == {"requests waiting", "kv blocks used", "power W"}
    kv = [e["args"] for e in events if e["name"] == "kv blocks used"]
    assert all(a["blocks"] + a["free"] == d["kv_blocks_per_replica"] for a in kv)
    assert sum(e["ph"] == "X" for e in events) == d["steps"]
    begins = [e for e in events if e["ph"] == "b"]
    ends = {e["id"]: e for e in events if e["ph"] == "e"}
    assert len(begins) == d["finished"] == len(ends)
    assert all(ends[b["id"]]["ts"] >= b["ts"] for b in begins)


def test_plain_json_trace_when_not_gz(tmp_path):
    out = tmp_path / "timeline.json"
    _ok(*ARGS, "--trace-out", out)
    assert json.loads(out.read_text())["displayTimeUnit"] == "ms"


def test_requests_out_csv(tmp_path):
    out = tmp_path / "req.csv"
    d = json.loads(_ok(*ARGS, "--requests-out", out, "--json").stdout)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == d["finished"] == 60
    r = rows[0]
    assert {"arrival_s", "ttft_s", "tpot_s", "finish_s", "input_tokens", "output_tokens", "replica"} <= set(r)
    for row in rows:
        assert float(row["finish_s"]) >= float(row["first_token_s"]) >= float(row["arrival_s"])
        assert float(row["ttft_s"]) == pytest.approx(float(row["first_token_s"]) - float(row["arrival_s"]))
        assert row["replica"] in ("0", "1")
    assert sum(int(x["output_tokens"]) for x in rows) == d["output_tokens"]


def test_requests_out_parquet_matches_csv(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    _ok(*ARGS, "--requests-out", tmp_path / "r.parquet")
    _ok(*ARGS, "--requests-out", tmp_path / "r.csv")
    table = pq.read_table(tmp_path / "r.parquet").to_pylist()
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(table) == len(rows)
    assert [t["id"] for t in table] == [int(r["id"]) for r in rows]
    assert table[5]["ttft_s"] == pytest.approx(float(rows[5]["ttft_s"]))


def test_requests_out_suffix_is_checked():
    msg = fails_cleanly(*ARGS, "--requests-out", "out.xlsx")
    assert "--requests-out" in msg and ".parquet" in msg


def test_offered_and_realized_rates_agree_on_a_long_run():
    r = _ok("simulate", "--generator", "poisson", "--rate", "5", "--duration", "200", "--input-tokens", "300",
            "--output-tokens", "20", "--json")
    d = json.loads(r.stdout)
    assert d["offered_rate_per_s"] == 5
    assert d["arrival_rate_per_s"] == pytest.approx(5, rel=0.1)
    assert "warning" not in stderr_of(r)


def test_default_profile_run_reports_its_gap():
    """The built-in coding profile is very bursty (cv ~ 13): its realized rate over the default run
    falls well short of its mean, and the user is told."""
    r = _ok("simulate", "--json")
    d = json.loads(r.stdout)
    assert d["offered_rate_per_s"] == pytest.approx(2.57, rel=0.01)
    assert abs(d["arrival_rate_per_s"] / d["offered_rate_per_s"] - 1) > 0.10
    assert "warning: the realized arrival rate" in stderr_of(r)


def test_warning_threshold():
    import warnings

    from jalapeno.cli.serve_cmds import warn_rate_gap
    from jalapeno.errors import JalapenoWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_rate_gap(5.0, 5.4, 100)  # +8 %: fine
        warn_rate_gap(5.0, None, 1)
        warn_rate_gap(None, 3.0, 10)
        assert not caught
        warn_rate_gap(5.0, 4.4, 100)  # -12 %
    assert len(caught) == 1 and issubclass(caught[0].category, JalapenoWarning) and "-12 %" in str(caught[0].message)
