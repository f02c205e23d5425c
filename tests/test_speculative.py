"""Speculative decoding and MTP: expected tokens from per-position acceptance, what drafting and
verifying cost, the engine against the serving simulator, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import fails_cleanly, ok_json

from jalapeno.engine.fast_step import FastStep
from jalapeno.engine.predict import Workload, make_setup, predict
from jalapeno.engine.speculative import DEFAULTS, expected_tokens, resolve_spec, sample_accepted
from jalapeno.engine.step import step_cost
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import make_system
from jalapeno.models.config import load_model
from jalapeno.models.lowering import Batch
from jalapeno.network.parallel import ParallelPlan
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.simulator import Simulator
from jalapeno.stacks import load_stack
from jalapeno.workloads.distributions import Fixed
from jalapeno.workloads.generators import poisson


def test_expected_tokens_by_hand():
    assert expected_tokens(()) == 1.0
    assert expected_tokens((0.8, 0.5)) == pytest.approx(1 + 0.8 + 0.4)
    assert expected_tokens((1.0,) * 3) == 4.0
    assert expected_tokens((0.0, 0.9)) == 1.0


def test_sampled_acceptance_matches_the_expectation():
    rng = np.random.default_rng(0)
    acc = (0.9, 0.7, 0.5)
    draws = [sample_accepted(rng, acc) for _ in range(40_000)]
    assert np.mean(draws) + 1 == pytest.approx(expected_tokens(acc), rel=0.02)


def test_defaults_are_sourced_and_match_published_measurements():
    for d in DEFAULTS.values():
        assert d.source and 0 < d.acceptance < 1
    # DeepSeek-V3's report: the second token is accepted 85-90 % of the time.
    assert 0.85 <= DEFAULTS["mtp"].acceptance <= 0.90
    # EAGLE-3 on gpt-oss-120b with 3 draft tokens: 2.41-2.47 tokens per step.
    eagle = resolve_spec(load_model("gpt-oss-120b"), "eagle")
    assert 2.3 <= eagle.tokens_per_step <= 2.6


def test_mtp_needs_the_models_own_layers():
    assert load_model("deepseek-r1").mtp_layers == 1
    with pytest.raises(JalapenoError, match="--spec mtp: gpt-oss-120b has no multi-token-prediction"):
        resolve_spec(load_model("gpt-oss-120b"), "mtp")


def test_draft_must_share_the_vocabulary():
    with pytest.raises(JalapenoError, match="--draft-model llama-3.1-8b.*vocabulary"):
        resolve_spec(load_model("gpt-oss-120b"), "draft", draft_model=load_model("llama-3.1-8b"))
    ok = resolve_spec(load_model("llama-3.3-70b"), "draft", draft_model=load_model("llama-3.1-8b"))
    assert ok.draft_model.id == "llama-3.1-8b"


def test_stack_must_run_the_method():
    groq = load_stack("groq-compiler")
    with pytest.raises(JalapenoError, match="--spec eagle: software stack groq-compiler does not run it"):
        resolve_spec(load_model("llama-3.3-70b"), "eagle", supported=groq.capabilities.spec_methods,
                     stack_id=groq.id)


@pytest.mark.parametrize("kw, needle", [
    ({"acceptance": "0.9,0.8"}, "2 per-position rates but --spec-tokens is 3"),
    ({"acceptance": "1.5"}, "between 0 and 1"),
    ({"acceptance": "high"}, "expects a rate"),
    ({"tokens": 40}, "--spec-tokens must be between 1 and 16"),
])
def test_bad_spec_options(kw, needle):
    with pytest.raises(JalapenoError, match=needle):
        resolve_spec(load_model("llama-3.1-8b"), "ngram", **kw)


def test_speculation_speeds_up_one_user_and_costs_compute_at_large_batches():
    m, system = load_model("gpt-oss-120b"), make_system("b200", 8)
    wl = Workload(2048, 256)
    eagle = resolve_spec(m, "eagle")
    one, one_spec = (predict(m, system, wl, ParallelPlan(tp=8), None, 1, spec=s) for s in (None, eagle))
    assert one_spec.output_tokens_per_s_per_user > 1.5 * one.output_tokens_per_s_per_user
    # Each step verifies k + 1 tokens and runs k draft passes: more time per step than plain decode.
    assert one_spec.tpot_s * one_spec.tokens_per_step > one.tpot_s
    assert one_spec.speculative.startswith("eagle k=3")


def test_verification_reads_each_cache_once():
    m, c = load_model("llama-3.1-8b"), make_system("h100-sxm", 1)
    setup = make_setup(m, c, None, "bf16")
    one = step_cost(m, c.chip, setup.stack, setup.prec, setup.plan, Batch.of(decode_seqs=32, decode_context=8000))
    four = step_cost(m, c.chip, setup.stack, setup.prec, setup.plan,
                     Batch.of(decode_seqs=32, decode_context=8000, decode_width=4))
    # 4 tokens per sequence cost far less than 4 steps (weights and KV cache are read once).
    assert one.time_s[0] < four.time_s[0] < 2 * one.time_s[0]
    fast = FastStep(setup, max_tokens=1024, max_seqs=64)
    est = fast.step(32, 32 * 8000.0, [], 4)
    assert est.time_s == pytest.approx(float(four.time_s[0]), rel=0.05)


@pytest.mark.parametrize("model_id, chips, precision, method, concurrency", [
    ("llama-3.1-8b", 1, "bf16", "eagle", 1),
    ("llama-3.1-8b", 1, "bf16", "eagle", 8),
    ("llama-3.1-8b", 1, "bf16", "ngram", 8),
    ("deepseek-r1", 8, "fp4", "mtp", 8),
])
def test_speculative_predict_agrees_with_the_simulator(model_id, chips, precision, method, concurrency):
    m = load_model(model_id)
    system = make_system("h100-sxm" if chips == 1 else "b200", chips)
    plan, wl = ParallelPlan(tp=chips), Workload(1024, 128)
    spec = resolve_spec(m, method)
    first = predict(m, system, wl, plan, precision, concurrency, spec=spec)
    rate = concurrency / (first.ttft_s + first.tpot_s * (wl.output_tokens - 1))
    setup = make_setup(m, system, plan, precision)
    cfg = ServingConfig.model_validate({"scheduler": {"max_num_batched_tokens": setup.stack.max_num_tokens,
                                                      "max_num_seqs": 512}, "speculative": {"method": method}})
    s = Simulator(setup, cfg).run(poisson(rate, num_requests=300, input_dist=Fixed(1024), output_dist=Fixed(128),
                                          seed=1)).summary()
    p = predict(m, system, wl, plan, precision, max(1, round(rate * s["e2e_s_mean"])), spec=spec)
    assert p.tpot_s == pytest.approx(s["tpot_s_mean"], rel=0.15)
    assert p.ttft_s == pytest.approx(s["ttft_s_mean"], rel=0.15)


def test_cli_spec_errors_name_the_option():
    msg = fails_cleanly("predict", "--model", "gpt-oss-120b", "--chip", "b200", "--chips", "8", "--spec", "mtp")
    assert "--spec mtp" in msg and "multi-token-prediction" in msg
    msg = fails_cleanly("plan", "--model", "gpt-oss-120b", "--chip", "b200", "--chips", "8", "--spec", "draft",
                        "--draft-model", "llama-3.1-8b")
    assert "--draft-model" in msg and "vocabulary" in msg
    msg = fails_cleanly("predict", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--spec", "medusa")
    assert "--spec" in msg and "medusa" in msg


def test_cli_predict_with_mtp():
    d = ok_json("predict", "--model", "deepseek-r1", "--chip", "b200", "--chips", "8", "--precision", "fp4",
                "--concurrency", "1", "--spec", "mtp", "--spec-acceptance", "0.9", "--json")
    assert d["speculative"].startswith("mtp k=1") and d["tokens_per_step"] == pytest.approx(1.9)
    assert d["tpot_p99_s"] >= d["tpot_p50_s"] > 0
