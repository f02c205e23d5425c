"""What a software stack can run: the layouts and methods the planner may search for it.

A planner that explores layouts a stack never runs (attention data parallelism where the stack
has none, expert parallelism wider than it supports, speculative methods it lacks) reports
operating points no one can deploy; one that misses what it does run (MTP, disaggregated prefill
and decode, wide EP over a 72-GPU NVLink domain) underrates it. Each stack profile's
`capabilities:` block says what it supports, and every field given there needs a source (release
notes, documentation, the public benchmark configurations it ran). Kept apart from the cost
parameters of the same profile (profile.py) so the two evolve separately.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SPEC_METHOD_NAMES = ("none", "ngram", "draft", "eagle", "mtp")


class Capabilities(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    spec_methods: tuple[Literal["none", "ngram", "draft", "eagle", "mtp"], ...] = ("none",)
    attention_dp: bool = False  # attention data parallelism (each rank its own sequences) with wide EP
    max_ep: int = Field(default=8, ge=1)  # widest expert parallelism the stack runs
    disaggregation: bool = False  # separate prefill and decode pools with KV transfer
    max_pp: int = Field(default=8, ge=1)  # deepest pipeline it runs ("layers": one layer per chip allowed)
    pp_to_layers: bool = False  # SRAM-resident stacks place layers chip by chip, up to one per chip
    kv_heads_beyond_tp: Literal["replicate", "split"] = "replicate"  # tp above the KV-head count
    max_concurrency_per_replica: int | None = Field(default=None, ge=1)  # the largest batch it is run at
    # Where the public configurations run the stack differently on one chip: field overrides
    # by chip id (e.g. {mi300x: {attention_dp: false, max_concurrency_per_replica: 64}}).
    by_chip: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Activations an MXFP4 checkpoint runs with on chips with fp4 matrix units (W4A4 or W4A8).
    mxfp4_activations: Literal["fp4", "fp8"] = "fp4"
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_given_field_has_a_source(self) -> Capabilities:
        # A field needs a source when it says something other than the default (a profile read
        # back from its own dump sets every field).
        fields = type(self).model_fields
        missing = sorted(f for f in fields if f != "sources" and f not in self.sources
                         and getattr(self, f) != fields[f].get_default(call_default_factory=True))
        if missing:
            raise ValueError(f"capabilities {', '.join(missing)} given without a source (add sources.<field>)")
        unknown = sorted(set(self.sources) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"sources for unknown capabilities: {', '.join(unknown)}")
        if "none" not in self.spec_methods:
            raise ValueError("spec_methods must include none")
        for chip, over in self.by_chip.items():
            bad = sorted(set(over) - set(fields) | ({"by_chip", "sources"} & set(over)))
            if bad:
                raise ValueError(f"by_chip.{chip}: {', '.join(bad)} cannot be overridden per chip")
            Capabilities.model_validate({**self.model_dump(exclude={"by_chip", "sources"}), **over,
                                         "sources": {**self.sources, **{k: "by_chip" for k in over}}})
        return self

    def for_chip(self, chip_id: str) -> Capabilities:
        """These capabilities as the stack runs on `chip_id` (its `by_chip` overrides applied)."""
        over = self.by_chip.get(chip_id)
        return self.model_copy(update={**over, "by_chip": {}}) if over else self

    def pipeline_limit(self, layers: int) -> int:
        return layers if self.pp_to_layers else min(self.max_pp, layers)
