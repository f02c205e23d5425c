"""Latency at the operating point: TTFT from the prompt's own chunked-prefill steps, TPOT p50/p99,
checked against the prefill compute floor and against the serving simulator of the same deployment."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jalapeno.engine.predict import Workload, make_setup, predict
from jalapeno.hardware.catalog import make_system
from jalapeno.kernels.gemm import compute_format
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.simulator import Simulator
from jalapeno.workloads.distributions import Fixed
from jalapeno.workloads.generators import poisson

CASES = [("llama-3.1-8b", "h100-sxm", 1, "bf16"), ("llama-3.3-70b", "h200-sxm", 2, "fp8"),
         ("gpt-oss-120b", "b200", 8, None), ("qwen3-30b-a3b", "mi300x", 1, "fp8")]


def prefill_floor_s(model_id: str, chip_id: str, chips: int, precision: str | None, prompt: int) -> float:
    """2 FLOPs per active layer weight per prompt token, on every chip at its peak."""
    m = load_model(model_id)
    system = make_system(chip_id, chips)
    setup = make_setup(m, system, ParallelPlan(tp=chips), precision)
    layer_params = m.active_params - m.lm_head_params - m.hidden
    peak = system.chip.peak_flops(compute_format(setup.prec.weights, setup.prec.activations))
    return 2.0 * layer_params * prompt / (chips * peak)


@settings(max_examples=30, deadline=None)
@given(case=st.sampled_from(CASES), prompt=st.integers(16, 16384), out=st.integers(1, 2048),
       concurrency=st.one_of(st.none(), st.integers(1, 512)))
def test_ttft_never_beats_the_prefill_floor(case, prompt, out, concurrency):
    model_id, chip_id, chips, precision = case
    p = predict(load_model(model_id), make_system(chip_id, chips), Workload(prompt, out), ParallelPlan(tp=chips),
                precision, concurrency)
    assert p.ttft_s >= prefill_floor_s(model_id, chip_id, chips, precision, prompt)
    assert p.tpot_p99_s >= p.tpot_p50_s > 0
    assert p.ttft_s >= p.tpot_p50_s  # the prompt's step carries the decodes too


def test_one_user_on_70b_pays_its_prompt():
    # The case: 70B on 2 x H200, one user, 2048-token prompt. TTFT was one averaged step (25 ms).
    p = predict(load_model("llama-3.3-70b"), make_system("h200-sxm", 2), Workload(2048, 256), ParallelPlan(tp=2),
                "fp8", 1)
    floor = prefill_floor_s("llama-3.3-70b", "h200-sxm", 2, "fp8", 2048)
    assert p.ttft_s > floor
    assert p.ttft_s > 5 * p.tpot_s
    assert p.prefill_steps_per_prompt == 1


def test_long_prompts_take_several_chunks_and_raise_the_p99_gap():
    m = load_model("llama-3.1-8b")
    p = predict(m, make_system("h100-sxm", 1), Workload(30000, 128), ParallelPlan(), "bf16", 8)
    assert p.prefill_steps_per_prompt == 4  # 8192-token budget less the 8 decodes
    assert p.tpot_p99_s > 2 * p.tpot_p50_s


def _simulated(model_id, chip_id, chips, precision, prompt, out, concurrency):
    m = load_model(model_id)
    system = make_system(chip_id, chips)
    plan = ParallelPlan(tp=chips)
    wl = Workload(prompt, out)
    first = predict(m, system, wl, plan, precision, concurrency)
    rate = concurrency / (first.ttft_s + first.tpot_s * (out - 1))
    setup = make_setup(m, system, plan, precision)
    cfg = ServingConfig.model_validate({"scheduler": {"max_num_batched_tokens": setup.stack.max_num_tokens,
                                                      "max_num_seqs": 512}})
    res = Simulator(setup, cfg).run(poisson(rate, num_requests=int(max(300, rate * 40)), input_dist=Fixed(prompt),
                                            output_dist=Fixed(out), seed=3))
    s = res.summary()
    in_flight = rate * s["e2e_s_mean"]  # Little's law: the simulated concurrency
    p = predict(m, system, wl, plan, precision, max(1, round(in_flight)))
    return p, s


@pytest.mark.parametrize("case", [
    ("llama-3.1-8b", "h100-sxm", 1, "bf16", 1024, 128, 2),  # low load
    ("llama-3.1-8b", "h100-sxm", 1, "bf16", 1024, 128, 24),  # moderate
    ("llama-3.3-70b", "h200-sxm", 2, "fp8", 2048, 256, 1),  # low
    ("llama-3.3-70b", "h200-sxm", 2, "fp8", 2048, 256, 12),  # moderate
])
def test_steady_state_agrees_with_the_simulator(case):
    p, s = _simulated(*case)
    assert p.ttft_s == pytest.approx(s["ttft_s_mean"], rel=0.15)
    assert p.tpot_s == pytest.approx(s["tpot_s_mean"], rel=0.15)


@pytest.mark.parametrize("model_id, system_id, precision", [("gpt-oss-120b", "dgx-b200", None),
                                                             ("deepseek-r1", "gb200-nvl72", "fp4")])
def test_no_planned_point_beats_the_prefill_floor(model_id, system_id, precision):
    """Every point plan and compare choose from (colocated or disaggregated, with or without
    speculative decoding) pays at least the prompt's compute on the chips of one replica."""
    from jalapeno.engine.planner import plan_deployment
    from jalapeno.engine.speculative import SpecRequest
    from jalapeno.hardware.systems import load_system

    m = load_model(model_id)
    system = load_system(system_id).system_spec()
    prompt = 4096
    res = plan_deployment(m, system, Workload(prompt, 256), precision, spec=SpecRequest("auto"), disaggregate=True)
    layer_params = m.active_params - m.lm_head_params - m.hidden
    peak = max(system.chip.peak_flops(f) for f in system.chip.native_formats())
    for p in res.points:
        chips = p.chips_used // p.replicas
        assert p.ttft_s >= 2.0 * layer_params * prompt / (chips * peak), p
    assert any(p.disaggregated for p in res.points) and any(p.speculative != "none" for p in res.points)
