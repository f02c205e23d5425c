"""Elementwise and normalization kernels (RMSNorm, RoPE, activation, residual add, quantize):
each streams its operands once from memory, or is swallowed by a neighbour when fused."""

from __future__ import annotations

import numpy as np

from jalapeno.hardware.spec import ChipSpec
from jalapeno.kernels.cost import MEMORY, OpCost, pick_bound
from jalapeno.kernels.execution import is_compiler_scheduled, op_fixed_s
from jalapeno.stacks import StackProfile


def elementwise_cost(chip: ChipSpec, stack: StackProfile, bytes_moved, flops=0.0, kernels: float = 1.0) -> OpCost:
    """`kernels` launches (on a GPU; fused into the layer on a compiler-scheduled chip) that move
    `bytes_moved` bytes and do `flops` vector FLOPs."""
    b = np.atleast_1d(np.asarray(bytes_moved, dtype=float))
    f = np.broadcast_to(np.asarray(flops, dtype=float), b.shape)
    t_mem = b / (chip.main_memory.bandwidth_gb_s * 1e9 * stack.memory_efficiency)
    t_vec = f / (chip.vector.peak_tflops * 1e12 * 0.5)
    overhead = np.full_like(b, op_fixed_s(chip, stack.kernel_overhead_s, kernels))
    time = np.maximum(t_mem, t_vec) + overhead
    z = np.zeros_like(b)
    launches = np.full_like(b, 0.0 if is_compiler_scheduled(chip) else kernels)
    return OpCost(time, f.copy(), b.copy(), z, z.copy(), pick_bound(overhead, (MEMORY, t_mem)),
                  fixed_s=overhead, launches=launches)
