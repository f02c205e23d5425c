"""Reading Hugging Face style `config.json` files into a `ModelSpec`.

Config files spell the same fact many ways (`num_local_experts` / `num_experts` /
`n_routed_experts`, GPT-J's `n_embd`, Llama 4's nested `text_config`, per-layer `layer_types`).
This module is the one place that knows those spellings; it is pure JSON reading, no torch.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jalapeno.errors import SpecError, UnknownIdError
from jalapeno.models.spec import Attention, LayerGroup, Mlp, ModelSpec
from jalapeno.safeload import read_json

_DATA = resources.files("jalapeno.models") / "data" / "configs"

# Architectures whose MLP is a plain two-matrix (up, down) GELU block rather than gated SwiGLU.
_UNGATED = {"gptj", "gpt2", "gpt_bigcode", "starcoder2", "gpt_neox", "falcon", "opt", "bloom", "phi"}


def model_ids() -> list[str]:
    return sorted(p.name[: -len(".json")] for p in _DATA.iterdir() if p.name.endswith(".json"))


def model_path(ref: str) -> Path:
    if ref.endswith(".json") or "/" in ref:
        path = Path(ref)
        if path.is_dir():
            path = path / "config.json"
        return path
    path = Path(str(_DATA / f"{ref}.json"))
    if not path.exists():
        raise UnknownIdError("model", ref, model_ids())
    return path


@lru_cache(maxsize=256)
def load_model(ref: str) -> ModelSpec:
    """Load a model by catalog id or by the path of a config.json."""
    path = model_path(ref)
    cfg = read_json(path, "config.json")
    if not isinstance(cfg, dict):
        raise SpecError(str(path), [("(file)", "expected a JSON object (a Hugging Face config.json)")])
    model_id = path.stem if path.name != "config.json" else path.parent.name
    return parse_config(cfg, model_id, str(path))


def parse_config(cfg: dict[str, Any], model_id: str, where: str = "<config>") -> ModelSpec:
    top = cfg
    if isinstance(cfg.get("text_config"), dict):  # multimodal wrappers (Llama 4): the LLM is inside
        cfg = {**{k: v for k, v in cfg.items() if k != "text_config"}, **cfg["text_config"]}
    r = _Reader(cfg, where)
    hidden = r.int("hidden_size", "n_embd", "d_model", lo=1, hi=1_000_000)
    n_layers = r.int("num_hidden_layers", "n_layer", "num_layers", lo=1, hi=10_000)
    heads = r.int("num_attention_heads", "n_head", lo=1, hi=100_000)
    kv_heads = r.int("num_key_value_heads", "num_kv_heads", "multi_query_group_num", default=heads, lo=1,
                     hi=100_000)
    head_dim = r.int("head_dim", default=0, hi=100_000) or hidden // heads
    if head_dim < 1:
        raise SpecError(where, [("num_attention_heads", f"{heads} heads do not fit in hidden_size {hidden} "
                                                        "(head_dim would be 0)")])
    vocab = r.int("vocab_size", "padded_vocab_size", lo=1, hi=10_000_000)
    model_type = str(cfg.get("model_type", "")).lower()
    if heads % max(kv_heads, 1):
        raise SpecError(where, [("num_key_value_heads", f"{kv_heads} does not divide num_attention_heads {heads}")])

    gated = model_type not in _UNGATED
    attn_bias = bool(cfg.get("attention_bias", False) or cfg.get("use_bias", False))
    qkv_bias = attn_bias or model_type in ("qwen2", "qwen2_moe")
    o_bias = attn_bias  # HF `attention_bias` covers q, k, v and o; Qwen2's built-in bias is q, k, v only
    mlp_bias = bool(cfg.get("mlp_bias", False) or cfg.get("use_bias", False)) or model_type in ("gptj", "gpt_oss")

    kinds = _attention_kinds(cfg, n_layers, model_type, r)
    mla = {}
    if r.int("kv_lora_rank", default=0, hi=1_000_000, zero_means="no MLA"):
        mla = dict(q_lora_rank=r.int("q_lora_rank", default=0, hi=1_000_000, zero_means="no query compression"),
                   kv_lora_rank=r.int("kv_lora_rank"),
                   qk_nope_head_dim=r.int("qk_nope_head_dim", hi=100_000),
                   qk_rope_head_dim=r.int("qk_rope_head_dim", hi=100_000), v_head_dim=r.int("v_head_dim", lo=1,
                                                                                           hi=100_000))

    dense_mlp, moe_mlp, moe_layers = _mlps(r, cfg, n_layers, hidden, gated, mlp_bias)
    groups: Counter = Counter()
    for i in range(n_layers):
        window, chunk = kinds[i]
        attn = Attention(heads=heads, kv_heads=kv_heads, head_dim=head_dim, window=window, chunk=chunk,
                         qkv_bias=qkv_bias, o_bias=o_bias, **mla)
        groups[(attn, moe_mlp if moe_layers[i] else dense_mlp)] += 1
    layers = tuple(LayerGroup(count=c, attention=a, mlp=m) for (a, m), c in groups.items())

    quant = top.get("quantization_config") or cfg.get("quantization_config") or {}
    native, storage, kept = _quantization(quant)
    tied = bool(cfg.get("tie_word_embeddings", top.get("tie_word_embeddings", False)))
    return ModelSpec(
        id=model_id, architecture=model_type or "unknown", hidden=hidden, vocab=vocab, layers=layers,
        tied_embeddings=tied, max_context=r.int("max_position_embeddings", "n_positions", "seq_length", default=0,
                                                hi=1_000_000_000),
        native_format=native, quant_storage=storage, bf16_modules=kept,
        mtp_layers=r.int("num_nextn_predict_layers", "num_mtp_layers", "mtp_num_layers", default=0, hi=1000,
                         zero_means="no MTP layers"),
        source=str(top.get("_source", where)),
        published_params=dict(top.get("_published_params") or {}),
    )


# Module-name fragments of quantization_config exclusion lists and the module kind they keep bf16.
_KEPT = (("self_attn", "attention"), ("attn", "attention"), ("router", "router"), ("mlp.gate", "router"),
         ("embed", "embedding"), ("lm_head", "lm_head"), ("shared_expert", "shared_experts"))


def _quantization(quant: dict) -> tuple[str, str, frozenset]:
    """(native precision, storage format, module kinds kept in bf16) of a quantization_config."""
    if not isinstance(quant, dict) or not quant:
        return "bf16", "", frozenset()
    text = json.dumps(quant).lower()
    method = str(quant.get("quant_method", "")).lower()
    algo = str(quant.get("quant_algo", "")).lower()
    if method == "mxfp4" or "mxfp4" in text:
        native, storage = "fp4", "mxfp4"
    elif "nvfp4" in text or algo == "fp4" or "fp4" in text:
        native, storage = "fp4", "nvfp4"
    elif "fp8" in text or "float8" in text or "e4m3" in text:
        native, storage = "fp8", ("fp8-block" if quant.get("weight_block_size") else "fp8")
    else:
        return "bf16", "", frozenset()
    excluded = []
    for key in ("modules_to_not_convert", "ignore", "ignored_layers", "exclude_modules"):
        val = quant.get(key)
        if isinstance(val, list):
            excluded += [str(v).lower() for v in val]
    kept = {kind for name in excluded for frag, kind in _KEPT if frag in name}
    return native, storage, frozenset(kept)


def _attention_kinds(cfg: dict, n_layers: int, model_type: str, r: _Reader) -> list[tuple[int, int]]:
    """(window, chunk) per layer."""
    window = r.int("sliding_window", default=0, hi=1_000_000_000, zero_means="no sliding window")
    if cfg.get("use_sliding_window") is False:
        window = 0
    chunk = r.int("attention_chunk_size", default=0, hi=1_000_000_000, zero_means="no chunked attention")
    types = cfg.get("layer_types")
    if isinstance(types, list) and len(types) == n_layers:
        out = []
        for t in types:
            t = str(t)
            out.append((int(window), 0) if "sliding" in t else (0, int(chunk)) if "chunk" in t else (0, 0))
        return out
    if chunk and isinstance(cfg.get("no_rope_layers"), list) and len(cfg["no_rope_layers"]) == n_layers:
        # Llama 4: RoPE layers use chunked local attention; NoPE layers (flag 0) attend globally.
        return [(0, int(chunk)) if flag else (0, 0) for flag in cfg["no_rope_layers"]]
    if chunk:
        interval = r.int("no_rope_layer_interval", default=4, lo=1, hi=n_layers + 1)
        return [(0, 0) if (i + 1) % interval == 0 else (0, int(chunk)) for i in range(n_layers)]
    if window and model_type in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"):
        # Qwen applies the window only to layers at or above max_window_layers.
        start = r.int("max_window_layers", default=n_layers, hi=1_000_000)
        return [(int(window), 0) if i >= start else (0, 0) for i in range(n_layers)]
    return [(int(window), 0)] * n_layers


def _mlps(r: _Reader, cfg: dict, n_layers: int, hidden: int, gated: bool, bias: bool):
    inter = r.int("intermediate_size", "n_inner", "ffn_hidden_size", default=0, hi=10_000_000) or 4 * hidden
    experts = r.int("num_local_experts", "num_experts", "n_routed_experts", default=0, hi=100_000,
                    zero_means="a dense model")
    if not experts:
        return Mlp(intermediate=inter, gated=gated, bias=bias), None, [False] * n_layers
    top_k = r.int("num_experts_per_tok", "experts_per_token", "moe_topk", "top_k", lo=1, hi=100_000)
    expert_inter = r.int("moe_intermediate_size", default=0, hi=10_000_000) or inter
    shared = r.int("n_shared_experts", default=0, hi=100_000, zero_means="no shared expert") * expert_inter
    shared = shared or r.int("shared_expert_intermediate_size", default=0, hi=10_000_000,
                             zero_means="no shared expert")
    dense_inter = r.int("intermediate_size_mlp", default=0, hi=10_000_000) or inter
    if cfg.get("model_type") in ("llama4_text", "llama4"):
        shared = expert_inter  # every Llama 4 MoE layer has one shared expert as wide as a routed one
    moe_layers = [True] * n_layers
    if "first_k_dense_replace" in cfg:
        k = r.int("first_k_dense_replace", hi=1_000_000, zero_means="every layer is MoE")
        freq = r.int("moe_layer_freq", default=1, lo=1, hi=1_000_000)
        moe_layers = [i >= k and i % freq == 0 for i in range(n_layers)]
    elif cfg.get("interleave_moe_layer_step") is not None:
        step = r.int("interleave_moe_layer_step", lo=1, hi=1_000_000)
        moe_layers = [(i + 1) % step == 0 for i in range(n_layers)]
    elif cfg.get("decoder_sparse_step") is not None or cfg.get("mlp_only_layers"):
        step = r.int("decoder_sparse_step", default=1, lo=1, hi=1_000_000)
        dense_only = cfg.get("mlp_only_layers") or []
        if not isinstance(dense_only, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                       for i in dense_only):
            raise SpecError(r.where, [("mlp_only_layers", f"expected a list of layer indices, got {dense_only!r}")])
        dense_only = set(dense_only)
        moe_layers = [i not in dense_only and (i + 1) % step == 0 for i in range(n_layers)]
    if top_k > experts:
        raise SpecError(r.where, [("num_experts_per_tok", f"{top_k} is more than the {experts} experts")])
    moe = Mlp(intermediate=expert_inter, gated=gated, bias=bias, experts=experts, top_k=top_k,
              shared_intermediate=shared)
    return Mlp(intermediate=dense_inter, gated=gated, bias=bias), moe, moe_layers


class _Reader:
    """Reads integer fields under any of their spellings, with errors that name the file and key."""

    def __init__(self, cfg: dict, where: str):
        self.cfg, self.where = cfg, where

    def int(self, *names: str, default: int | None = None, lo: int = 0, hi: int = 10**12,
            zero_means: str | None = None) -> int:
        """The first of `names` present, a whole number in [lo, hi]. An explicit 0 for a field
        whose absence means "derive it" (`default=0`) is an error unless `zero_means` says what 0
        means there (e.g. "no sliding window")."""
        for name in names:
            val = self.cfg.get(name)
            if val is None:
                continue
            if (isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val) or val < 0
                    or int(val) != val):
                raise SpecError(self.where, [(name, f"expected a non-negative integer, got {val!r}")])
            val = int(val)
            if val < max(lo, 0):
                raise SpecError(self.where, [(name, f"must be at least {lo}, got {val}")])
            if val > hi:
                raise SpecError(self.where, [(name, f"{val:,} is implausibly large (at most {hi:,})")])
            if val == 0 and default == 0 and zero_means is None:
                raise SpecError(self.where, [(name, "0 is not a size; leave the key out to use the default")])
            return val
        if default is None:
            what = names[0] + (f" (or {', '.join(names[1:])})" if len(names) > 1 else "")
            raise SpecError(self.where, [(what, "is required but missing: is this a decoder LLM config.json?")])
        return default
