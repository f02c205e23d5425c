"""Parallel layouts: parsing, validation messages, memory per chip, expert-parallel lowering,
the planner's frontier, and multi-node systems."""

from __future__ import annotations

import numpy as np
import pytest

from jalapeno.engine.memory import weight_bytes_per_chip
from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.predict import Workload, make_setup, predict
from jalapeno.engine.step import step_cost
from jalapeno.errors import DoesNotFitError, JalapenoError
from jalapeno.formats import precision_for
from jalapeno.hardware.catalog import make_system
from jalapeno.hardware.systems import load_system
from jalapeno.models.config import load_model
from jalapeno.models.lowering import Batch, lower_step
from jalapeno.models.ops import AllReduce, AllToAll
from jalapeno.network.parallel import ParallelPlan


def test_parse_layout():
    plan, dp = ParallelPlan.parse("tp=8,pp=2,ep=16,dp=4")
    assert (plan.tp, plan.pp, plan.ep, dp) == (8, 2, 16, 4)
    assert plan.attn_dp == 2 and plan.chips_per_replica == 32
    with pytest.raises(JalapenoError, match="not of the form"):
        ParallelPlan.parse("tp=8,zz=2")


@pytest.mark.parametrize("plan,chips,needle", [
    (ParallelPlan(tp=3), 8, "does not divide the 32 attention heads"),
    (ParallelPlan(tp=8, ep=16), 16, "above the 8 experts"),
    (ParallelPlan(tp=8, pp=4), 8, "needs 32 chips but the system has 8"),
    (ParallelPlan(tp=4, ep=3), 8, "does not divide the 8 experts"),
])
def test_impossible_layouts_say_why(plan, chips, needle):
    model = "llama-3.1-8b" if plan.ep == 1 else "mixtral-8x7b"
    with pytest.raises(JalapenoError, match=needle):
        make_setup(load_model(model), make_system("h100-sxm", chips), plan, "bf16")


def test_tp_beyond_the_scale_up_domain_is_refused():
    system = load_system("dgx-h100-superpod", num_chips=16).system_spec()
    with pytest.raises(JalapenoError, match="larger than the scale-up domain"):
        make_setup(load_model("llama-3.3-70b"), system, ParallelPlan(tp=16), "fp8")


def test_layout_that_does_not_fit_gives_numbers():
    with pytest.raises(DoesNotFitError, match="GB per chip"):
        make_setup(load_model("llama-3.1-405b"), make_system("h100-sxm", 2), ParallelPlan(tp=2), "bf16")
        predict(load_model("llama-3.1-405b"), make_system("h100-sxm", 2), Workload(1000, 100),
                ParallelPlan(tp=2), "bf16")


def test_weights_per_chip_follow_the_layout():
    m = load_model("llama-3.3-70b")
    prec = precision_for("fp8", ["bf16", "fp8"])
    one = weight_bytes_per_chip(m, prec, ParallelPlan())
    eight = weight_bytes_per_chip(m, prec, ParallelPlan(tp=8))
    layers = (m.total_params - m.embedding_params) * 1.0
    assert one == pytest.approx(layers + m.embedding_params * 2.0, rel=0.01)
    assert eight == pytest.approx(layers / 8 + m.embedding_params * 2.0 / 8, rel=0.02)
    # Layers split 8 ways either way; the vocabulary-parallel tables tp ways, placed with the
    # pipeline's stages (first and last), which hold fewer layers to balance the bytes.
    assert weight_bytes_per_chip(m, prec, ParallelPlan(tp=4, pp=2)) == pytest.approx(
        layers / 8 + m.embedding_params * 2.0 / 8, rel=0.02)


def test_wide_expert_parallel_memory_and_ops():
    m = load_model("deepseek-r1")
    prec = precision_for("fp8", ["bf16", "fp8"])
    narrow = ParallelPlan(tp=8, ep=8)
    wide = ParallelPlan(tp=8, ep=64)
    # Experts spread 64 ways, attention still 8 ways: fewer bytes per chip than tp=8 alone.
    assert weight_bytes_per_chip(m, prec, wide) < 0.2 * weight_bytes_per_chip(m, prec, narrow)
    b = Batch.of(decode_seqs=64, decode_context=1000)
    ops_w = lower_step(m, b, prec, 8, 1, 64)
    ops_n = lower_step(m, b, prec, 8, 1, 8)
    assert sum(isinstance(o, AllToAll) for o in ops_w) == 2  # dispatch + combine in the MoE layer group
    assert not any(isinstance(o, AllToAll) for o in ops_n)
    assert any(isinstance(o, AllReduce) and o.name == "mlp_allreduce" for o in ops_n)


def test_pipeline_send_crosses_nodes_on_a_superpod():
    m = load_model("llama-3.1-405b")
    prec = precision_for("fp8", ["bf16", "fp8"])
    chip = load_system("dgx-h100").chip
    b = Batch.of(decode_seqs=64, decode_context=2000)
    plan = ParallelPlan(tp=8, pp=2)
    pod = load_system("dgx-h100-superpod", num_chips=16).system_spec()
    stack = make_setup(m, pod, plan, "fp8").stack
    inside = step_cost(m, chip, stack, prec, ParallelPlan(tp=4, pp=2), b, pod.effective_topology)
    across = step_cost(m, chip, stack, prec, plan, b, pod.effective_topology)
    # tp=4,pp=2 keeps both stages in one node; tp=8,pp=2 sends between nodes over InfiniBand.
    send_in = inside.time_by_bound["communication"] + inside.time_by_bound["latency"]
    assert float(across.time_s[0]) > 0 and float(send_in[0]) > 0
    chip_only = make_system(chip, 16)  # a chip id beyond one domain gets a default scale-out level
    assert chip_only.effective_topology.scale_up_chips == 8 and chip_only.effective_topology.num_chips >= 16
    p = predict(m, chip_only, Workload(2048, 256), plan, "fp8")
    assert p.output_tokens_per_s > 0


@pytest.fixture(scope="module")
def nvl72_plan():
    system = load_system("gb200-nvl72").system_spec()
    return plan_deployment(load_model("deepseek-r1"), system, Workload(2048, 512), "fp4")


def test_planner_frontier_is_pareto(nvl72_plan):
    res = nvl72_plan
    assert res.frontier and res.layouts_feasible > 1
    tput = np.array([p.output_tokens_per_s_per_chip for p in res.points])
    user = np.array([p.output_tokens_per_s_per_user for p in res.points])
    for f in res.frontier:  # nobody strictly better on both axes
        assert not np.any((tput > f.output_tokens_per_s_per_chip) & (user > f.output_tokens_per_s_per_user))
    assert res.best["throughput"].output_tokens_per_s_per_chip == pytest.approx(tput.max())
    assert res.best["tokens-per-joule"].output_tokens_per_joule == pytest.approx(
        max(p.output_tokens_per_joule for p in res.points))


def test_planner_respects_slos():
    system = load_system("dgx-h100").system_spec()
    res = plan_deployment(load_model("llama-3.1-8b"), system, Workload(1024, 256), "fp8", slo_tpot_s=0.02)
    assert res.points and all(p.tpot_s <= 0.02 for p in res.points)
