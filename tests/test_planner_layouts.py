"""Layouts the stacks run: capability declarations, the planner's search (pipelines to the layer
count on SRAM-resident chips, wide EP over an NVL72 domain, disaggregated pools), per-module
precision, and what `plan --json` and `compare` report."""

from __future__ import annotations

import pytest
from cli_helpers import ok_json, run

from jalapeno.engine.compare import candidate_plans
from jalapeno.engine.memory import weight_bytes_per_chip
from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.predict import Workload, make_setup
from jalapeno.engine.speculative import SpecRequest
from jalapeno.hardware.catalog import make_system
from jalapeno.hardware.systems import load_system
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import Capabilities, load_stack, stack_ids


def test_every_declared_capability_has_a_source():
    for sid in stack_ids():
        caps = load_stack(sid).capabilities
        assert set(caps.model_fields_set) - {"sources"} <= set(caps.sources)
        assert Capabilities.model_validate(caps.model_dump()) == caps  # a dump reads back
    with pytest.raises(ValueError, match="without a source"):
        Capabilities(attention_dp=True)


def test_planner_searches_only_what_the_stack_runs():
    m = load_model("deepseek-r1")
    nvl = load_system("gb200-nvl72").system_spec()
    trt = candidate_plans(m, nvl, stack=load_stack("trtllm"))
    assert any(p.ep > p.tp for p in trt) and max(p.ep for p in trt) == 64
    old = candidate_plans(m, nvl, stack=load_stack("trtllm-0.9"))  # no attention-DP in that release
    assert all(p.ep <= p.tp for p in old)
    assert all(p.ep in (1, p.tp) for p in trt if p.ep <= p.tp)


def test_nvl72_differs_from_eight_b200s_on_deepseek_r1():
    m, wl = load_model("deepseek-r1"), Workload(2048, 512)
    search = {"spec": SpecRequest("auto"), "disaggregate": True}
    res = {sid: plan_deployment(m, load_system(sid).system_spec(), wl, "fp4", **search)
           for sid in ("dgx-b200", "gb200-nvl72")}

    def best_at(r, rate):
        return max((p for p in r.points if p.output_tokens_per_s_per_user >= rate),
                   key=lambda p: p.output_tokens_per_s_per_chip)

    b200, nvl = best_at(res["dgx-b200"], 50), best_at(res["gb200-nvl72"], 50)
    assert nvl.output_tokens_per_s_per_chip > 1.05 * b200.output_tokens_per_s_per_chip
    # Wide EP beyond one 8-GPU node is searched, and at 50 tokens/s per user beats EP8 without
    # disaggregation; pools of replicas for prefill and decode are searched too.
    wide = [p for p in res["gb200-nvl72"].points if "ep=64" in p.layout and p.output_tokens_per_s_per_user >= 50]
    ep8 = [p for p in res["gb200-nvl72"].points if p.layout == "tp=1,pp=1,ep=8" and not p.disaggregated
           and p.output_tokens_per_s_per_user >= 50]
    assert max(p.output_tokens_per_s_per_chip for p in wide) > max(p.output_tokens_per_s_per_chip for p in ep8)
    assert nvl.disaggregated


def test_sram_resident_stacks_pipeline_to_the_layer_count():
    m = load_model("llama-3.3-70b")
    groq = load_system("groqrack-576").system_spec()
    plans = candidate_plans(m, groq, stack=load_stack("groq-compiler"))
    assert max(p.pp for p in plans) == 80  # one layer per stage (8 x 72 chips)
    res = plan_deployment(m, groq, Workload(2048, 256), "int8")
    assert res.points and min(int(p.layout.split("pp=")[1].split(",")[0]) for p in res.points) > 8


def test_gpt_oss_precision_per_module():
    m = load_model("gpt-oss-120b")
    assert m.quant_storage == "mxfp4" and {"attention", "router"} <= m.bf16_modules
    b200 = make_setup(m, make_system("b200", 8), ParallelPlan(tp=8))
    h100 = make_setup(m, make_system("h100-sxm", 8), ParallelPlan(tp=8))
    mi355 = make_setup(m, make_system("mi355x", 8), ParallelPlan(tp=8))
    assert b200.prec.label().startswith("w4a8 (mxfp4 weights")  # TensorRT-LLM: MXFP4 x MXFP8
    assert mi355.prec.label().startswith("w4a4 (mxfp4 weights")
    assert "dequantized" in h100.prec.label() and "fp4" != h100.prec.label()
    assert b200.prec.weight_bytes() == pytest.approx(4.25 / 8)
    # Checkpoint size: ~61 GiB of MXFP4 experts and bf16 attention, embeddings and LM head.
    total = weight_bytes_per_chip(m, b200.prec, ParallelPlan()) / 2**30
    assert 58 < total < 64


def test_plan_json_says_layout_replicas_precision_method_and_disaggregation():
    d = ok_json("plan", "--model", "gpt-oss-120b", "--chip", "b200", "--chips", "8", "--json")
    for p in d["frontier"] + list(d["best"].values()):
        assert {"layout", "replicas", "precision", "speculative", "disaggregated", "tpot_p99_s",
                "ttft_s", "chips_used", "prefill_replicas"} <= set(p)
    assert any(p["speculative"].startswith("eagle") for p in d["frontier"])
    assert all("mxfp4" in p["precision"] for p in d["frontier"])


def test_models_show_counts_active_params_as_the_card_does():
    d = ok_json("models", "show", "gpt-oss-120b", "--json")
    assert d["active_params"] == pytest.approx(5.13e9, rel=0.01)
    assert ok_json("models", "show", "qwen3-coder-480b-a35b", "--json")["active_params"] == pytest.approx(35e9,
                                                                                                        rel=0.03)


def test_compare_reads_each_frontier_at_per_user_speeds():
    d = ok_json("compare", "--chip", "b200", "--system", "cs3-cluster-4", "--json")
    assert d["tokens_per_s_per_user"] == [50, 100, 200, 500, 1000]
    b200, cs3 = d["systems"]
    assert [c["min_tokens_per_s_per_user"] for c in b200["cells"]] == [50, 100, 200, 500, 1000]
    assert not b200["cells"][-1]["reachable"] and b200["fastest"]["output_tokens_per_s_per_user"] < 1000
    assert cs3["cells"][-1]["reachable"]  # the wafer holds the real-time records
    for c in b200["cells"]:
        if c["reachable"]:
            assert c["output_tokens_per_s_per_user"] >= c["min_tokens_per_s_per_user"]
            assert {"concurrency", "replicas", "ttft_s", "tpot_p99_s", "output_tokens_per_joule"} <= set(c)
    r = run("compare", "--chip", "b200")
    assert r.exit_code == 0 and "Real-time frontier: gpt-oss-120b, 2048-token prompts" in r.stdout
