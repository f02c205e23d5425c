"""Collective operators of a step, costed on the system's topology.

The step's all-reduces, all-to-alls and pipeline sends become `OpCost`s here: the time comes
from network/algorithms.py (alpha-beta over the topology's levels, the fastest algorithm the
stack's collective library offers), at the stack's achievable link efficiency.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from jalapeno.hardware.topology import Topology
from jalapeno.kernels.cost import COMM, LATENCY, OpCost, zeros
from jalapeno.network import algorithms
from jalapeno.stacks import StackProfile


def collective_cost(op: str, topo: Topology, stack: StackProfile, n: int, message_bytes,
                    algorithm_set: tuple[str, ...] | None = None) -> OpCost:
    s = np.atleast_1d(np.asarray(message_bytes, dtype=float))
    if n <= 1:
        return zeros(s.shape)
    z = np.zeros_like(s)
    algos = algorithm_set if algorithm_set is not None else (stack.collective_algorithms or None)
    allowed = frozenset(algos) if algos and op in ("all_reduce", "all_gather", "reduce_scatter") else None
    c = algorithms.collective(op, topo, n, s, efficiency=stack.link_efficiency, algorithms=allowed)
    lat = _latency_s(op, topo, n, stack.link_efficiency, allowed)
    bound = np.where(c.time_s <= 2 * lat, LATENCY, COMM)
    return OpCost(c.time_s, z, z.copy(), z.copy(), np.asarray(c.link_bytes, dtype=float) * np.ones_like(s), bound,
                  np.asarray(c.link_energy_j, dtype=float) * np.ones_like(s))


@lru_cache(maxsize=1024)
def _latency_s(op: str, topo: Topology, n: int, efficiency: float, allowed: frozenset[str] | None) -> float:
    """The collective's time for an empty message: what no message size can go below. The same
    for every step, so computed once per (operation, wiring, group, stack)."""
    return float(algorithms.collective(op, topo, n, np.zeros(1), efficiency=efficiency,
                                       algorithms=allowed).time_s[0])


def allreduce_cost(topo: Topology, stack: StackProfile, n: int, message_bytes, algorithm_set=None) -> OpCost:
    return collective_cost("all_reduce", topo, stack, n, message_bytes, algorithm_set)
