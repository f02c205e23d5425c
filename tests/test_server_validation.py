"""The MLPerf Server path: length distributions from the datasets, the harness settings, the
capacity criterion and metric, and the Server validation bounds."""

from __future__ import annotations

import numpy as np
import pytest

from jalapeno.errors import JalapenoError, SpecError
from jalapeno.serving.capacity import CapacityResult, _passes
from jalapeno.serving.run import scenario_setup, simulate
from jalapeno.serving.scenario import Scenario, WorkloadSpec, parse_scenario
from jalapeno.validation.e2e_rows import mlperf_cases, predict_case
from jalapeno.validation.server_rows import (
    harness_scheduler,
    length_quantiles,
    predict_server,
    predict_servers,
    server_cases,
)
from jalapeno.workloads.distributions import Empirical

SHAPE = {"p0": 10, "p50": 100, "p90": 300, "p100": 1000}


# --- length distributions -------------------------------------------------------------------------

def test_empirical_with_mean_keeps_the_shape_and_the_cap():
    e = Empirical(SHAPE)
    s = e.with_mean(2 * e.mean)
    assert s.mean == pytest.approx(2 * e.mean)
    assert s.value_at(0.5) == pytest.approx(200)
    capped = e.scaled(2, max_value=1024)
    assert capped.values[-1] == 1024 and capped.value_at(0.5) == pytest.approx(200)
    with pytest.raises(JalapenoError):
        e.scaled(0)


@pytest.mark.parametrize("family, mean_in, mean_out", [
    ("llama2-70b", 222.33, 301.6),  # PSAP inputs; what Llama-2-70B generated in the TEST06 logs
    ("mixtral-8x7b", 427.39, 144.84),  # PSAP inputs and reference (= Mixtral's own) outputs
])
def test_length_quantiles_reproduce_the_datasets_means(family, mean_in, mean_out):
    q_in, q_out = length_quantiles(family)
    assert Empirical(q_in).mean == pytest.approx(mean_in, rel=0.02)
    assert Empirical(q_out).mean == pytest.approx(mean_out, rel=0.02)


def test_workload_quantiles_set_the_shape_and_the_mean_sets_the_scale():
    q_in, q_out = length_quantiles("llama2-70b")
    w = WorkloadSpec(generator="poisson", rate_per_s=10, num_requests=20000, input_tokens=222, output_tokens=291,
                     input_quantiles=q_in, output_quantiles=q_out, max_input_tokens=1024, max_output_tokens=1024)
    reqs = list(w.requests())
    ins = np.array([r.input_tokens for r in reqs])
    outs = np.array([r.output_tokens for r in reqs])
    assert ins.mean() == pytest.approx(222, rel=0.03) and outs.mean() == pytest.approx(291, rel=0.03)
    assert outs.max() <= 1024 and ins.max() <= 1024
    # The shape, not a log-normal: Llama-2's answers are rarely very short.
    assert np.percentile(outs, 5) > 50


def test_bad_quantiles_are_refused_with_the_key():
    raw = {"workload": {"generator": "poisson", "rate_per_s": 1, "duration_s": 10,
                        "output_quantiles": {"p0": 10, "p50": 5}}}
    with pytest.raises(SpecError, match="output_quantiles"):
        parse_scenario(raw)


# --- the deployment of a row ----------------------------------------------------------------------

def test_scenario_stack_reaches_the_engine():
    sc = Scenario(model="llama-3.1-8b", chip="h100-sxm", stack="trtllm-0.9", workload=WorkloadSpec(num_requests=1))
    assert scenario_setup(sc).stack.id == "trtllm-0.9"
    assert scenario_setup(sc.model_copy(update={"stack": None})).stack.id == "trtllm"


def test_harness_settings_by_stack():
    nv = harness_scheduler("trtllm", "llama2-70b")
    assert nv["kv_reservation"] == "on_demand" and nv["chunked_prefill"] is False
    assert nv["max_num_batched_tokens"] == 4096
    assert harness_scheduler("trtllm-0.9", "mixtral-8x7b")["max_num_batched_tokens"] == 16384
    assert harness_scheduler("vllm-rocm", "llama2-70b")["max_num_batched_tokens"] == 49152
    other = harness_scheduler("vllm-gaudi", "llama2-70b")  # no known harness: the profile's limits
    assert set(other) == {"max_num_seqs", "max_num_batched_tokens"}


def test_server_rows_use_their_own_stack():
    cases, _ = server_cases()
    tr9 = [c for c in cases if c.extra["software"].startswith("TensorRT 9.")]
    assert tr9 and all(c.stack_id == "trtllm-0.9" for c in tr9)


# --- the capacity criterion and metric ------------------------------------------------------------

def test_stability_checks_are_optional():
    sc = Scenario(workload=WorkloadSpec(num_requests=1))
    # The waiting queue grows by 1.0 +- 0.1 requests/s: over the 480 s a 120 s probe lacks of a
    # 600 s run, at 10 requests/s, that is 48 s more TTFT.
    s = {"finished": 100, "dropped": 0, "ttft_s_p99": 0.5, "tpot_s_p99": 0.05, "waiting_growth_per_s": 1.0,
         "waiting_growth_se_per_s": 0.1}
    assert not _passes(s, sc, 10.0, duration_s=120)
    assert _passes(s, sc, 10.0, duration_s=600)  # a run as long as MLPerf's needs no projection
    assert _passes(s, sc, 10.0, stability_checks=False, duration_s=120)
    assert not _passes({**s, "tpot_s_p99": 0.3}, sc, 10.0, stability_checks=False)


def test_growth_within_its_noise_does_not_fail_a_probe_far_inside_its_slos():
    sc = Scenario(workload=WorkloadSpec(num_requests=1))
    s = {"finished": 100, "dropped": 0, "ttft_s_p99": 0.04, "tpot_s_p99": 0.03, "waiting_growth_per_s": 0.02,
         "waiting_growth_se_per_s": 0.01, "running_growth_per_s": 0.05, "running_growth_se_per_s": 0.02,
         "running_mean": 20}
    assert _passes(s, sc, 16.0, duration_s=120)
    # A running batch of 20 still filling at 1 +- 0.1 sequences/s: 20 + 0.7 x 480 s, capped at 256
    # sequences, is 12.8 times the TPOT.
    assert not _passes({**s, "running_growth_per_s": 1.0, "running_growth_se_per_s": 0.1}, sc, 16.0,
                       duration_s=120)
    assert not _passes({**s, "in_flight": 1}, sc, 16.0)
    # Requests no rate could serve are reported but do not fail a rate; a drop for want of room does.
    assert _passes({**s, "dropped": 2, "dropped_reasons": {"context_window": 2}}, sc, 16.0, duration_s=120)
    assert not _passes({**s, "dropped": 1, "dropped_reasons": {"decode_kv_cache": 1}}, sc, 16.0)


def test_completed_tokens_count_the_drain():
    res = CapacityResult(10.0, {"finished": 1000, "output_tokens": 100_000, "output_tokens_per_s": 950.0}, [])
    assert res.output_tokens_per_s == pytest.approx(1000.0)  # arrival rate x mean output
    assert res.completed_tokens_per_s == pytest.approx(950.0)  # LoadGen: tokens / time to the last completion


def test_reused_step_tables_give_the_same_run():
    sc = Scenario(model="llama-3.1-8b", chip="h100-sxm",
                  workload=WorkloadSpec(generator="poisson", rate_per_s=20, duration_s=20, input_tokens=500,
                                        output_tokens=100, length_sigma=0.5))
    first = simulate(sc)
    again = simulate(sc, step_model=first.replicas[0].fast)
    a, b = first.summary(), again.summary()
    for k in ("finished", "output_tokens", "ttft_s_p99", "tpot_s_p99", "duration_s"):
        assert a[k] == b[k], k


def test_h100_llama_server_stays_below_offline():
    """A Server run can never beat the same system with every request queued (real Server/Offline
    ratios are 0.78-0.99, median 0.94); a probe too short for the batch to fill used to predict 17 % above."""
    label = "NVIDIA DGX-H100_H100-SXM-80GBx8_TRT llama2-70b-99.9"
    server = next(c for c in server_cases()[0] if c.label == label)
    offline = next(c for c in mlperf_cases("Offline")[0] if c.label == label)
    ratio = predict_server(server) / predict_case(offline)
    assert server.layout == offline.layout
    assert 0.85 < ratio < 1.0


# --- the whole table (about 30 s on two cores) ----------------------------------------------------

@pytest.mark.slow
def test_server_validation_bounds():
    cases, _ = server_cases()
    predict_servers(cases)
    err = np.abs([c.error_pct for c in cases])
    assert len(cases) >= 50
    assert np.median(err) <= 10.0
    # The rows still above 25 % are the 8 x H100 PCIe system and the Lenovo H100 NVL (one GPU per
    # replica at 400 W), which the engine overpredicts Offline too, and the GH200-96GB.
    assert np.percentile(err, 90) <= 25.0
    offline = {c.label: predict_case(c) for c in mlperf_cases("Offline")[0]}
    for c in cases:
        if c.label in offline:
            assert c.predicted < offline[c.label], c.label
