"""Kernel-level validation: predicted vs silicon-measured single-operator latencies (H100 SXM).

The tables (data/kernels_*.csv, see data/SOURCES.md) were measured with TensorRT-LLM's PyTorch
flow, where quantized GEMMs quantize their activations in a separate pass (so `separate_quant`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.systems import load_system
from jalapeno.kernels.attention import decode_attention_cost, prefill_attention_cost
from jalapeno.kernels.gemm import gemm_cost
from jalapeno.models.lowering import attended_pairs
from jalapeno.network.collectives import allreduce_cost
from jalapeno.stacks import StackProfile, load_stack
from jalapeno.validation.datafiles import read_csv

_DEVICE = {"h100_sxm": "h100-sxm"}
_DTYPE = {"bfloat16": "bf16", "fp8": "fp8", "fp8_block": "fp8", "float16": "bf16"}


@dataclass
class KernelRow:
    kind: str  # gemm | attention | allreduce
    label: str
    chip: str
    measured_s: float
    predicted_s: float = 0.0

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.predicted_s - self.measured_s) / self.measured_s


def kernel_rows(stack: StackProfile | None = None) -> list[KernelRow]:
    """Every kernel-table row, predicted (with `stack`, or each chip's own stack profile)."""
    return _gemm_rows(stack) + _attention_rows(stack) + _allreduce_rows(stack)


def _chip_and_stack(row: dict, stack: StackProfile | None):
    """The catalog chip a table row was measured on, and the stack profile to predict it with."""
    chip = load_chip(_DEVICE[row["system"]])
    return chip, stack or load_stack(chip.software_stack)


def _gemm_rows(stack) -> list[KernelRow]:
    out = []
    for r in read_csv("kernels_gemm.csv"):
        chip, s = _chip_and_stack(r, stack)
        fmt = _DTYPE[r["gemm_dtype"]]
        m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
        quant = {"fp8": 2, "fp8_block": 1}.get(r["gemm_dtype"], 0)
        t = gemm_cost(chip, s, m, n, k, fmt, fmt, separate_quant=quant).time_s[0]
        out.append(KernelRow("gemm", f"{r['gemm_dtype']} m={m} n={n} k={k}", chip.id,
                             float(r["latency_ms"]) * 1e-3, float(t)))
    return out


def _attention_rows(stack) -> list[KernelRow]:
    out = []
    for r in read_csv("kernels_attention.csv"):
        chip, s = _chip_and_stack(r, stack)
        b, h, kv, d = (int(r[x]) for x in ("batch_size", "num_heads", "num_kv_heads", "head_dim"))
        kvb = 1.0 if r["kv_cache_dtype"] == "fp8" else 2.0
        if r["phase"] == "context":
            isl = int(r["isl"])
            pairs = b * attended_pairs(0, isl, 0, 0)
            # TensorRT-LLM runs FP8 context FMHA whenever the KV cache is FP8 (its rows labelled
            # bfloat16/fp8 run as fast as fp8/fp8, well above bf16 peak share), so either makes it fp8.
            fmt = "fp8" if "fp8" in (r["attn_dtype"], r["kv_cache_dtype"]) else "bf16"
            t = prefill_attention_cost(chip, s, b, b * isl, pairs, b * isl, h, kv, d, d, kvb, fmt).time_s[0]
            label = f"context b={b} isl={isl} h={h}/{kv} {r['attn_dtype']}/{r['kv_cache_dtype']}"
        else:
            ctx = int(r["step"]) + 1
            t = decode_attention_cost(chip, s, b, b * ctx, h, kv, d, d, 2 * kv * d, kvb).time_s[0]
            label = f"generation b={b} ctx={ctx} h={h}/{kv} kv={r['kv_cache_dtype']}"
        out.append(KernelRow("attention", label, chip.id, float(r["latency_ms"]) * 1e-3, float(t)))
    return out


def _allreduce_rows(stack) -> list[KernelRow]:
    out = []
    topo = load_system("dgx-h100").topology  # the tables' 8-GPU H100 SXM node (NVSwitch)
    for r in read_csv("kernels_allreduce.csv"):
        chip, s = _chip_and_stack(r, stack)
        n, size = int(r["num_gpus"]), float(r["message_bytes_derived"])
        # NCCL picks among ring, tree and NVLS; TensorRT-LLM's custom kernel is one-/two-shot.
        algos = ("ring", "tree", "in_network") if r["impl"] == "NCCL" else ("one_shot", "two_shot")
        t = allreduce_cost(topo, s, n, np.array([size]), algos).time_s[0]
        out.append(KernelRow("allreduce", f"{r['impl']} n={n} bytes={int(size)}", chip.id,
                             float(r["latency_ms"]) * 1e-3, float(t)))
    return out
