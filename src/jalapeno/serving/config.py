"""Serving configuration: how the server batches, caches, speculates, splits and routes.

Defaults follow the common vLLM / TensorRT-LLM settings; every field can be set from a scenario
YAML (`jalapeno simulate scenario.yaml`) or from flags, and is validated here so a bad value is
reported with its key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# Upper bounds: far above any real server, low enough that the engine's step tables (sized by the
# token budget and the running-sequence cap) and the replica objects stay small.
MAX_SEQS = 65_536
MAX_BATCHED_TOKENS = 1_048_576
MAX_REPLICAS = 4096


class SchedulerConfig(_Strict):
    """Continuous batching with a token budget per step and a cap on running sequences."""

    max_num_seqs: int = Field(default=256, ge=1, le=MAX_SEQS)
    max_num_batched_tokens: int = Field(default=8192, ge=1, le=MAX_BATCHED_TOKENS)
    chunked_prefill: bool = True
    block_size: int = Field(default=16, ge=1, le=65_536)
    prefix_caching: bool = True
    # full: reserve a request's whole prompt + output KV at admission (TensorRT-LLM's
    # GUARANTEED_NO_EVICT); on_demand: grow block by block and preempt when full (vLLM);
    # auto: the software stack's own policy.
    kv_reservation: Literal["auto", "full", "on_demand"] = "auto"
    # The output limit requests declare (a client's max_tokens). Full reservation holds the
    # prompt plus this many tokens, as TensorRT-LLM reserves up to each request's maxNewTokens;
    # unset, each request declares exactly its own output length. A request that generates more
    # than the limit reserves its own length.
    max_new_tokens: int | None = Field(default=None, ge=1, le=100_000_000)
    # True: a step carries prompt chunks and decodes together (vLLM with chunked prefill,
    # TensorRT-LLM in-flight batching). False: a step runs waiting prompts only, or else decodes
    # only, prompts first (vLLM's default scheduler without chunked prefill); decodes stall
    # while prompts run.
    mixed_batches: bool = True


class SpeculativeConfig(_Strict):
    """Speculative decoding (engine/speculative.py): `draft` runs a smaller model k times per step,
    `eagle` a one-layer EAGLE-3 style head, `mtp` the model's own multi-token-prediction module;
    `ngram` proposes from the prompt (no draft cost). Each draft token is accepted with
    probability `acceptance_rate` given all earlier ones were (unset: the method's published
    default); the target verifies k+1 tokens per sequence in one step."""

    method: Literal["none", "draft", "ngram", "eagle", "mtp"] = "none"
    num_tokens: int | None = Field(default=None, ge=1, le=16)  # unset: the method's default
    acceptance_rate: float | None = Field(default=None, ge=0, le=1)
    draft_model: str | None = None

    @model_validator(mode="after")
    def _draft_needs_model(self) -> SpeculativeConfig:
        if self.method == "draft" and not self.draft_model:
            raise ValueError("method 'draft' needs draft_model (a model id or config.json path)")
        return self


class DisaggregationConfig(_Strict):
    """Separate prefill and decode pools; the KV cache moves between them over the chip links
    (`link: scale_up`) or the host network (`link: network`, bandwidth per replica)."""

    enabled: bool = False
    prefill_replicas: int = Field(default=1, ge=1, le=MAX_REPLICAS)
    decode_replicas: int = Field(default=1, ge=1, le=MAX_REPLICAS)
    link: Literal["scale_up", "network"] = "scale_up"
    network_gb_s: float = Field(default=50.0, gt=0, le=1e5)
    latency_s: float = Field(default=20e-6, ge=0, le=60)


class SloConfig(_Strict):
    ttft_s: float = Field(default=2.0, gt=0, le=86_400)
    tpot_s: float = Field(default=0.2, gt=0, le=3600)


class ServingConfig(_Strict):
    replicas: int = Field(default=1, ge=1, le=MAX_REPLICAS)
    router: Literal["round_robin", "least_outstanding", "prefix_affinity"] = "least_outstanding"
    scheduler: SchedulerConfig = SchedulerConfig()
    speculative: SpeculativeConfig = SpeculativeConfig()
    disaggregation: DisaggregationConfig = DisaggregationConfig()
    slo: SloConfig = SloConfig()
    seed: int = 0
