"""ModelSpec: the architecture facts of an LLM that decide its inference cost.

Everything downstream (parameter counts, operator lowering, memory) reads a `ModelSpec`; only
`config.py` knows the many spellings of Hugging Face `config.json` files. Layers that share a
structure are grouped into `LayerGroup`s so the cost of a 61-layer model is a handful of
evaluations, not 61.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attention:
    """The attention block of a layer.

    `window` > 0 means a sliding window of that many tokens; `chunk` > 0 means chunked (local)
    attention in blocks of that many tokens (Llama 4); both 0 means full causal attention.
    MLA (DeepSeek) is set by `kv_lora_rank` > 0: the cache then holds a compressed latent of
    `kv_lora_rank + qk_rope_head_dim` values per token per layer, shared by all heads.
    """

    heads: int
    kv_heads: int
    head_dim: int
    window: int = 0
    chunk: int = 0
    qkv_bias: bool = False
    o_bias: bool = False
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim if self.is_mla else self.head_dim

    @property
    def out_head_dim(self) -> int:
        return self.v_head_dim if self.is_mla else self.head_dim

    def kv_values_per_token(self) -> int:
        """Numbers stored in the KV cache per token for this layer (all heads)."""
        if self.is_mla:
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.kv_heads * self.head_dim

    def params(self, hidden: int) -> int:
        if self.is_mla:
            qk = self.qk_head_dim
            if self.q_lora_rank:
                q = hidden * self.q_lora_rank + self.q_lora_rank + self.q_lora_rank * self.heads * qk
            else:
                q = hidden * self.heads * qk
            kv = (hidden * (self.kv_lora_rank + self.qk_rope_head_dim) + self.kv_lora_rank
                  + self.kv_lora_rank * self.heads * (self.qk_nope_head_dim + self.v_head_dim))
            return q + kv + self.heads * self.v_head_dim * hidden
        q = hidden * self.heads * self.head_dim
        kv = 2 * hidden * self.kv_heads * self.head_dim
        o = self.heads * self.head_dim * hidden
        bias = (self.heads + 2 * self.kv_heads) * self.head_dim if self.qkv_bias else 0
        return q + kv + o + bias + (hidden if self.o_bias else 0)


@dataclass(frozen=True)
class Mlp:
    """A feed-forward block: dense, or mixture-of-experts with optional shared experts.

    `gated` MLPs (SwiGLU) have three matrices (gate, up, down); plain ones (GELU) have two.
    """

    intermediate: int
    gated: bool = True
    bias: bool = False
    experts: int = 0
    top_k: int = 0
    shared_intermediate: int = 0

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def matrices(self) -> int:
        return 3 if self.gated else 2

    def expert_params(self, hidden: int) -> int:
        """Parameters of one FFN of width `intermediate` (one expert, or the dense MLP)."""
        p = self.matrices * hidden * self.intermediate
        if self.bias:
            p += (self.matrices - 1) * self.intermediate + hidden
        return p

    def shared_params(self, hidden: int) -> int:
        return self.matrices * hidden * self.shared_intermediate

    def params(self, hidden: int) -> int:
        if not self.is_moe:
            return self.expert_params(hidden)
        router = hidden * self.experts + (self.experts if self.bias else 0)
        return router + self.experts * self.expert_params(hidden) + self.shared_params(hidden)

    def active_params(self, hidden: int) -> int:
        if not self.is_moe:
            return self.expert_params(hidden)
        router = hidden * self.experts
        return router + self.top_k * self.expert_params(hidden) + self.shared_params(hidden)


@dataclass(frozen=True)
class LayerGroup:
    """`count` decoder layers with the same attention and MLP structure."""

    count: int
    attention: Attention
    mlp: Mlp

    def params(self, hidden: int) -> int:
        return self.count * (self.attention.params(hidden) + self.mlp.params(hidden) + 2 * hidden)

    def active_params(self, hidden: int) -> int:
        return self.count * (self.attention.params(hidden) + self.mlp.active_params(hidden) + 2 * hidden)


@dataclass(frozen=True)
class ModelSpec:
    id: str
    architecture: str
    hidden: int
    vocab: int
    layers: tuple[LayerGroup, ...]
    tied_embeddings: bool = False
    max_context: int = 0
    native_format: str = "bf16"
    mtp_layers: int = 0  # multi-token-prediction modules shipped with the model (DeepSeek-V3/R1: 1)
    # From quantization_config: how the checkpoint stores its quantized weights (mxfp4, nvfp4,
    # fp8-block, fp8; "" if not quantized) and the module kinds it keeps in bf16.
    quant_storage: str = ""
    bf16_modules: frozenset = frozenset()
    source: str = ""
    published_params: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def num_layers(self) -> int:
        return sum(g.count for g in self.layers)

    @property
    def is_moe(self) -> bool:
        return any(g.mlp.is_moe for g in self.layers)

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def total_params(self) -> int:
        return self.embedding_params + sum(g.params(self.hidden) for g in self.layers) + self.hidden

    @property
    def lm_head_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def active_params(self) -> int:
        """Parameters that compute per token, as model cards count them (gpt-oss-120b: 5.13 B): the
        layers (for MoE: routed top-k plus shared experts), the final norm and the LM head. The
        input embedding is a table lookup, not compute, so it is not counted (a tied embedding
        counts once, as the LM head)."""
        return self.lm_head_params + sum(g.active_params(self.hidden) for g in self.layers) + self.hidden

    def kv_values_per_token(self) -> int:
        """KV-cache numbers per token over all layers (before any window cap)."""
        return sum(g.count * g.attention.kv_values_per_token() for g in self.layers)

    def describe(self) -> dict:
        first = self.layers[0].attention
        moe = next((g.mlp for g in self.layers if g.mlp.is_moe), None)
        out = {
            "id": self.id, "architecture": self.architecture, "layers": self.num_layers,
            "hidden_size": self.hidden, "heads": first.heads, "kv_heads": first.kv_heads,
            "head_dim": first.head_dim, "vocab_size": self.vocab, "max_context": self.max_context,
            "attention": "mla" if first.is_mla else ("gqa" if first.kv_heads < first.heads else "mha"),
            "sliding_window_layers": sum(g.count for g in self.layers if g.attention.window),
            "chunked_attention_layers": sum(g.count for g in self.layers if g.attention.chunk),
            "total_params": self.total_params, "active_params": self.active_params, "moe": self.is_moe,
            "mtp_layers": self.mtp_layers, "quantization": self.quant_storage or None,
            "bf16_modules": sorted(self.bf16_modules),
            "native_format": self.native_format, "source": self.source,
        }
        if moe:
            out.update(experts=moe.experts, experts_per_token=moe.top_k,
                       moe_layers=sum(g.count for g in self.layers if g.mlp.is_moe))
        return out
