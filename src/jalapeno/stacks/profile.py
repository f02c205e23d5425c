"""Software-stack profiles: what a serving stack achieves on any chip that runs it.

The same silicon serves very differently under TensorRT-LLM, vLLM on ROCm or a compiler-
scheduled ASIC runtime. A `StackProfile` holds the few parameters that capture that: achievable
fractions of peak for GEMMs (by operand width), attention and memory bandwidth; fixed costs per
kernel and per attention block on the device; the fixed costs of a step by what causes them
(host launches per kernel or one captured graph per step, host scheduling overlapped with the
device or not, synchronization per layer on compiler-scheduled chips; kernels/execution.py
`step_time`); scheduler limits; and how much memory the runtime leaves for the KV cache. They
are shared by every device of a stack and never tuned per
(device, model) pair. Values live in `data/stacks.yaml` with a note on where each came from;
`jalapeno validate` prints them and `jalapeno validate --refit` re-derives the fitted ones.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jalapeno.errors import SpecError, UnknownIdError, pydantic_problems
from jalapeno.safeload import parse_yaml
from jalapeno.stacks.capabilities import Capabilities

_FILE = resources.files("jalapeno.stacks") / "data" / "stacks.yaml"

# Parameters `validate --refit` may move; all others are structural facts about the stack.
FITTED = ("gemm_efficiency_16bit", "gemm_efficiency_8bit", "gemm_efficiency_4bit", "grouped_gemm_efficiency",
          "attention_efficiency",
          "memory_efficiency", "kernel_overhead_s", "attention_block_latency_s", "host_step_s")


class StackProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    gemm_efficiency_16bit: float = Field(gt=0, le=1)
    gemm_efficiency_8bit: float = Field(gt=0, le=1)
    gemm_efficiency_4bit: float = Field(gt=0, le=1)
    grouped_gemm_efficiency: float = Field(default=0.8, gt=0, le=1)
    attention_efficiency: float = Field(gt=0, le=1)
    memory_efficiency: float = Field(gt=0, le=1)
    link_efficiency: float = Field(default=0.8, gt=0, le=1)
    collective_algorithms: tuple[str, ...] = ()  # all-reduce algorithms the stack's library has (): any
    kernel_overhead_s: float = Field(ge=0)
    attention_block_latency_s: float = Field(ge=0)  # prefill: one (q tile, head) item's prologue/epilogue
    softmax_overlap: float = Field(default=0.0, ge=0, le=1)  # share of the shorter of matmul/exp hidden
    # Fixed costs of a step, by mechanism (kernels/execution.py step_time).
    host_step_s: float = Field(ge=0)  # host scheduling, batching and sampling bookkeeping per step
    async_host: bool = False  # the host prepares step n+1 while the device runs step n
    host_launch_s: float = Field(default=0.0, ge=0)  # host time to issue one kernel eagerly
    cuda_graphs: Literal["none", "decode", "all"] = "none"  # steps replayed as one captured graph
    graph_launch_s: float = Field(default=0.0, ge=0)  # host time to launch one captured graph
    graph_kernel_s: float = Field(default=0.0, ge=0)  # device gap per kernel inside a captured graph
    fused_elementwise_kernels: int = Field(default=4, ge=1)  # most launches a layer's norm/RoPE/act group takes
    layer_sync_s: float = Field(default=0.0, ge=0)  # per layer, on compiler-scheduled chips
    fused_activation_quant: bool = True
    fp8_attention: bool = False
    max_batch_size: int = Field(default=2048, ge=1)
    max_num_tokens: int = Field(default=8192, ge=1)
    kv_reservation: Literal["full", "on_demand"] = "on_demand"
    memory_utilization: float = Field(default=0.9, gt=0, le=1)
    runtime_reserve_gb: float = Field(default=2.0, ge=0)
    blocks_per_unit: int = Field(default=4, ge=1)
    fit_params: tuple[str, ...] = FITTED  # the subset `--refit` moves (few rows -> few parameters)
    fit_serving_rows: bool = False  # `--refit` also fits the InferenceX serving points of its chips
    notes: dict[str, str] = Field(default_factory=dict)
    # The span each assumed or weakly fitted parameter may take (`jalapeno sensitivity` varies them).
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ranges_span_values(self) -> StackProfile:
        for name, (lo, hi) in self.ranges.items():
            if not isinstance(getattr(self, name, None), int | float) or isinstance(getattr(self, name), bool):
                raise ValueError(f"ranges.{name}: not a numeric parameter of the stack")
            if not lo <= getattr(self, name) <= hi or lo == hi:
                raise ValueError(f"ranges.{name}: [{lo}, {hi}] must span the value {getattr(self, name)}")
        return self
    # What the stack runs (layouts, speculative methods, disaggregation): stacks/capabilities.py.
    capabilities: Capabilities = Capabilities()

    def gemm_efficiency(self, compute_format: str) -> float:
        if compute_format in ("fp4", "int4"):
            return self.gemm_efficiency_4bit
        if compute_format in ("fp8", "int8"):
            return self.gemm_efficiency_8bit
        return self.gemm_efficiency_16bit

    def fitted(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.fit_params}


@lru_cache(maxsize=1)
def _file() -> dict:
    return parse_yaml(_FILE.read_text(), str(_FILE))


def _all_raw() -> dict:
    return _file()["stacks"]


def _capabilities_raw() -> dict:
    return _file().get("capabilities") or {}


def stack_ids() -> list[str]:
    return sorted(_all_raw())


@lru_cache(maxsize=64)
def load_stack(stack_id: str) -> StackProfile:
    raw = _all_raw()
    if stack_id not in raw:
        raise UnknownIdError("software stack", stack_id, list(raw))
    try:
        entry = {"id": stack_id, **raw[stack_id]}
        caps = _capabilities_raw().get(stack_id)
        if caps is not None:
            entry["capabilities"] = caps
        return StackProfile.model_validate(entry)
    except ValidationError as exc:
        raise SpecError(f"{_FILE} (stack {stack_id})", pydantic_problems(exc)) from None
