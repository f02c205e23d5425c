"""GEMM costs memoized by shape: the planner costs many layouts of one model whose steps share
GEMMs of the same shapes (the attention projections, router and LM head do not change with the
expert layout), and the kernel's tiling search is the engine's largest cost. Keyed on the chip
and stack objects, the GEMM's dimensions and formats and the exact batch arrays."""

from __future__ import annotations

import numpy as np

from jalapeno.kernels.cost import OpCost
from jalapeno.kernels.gemm import gemm_cost

_MEMO: dict = {}
_LIMIT = 4096


def memo_gemm_cost(chip, stack, m, n: int, k: int, weights: str, activations: str, groups=None) -> OpCost:
    m_arr = np.atleast_1d(np.asarray(m, dtype=float))
    g_key = None if groups is None else np.asarray(groups, dtype=float).tobytes()
    key = (id(chip), id(stack), n, k, weights, activations, m_arr.tobytes(), g_key)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is chip and hit[1] is stack:
        return hit[2]
    cost = gemm_cost(chip, stack, m_arr, n, k, weights, activations, groups=groups)
    if len(_MEMO) >= _LIMIT:
        _MEMO.clear()
    _MEMO[key] = (chip, stack, cost)  # the objects are kept so their ids are not reused
    return cost
