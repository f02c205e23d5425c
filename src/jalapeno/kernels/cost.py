"""OpCost: what one operator costs on one chip, vectorized over a batch of shapes.

Every field is a numpy array with one entry per batch shape being evaluated, so a sweep over
batch sizes costs one numpy pass per operator instead of a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# What limits an operator, in the order `bound` codes use.
BOUNDS = ("compute", "memory", "on-chip", "latency", "communication")
COMPUTE, MEMORY, ONCHIP, LATENCY, COMM = range(5)


@dataclass
class OpCost:
    time_s: np.ndarray
    flops: np.ndarray
    hbm_bytes: np.ndarray
    onchip_bytes: np.ndarray
    link_bytes: np.ndarray
    bound: np.ndarray  # int codes into BOUNDS
    # Energy of the link traffic, charged per topology level by the collective that moves it
    # (network/algorithms.py); None for operators that move nothing over links.
    link_energy_j: np.ndarray | None = None
    # The device-side fixed cost inside time_s (launches on a GPU, pipeline fills on a compiler-
    # scheduled chip) and the kernel launches the host issues for the op (0 when compiled into a
    # layer): the step adds the host side of launching once per step (engine/step.py).
    fixed_s: np.ndarray | float = 0.0
    launches: np.ndarray | float = 0.0


def zeros(shape) -> OpCost:
    z = np.zeros(shape)
    return OpCost(z, z.copy(), z.copy(), z.copy(), z.copy(), np.zeros(shape, dtype=int),
                  fixed_s=z.copy(), launches=z.copy())


def pick_bound(overhead_s, *terms: tuple[int, np.ndarray]) -> np.ndarray:
    """The code of the largest time term; `LATENCY` when the fixed overhead beats them all."""
    codes = np.array([c for c, _ in terms] + [LATENCY])
    stack = np.stack([np.broadcast_to(t, np.shape(overhead_s)) for _, t in terms]
                     + [np.broadcast_to(overhead_s, np.shape(terms[0][1]))])
    return codes[np.argmax(stack, axis=0)]
