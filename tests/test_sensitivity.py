"""Which assumption decides: one-at-a-time sweeps over the stated ranges (engine/sensitivity.py)."""

from __future__ import annotations

import pytest
from cli_helpers import ok_json, run, stderr_of

from jalapeno.engine.predict import Workload
from jalapeno.engine.sensitivity import assumptions_of, sensitivity
from jalapeno.errors import SpecError
from jalapeno.hardware.catalog import load_chip, make_system
from jalapeno.models.config import load_model
from jalapeno.stacks import load_stack


@pytest.fixture(scope="module")
def default_pair():
    return sensitivity(load_model("gpt-oss-120b"), [make_system("jalapeno-ref", 4), make_system("b200", 8)],
                       Workload(2048, 256), None, 100.0)


def test_reference_design_states_ranges_for_its_assumptions():
    chip = load_chip("jalapeno-ref")
    assert {"clock_ghz", "power.tdp_w", "memory[0].per_stack_bandwidth_gb_s"} <= set(chip.ranges)
    stack = load_stack(chip.software_stack)
    assert {"host_step_s", "gemm_efficiency_8bit"} <= set(stack.ranges)
    for a in assumptions_of(make_system(chip, 4), stack):
        assert a.low <= a.value <= a.high


def test_tornado_ranks_by_spread_and_bands_hold_the_baseline(default_pair):
    res = default_pair
    spreads = [s.spread for s in sorted(res.swings, key=lambda s: -s.spread)]
    assert spreads == sorted(spreads, reverse=True) and len(res.top(3)) == 3
    for b in res.systems:
        value = b.prediction.output_tokens_per_joule
        assert b.band[0] <= value <= b.band[1]
    # A ratio at an end is the subject's metric over the reference's, one of them varied.
    base = [b.prediction.output_tokens_per_joule for b in res.systems]
    for s in res.swings:
        if s.assumption.system == res.subject and s.metric_low:
            assert s.ratio_low == pytest.approx(s.metric_low / base[1])
    flips = res.flips()
    assert all((min(r for r in (s.ratio_low, s.ratio_high) if r) < 1) == (res.baseline_ratio > 1) or
               (max(r for r in (s.ratio_low, s.ratio_high) if r) > 1) for s in flips)


def test_more_memory_bandwidth_never_lowers_decode_throughput(tmp_path):
    path = tmp_path / "ranged.yaml"
    path.write_text("base: h200-sxm\nid: h200-ranged\nname: H200 with a bandwidth range\nmemory:\n"
                    "  - name: HBM3e\n"
                    "    per_stack_bandwidth_gb_s: {value: 800, range: [600, 1000], source: what-if}\n")
    res = sensitivity(load_model("llama-3.1-8b"), [make_system(load_chip(str(path)), 1)], Workload(512, 512),
                      "fp8", None, metric="output_tokens_per_s_per_chip")
    (swing,) = [s for s in res.swings if s.assumption.path.endswith("per_stack_bandwidth_gb_s")]
    assert swing.metric_low < res.systems[0].prediction.output_tokens_per_s_per_chip < swing.metric_high


def test_a_range_that_does_not_span_its_value_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("base: b200\nid: bad\nname: bad\nclock_ghz: {value: 2.0, range: [2.2, 2.6], source: x}\n")
    with pytest.raises(SpecError, match="clock_ghz.*must span the value 2.0"):
        load_chip(str(path))


def test_sensitivity_command_names_the_top_assumptions():
    d = ok_json("sensitivity", "--json", "--top", "3")
    assert d["subject"] == "4 x jalapeno-ref" and d["reference"] == "8 x b200"
    assert len(d["swings"]) >= 3 and all(s["spread"] >= 0 for s in d["swings"])
    assert all(s["band"] for s in d["systems"])
    bad = run("sensitivity", "--metric", "speed")
    assert bad.exit_code == 2 and "--metric" in stderr_of(bad)


def test_compare_shows_bands_and_the_common_stack():
    d = ok_json("compare", "--chip", "jalapeno-ref", "--chip", "b200", "--tokens-per-s-per-user", "100", "--json")
    assert d["common_stack"] == "trtllm"
    ref, b200 = d["systems"]
    lo, hi = ref["band"]
    assert lo <= ref["tokens_per_joule"] <= hi and lo < hi  # jalapeno-ref states ranges
    assert ref["common_tokens_per_joule"] is not None and ref["stack"] == "jalapeno-compiler"
    assert b200["common_tokens_per_joule"] == b200["tokens_per_joule"]  # already on TensorRT-LLM
    forced = ok_json("compare", "--chip", "jalapeno-ref", "--tokens-per-s-per-user", "100", "--stack", "trtllm",
                     "--json")
    assert forced["systems"][0]["stack"].startswith("trtllm costs")
    assert forced["systems"][0]["tokens_per_joule"] == pytest.approx(ref["common_tokens_per_joule"], rel=0.35)


def test_power_limit_slows_a_compute_heavy_run_and_bad_limits_are_refused():
    args = ("predict", "--model", "llama-2-70b", "--chip", "h200-sxm", "--chips", "8", "--layout", "tp=1,dp=8",
            "--precision", "fp8", "--input-tokens", "222", "--output-tokens", "291", "--json")
    full, low = ok_json(*args), ok_json(*args, "--power-limit-w", "500")
    assert low["power_capped"] and not full["power_capped"]
    # MLPerf v4.1 H200 x8 MaxQ (500 W) delivered 0.807 of the 700 W result.
    assert 0.72 < low["output_tokens_per_s"] / full["output_tokens_per_s"] < 0.88
    bad = run("predict", "--model", "llama-2-70b", "--chip", "h200-sxm", "--power-limit-w", "100")
    assert bad.exit_code == 2 and "--power-limit-w" in stderr_of(bad)


def test_sensitivity_report_draws_the_tornado(tmp_path):
    out = tmp_path / "s.html"
    res = run("sensitivity", "--report", out)
    assert res.exit_code == 0, stderr_of(res)
    page = out.read_text()
    assert "Tornado" in page and "What decides" in page and "plotly" in page.lower()
