"""Number formats: storage bytes per element and which compute format a precision mode uses.

A `Precision` is what a deployment runs: the format the weights are stored in (with their block
scales: MXFP4 has one 8-bit scale per 32 values, 4.25 bits a weight; NVFP4 one 8-bit scale per 16
plus a per-tensor scale, 4.5 bits; DeepSeek-style FP8 one fp32 scale per 128 x 128 block), the
format of the activations fed to the matrix engines (the W4A16 / W4A8 / W4A4 choice a chip and
stack make), the KV cache, and the modules a checkpoint keeps in bf16
(`quantization_config.modules_to_not_convert`: gpt-oss keeps attention and the router in bf16).
Where the matrix engines lack the weight format, weights are dequantized on the fly to the
activation format (`dequant`), which costs vector work the engine charges.
"""

from __future__ import annotations

from dataclasses import dataclass

BYTES_PER_ELEMENT = {
    "fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0,
    "fp8-block": 1.0 + 4.0 / (128 * 128),  # fp8 values, an fp32 scale per 128 x 128 block (DeepSeek-V3)
    "fp4": 0.5 + 1.0 / 16,  # generic 4-bit floating point: NVFP4's layout
    "nvfp4": 0.5 + 1.0 / 16,  # 4-bit values, an fp8 (E4M3) scale per 16 (NVIDIA NVFP4)
    "mxfp4": 0.5 + 1.0 / 32,  # 4-bit values, an 8-bit power-of-two scale per 32 (OCP MX v1.0)
    "int4": 0.5 + 2.0 / 128,  # group-wise int4 (AWQ/GPTQ-style, an fp16 scale per 128)
}

# Storage formats and the matrix-engine format family they compute in.
_FAMILY = {"nvfp4": "fp4", "mxfp4": "fp4", "fp8-block": "fp8"}
_BITS = {"fp4": 4, "int4": 4, "fp8": 8, "int8": 8, "bf16": 16, "fp16": 16, "fp32": 32}

PRECISIONS = ("bf16", "fp8", "fp4")


def base_format(fmt: str) -> str:
    """The compute family of a storage format (mxfp4 -> fp4)."""
    return _FAMILY.get(fmt, fmt)


def format_bits(fmt: str) -> int:
    return _BITS[base_format(fmt)]


@dataclass(frozen=True)
class Precision:
    weights: str  # compute family of the (quantized) weights: bf16, fp8, fp4, int8, int4
    activations: str
    kv_cache: str
    storage: str = ""  # how the weights are stored (mxfp4, nvfp4, fp8-block); "" = as `weights`
    bf16_modules: frozenset[str] = frozenset()  # module kinds kept in bf16 (attention, router, ...)
    dequant: bool = False  # weights are dequantized to the activation format before the matrix engines

    @property
    def name(self) -> str:
        return self.weights

    @property
    def stored(self) -> str:
        return self.storage or self.weights

    def weight_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.stored]

    def module_weights(self, module: str) -> str:
        """Weight format of a module kind ("attention", "router", "mlp", "experts")."""
        return "bf16" if module in self.bf16_modules else self.stored

    def module_weight_bytes(self, module: str) -> float:
        return BYTES_PER_ELEMENT[self.module_weights(module)]

    def kv_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.kv_cache]

    def act_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.activations]

    def label(self) -> str:
        """An honest label: `w4a8 (mxfp4 weights, bf16 attention)`, never a bare fp4 on a chip
        without fp4 matrix units."""
        w, a = format_bits(self.weights), format_bits(self.activations)
        if w == a and not self.storage and not self.bf16_modules - {"embedding", "lm_head"}:
            return self.weights
        parts = [f"{self.stored} weights"]
        kept = sorted(self.bf16_modules - {"embedding", "lm_head"})  # those two are bf16 in every mode
        if kept:
            parts.append("bf16 " + "+".join(kept))
        if self.dequant:
            parts.append("dequantized")
        return f"w{w}a{a} ({', '.join(parts)})"


def short_label(prec: Precision) -> str:
    """A compact label for tables: `w4a8 mxfp4`, `fp8`."""
    w, a = format_bits(prec.weights), format_bits(prec.activations)
    if w == a and not prec.storage:
        return prec.weights
    return f"w{w}a{a}" + (f" {prec.stored}" if prec.storage else "")


def precision_for(name: str, native_formats: list[str] | tuple[str, ...], storage: str = "",
                  bf16_modules: frozenset[str] = frozenset(), fp4_activations: str = "fp4") -> Precision:
    """The formats a stack uses for a precision mode on a chip with these native formats.

    4-bit weights run with 4-bit activations where the matrix engines have fp4 and the stack runs
    the checkpoint that way (`fp4_activations`: "fp8" for TensorRT-LLM's MXFP4 x MXFP8 gpt-oss
    path), otherwise with fp8 (or int8, or bf16) activations after dequantizing the weights.
    The KV cache is fp8 in fp8 and fp4 modes, as the production stacks do. `storage` and
    `bf16_modules` come from the checkpoint's quantization_config (ModelSpec).
    """
    if name not in BYTES_PER_ELEMENT:
        raise ValueError(f"unknown precision '{name}' (choose from {', '.join(PRECISIONS)}, int8, int4)")
    name = base_format(name) if name in _FAMILY else name
    if storage and base_format(storage) != name:
        storage = ""  # a different precision than the checkpoint's: quantized anew, generic layout
    if name in ("bf16", "fp16", "fp32"):
        return Precision(name, "bf16", "bf16")
    kv = "fp8" if "fp8" in native_formats else "bf16"
    if name in ("fp8", "int8"):
        act = name if name in native_formats else ("fp8" if "fp8" in native_formats else "bf16")
        return Precision(name, act, kv, storage, bf16_modules, dequant=name not in native_formats)
    # 4-bit weights
    if name in native_formats:
        act = fp4_activations if fp4_activations in native_formats else name
    elif "fp8" in native_formats:
        act = "fp8"
    elif "int8" in native_formats:
        act = "int8"
    else:
        act = "bf16"
    return Precision(name, act, kv, storage, bf16_modules, dequant=name not in native_formats)
