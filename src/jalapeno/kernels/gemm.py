"""GEMM on a chip: tiling over matrix engines and the memory hierarchy.

y[m, n] = x[m, k] . W[n, k]^T with W the weights. The mapper tries a small set of output tiles
and split-K factors (vectorized over candidates and over m at once) and keeps the fastest:

- compute: tiles are spread over `units` engines in waves (SMs on a GPU, the few large arrays of a
  systolic chip); each tile does tile_m*tile_n*k MACs at one unit's throughput (its MACs per cycle
  x clock: the chip's peak over its units) times the stack's achievable fraction (padding and
  wave quantization are paid in full: a 1-row GEMM occupies a whole tile);
- off-chip traffic: weights, activations and output once each (the raster order keeps one
  operand panel resident in the last-level cache); split-K adds fp32 partial sums;
- on-chip traffic: each tile streams its A and B panels from the last-level cache, so operands
  are re-read ceil(n / tile_n) and ceil(m / tile_m) times;
- time = max(compute, off-chip, on-chip) + the op's fixed cost on the chip's execution model
  (a kernel launch on a GPU, the array's fill on a compiler-scheduled chip; kernels/execution.py).

With activations in a narrower format than bf16 and no fusion, a quantize pass runs first.
"""

from __future__ import annotations

import numpy as np

from jalapeno.formats import BYTES_PER_ELEMENT, base_format, format_bits
from jalapeno.hardware.spec import ChipSpec
from jalapeno.kernels.cost import COMPUTE, MEMORY, ONCHIP, OpCost, pick_bound
from jalapeno.kernels.execution import is_compiler_scheduled, op_fixed_s, unit_flops
from jalapeno.stacks import StackProfile

_SPLIT_K = np.array([1, 2, 4, 8])


def compute_format(weights: str, activations: str) -> str:
    """Matrix engines run at the wider of the two operand formats (storage formats such as mxfp4
    compute in their family, fp4)."""
    weights, activations = base_format(weights), base_format(activations)
    return weights if format_bits(weights) >= format_bits(activations) else activations


def _tile_candidates(chip: ChipSpec) -> tuple[np.ndarray, np.ndarray]:
    tm_max, tn_max = chip.matrix.tile_m, chip.matrix.tile_n
    sizes = [s for s in (16, 32, 64, 128, 256) if s <= max(tm_max, tn_max)]
    tm = [a for a in sizes for b in sizes if a <= tm_max and b <= tn_max and a * b >= 64 * 64 // 4]
    tn = [b for a in sizes for b in sizes if a <= tm_max and b <= tn_max and a * b >= 64 * 64 // 4]
    return np.array(tm, dtype=float), np.array(tn, dtype=float)


def gemm_cost(chip: ChipSpec, stack: StackProfile, m, n: int, k: int, weights: str = "bf16",
              activations: str = "bf16", out_bytes: float = 2.0, separate_quant: int | None = None,
              groups=None) -> OpCost:
    """Cost of `groups` independent GEMMs of shape (m, n, k) launched together (a grouped GEMM,
    as MoE experts run); m and groups may be arrays (one entry per batch shape).

    `separate_quant`: extra launches that quantize the activations before the GEMM (a scale
    reduction plus a cast for per-tensor dynamic scaling); None = none if the stack fuses them."""
    m = np.atleast_1d(np.asarray(m, dtype=float))
    grouped = groups is not None
    g = np.broadcast_to(np.asarray(1.0 if groups is None else groups, dtype=float), m.shape)[None, :]
    fmt = compute_format(weights, activations)
    units = chip.matrix.units
    eff = stack.gemm_efficiency(fmt) * (stack.grouped_gemm_efficiency if grouped else 1.0)
    unit_rate = unit_flops(chip, fmt) * eff
    hbm_bw = chip.main_memory.bandwidth_gb_s * 1e9 * stack.memory_efficiency
    l2 = chip.on_chip
    l2_bw = (l2.bandwidth_gb_s * 1e9) if l2 else hbm_bw * 4
    wb, ab = BYTES_PER_ELEMENT[weights], BYTES_PER_ELEMENT[activations]

    tm, tn = _tile_candidates(chip)
    tm = np.repeat(tm, len(_SPLIT_K))[:, None]
    tn = np.repeat(tn, len(_SPLIT_K))[:, None]
    sk = np.tile(_SPLIT_K, len(tm) // len(_SPLIT_K))[:, None].astype(float)
    mm = m[None, :]
    tiles = g * np.ceil(mm / tm) * np.ceil(n / tn) * sk
    waves = np.ceil(tiles / units)
    t_compute = waves * (tm * tn * np.ceil(k / sk) * 2.0) / unit_rate
    partial = np.where(sk > 1, g * 2 * 4.0 * mm * n * sk, 0.0)  # fp32 partials written and read back
    hbm = g * (n * k * wb + mm * k * ab + mm * n * out_bytes) + partial
    t_hbm = hbm / hbm_bw
    onchip = g * (mm * k * ab * np.ceil(n / tn) + n * k * wb * np.ceil(mm / tm))
    t_onchip = onchip / l2_bw
    total = np.maximum(np.maximum(t_compute, t_hbm), t_onchip)
    best = np.argmin(total, axis=0)
    cols = np.arange(m.size)
    t_c, t_h, t_o = t_compute[best, cols], t_hbm[best, cols], t_onchip[best, cols]
    overhead = op_fixed_s(chip, stack.kernel_overhead_s, 1.0)
    time = np.where(m > 0, np.maximum(np.maximum(t_c, t_h), t_o) + overhead, 0.0)
    hbm_best = hbm[best, cols]
    flops = 2.0 * m * n * k * g[0]
    launches = separate_quant if separate_quant is not None else (
        1 if ab < 2 and not stack.fused_activation_quant else 0)
    fixed = overhead
    if launches:
        q_bytes = g[0] * m * k * (2.0 * launches + ab)
        quant_fixed = op_fixed_s(chip, stack.kernel_overhead_s, launches)
        time = time + np.where(m > 0, q_bytes / hbm_bw + quant_fixed, 0.0)
        fixed += quant_fixed
        hbm_best = hbm_best + q_bytes
    bound = pick_bound(np.full_like(m, fixed), (COMPUTE, t_c), (MEMORY, t_h), (ONCHIP, t_o))
    z = np.zeros_like(m)
    active = m > 0
    host_launches = 0.0 if is_compiler_scheduled(chip) else 1.0 + launches
    return OpCost(time, flops, hbm_best, onchip[best, cols], z, bound,
                  fixed_s=np.where(active, fixed, 0.0), launches=np.where(active, host_launches, 0.0))
