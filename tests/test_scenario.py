"""Scenario files: the shipped examples load and run; bad files are refused naming file and key;
flag overrides deep-merge into a scenario mapping."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from jalapeno.errors import JalapenoError, SpecError
from jalapeno.serving.run import simulate
from jalapeno.serving.scenario import Scenario, load_scenario, merge, parse_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FILES = ["coding-agent.yaml", "azure-code-h100.yaml", "disaggregated.yaml", "speculative.yaml"]

# Each example cut down so the whole module runs in seconds (the files themselves run in a few).
SMALL = {
    "coding-agent.yaml": {"workload": {"num_requests": 300}},
    "azure-code-h100.yaml": {"workload": {"num_requests": 200}},
    "disaggregated.yaml": {"workload": {"duration_s": 15.0}},
    "speculative.yaml": {"workload": {"num_requests": 40}},
}


def raw_example(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text())


def small_example(name: str, **extra) -> Scenario:
    return parse_scenario(merge(merge(raw_example(name), SMALL[name]), extra), str(EXAMPLES / name))


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# --- the examples ---------------------------------------------------------------------------------

def test_examples_folder_has_the_four_examples():
    assert {p.name for p in EXAMPLES.glob("*.yaml")} >= set(EXAMPLE_FILES)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_loads_as_written(name):
    sc = load_scenario(EXAMPLES / name)
    assert isinstance(sc, Scenario)
    text = (EXAMPLES / name).read_text()
    assert text.lstrip().startswith("#"), "examples open with a comment saying what they show"
    # Every top-level key the brief lists appears in the file, so the examples double as reference.
    raw = raw_example(name)
    assert {"model", "chip", "tp", "pp", "ep", "precision", "workload", "serving"} <= set(raw)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_runs(name):
    s = simulate(small_example(name)).summary()
    assert s["requests"] > 0
    assert s["finished"] + s["dropped"] == s["requests"]
    # Only prompts beyond the model's context window are refused (coding-agent: Qwen2.5-Coder's
    # 32k window against Mooncake's longest conversations), and every request is accounted for.
    assert s["dropped"] == s["dropped_reasons"].get("context_window", 0), s["dropped_reasons"]
    assert s["in_flight"] == 0
    assert s["output_tokens_per_s"] > 0 and s["ttft_s_p99"] > 0 and s["tpot_s_p50"] > 0


def test_coding_agent_uses_prefix_caching_and_affinity():
    sc = load_scenario(EXAMPLES / "coding-agent.yaml")
    assert sc.workload.trace == "mooncake-conversation"
    assert sc.serving.router == "prefix_affinity" and sc.serving.replicas > 1
    assert sc.serving.scheduler.prefix_caching
    s = simulate(small_example("coding-agent.yaml")).summary()
    assert s["prefix_hit_rate"] > 0.02
    no_cache = simulate(small_example("coding-agent.yaml", serving={"scheduler": {"prefix_caching": False}}))
    assert no_cache.summary()["prefix_hit_rate"] == 0.0


def test_azure_code_example_is_eight_h100s():
    sc = load_scenario(EXAMPLES / "azure-code-h100.yaml")
    assert sc.chip == "h100-sxm" and sc.workload.trace == "azure-code"
    assert sc.tp * sc.pp * sc.serving.replicas == 8


def test_disaggregated_example_keeps_tpot_flatter_than_colocated():
    sc = small_example("disaggregated.yaml")
    dis = sc.serving.disaggregation
    assert dis.enabled and dis.prefill_replicas == 1 and dis.decode_replicas == 3
    s = simulate(sc).summary()
    assert s["replicas"] == 4
    colocated = small_example("disaggregated.yaml", serving={"replicas": 4, "disaggregation": {"enabled": False}})
    c = simulate(colocated).summary()
    assert c["replicas"] == 4
    assert s["tpot_s_p99"] < c["tpot_s_p99"]


def test_speculative_example_lowers_time_per_output_token():
    sc = small_example("speculative.yaml")
    assert sc.serving.speculative.method == "draft" and sc.serving.speculative.draft_model
    spec = simulate(sc).summary()
    plain = simulate(small_example("speculative.yaml", serving={"speculative": {"method": "none"}})).summary()
    assert spec["output_tokens"] == plain["output_tokens"]
    assert spec["tpot_s_p50"] < plain["tpot_s_p50"]


# --- errors name the file and the key ------------------------------------------------------------

def _refused(tmp_path: Path, text: str) -> tuple[Path, str]:
    p = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_scenario(p)
    msg = str(info.value)
    assert msg.startswith(str(p)), msg
    assert "\n" not in msg
    return p, msg


def test_unknown_top_level_key(tmp_path):
    _, msg = _refused(tmp_path, "model: llama-3.1-8b\nwrkload: {num_requests: 3}\n")
    assert "'wrkload'" in msg


def test_unknown_nested_key(tmp_path):
    _, msg = _refused(tmp_path, "serving:\n  scheduler:\n    max_seqs: 4\n")
    assert "serving.scheduler.max_seqs" in msg


def test_negative_rate(tmp_path):
    _, msg = _refused(tmp_path, "workload: {generator: poisson, rate_per_s: -2, duration_s: 10}\n")
    assert "workload.rate_per_s" in msg and "-2" in msg


def test_trace_and_generator_both_given(tmp_path):
    _, msg = _refused(tmp_path, "workload: {trace: azure-code, generator: poisson, rate_per_s: 1, "
                                "duration_s: 10}\n")
    assert "'workload'" in msg and "trace" in msg and "generator" in msg


def test_poisson_without_rate(tmp_path):
    _, msg = _refused(tmp_path, "workload: {generator: poisson, duration_s: 10}\n")
    assert "'workload'" in msg and "rate_per_s" in msg


def test_generator_without_a_stop(tmp_path):
    _, msg = _refused(tmp_path, "workload: {generator: profile, profile: azure-conv}\n")
    assert "'workload'" in msg and "duration_s" in msg and "num_requests" in msg


@pytest.mark.parametrize(("text", "key"), [
    # wrong types
    ("tp: four\n", "'tp'"),
    ("serving: {scheduler: {max_num_seqs: many}}\n", "serving.scheduler.max_num_seqs"),
    ("serving: {scheduler: {chunked_prefill: maybe}}\n", "serving.scheduler.chunked_prefill"),
    ("workload: azure-code\n", "'workload'"),
    ("serving: {slo: {ttft_s: fast}}\n", "serving.slo.ttft_s"),
    # bad values
    ("serving: {router: random}\n", "serving.router"),
    ("serving: {speculative: {method: draft}}\n", "serving.speculative"),
    ("serving: {speculative: {num_tokens: 0}}\n", "serving.speculative.num_tokens"),
    ("serving: {speculative: {acceptance_rate: 1.5}}\n", "serving.speculative.acceptance_rate"),
    ("serving: {disaggregation: {link: carrier-pigeon}}\n", "serving.disaggregation.link"),
    ("serving: {scheduler: {kv_reservation: sometimes}}\n", "serving.scheduler.kv_reservation"),
    ("workload: {trace: azure-code, num_requests: 0}\n", "workload.num_requests"),
    ("serving: {replicas: 0}\n", "serving.replicas"),
])
def test_wrong_type_or_bad_value_names_the_key(tmp_path, text, key):
    _, msg = _refused(tmp_path, text)
    assert key in msg


def test_several_problems_reported_together(tmp_path):
    _, msg = _refused(tmp_path, "tp: 0\nserving: {router: random}\n")
    assert "'tp'" in msg and "serving.router" in msg


def test_missing_file(tmp_path):
    p = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as info:
        load_scenario(p)
    assert str(p) in str(info.value) and "no such file" in str(info.value)


def test_not_yaml(tmp_path):
    p = write(tmp_path, "model: [llama\n")
    with pytest.raises(SpecError) as info:
        load_scenario(p)
    assert str(p) in str(info.value) and "YAML" in str(info.value)


def test_not_a_mapping(tmp_path):
    p = write(tmp_path, "- model\n- chip\n")
    with pytest.raises(SpecError) as info:
        load_scenario(p)
    assert str(p) in str(info.value) and "mapping" in str(info.value)


def test_empty_file_is_all_defaults(tmp_path):
    sc = load_scenario(write(tmp_path, "# nothing here\n"))
    assert sc == Scenario()
    assert sc.model == "llama-3.1-8b" and sc.chip == "h100-sxm"


def test_parse_scenario_names_its_source():
    with pytest.raises(SpecError) as info:
        parse_scenario({"bogus": 1}, "command-line flags")
    assert str(info.value).startswith("command-line flags:") and "bogus" in str(info.value)
    assert isinstance(info.value, JalapenoError)


def test_scenario_is_frozen():
    sc = Scenario()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError
        sc.tp = 2


# --- merge() --------------------------------------------------------------------------------------

def test_merge_skips_none():
    assert merge({"model": "a", "tp": 2}, {"model": None, "tp": None}) == {"model": "a", "tp": 2}


def test_merge_overrides_scalars_and_adds_keys():
    assert merge({"model": "a", "tp": 2}, {"tp": 4, "chip": "b200"}) == {"model": "a", "tp": 4, "chip": "b200"}


def test_merge_is_deep_and_keeps_siblings():
    base = {"serving": {"replicas": 2, "scheduler": {"max_num_seqs": 8, "block_size": 32}}}
    out = merge(base, {"serving": {"scheduler": {"max_num_seqs": 64, "chunked_prefill": None}, "router": None}})
    assert out == {"serving": {"replicas": 2, "scheduler": {"max_num_seqs": 64, "block_size": 32}}}


def test_merge_creates_missing_and_null_sections():
    assert merge({}, {"serving": {"slo": {"ttft_s": 1.0}}}) == {"serving": {"slo": {"ttft_s": 1.0}}}
    assert merge({"serving": None}, {"serving": {"replicas": 3}}) == {"serving": {"replicas": 3}}


def test_merge_all_none_section_leaves_an_empty_mapping():
    # An override section whose every flag was left out still validates to the defaults.
    out = merge({}, {"serving": {"speculative": {"method": None, "num_tokens": None}}})
    assert out == {"serving": {"speculative": {}}}
    assert parse_scenario(out).serving.speculative.method == "none"


def test_merge_does_not_mutate_its_inputs():
    base = {"workload": {"trace": "azure-code", "num_requests": 5}, "serving": {"scheduler": {"max_num_seqs": 8}}}
    over = {"workload": {"num_requests": 7}, "serving": {"scheduler": {"max_num_seqs": 16}}}
    base_copy, over_copy = copy.deepcopy(base), copy.deepcopy(over)
    out = merge(base, over)
    assert base == base_copy and over == over_copy
    assert out["workload"] == {"trace": "azure-code", "num_requests": 7}
    assert out["serving"]["scheduler"]["max_num_seqs"] == 16


def test_merge_false_and_zero_are_overrides_not_missing():
    out = merge({"serving": {"scheduler": {"prefix_caching": True, "max_num_seqs": 8}}, "seed": 3},
                {"serving": {"scheduler": {"prefix_caching": False}}, "seed": 0})
    assert out["serving"]["scheduler"]["prefix_caching"] is False
    assert out["seed"] == 0


def test_merge_then_parse_round_trip_of_an_example():
    raw = raw_example("disaggregated.yaml")
    sc = parse_scenario(merge(raw, {"workload": {"rate_per_s": 3.0}, "serving": {"disaggregation": {
        "decode_replicas": 2}}}))
    assert sc.workload.rate_per_s == 3.0 and sc.workload.generator == "poisson"
    assert sc.serving.disaggregation.enabled and sc.serving.disaggregation.decode_replicas == 2
    assert sc.serving.disaggregation.prefill_replicas == 1
    # A scenario's own dump parses back to the same scenario.
    assert parse_scenario(sc.model_dump()) == sc
