"""Operators: what a forward step asks of the hardware, as shapes and number formats only.

Shapes that depend on the batch are numpy arrays (one entry per batch shape evaluated at
once); `count` is how many times the operator runs per step on one chip (layers in a group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Gemm:
    name: str
    m: np.ndarray
    n: int
    k: int
    count: float
    weights: str
    activations: str
    groups: np.ndarray | float | None = None  # None: a plain GEMM; else a grouped GEMM of this many


@dataclass(frozen=True, eq=False)
class PrefillAttention:
    name: str
    seqs: np.ndarray
    tokens: np.ndarray
    pairs: np.ndarray
    kv_tokens_read: np.ndarray
    heads: int
    kv_heads: int
    qk_dim: int
    v_dim: int
    kv_bytes: float
    count: float


@dataclass(frozen=True, eq=False)
class DecodeAttention:
    name: str
    seqs: np.ndarray
    context_tokens: np.ndarray
    heads: int  # query heads (an array of heads x verified tokens per sequence when drafting)
    kv_heads: int
    qk_dim: int
    v_dim: int
    kv_values_per_token: float
    kv_bytes: float
    count: float


@dataclass(frozen=True, eq=False)
class Elementwise:
    name: str
    bytes_moved: np.ndarray
    flops: np.ndarray
    kernels: float
    count: float


@dataclass(frozen=True, eq=False)
class AllReduce:
    name: str
    message_bytes: np.ndarray
    group: int
    count: float


@dataclass(frozen=True, eq=False)
class SendRecv:
    """Activations to the next pipeline stage; `group` chips span the two stages."""

    name: str
    message_bytes: np.ndarray
    count: float
    group: int = 2


@dataclass(frozen=True, eq=False)
class AllToAll:
    """Expert-parallel dispatch or combine: each of `group` chips sends its tokens' hidden
    states to the chips holding their experts."""

    name: str
    message_bytes: np.ndarray
    group: int
    count: float


Op = Gemm | PrefillAttention | DecodeAttention | Elementwise | AllReduce | SendRecv | AllToAll
