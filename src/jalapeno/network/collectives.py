"""Collectives inside a scale-up domain, alpha-beta per link.

The algorithm follows the wiring: on a switch (NVSwitch) every chip reaches every peer at its
full link rate, so small messages use a one-shot all-reduce (each chip reads all peers' buffers:
one latency, (n-1)*S bytes in) and large ones a two-shot (reduce-scatter + all-gather:
two latencies, 2(n-1)/n*S bytes); on a full mesh (Infinity Fabric) the chip's bandwidth is
split over its direct links, one per peer; on a ring or torus the ring algorithm runs along the
ring with 2(n-1) latency steps. The faster applicable algorithm is taken, as NCCL/RCCL tuners do.
"""

from __future__ import annotations

import numpy as np

from jalapeno.engine.stack import StackProfile
from jalapeno.hardware.spec import ChipSpec
from jalapeno.kernels.cost import COMM, LATENCY, OpCost, pick_bound

# A ring step's latency as a share of the end-to-end one-shot latency (which also pays the
# launch and the cross-chip barrier once). Assumption: NCCL's low-latency protocol forwards a
# chunk per hop in about half the time of a full one-shot exchange (consistent with the
# measured NCCL 2-8 GPU small-message latencies in validation/data/kernels_allreduce.csv).
RING_HOP_SHARE = 0.5


def allreduce_cost(chip: ChipSpec, stack: StackProfile, n: int, message_bytes, algorithm: str = "auto") -> OpCost:
    """`algorithm`: "auto" picks by topology (one-/two-shot on switches and meshes); "ring" forces
    the ring algorithm (NCCL's default for large messages on any wiring)."""
    s = np.atleast_1d(np.asarray(message_bytes, dtype=float))
    if n <= 1:
        z = np.zeros_like(s)
        return OpCost(z, z.copy(), z.copy(), z.copy(), z.copy(), np.zeros(s.shape, dtype=int))
    links = chip.links
    bw = links.bandwidth_gb_s * 1e9 * stack.link_efficiency
    alpha = links.latency_us * 1e-6
    topo = links.topology
    if algorithm == "ring" or topo in ("ring", "torus"):
        t_bw = 2 * (n - 1) / n * s / bw
        time = alpha + 2 * (n - 1) * alpha * RING_HOP_SHARE + t_bw
    elif topo == "switch":
        one_shot = alpha + (n - 1) * s / bw
        two_shot = 2 * alpha + 2 * (n - 1) / n * s / bw
        t_bw = np.minimum(one_shot - alpha, two_shot - 2 * alpha)
        time = np.minimum(one_shot, two_shot)
    elif topo == "mesh":
        per_peer = bw / max(links.max_domain_chips - 1, 1)
        one_shot = alpha + s / per_peer
        two_shot = 2 * alpha + 2 * s / n / per_peer
        t_bw = np.minimum(one_shot - alpha, two_shot - 2 * alpha)
        time = np.minimum(one_shot, two_shot)
    link_bytes = 2 * (n - 1) / n * s
    bound = pick_bound(np.full_like(s, alpha), (COMM, t_bw))
    bound = np.where(bound == LATENCY, LATENCY, COMM)
    z = np.zeros_like(s)
    return OpCost(time, z, z.copy(), z.copy(), link_bytes, bound)


def p2p_cost(chip: ChipSpec, stack: StackProfile, message_bytes) -> OpCost:
    """Send activations to the next pipeline stage over one scale-up link path."""
    s = np.atleast_1d(np.asarray(message_bytes, dtype=float))
    bw = chip.links.bandwidth_gb_s * 1e9 * stack.link_efficiency
    if chip.links.topology == "mesh":
        bw /= max(chip.links.max_domain_chips - 1, 1)
    time = chip.links.latency_us * 1e-6 + s / bw
    z = np.zeros_like(s)
    return OpCost(time, z, z.copy(), z.copy(), s.copy(), np.full(s.shape, COMM))
