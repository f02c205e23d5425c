"""The bad-input catalogue, model configs: every size field of a config.json given a value that is
not a size (zero where 0 means nothing, negative, fractional, text, a bool, absurdly large,
NaN/Infinity), and malformed files, are refused with exit 2 and one line naming the file and
the key. Each case is one parse (`models show`)."""

from __future__ import annotations

import json

import pytest
from bad_inputs import refused

BASE = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
        "num_key_value_heads": 8, "vocab_size": 128256, "intermediate_size": 14336,
        "max_position_embeddings": 131072}
MOE = {**BASE, "model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 2}

COMMON_BAD = ["-1", "1.5", '"32"', "true", "1e15", "NaN", "Infinity", "-Infinity", "[4]", "{}"]
MODEL_FIELDS = {
    "hidden_size": ["0", *COMMON_BAD],
    "num_hidden_layers": ["0", "1e9", *COMMON_BAD],
    "num_attention_heads": ["0", "5000", *COMMON_BAD],  # 5000 heads do not fit 4096 hidden
    "num_key_value_heads": ["0", "5", *COMMON_BAD],  # 5 does not divide 32
    "vocab_size": ["0", *COMMON_BAD],
    "intermediate_size": ["0", *COMMON_BAD],
    "head_dim": ["0", *COMMON_BAD],
    "max_position_embeddings": ["0", *COMMON_BAD],
    "sliding_window": ["-4096", "1.5", '"4096"', "1e15", "NaN"],
}
MODEL_CASES = [(f, v) for f, vals in MODEL_FIELDS.items() for v in vals]
MOE_FIELDS = {
    "num_local_experts": ["-1", "1.5", "1e9", '"8"'],
    "num_experts_per_tok": ["0", "9", "-1", "2.5", '"2"'],  # 9 > 8 experts
    "moe_intermediate_size": ["0", "-5", "1e12"],
    "first_k_dense_replace": ["-1", "0.5", '"3"'],
    "moe_layer_freq": ["0", "-1"],
    "decoder_sparse_step": ["0", "-2"],
    "mlp_only_layers": ['"0,1"', "[1.5]", "5"],
}
MOE_CASES = [(f, v) for f, vals in MOE_FIELDS.items() for v in vals]


def _write(tmp_path, base: dict, field: str, raw_value: str):
    body = json.dumps({k: v for k, v in base.items() if k != field})
    p = tmp_path / "config.json"
    p.write_text(body[:-1] + f', "{field}": {raw_value}}}')
    return p


@pytest.mark.parametrize("field, value", MODEL_CASES, ids=[f"{f}={v}" for f, v in MODEL_CASES])
def test_bad_model_field(tmp_path, field, value):
    p = _write(tmp_path, BASE, field, value)
    msg = refused("models", "show", p, "--json", names=(str(p),))
    named = field if value not in ("NaN", "Infinity", "-Infinity") else "not valid JSON"
    assert named in msg or (field == "num_attention_heads" and "head" in msg), msg


@pytest.mark.parametrize("field, value", MOE_CASES, ids=[f"{f}={v}" for f, v in MOE_CASES])
def test_bad_moe_field(tmp_path, field, value):
    base = {**MOE, "first_k_dense_replace": 1} if field == "moe_layer_freq" else MOE
    base = {**base, "model_type": "qwen2_moe"} if field in ("decoder_sparse_step", "mlp_only_layers") else base
    p = _write(tmp_path, base, field, value)
    refused("models", "show", p, "--json", names=(str(p), field))


MODEL_FILES = {
    "duplicate key": ('{"hidden_size": 4096, "hidden_size": 2048}', "hidden_size"),
    "not JSON": ("{hidden_size: 4096}", "not valid JSON"),
    "truncated": ('{"hidden_size": 4096,', "not valid JSON"),
    "a list": ("[1, 2, 3]", "JSON object"),
    "a number": ("42", "JSON object"),
    "empty": ("", "not valid JSON"),
    "deep nesting": ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
    "nesting past the limit": ('{"x": ' + "[" * 80 + "]" * 80 + "}", "nested"),
    "missing layers": (json.dumps({k: v for k, v in BASE.items() if k != "num_hidden_layers"}), "num_hidden_layers"),
    "missing hidden": (json.dumps({k: v for k, v in BASE.items() if k != "hidden_size"}), "hidden_size"),
    "missing heads": (json.dumps({k: v for k, v in BASE.items() if k != "num_attention_heads"}),
                      "num_attention_heads"),
    "missing vocab": (json.dumps({k: v for k, v in BASE.items() if k != "vocab_size"}), "vocab_size"),
    "bad text_config": (json.dumps({"text_config": {**BASE, "hidden_size": -1}}), "hidden_size"),
    "binary": ("\udcff", "UTF-8"),
}


@pytest.mark.parametrize("name", list(MODEL_FILES))
def test_bad_model_file(tmp_path, name):
    text, field = MODEL_FILES[name]
    p = tmp_path / "config.json"
    if name == "binary":
        p.write_bytes(b"\xff\xfe\x00{")
    else:
        p.write_text(text)
    refused("models", "show", p, "--json", names=(str(p), field))


def test_missing_model_file_and_folder(tmp_path):
    refused("models", "show", tmp_path / "none.json", names=("none.json", "no such file"))
    refused("models", "show", tmp_path, names=(str(tmp_path), "no such file"))  # a folder without config.json


def test_the_base_config_itself_loads(tmp_path):
    from cli_helpers import ok_json

    p = tmp_path / "config.json"
    p.write_text(json.dumps(MOE))
    d = ok_json("models", "show", p, "--json")
    assert d["moe"] and d["experts"] == 8
