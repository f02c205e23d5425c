"""Fuzzers for the two files users write most: a model's config.json and a chip file. Every
generated input ends in one of two ways: a clean error (a JalapenoError, which the CLI prints as
one line), or a prediction whose figures are all finite and in range. Never a traceback, never
a NaN, a negative rate or an infinite answer."""

from __future__ import annotations

import functools
import math
import os

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from jalapeno.engine.predict import Workload, predict
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import load_chip, make_system
from jalapeno.hardware.spec import ChipSpec
from jalapeno.models.config import load_model, parse_config

WL = Workload(512, 64)
# The suite runs a fixed set (deterministic); JALAPENO_FUZZ_EXAMPLES=5000 explores fresh random inputs.
EXAMPLES = int(os.environ.get("JALAPENO_FUZZ_EXAMPLES", "300"))
DERANDOMIZE = "JALAPENO_FUZZ_EXAMPLES" not in os.environ

odd_numbers = st.one_of(
    st.integers(1, 4096), st.integers(1, 4096), st.integers(-5, 5), st.integers(1, 200_000),
    st.sampled_from([0, 1, 2, 7, 64, 128, 4096, 10**9, 10**15]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([None, True, "12", [4], {}]))
CONFIG_KEYS = ["hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size",
               "intermediate_size", "head_dim", "max_position_embeddings", "sliding_window", "num_local_experts",
               "num_experts_per_tok", "moe_intermediate_size", "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim",
               "qk_nope_head_dim", "v_head_dim", "first_k_dense_replace", "n_shared_experts",
               "attention_chunk_size", "decoder_sparse_step"]
SMALL = {"model_type": "llama", "hidden_size": 512, "num_hidden_layers": 4, "num_attention_heads": 8,
         "num_key_value_heads": 2, "vocab_size": 32000, "intermediate_size": 1536, "max_position_embeddings": 8192}


@functools.cache
def _h100():
    return make_system("h100-sxm", 1)


def _check_prediction(p) -> None:
    d = p.to_dict()
    for key in ("output_tokens_per_s", "ttft_s", "tpot_s", "power_w"):
        v = d[key]
        assert isinstance(v, int | float) and math.isfinite(v) and v > 0, (key, v)
    assert d["output_tokens_per_s"] < 1e9 and d["power_w"] < 1e5


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(CONFIG_KEYS), odd_numbers, min_size=1, max_size=4),
       drop=st.lists(st.sampled_from(list(SMALL)), max_size=2))
def test_config_json_fuzz_gives_a_clean_error_or_a_finite_answer(changes, drop):
    cfg = {k: v for k, v in {**SMALL, **changes}.items() if k not in drop}
    try:
        model = parse_config(cfg, "fuzz", "fuzz/config.json")
        p = predict(model, _h100(), WL, precision="bf16")
    except JalapenoError as exc:
        assert "\n" not in str(exc)
        event("clean error")
        return
    event("answer")
    _check_prediction(p)


@functools.cache
def _chip_plain() -> dict:
    return load_chip("h100-sxm").model_dump(exclude={"sources"})


CHIP_PATHS = [("clock_ghz",), ("matrix", "units"), ("matrix", "tile_m"), ("matrix", "peak_tflops", "bf16"),
              ("matrix", "peak_tflops", "fp8"), ("vector", "peak_tflops"), ("memory", 0, "capacity_gib"),
              ("memory", 0, "bandwidth_gb_s"), ("memory", 0, "energy_pj_per_byte"), ("memory", 1, "capacity_gib"),
              ("memory", 1, "bandwidth_gb_s"), ("links", "count"), ("links", "bandwidth_gb_s"),
              ("links", "latency_us"), ("links", "max_domain_chips"), ("power", "tdp_w"), ("power", "idle_w"),
              ("power", "active_w"), ("silicon", "process_node_nm"), ("node", "host_power_w"),
              ("node", "chips_per_node")]
chip_values = st.one_of(st.floats(0.5, 5000), st.floats(0.5, 5000), st.floats(allow_nan=True, allow_infinity=True),
                        st.integers(-10, 10**7),
                        st.sampled_from([0, 1e-9, 1e-3, 0.45, 3.35, 1980, 1e15, None, "900", True]))


def _set(tree, path, value):
    node = tree
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.sampled_from(CHIP_PATHS), chip_values), min_size=1, max_size=3))
def test_chip_file_fuzz_gives_a_clean_error_or_a_finite_answer(changes):
    import copy

    plain = copy.deepcopy(_chip_plain())
    for path, value in changes:
        _set(plain, path, value)
    try:
        chip = ChipSpec.model_validate(plain)
    except ValidationError:
        event("refused by the chip spec")
        return  # the loader reports these as one line naming the file and field (tests/test_bad_chips.py)
    try:
        p = predict(load_model("llama-3.1-8b"), make_system(chip, 1), WL, precision="bf16")
    except JalapenoError as exc:
        assert "\n" not in str(exc)
        event("clean error")
        return
    event("answer")
    _check_prediction(p)
