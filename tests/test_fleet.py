"""Fleet plans: regional vs edge sites, and the CLI commands that report money."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jalapeno.cli.main import app
from jalapeno.economics.money import parse_cost_basis
from jalapeno.errors import JalapenoError
from jalapeno.fleet.plan import Slo, plan_candidate
from jalapeno.fleet.traffic import make_traffic, parse_sites
from jalapeno.models.config import load_model

runner = CliRunner()


def test_edge_sites_cost_more_and_run_emptier_than_one_region():
    m = load_model("llama-3.1-8b")
    tr = make_traffic("azure-conv", peak_rate_per_s=40.0)
    slo = Slo(2.0, 0.2, 10.0)
    basis = parse_cost_basis("build")
    regional = plan_candidate("h100-sxm", m, tr, slo, parse_sites("regional"), basis)
    edge = plan_candidate("h100-sxm", m, tr, slo, parse_sites("edge:4"), basis)
    assert edge.site_plans[0].rtt_ms < regional.site_plans[0].rtt_ms
    assert edge.site_plans[0].sites == 4 and edge.units == 4 * edge.site_plans[0].units  # whole units at every site
    assert edge.chips >= regional.chips
    assert edge.daily_utilization <= regional.daily_utilization
    assert edge.usd_per_million_output_tokens >= regional.usd_per_million_output_tokens
    assert edge.provisioned_mw >= regional.provisioned_mw
    assert regional.slo_met and regional.ttft_s_p99 >= regional.site_plans[0].rtt_ms / 1e3
    uneven = plan_candidate("h100-sxm", m, tr, slo, parse_sites("edge:2", "5,20", "0.75,0.25"), basis)
    big, small = sorted(uneven.site_plans, key=lambda p: -p.share)
    assert big.units >= small.units and (big.rtt_ms, small.rtt_ms) == (5.0, 20.0)


def test_bad_fleet_inputs():
    with pytest.raises(JalapenoError, match="--sites"):
        parse_sites("everywhere")
    with pytest.raises(JalapenoError, match="--site-shares"):
        parse_sites("edge:2", None, "0.5,0.7")
    with pytest.raises(JalapenoError, match="--rtt-ms"):
        parse_sites("edge:3", "5,6")
    with pytest.raises(JalapenoError, match="--daily-requests"):
        make_traffic("azure-code", daily_requests=-5)


def test_predict_reports_money_by_default():
    r = runner.invoke(app, ["predict", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    for k in ("usd_per_million_output_tokens", "usd_per_million_tokens_blended_3to1", "output_tokens_per_s_per_mw",
              "cost_basis"):
        assert k in d
    expect = d["usd_per_chip_hour"] * d["chips"] / (d["output_tokens_per_s"] * 3600) * 1e6
    assert d["usd_per_million_output_tokens"] == pytest.approx(expect)


def test_cost_command_and_bad_inputs():
    r = runner.invoke(app, ["cost", "--chip", "jalapeno-ref", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["unit_cost"]["unit_usd"] > 0 and d["chip_hour_build"]["usd_per_chip_hour"] > 0
    assert d["area"]["dies"][0]["blocks_mm2"]["matrix_mm2"] > 0
    for args, word in ((["--pue", "0.8"], "--pue"), (["--yield-model", "x"], "--yield-model"),
                       (["--usd-per-kwh", "-1"], "--electricity-usd-per-kwh")):
        r = runner.invoke(app, ["cost", "--chip", "h100-sxm", *args])
        assert r.exit_code == 2 and word in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["predict", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--cost-basis", "-1"])
    assert r.exit_code == 2 and "--cost-basis" in r.output


def test_cost_die_file(tmp_path):
    f = tmp_path / "die.yaml"
    f.write_text("dies:\n  x:\n    node: N5\n    execution: systolic\n    macs_per_cycle: {bf16: 100000}\n"
                 "    sram_mib: 64\n    published_mm2: 200\n")
    r = runner.invoke(app, ["cost", "--die", str(f), "--json"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.output)[0]
    assert row["total_mm2"] > 0 and row["error"] == pytest.approx(row["total_mm2"] / 200 - 1)
    f.write_text("node: N5\n")
    r = runner.invoke(app, ["cost", "--die", str(f)])
    assert r.exit_code == 2 and "execution" in r.output


def test_fleet_defaults_plan_every_default_candidate():
    # B200, GB200 NVL72, a TPU, Trainium and jalapeno-ref each get a plan on the built-in defaults;
    # prefill chunks shorter than a stack's default are searched when its p99 TPOT needs them.
    r = runner.invoke(app, ["fleet", "--json"])
    assert r.exit_code == 0, r.output
    plans = {p["candidate"]: p for p in json.loads(r.output)["plans"]}
    assert {"b200", "gb200-nvl72", "trainium2", "jalapeno-ref"} <= set(plans)
    assert any(c.startswith("tpu") for c in plans)
    for p in plans.values():
        assert p["chips"] > 0 and p["usd_per_million_output_tokens"] > 0 and p["output_tokens_per_s_per_mw"] > 0
        assert p["slo_met"] or p["note"]  # a missed SLO is said, never hidden
    assert sum(p["slo_met"] for p in plans.values()) >= 4
