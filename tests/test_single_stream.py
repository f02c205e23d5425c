"""Single-stream speeds: pipelines pay the host once per token, drafts come from the catalog,
SRAM-resident pipelines spread a draft like the target, and the planner's fastest point per
user stays near the published one-user speeds (validation/data/single_stream.csv)."""

from __future__ import annotations

import pytest

from jalapeno.engine.planner import plan_deployment
from jalapeno.engine.predict import Workload
from jalapeno.engine.speculative import SpecRequest, catalog_draft, resolve_spec
from jalapeno.errors import JalapenoError
from jalapeno.hardware.systems import load_system
from jalapeno.kernels.execution import pipeline_time
from jalapeno.models.config import load_model
from jalapeno.validation.single_stream_rows import predict_single_streams


def test_a_lone_sequence_pays_the_host_once_and_a_full_pipeline_overlaps_it():
    stage, host = 1.0e-3, 0.2e-3  # a stage's step time with the host's share in it
    assert pipeline_time(stage, 1, host, 1.0) == stage
    assert pipeline_time(stage, 8, host, 1 / 8) == pytest.approx(host + 8 * 0.8e-3)
    assert pipeline_time(stage, 8, host, 1.0) == pytest.approx(host + 8 * 0.8e-3)  # device-bound
    slow_host = pipeline_time(0.5e-3, 8, 0.4e-3, 1.0)  # the host is the longer: it sets the tick
    assert slow_host == pytest.approx(0.4e-3 + 8 * 0.4e-3)


def test_catalog_drafts_share_the_vocabulary_and_are_much_smaller():
    target = load_model("llama-3.3-70b")
    draft = catalog_draft(target)
    assert draft is not None and draft.id == "llama-3.2-1b" and draft.vocab == target.vocab
    assert catalog_draft(load_model("gpt-oss-120b")) is None  # gpt-oss-20b is not a quarter of it
    spec = resolve_spec(target, "draft")
    assert spec.draft_model is not None and "llama-3.2-1b" in spec.label()
    with pytest.raises(JalapenoError, match="--spec draft: the catalog has no draft for gpt-oss-120b.*--draft-model"):
        resolve_spec(load_model("gpt-oss-120b"), "draft")


def test_an_sram_pipeline_spreads_its_draft_over_the_stages():
    # Llama-3.3-70B at 8 bits fills 576 Groq LPUs; a 1B draft fits only spread like the target.
    res = plan_deployment(load_model("llama-3.3-70b"), load_system("groqrack-576").system_spec(),
                          Workload(1000, 1000), "int8", spec=SpecRequest("draft"))
    assert res.points and all(p.speculative.startswith("draft") for p in res.points)


def test_a_cerebras_cluster_grows_for_a_405b_model():
    system = load_system("cs3-cluster-4", num_chips=32).system_spec()
    assert system.num_chips == 32 and system.scale_up_chips == 1  # tp stays on one wafer
    res = plan_deployment(load_model("llama-3.1-405b"), system, Workload(1000, 1000))
    assert res.points and max(p.output_tokens_per_s_per_user for p in res.points) > 300


def test_planned_single_streams_stay_near_the_published_speeds():
    rows = predict_single_streams()
    errors = sorted(abs(r.error_pct) for r in rows if r.error_pct is not None)
    assert len(rows) >= 30 and len(errors) >= len(rows) - 2
    assert errors[len(errors) // 2] <= 25.0  # the bound on held-out rows of this kind
    for r in rows:
        assert r.source.startswith("https://") and (r.error_pct is not None or r.method.startswith("not planned"))


def test_a_model_whose_format_does_not_fit_is_planned_narrower_and_said_so():
    m, system, wl = load_model("llama-3.3-70b"), load_system("groqrack-576").system_spec(), Workload(1000, 1000)
    res = plan_deployment(m, system, wl)
    assert res.points and "bf16 weights of llama-3.3-70b fit no layout" in res.note and "int8" in res.note
    assert all(p.precision_short.startswith("int8") or "int8" in p.precision for p in res.points)
    assert not plan_deployment(m, system, wl, "bf16").points  # a precision the user names is kept
    assert plan_deployment(load_model("llama-3.1-8b"), system, wl).note == ""
