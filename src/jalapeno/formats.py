"""Number formats: storage bytes per element and which compute format a precision mode uses.

A `Precision` is what a deployment chooses with `--precision`: the format of the weights, the
activations fed to the matrix engines, and the KV cache. Block-scaled 4-bit formats carry their
scales: MXFP4 has one 8-bit scale per 32 values, NVFP4 one 8-bit scale per 16.
"""

from __future__ import annotations

from dataclasses import dataclass

BYTES_PER_ELEMENT = {
    "fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0,
    "fp4": 0.5 + 1.0 / 16,  # NVFP4 / MXFP4-class: 4-bit values plus a byte of scale per 16-32
    "int4": 0.5 + 2.0 / 128,  # group-wise int4 (AWQ/GPTQ-style, an fp16 scale per 128)
}

PRECISIONS = ("bf16", "fp8", "fp4")


@dataclass(frozen=True)
class Precision:
    weights: str
    activations: str
    kv_cache: str

    @property
    def name(self) -> str:
        return self.weights

    def weight_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.weights]

    def kv_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.kv_cache]

    def act_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.activations]


def precision_for(name: str, native_formats: list[str] | tuple[str, ...]) -> Precision:
    """The formats a stack uses for a precision mode on a chip with these native formats.

    fp4 weights run with fp4 activations where the matrix engines have fp4 (Blackwell NVFP4,
    MI355X MXFP4), otherwise with fp8 (or bf16) activations after dequantizing the weights.
    The KV cache is fp8 in fp8 and fp4 modes, as the production stacks do.
    """
    if name not in BYTES_PER_ELEMENT:
        raise ValueError(f"unknown precision '{name}' (choose from {', '.join(PRECISIONS)}, int8, int4)")
    if name in ("bf16", "fp16", "fp32"):
        return Precision(name, "bf16", "bf16")
    if name in ("fp8", "int8"):
        act = name if name in native_formats else ("fp8" if "fp8" in native_formats else "bf16")
        return Precision(name, act, "fp8" if "fp8" in native_formats else "bf16")
    # 4-bit weights
    if name in native_formats:
        act = name
    elif "fp8" in native_formats:
        act = "fp8"
    elif "int8" in native_formats:
        act = "int8"
    else:
        act = "bf16"
    kv = "fp8" if "fp8" in native_formats else "bf16"
    return Precision(name, act, kv)
