"""Model catalog: parameter counts against published figures, structure, and config parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jalapeno.models.config import load_model, model_ids, parse_config

# Models whose card gives only a rounded size label ("7B", "15B") instead of a parameter count:
# the true counts are 6.74B and 15.96B, more than 2% from the label.
ROUNDED_LABELS = {"llama-2-7b", "starcoder2-15b"}


def _ratio(a: float, b: float) -> float:
    return a / b


@pytest.mark.parametrize("model_id", model_ids())
def test_total_params_match_published(model_id):
    m = load_model(model_id)
    published = m.published_params.get("total")
    assert published, f"{model_id}: no _published_params.total in its config.json"
    ratio = _ratio(m.total_params, published)
    if model_id in ROUNDED_LABELS:
        # Only excused while the published figure really is a round size label.
        assert published % 1_000_000_000 == 0, f"{model_id}: published {published} is not a round label"
        assert abs(ratio - 1) <= 0.07, f"{model_id}: {m.total_params:,} vs label {published:,} ({ratio:.3f})"
    else:
        assert abs(ratio - 1) <= 0.02, (
            f"{model_id}: {m.total_params:,} vs published {published:,} ({ratio:.4f})")


@pytest.mark.parametrize("model_id", [i for i in model_ids() if load_model(i).is_moe])
def test_active_params_match_published(model_id):
    m = load_model(model_id)
    published = m.published_params.get("active")
    assert published, f"{model_id}: MoE model without _published_params.active"
    # jalapeno counts active parameters without the input embedding lookup, as gpt-oss's card
    # does; some cards (Llama 4, Qwen3, Mixtral) count the table too.
    candidates = {"with input embedding": m.active_params + m.vocab * m.hidden,
                  "without input embedding": m.active_params}
    errors = {k: _ratio(v, published) - 1 for k, v in candidates.items()}
    # A figure published to two significant digits ("2.4B") is only known to +-half a unit of the
    # last digit; allow that rounding on top of the 2 % (deepseek-coder-v2-lite: 2.45B vs "2.4B").
    digits = len(str(int(published)).rstrip("0"))
    rounding = 0.5 * 10 ** (len(str(int(published))) - digits) / published if digits <= 2 else 0.0
    assert min(abs(e) for e in errors.values()) <= 0.02 + rounding, (
        f"{model_id}: published active {published:,}; model "
        + ", ".join(f"{k} {candidates[k]:,} ({errors[k]:+.2%})" for k in candidates))


def test_rounded_label_models_are_the_only_exceptions():
    """The excused models exist, and their exact counts are the well-known ones."""
    assert ROUNDED_LABELS <= set(model_ids())
    assert load_model("llama-2-7b").total_params == pytest.approx(6.74e9, rel=0.002)
    assert load_model("starcoder2-15b").total_params == pytest.approx(15.96e9, rel=0.002)


def test_catalog_params_are_consistent():
    for model_id in model_ids():
        m = load_model(model_id)
        assert m.total_params > 0
        assert m.active_params <= m.total_params
        if not m.is_moe:  # all but the input embedding lookup (none when tied)
            lookup = 0 if m.tied_embeddings else m.vocab * m.hidden
            assert m.active_params == m.total_params - lookup


# --- structure -------------------------------------------------------------------------------

def test_deepseek_r1_structure():
    m = load_model("deepseek-r1")
    assert all(g.attention.is_mla for g in m.layers)
    moe = sum(g.count for g in m.layers if g.mlp.is_moe)
    dense = sum(g.count for g in m.layers if not g.mlp.is_moe)
    assert (moe, dense) == (58, 3)
    d = m.describe()
    assert d["attention"] == "mla" and d["moe_layers"] == 58
    e = next(g.mlp for g in m.layers if g.mlp.is_moe)
    assert (e.experts, e.top_k) == (256, 8)
    assert e.shared_intermediate == 2048  # one shared expert of moe_intermediate_size


def test_llama4_maverick_structure():
    m = load_model("llama-4-maverick")
    assert m.num_layers == 48
    assert sum(g.count for g in m.layers if g.mlp.is_moe) == 24
    assert m.describe()["moe_layers"] == 24
    e = next(g.mlp for g in m.layers if g.mlp.is_moe)
    assert (e.experts, e.top_k) == (128, 1)


def test_gpt_oss_120b_sliding_layers():
    m = load_model("gpt-oss-120b")
    sliding = [g for g in m.layers if g.attention.window]
    assert sum(g.count for g in sliding) == 18
    assert {g.attention.window for g in sliding} == {128}
    assert sum(g.count for g in m.layers if not g.attention.window) == 18
    assert m.describe()["sliding_window_layers"] == 18


def test_qwen25_coder_7b_has_no_sliding_layers():
    m = load_model("qwen2.5-coder-7b")
    assert all(g.attention.window == 0 for g in m.layers)
    assert m.describe()["sliding_window_layers"] == 0


def test_gpt_j_ungated_mlp():
    m = load_model("gpt-j-6b")
    assert all(not g.mlp.gated and g.mlp.matrices == 2 for g in m.layers)
    assert m.layers[0].mlp.intermediate == 4 * m.hidden  # n_inner null -> 4 * n_embd


# --- parse_config on random llama-like configs ------------------------------------------------

@st.composite
def llama_configs(draw):
    kv_heads = draw(st.integers(1, 16))
    heads = kv_heads * draw(st.integers(1, 8))
    head_dim = draw(st.sampled_from([32, 64, 80, 96, 128, 256]))
    return {
        "model_type": "llama",
        "hidden_size": heads * head_dim,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "num_hidden_layers": draw(st.integers(1, 96)),
        "intermediate_size": draw(st.integers(1, 65536)),
        "vocab_size": draw(st.integers(1, 300_000)),
        "tie_word_embeddings": draw(st.booleans()),
        "mlp_bias": draw(st.booleans()),
    }


@settings(max_examples=200, deadline=None)
@given(cfg=llama_configs())
def test_parse_config_llama_param_formula(cfg):
    m = parse_config(cfg, "random-llama")
    h, layers = cfg["hidden_size"], cfg["num_hidden_layers"]
    inter, vocab = cfg["intermediate_size"], cfg["vocab_size"]
    d = h // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"]
    attn = h * h + 2 * h * kv * d + h * h  # q, k, v, o
    mlp = 3 * h * inter + ((2 * inter + h) if cfg["mlp_bias"] else 0)  # gate, up, down (+ biases)
    norms = 2 * h
    embed = vocab * h * (1 if cfg["tie_word_embeddings"] else 2)
    expected = embed + layers * (attn + mlp + norms) + h  # + final norm
    assert m.total_params == expected
    assert m.active_params == expected - (0 if cfg["tie_word_embeddings"] else vocab * h)
    assert m.num_layers == layers
    assert not m.is_moe


def test_llama_attention_bias_includes_o_proj():
    cfg = {"model_type": "llama", "hidden_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2,
           "num_hidden_layers": 2, "intermediate_size": 512, "vocab_size": 1000, "attention_bias": True}
    m = parse_config(cfg, "llama-bias")
    h, d, kv = 256, 64, 2
    attn = 2 * h * h + 2 * h * kv * d + (h + 2 * kv * d) + h  # weights, q/k/v biases, o bias
    expected = 2 * 1000 * h + 2 * (attn + 3 * h * 512 + 2 * h) + h
    assert m.total_params == expected
