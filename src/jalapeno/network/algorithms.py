"""Collective times on a `Topology`, alpha-beta per level, vectorized over message size.

Every public function takes a topology, the number of chips n taking part (placed innermost
first, see `Topology.groups_for`) and an array of message sizes, evaluates each algorithm that
real stacks run on that wiring, and keeps the fastest per message size, as the NCCL/RCCL tuners
and XLA's collective cost model do. The result is a `CollectiveCost`: time, the algorithm chosen,
the bytes each chip sends over links (forwarding included) and their energy.

Notation (per call): S message bytes, n chips, B a chip's one-direction bandwidth at the level
(`Level.chip_gb_s` x `efficiency`), alpha the level's per-hop/step latency, W one port's
one-direction bandwidth on a torus/ring (`Level.link_gb_s` x `efficiency`). A latency of k steps
is alpha * (1 + (k-1) * hop_latency_share): with the default share 1.0 every step pays a full
alpha (the textbook model); a share below 1 says pipelined steps after the first are cheaper than
the first, which also pays launch and synchronization.

Sizes: all_reduce S = the buffer each chip holds (input = output); all_gather S = the gathered
output per chip (each contributes S/n); reduce_scatter S = the input per chip (each keeps S/n);
all_to_all S = the buffer each chip sends (S/n to each peer, itself included); send_recv S = the
bytes moved between two chips.

Algorithms on one level (references: Thakur, Rabenseifner & Gropp, "Optimization of Collective
Communication Operations in MPICH", IJHPCA 2005; NCCL docs and src/graph/tuning.cc; Sanders,
Speck & Traeff, "Two-tree algorithms for full bandwidth broadcast, reduction and scan", 2009;
Austin et al., "How to Scale Your Model" (the TPU scaling book), parts 2-3):

- all_reduce, ring (Thakur 2005 s.4; NCCL ring): reduce-scatter then all-gather around a ring,
  2(n-1) steps of S/n: T = 2(n-1)/n * S/B + 2(n-1) alpha. On a full mesh several rings run at once
  over disjoint links (RCCL), so B is the sum of the n-1 peer links.
- all_reduce, one_shot (TensorRT-LLM / vLLM custom all-reduce; switch or mesh): every chip reads
  all peers' full buffers and reduces locally: T = (n-1) S/B + alpha.
- all_reduce, two_shot (same stacks, "reduce-scatter + all-gather" with direct writes): T =
  2(n-1)/n * S/B + 2 alpha.
- all_reduce, tree (binary/double-binary tree, Sanders 2009; NCCL tree; switch or fat tree):
  reduce up and broadcast down a pipelined tree: T = 2 S/B + 2 ceil(log2 n) alpha.
- all_reduce, in_network (NVLink SHARP "NVLS", InfiniBand SHARP; a switch level with
  `in_network_reduction`): the switch reduces and multicasts. With NVLS each chip pulls the
  switch-reduced sum of its S/n slice (multimem.ld_reduce: the switch reads S from every chip
  in total) and stores it to the multicast address (the switch writes S into every chip), so
  each direction of a chip's links carries S + S/n: T = (n+1)/n * S/B + alpha_reduction
  (`Level.reduction_latency_us`; NCCL's tuning model puts NVLS latency at ~23 us on NVLink).
  Streaming SHARP on InfiniBand moves only S each way; the same (n+1)/n is kept (n is large).
- all_gather / reduce_scatter, ring (Thakur 2005 s.4.1): T = (n-1)/n * S/B + (n-1) alpha;
  direct (switch, mesh, fat tree; every chip writes its shard to all peers at once):
  T = (n-1)/n * S/B + alpha.
- all_to_all, direct (switch, mesh, fat tree; pairwise exchange): T = (n-1)/n * S/B + alpha.
- send_recv: T = S/B_p2p + alpha, B_p2p = B on a switch or fat tree, one peer link on a mesh,
  one neighbour link W on a torus or ring.

Tori and rings (the TPU scaling book, parts 2-3; per dimension of k chips, with wraparound a
bidirectional ring of per-direction bandwidth 2W and floor(k/2) hops, without it a line of
bandwidth W and k-1 hops, since "without wraparound ... it typically doubles the time"):
- all_gather over one dimension with output O: T = (k-1)/k * O / BW_d + hops_d alpha.
- dim_ordered: one dimension after the other (output grows by k each time), the best order.
- dim_ordered_multiport: the data is split into D parts that visit the dimensions in rotated
  orders, so all dimensions' links work at once (the scaling book: gathering over several axes
  multiplies the bandwidth by the number of axes); time = the busiest dimension's load / BW_d.
  On a square torus with wraparound this is (N-1)/N * S / (2 D W), the same as a switch with
  the chip's full bandwidth.
- all_reduce = reduce_scatter + all_gather: twice the all-gather time and hops.
- all_to_all, routed: dimension-order routing with each chip's chunks pipelined, so every
  dimension carries a 1-D all-to-all of the whole buffer at once, T = max_d T_d + sum_d hops_d
  alpha. On a ring of k with wraparound the busiest link carries S k/8 (even k) or S (k^2-1)/(8k)
  (odd k) bytes each way; the scaling book gives S/(4 * 2W) for the bidirectional ring (a
  quarter of an all-gather). On a line the middle link carries S floor(k/2) ceil(k/2)/k.

Several levels (n spans more than the innermost level; groups g_0, g_1, ... innermost first,
c_l = g_0 ... g_l):
- hierarchical (Thakur 2005's two-level schemes; NCCL's tree/ring split, "2D" all-reduce):
  all_reduce = reduce_scatter inside level 0 on S + all_reduce across the outer levels on S/g_0
  (recursively) + all_gather inside level 0 on S; all_gather = all_gather across the outer levels
  (output S/g_0) then inside level 0; reduce_scatter mirrors it. Each phase takes its fastest
  algorithm.
- ring (NCCL flat ring with one channel per NIC): each chip's ring link lies at level l in a
  fraction f_l of the channels (f_0 = 1 - 1/c_0, f_l = 1/c_{l-1} - 1/c_l, f_top = 1/c_{top-1}), so
  T = 2(n-1)/n * S * max_l(f_l / B_l) + sum_l steps_l alpha_l (steps split between levels as in
  NCCL's tuning model: crossings of level l >= 1 take 2(n/c_{l-1} - 1) - 2(n/c_l - 1) steps).
  B_l is the chip's ring bandwidth at the level (2W on a torus: a bidirectional Hamiltonian ring).
- tree (NCCL tree: a chain inside the innermost level, binary trees across the others):
  T = 2 S * max_l(f_l / B_l) + 2 ((g_0 - 1) alpha_0 + sum_{l>=1} ceil(log2 g_l) alpha_l).
- all_to_all: every level carries its share of the buffer at once, the level-l part being an
  all-to-all of S c_l / n among its g_l members; T = the slowest level.
- send_recv: between chips whose group spans the outermost level, over that level.

Algorithm names (the `algorithms` filter and `CollectiveCost.algorithm`): ring, one_shot, two_shot,
tree, in_network, direct, dim_ordered, dim_ordered_multiport, routed (torus all-to-all),
hierarchical[...] (with the phases' choices inside), levels[...] (multi-level all-to-all), none.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from jalapeno.errors import JalapenoError
from jalapeno.hardware.topology import Level, Topology

OPERATIONS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv")


@dataclass(frozen=True)
class CollectiveCost:
    """Per message size: time, chosen algorithm, bytes each chip sends over links, their energy.

    Unpacks as `(time_s, algorithm, link_bytes)`.
    """

    time_s: np.ndarray
    algorithm: np.ndarray
    link_bytes: np.ndarray
    link_energy_j: np.ndarray

    def __iter__(self):
        return iter((self.time_s, self.algorithm, self.link_bytes))


@dataclass(frozen=True)
class _R:
    time: np.ndarray
    nbytes: np.ndarray
    energy: np.ndarray
    name: str | np.ndarray  # one name for every size, or one per size


@dataclass(frozen=True)
class _Ctx:
    eff: float
    share: float
    allowed: frozenset[str] | None


def _res(name: str, time, nbytes, pj_per_byte: float) -> _R:
    time = np.asarray(time, dtype=float)
    nbytes = np.asarray(nbytes, dtype=float)
    if nbytes.shape != time.shape:
        nbytes = np.broadcast_to(nbytes, time.shape).copy()
    return _R(time, nbytes, nbytes * (pj_per_byte * 1e-12), name)


def _zero(shape) -> _R:
    z = np.zeros(shape)
    return _R(z, z.copy(), z.copy(), "none")


def _names(r: _R) -> np.ndarray:
    return np.full(r.time.shape, r.name) if isinstance(r.name, str) else r.name


def _lat(alpha_s: float, steps: float, share: float) -> float:
    """Latency of `steps` dependent steps: the first pays alpha, the rest alpha * share."""
    return alpha_s * (1.0 + (steps - 1.0) * share) if steps > 0 else 0.0


def _combine(name_parts: list, parts: list[_R], time: np.ndarray) -> _R:
    """A composite algorithm: its time, the sum of the parts' bytes/energy, a composed name."""
    if all(isinstance(p.name, str) for p in name_parts if isinstance(p, _R)):
        name: str | np.ndarray = "".join(str(p.name) if isinstance(p, _R) else p for p in name_parts)
    else:
        name = np.full(time.shape, "")
        for piece in name_parts:
            name = np.char.add(name, _names(piece) if isinstance(piece, _R) else piece)
    return _R(time, np.asarray(sum(p.nbytes for p in parts)), np.asarray(sum(p.energy for p in parts)), name)


def _pick(cands: dict[str, _R], what: str) -> _R:
    if not cands:
        raise JalapenoError(f"no allowed algorithm for {what}")
    rs = list(cands.values())
    if len(rs) == 1:
        return rs[0]
    idx = np.argmin(np.stack([r.time for r in rs]), axis=0)
    if all(isinstance(r.name, str) for r in rs):
        name = np.array([r.name for r in rs])[idx]
    else:
        name = np.choose(idx, [_names(r) for r in rs])
    return _R(np.choose(idx, [r.time for r in rs]), np.choose(idx, [r.nbytes for r in rs]),
              np.choose(idx, [r.energy for r in rs]), name)


def _wanted(name: str, ctx: _Ctx) -> bool:
    return ctx.allowed is None or name in ctx.allowed


def _filter(cands: dict[str, _R], ctx: _Ctx) -> dict[str, _R]:
    return {k: v for k, v in cands.items() if _wanted(k, ctx)}


# --- one level --------------------------------------------------------------------------------

def _torus_terms(lv: Level, ctx: _Ctx):
    """Per ring dimension: size k, per-direction bandwidth (bytes/s), hops, wraparound."""
    w = lv.link_gb_s * 1e9 * ctx.eff
    out = []
    for k, wrap in zip(lv.ring_dims, lv.wraps, strict=True):
        out.append((k, 2 * w if wrap else w, k // 2 if wrap else k - 1, wrap, w))
    return out


def _torus_gather_coefs(terms) -> tuple[float, float]:
    """Seconds per byte of all-gather output: (best single dimension order, rotated orders)."""
    d = len(terms)
    seq = math.inf
    for order in itertools.permutations(range(d)):
        c = 0.0
        for p, i in enumerate(order):
            k, bw = terms[i][0], terms[i][1]
            later = math.prod(terms[j][0] for j in order[p + 1:])
            c += (k - 1) / k / later / bw
        seq = min(seq, c)
    load = [0.0] * d
    for r in range(d):
        rotated = [(r + i) % d for i in range(d)]
        for p, i in enumerate(rotated):
            k = terms[i][0]
            later = math.prod(terms[j][0] for j in rotated[p + 1:])
            load[i] += (k - 1) / k / later / d
    multi = max(load[i] / terms[i][1] for i in range(d))
    return seq, multi


def _single(op: str, lv: Level, s: np.ndarray, ctx: _Ctx) -> dict[str, _R]:
    n = lv.size
    if n <= 1:
        return {"none": _zero(s.shape)}
    b = lv.chip_gb_s * 1e9 * ctx.eff
    a = lv.latency_us * 1e-6
    pj = lv.energy_pj_per_byte
    sh = ctx.share
    out: dict[str, _R] = {}
    if op == "send_recv":
        bw = b if lv.kind in ("switch", "fat_tree") else lv.link_gb_s * 1e9 * ctx.eff
        out["direct"] = _res("direct", s / bw + _lat(a, 1, sh), s, pj)
        return out

    if lv.kind in ("torus", "ring"):
        terms = _torus_terms(lv, ctx)
        hops = sum(t[2] for t in terms)
        nn = math.prod(t[0] for t in terms)
        if op == "all_to_all":
            coef, dist = 0.0, 0.0
            for k, _bw, _h, wrap, w in terms:
                if wrap:
                    c = (k * k if k % 2 == 0 else k * k - 1) / 8.0
                    dist += k / 4.0 if k % 2 == 0 else (k * k - 1) / (4.0 * k)
                else:
                    c = (k // 2) * ((k + 1) // 2)
                    dist += (k * k - 1) / (3.0 * k)
                coef = max(coef, c / k / w)
            out["routed"] = _res("routed", s * coef + _lat(a, hops, sh), s * dist, pj)
            return out
        seq, multi = _torus_gather_coefs(terms)
        times = 2 if op == "all_reduce" else 1
        nbytes = times * (nn - 1) / nn * s
        if len(terms) == 1:
            out["ring"] = _res("ring", times * seq * s + _lat(a, times * hops, sh), nbytes, pj)
        else:
            out["dim_ordered"] = _res("dim_ordered", times * seq * s + _lat(a, times * hops, sh), nbytes, pj)
            out["dim_ordered_multiport"] = _res("dim_ordered_multiport", times * multi * s + _lat(a, times * hops, sh),
                                                nbytes, pj)
        return out

    # switch, mesh, fat_tree
    direct_ok = lv.kind in ("switch", "mesh")
    if op == "all_reduce":
        out["ring"] = _res("ring", 2 * (n - 1) / n * s / b + _lat(a, 2 * (n - 1), sh), 2 * (n - 1) / n * s, pj)
        if direct_ok:
            out["one_shot"] = _res("one_shot", (n - 1) * s / b + _lat(a, 1, sh), (n - 1) * s, pj)
            out["two_shot"] = _res("two_shot", 2 * (n - 1) / n * s / b + _lat(a, 2, sh), 2 * (n - 1) / n * s, pj)
        if lv.kind in ("switch", "fat_tree"):
            out["tree"] = _res("tree", 2 * s / b + _lat(a, 2 * math.ceil(math.log2(n)), sh), 2 * (n - 1) / n * s, pj)
        if lv.in_network_reduction:
            out["in_network"] = _res("in_network", (n + 1) / n * s / b + lv.reduction_latency * 1e-6,
                                     (n + 1) / n * s, pj)
    elif op in ("all_gather", "reduce_scatter"):
        out["ring"] = _res("ring", (n - 1) / n * s / b + _lat(a, n - 1, sh), (n - 1) / n * s, pj)
        out["direct"] = _res("direct", (n - 1) / n * s / b + _lat(a, 1, sh), (n - 1) / n * s, pj)
    elif op == "all_to_all":
        out["direct"] = _res("direct", (n - 1) / n * s / b + _lat(a, 1, sh), (n - 1) / n * s, pj)
    return out


# --- several levels ---------------------------------------------------------------------------

def _ring_bw(lv: Level, ctx: _Ctx) -> float:
    """A chip's bandwidth for one flat ring through this level (bytes/s)."""
    if lv.kind in ("torus", "ring"):
        return 2 * lv.link_gb_s * 1e9 * ctx.eff
    return lv.chip_gb_s * 1e9 * ctx.eff


def _fractions(groups: tuple[int, ...]) -> list[float]:
    """Share of a flat ring's links (per chip, over channels) that lie at each level."""
    c = list(itertools.accumulate(groups, lambda x, y: x * y))
    top = len(groups) - 1
    f = []
    for lvl in range(len(groups)):
        below = c[lvl - 1] if lvl else 1
        f.append(1.0 / below if lvl == top else 1.0 / below - 1.0 / c[lvl])
    return f


def _ring_steps(groups: tuple[int, ...], per_pass: int) -> list[float]:
    """Ring steps (per pass around the ring) taken at each level, as in NCCL's tuning model."""
    n = math.prod(groups)
    c = list(itertools.accumulate(groups, lambda x, y: x * y))
    top = len(groups) - 1
    at_or_above = [n - 1] + [n // c[lvl - 1] - 1 for lvl in range(1, len(groups))]
    return [per_pass * (at_or_above[lvl] - (at_or_above[lvl + 1] if lvl < top else 0))
            for lvl in range(len(groups))]


def _flat_latency(alphas: list[float], steps: list[float], share: float) -> float:
    total = sum(st * al for st, al in zip(steps, alphas, strict=True))
    first = max(al for st, al in zip(steps, alphas, strict=True) if st > 0)
    return share * total + (1.0 - share) * first


def _multi(op: str, topo: Topology, s: np.ndarray, ctx: _Ctx) -> dict[str, _R]:
    levels = topo.levels
    groups = tuple(lv.size for lv in levels)
    n = math.prod(groups)
    inner, outer = levels[0], Topology(levels=levels[1:])
    g0 = groups[0]
    out: dict[str, _R] = {}
    if op == "send_recv":
        return _single(op, levels[-1], s, ctx)
    if op == "all_to_all":
        c = list(itertools.accumulate(groups, lambda x, y: x * y))
        parts = [_pick(_single(op, lv, s * c[i] / n, ctx), f"all_to_all on {lv.kind}")
                 for i, lv in enumerate(levels)]
        time = np.max(np.stack([p.time for p in parts]), axis=0)
        names: list = ["levels["]
        for i, p in enumerate(parts):
            names += ([","] if i else []) + [p]
        out["levels"] = _combine(names + ["]"], parts, time)
        return out

    f = _fractions(groups)
    bws = [_ring_bw(lv, ctx) for lv in levels]
    coef = max(fl / bw for fl, bw in zip(f, bws, strict=True))
    alphas = [lv.latency_us * 1e-6 for lv in levels]
    passes = 2 if op == "all_reduce" else 1
    ring_t = passes * (n - 1) / n * s * coef + _flat_latency(alphas, _ring_steps(groups, passes), ctx.share)
    ring_bytes = [passes * (n - 1) / n * s * fl for fl in f]
    out["ring"] = _R(ring_t, np.asarray(sum(ring_bytes)),
                     np.asarray(sum(bb * lv.energy_pj_per_byte * 1e-12
                                    for bb, lv in zip(ring_bytes, levels, strict=True))),
                     "ring")

    if op == "all_reduce":
        tree_steps = [2.0 * (g0 - 1)] + [2.0 * math.ceil(math.log2(g)) for g in groups[1:]]
        tree_t = 2 * s * coef + _flat_latency(alphas, tree_steps, ctx.share)
        out["tree"] = _R(tree_t, out["ring"].nbytes.copy(), out["ring"].energy.copy(), "tree")
    if not _wanted("hierarchical", ctx):
        return out
    if op == "all_reduce":
        rs = _pick(_filter(_single("reduce_scatter", inner, s, ctx), ctx), f"reduce_scatter on {inner.kind}")
        ar = _best(op, outer, s / g0, ctx)
        ag = _pick(_filter(_single("all_gather", inner, s, ctx), ctx), f"all_gather on {inner.kind}")
        out["hierarchical"] = _combine(["hierarchical[", rs, "+", ar, "+", ag, "]"], [rs, ar, ag],
                                       rs.time + ar.time + ag.time)
    elif op == "all_gather":
        outer_ag = _best(op, outer, s / g0, ctx)
        ag = _pick(_filter(_single(op, inner, s, ctx), ctx), f"all_gather on {inner.kind}")
        out["hierarchical"] = _combine(["hierarchical[", outer_ag, "+", ag, "]"], [outer_ag, ag],
                                       outer_ag.time + ag.time)
    elif op == "reduce_scatter":
        rs = _pick(_filter(_single(op, inner, s, ctx), ctx), f"reduce_scatter on {inner.kind}")
        outer_rs = _best(op, outer, s / g0, ctx)
        out["hierarchical"] = _combine(["hierarchical[", rs, "+", outer_rs, "]"], [rs, outer_rs],
                                       rs.time + outer_rs.time)
    return out


def _cands(op: str, topo: Topology, s: np.ndarray, ctx: _Ctx) -> dict[str, _R]:
    raw = _single(op, topo.levels[0], s, ctx) if len(topo.levels) == 1 else _multi(op, topo, s, ctx)
    if op in ("send_recv", "all_to_all"):
        return raw  # one algorithm per wiring: the `algorithms` filter does not apply
    return _filter(raw, ctx)


def _best(op: str, topo: Topology, s: np.ndarray, ctx: _Ctx) -> _R:
    return _pick(_cands(op, topo, s, ctx), f"{op} on {topo.describe()}")


# --- public API -------------------------------------------------------------------------------

def _prepare(op: str, topology: Topology, n: int, message_bytes, efficiency: float, algorithms,
             hop_latency_share: float):
    if op not in OPERATIONS:
        raise JalapenoError(f"unknown collective '{op}'; known: {', '.join(OPERATIONS)}")
    if not 0 < efficiency <= 1:
        raise JalapenoError(f"efficiency must be in (0, 1], got {efficiency}")
    if not 0 <= hop_latency_share <= 1:
        raise JalapenoError(f"hop_latency_share must be in [0, 1], got {hop_latency_share}")
    s = np.atleast_1d(np.asarray(message_bytes, dtype=float))
    allowed = None if algorithms is None else frozenset([algorithms] if isinstance(algorithms, str) else algorithms)
    return s, _restricted(topology, int(n)), _Ctx(float(efficiency), float(hop_latency_share), allowed)


@lru_cache(maxsize=1024)
def _restricted(topology: Topology, n: int) -> Topology:
    return topology.restrict(n)


def candidates(op: str, topology: Topology, n: int, message_bytes, *, efficiency: float = 1.0,
               algorithms: Iterable[str] | None = None, hop_latency_share: float = 1.0) -> dict[str, np.ndarray]:
    """Time (s) of every applicable algorithm for `op` on n chips, by name (for inspection)."""
    s, topo, ctx = _prepare(op, topology, n, message_bytes, efficiency, algorithms, hop_latency_share)
    if n <= 1:
        return {"none": np.zeros(s.shape)}
    return {k: v.time for k, v in _cands(op, topo, s, ctx).items()}


def collective(op: str, topology: Topology, n: int, message_bytes, *, efficiency: float = 1.0,
               algorithms: Iterable[str] | None = None, hop_latency_share: float = 1.0) -> CollectiveCost:
    """The fastest allowed algorithm for `op` ("all_reduce", "all_gather", "reduce_scatter",
    "all_to_all", "send_recv") on n chips of `topology`, per message size.

    `efficiency` scales every bandwidth (the software stack's achievable link utilization);
    `algorithms` restricts the all_reduce / all_gather / reduce_scatter candidates by name (e.g.
    {"ring", "tree", "in_network", "hierarchical"} for NCCL without custom kernels; all_to_all and
    send_recv have one algorithm per wiring and ignore it); `hop_latency_share` discounts pipelined
    steps after the first (1.0 = every step pays the level's full latency).
    """
    s, topo, ctx = _prepare(op, topology, n, message_bytes, efficiency, algorithms, hop_latency_share)
    r = _zero(s.shape) if n <= 1 else _best(op, topo, s, ctx)
    return CollectiveCost(r.time, _names(r), r.nbytes, r.energy)


def all_reduce(topology: Topology, n: int, message_bytes, **kw) -> CollectiveCost:
    """Sum an S-byte buffer over n chips, every chip gets the result. See `collective`."""
    return collective("all_reduce", topology, n, message_bytes, **kw)


def all_gather(topology: Topology, n: int, message_bytes, **kw) -> CollectiveCost:
    """Each chip contributes S/n bytes and ends with all S. See `collective`."""
    return collective("all_gather", topology, n, message_bytes, **kw)


def reduce_scatter(topology: Topology, n: int, message_bytes, **kw) -> CollectiveCost:
    """Sum S-byte buffers over n chips, each chip keeps its S/n share of the sum. See `collective`."""
    return collective("reduce_scatter", topology, n, message_bytes, **kw)


def all_to_all(topology: Topology, n: int, message_bytes, **kw) -> CollectiveCost:
    """Each chip sends S/n of its S-byte buffer to every chip (MoE dispatch/combine). See `collective`."""
    return collective("all_to_all", topology, n, message_bytes, **kw)


def send_recv(topology: Topology, n: int, message_bytes, **kw) -> CollectiveCost:
    """S bytes between two chips of an n-chip group (2 = neighbours in the innermost level; a
    group spanning several levels crosses the outermost). See `collective`."""
    return collective("send_recv", topology, n, message_bytes, **kw)
