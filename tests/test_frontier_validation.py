"""The planner's frontier as real stacks reach it: serving concurrency limits from the public
configurations, the InferenceX frontier summary in `validate`, and the API's plan/predict
searching speculative decoding as the CLI does."""

from __future__ import annotations

import math

import jalapeno
from jalapeno.economics.cloud import cloud_price
from jalapeno.engine.planner import SERVER_CHIPS, plan_deployment
from jalapeno.engine.predict import Workload
from jalapeno.hardware.catalog import make_system
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import load_stack
from jalapeno.validation.inferencex_frontier import frontier_point
from jalapeno.validation.inferencex_rows import inferencex_rows


def _per_server(p) -> float:
    chips_per_replica = p.chips_used // p.replicas
    return p.concurrency / p.replicas / max(1, chips_per_replica // SERVER_CHIPS)


def test_colocated_points_stay_within_the_stacks_serving_concurrency():
    m, wl = load_model("gpt-oss-120b"), Workload(1024, 1024)
    for chip, limit in (("h100-sxm", 64), ("b200", 256), ("mi300x", 64)):
        caps = load_stack(make_system(chip, 8).chip.software_stack).capabilities
        assert caps.for_chip(chip).max_concurrency_per_replica == limit
        assert caps.sources.get("max_concurrency_per_replica")
        res = plan_deployment(m, make_system(chip, 8), wl)
        colocated = [p for p in res.points if not p.disaggregated]
        assert colocated and max(_per_server(p) for p in colocated) <= limit
        assert max(_per_server(p) for p in colocated) >= limit / 2  # the limit is reached, not undercut


def test_frontier_point_counts_an_unreachable_speed_apart():
    row = next(r for r in inferencex_rows() if r.model == "llama-3.3-70b" and r.chip == "b200")
    reached = frontier_point(row)
    assert reached.error_pct is not None and abs(reached.error_pct) < 50
    assert reached.best_tok_s_per_user >= row.measured_tok_s_per_user
    row.measured_tok_s_per_user = reached.best_tok_s_per_user * 1.5  # beyond anything the planner reaches
    far = frontier_point(row)
    assert far.predicted_tok_s_per_gpu is None and far.error_pct is None and far.method == "unreachable"


def test_validate_reports_the_frontier_summary():
    s = jalapeno.validate().to_dict()
    fr = s["summary"]["inferencex_frontier"]
    assert fr["points"] == 40 and 0 <= fr["unreachable"] <= 40
    assert fr["count"] + fr["unreachable"] == 40 and math.isfinite(fr["median_abs_error_pct"])
    assert len(s["inferencex_frontier_rows"]) == 40
    # $/Mtoken follows from throughput at the source's own GPU-hour rates (the 20 rows that publish it).
    usd = s["summary"]["inferencex"]["usd_per_mtok"]
    assert usd["count"] == 20 and usd["median_abs_error_pct"] <= 25.0
    assert fr["usd_per_mtok"]["count"] == 20


def test_api_plan_searches_speculative_methods_as_the_cli_does():
    res = jalapeno.plan("gpt-oss-120b", "dgx-b200", input_tokens=1000, output_tokens=1000)
    methods = {p.speculative.split(" ")[0] for p in res.result.points}
    assert "eagle" in methods and "none" in methods
    plain = jalapeno.plan("gpt-oss-120b", "dgx-b200", input_tokens=1000, output_tokens=1000, spec="none")
    assert {p.speculative for p in plain.result.points} == {"none"}
    one = jalapeno.predict("gpt-oss-120b", system="dgx-b200", concurrency=1, spec="eagle").to_dict()
    base = jalapeno.predict("gpt-oss-120b", system="dgx-b200", concurrency=1).to_dict()
    assert one["speculative"].startswith("eagle") and one["output_tokens_per_s_per_user"] > \
        1.3 * base["output_tokens_per_s_per_user"]


def test_committed_gpu_hour_is_the_benchmarks_own_rate():
    # $/Mtoken follows from throughput at the rate the benchmark prices GPUs at: its llama70b post
    # quotes $0.04 per million total tokens at 12,981 tokens/s per B200.
    price = cloud_price("b200", "committed")
    assert price is not None and price.usd_per_chip_hour == 1.95 and "InferenceX" in price.source
    assert round(price.usd_per_chip_hour / (12_981 * 3600 / 1e6), 2) == 0.04


def test_per_chip_capabilities_apply_where_the_public_configurations_differ():
    caps = load_stack("vllm-rocm").capabilities
    assert caps.attention_dp and caps.sources["by_chip"]
    assert not caps.for_chip("mi300x").attention_dp and caps.for_chip("mi355x").attention_dp
    res = plan_deployment(load_model("deepseek-r1"), make_system("mi325x", 8), Workload(1024, 1024))
    assert res.points and all(ParallelPlan.parse(p.layout)[0].attn_dp == 1 for p in res.points)
    wide = plan_deployment(load_model("deepseek-r1"), make_system("mi355x", 8), Workload(1024, 1024))
    assert any(ParallelPlan.parse(p.layout)[0].attn_dp > 1 for p in wide.points)
