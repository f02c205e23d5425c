"""Synthetic prefix-block ids that reproduce a trace's prefix-cache reuse.

A prefix cache pays off in proportion to how much of each prompt repeats an earlier one. The
Mooncake traces measure that with chained 512-token block ids (request.BLOCK_TOKENS); on those
traces every reused block lies in a leading run (checked: no request reuses a block after a new
one). So the reuse of a request is one number, k = its leading blocks already seen, and the
fitted model is:

* by prompt size (bins of block count, because reuse depends strongly on it in the synthetic
  trace), the share of requests that reuse anything and the quantiles of k / blocks among those;
* the reuse distance: how many requests back the reused prefix was last used (locality, which
  decides whether a finite cache still holds it).

`PrefixSynthesizer` draws k from the bin of the new prompt, copies the first k ids of a recent
prompt about one reuse distance back (one with at least k blocks, searched nearby), and gives the
rest fresh ids (if none nearby is long enough, the latest prompt that is). The block-level reuse
fraction then comes within a few percent of the trace's (k / blocks is drawn independently of the
size within a bin); the finer structure (which conversation a prompt continues) is not modelled.
`fit_prefix_profile` computes the figures stored in data/trace_profiles.yaml.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from jalapeno.workloads.distributions import Empirical
from jalapeno.workloads.request import Request, num_blocks

BIN_EDGES_BLOCKS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""Lower edges of the block-count bins: [1, 2), [2, 3), ..., [256, inf). Spaced by about sqrt(2):
halving them (powers of 2) left the synthetic trace's reuse 3 points low, from the correlation of
reuse with size inside a bin."""

FRACTION_QUANTILES: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
DISTANCE_QUANTILES: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)


@dataclass(frozen=True)
class ReuseBin:
    """Reuse among prompts of min_blocks.. (next bin's min_blocks - 1) blocks."""

    min_blocks: int
    request_fraction: float  # share of all requests in this bin
    hit_fraction: float  # share of this bin's requests that reuse at least one block
    reused_fraction: Mapping[str, float]  # quantiles ('p0'..'p100') of reused / blocks among hits


@dataclass(frozen=True)
class PrefixProfile:
    """Prefix reuse of a trace, as fitted by `fit_prefix_profile`."""

    mean_blocks_per_request: float
    reuse_fraction: float  # share of all blocks whose id appeared in an earlier request
    bins: tuple[ReuseBin, ...]
    reuse_distance_requests: Mapping[str, float]  # quantiles of requests since the reused prefix was last used


def _label(q: float) -> str:
    return f"p{q * 100:g}"


def _quantiles(values: list[float], qs: tuple[float, ...]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {_label(q): round(float(v), 4) for q, v in zip(qs, np.quantile(arr, qs), strict=True)}


def _bin_index(blocks: int) -> int:
    return max(0, bisect.bisect_right(BIN_EDGES_BLOCKS, blocks) - 1)


def fit_prefix_profile(requests: Iterable[Request]) -> PrefixProfile:
    """Fit the reuse model to a trace with prefix hashes (keeps a map of every distinct block id)."""
    last_use: dict[int, int] = {}
    counts = [0] * len(BIN_EDGES_BLOCKS)
    hits = [0] * len(BIN_EDGES_BLOCKS)
    fractions: list[list[float]] = [[] for _ in BIN_EDGES_BLOCKS]
    distances: list[float] = []
    total = reused = n = 0
    for i, r in enumerate(requests):
        h = r.prefix_hashes
        n += 1
        total += len(h)
        reused += sum(1 for x in h if x in last_use)
        k = 0
        while k < len(h) and h[k] in last_use:
            k += 1
        b = _bin_index(len(h))
        counts[b] += 1
        if k:
            hits[b] += 1
            fractions[b].append(k / len(h))
            distances.append(i - last_use[h[k - 1]])
        for x in h:
            last_use[x] = i
    bins = tuple(
        ReuseBin(
            min_blocks=edge,
            request_fraction=round(counts[b] / n, 6) if n else 0.0,
            hit_fraction=round(hits[b] / counts[b], 6) if counts[b] else 0.0,
            reused_fraction=_quantiles(fractions[b], FRACTION_QUANTILES) if fractions[b] else {},
        )
        for b, edge in enumerate(BIN_EDGES_BLOCKS)
    )
    return PrefixProfile(
        mean_blocks_per_request=total / n if n else 0.0,
        reuse_fraction=reused / total if total else 0.0,
        bins=bins,
        reuse_distance_requests=_quantiles(distances, DISTANCE_QUANTILES) if distances else {"p0": 1.0},
    )


class PrefixSynthesizer:
    """Draws prefix-block ids for successive prompts so that reuse follows a `PrefixProfile`.

    Keeps the ids of the last `pool_size` prompts (flat memory); new ids count up from `first_id`.
    """

    SEARCH = 64  # prompts scanned around the drawn reuse distance for one long enough
    _CHUNK = 4096

    def __init__(self, profile: PrefixProfile, rng: np.random.Generator, pool_size: int = 8192, first_id: int = 0):
        self.rng = rng
        self.pool: list[tuple[int, ...]] = []
        self.pool_size = pool_size
        self._head = 0  # index in pool of the oldest entry once the ring is full
        self.next_id = first_id
        self._hit = [b.hit_fraction for b in profile.bins]
        self._frac = [Empirical(b.reused_fraction) if b.reused_fraction else None for b in profile.bins]
        self._dist = Empirical(profile.reuse_distance_requests)
        self._latest_by_bin: list[tuple[int, ...] | None] = [None] * len(BIN_EDGES_BLOCKS)
        self._u: np.ndarray = np.empty(0)
        self._ui = 0

    def _uniform(self) -> float:
        if self._ui >= len(self._u):
            self._u = self.rng.random(self._CHUNK)
            self._ui = 0
        self._ui += 1
        return float(self._u[self._ui - 1])

    def _recent(self, back: int) -> tuple[int, ...]:
        """The prompt `back` (>= 1) requests ago, clipped to the oldest held."""
        size = len(self.pool)
        back = min(back, size)
        return self.pool[(self._head - back) % size] if size == self.pool_size else self.pool[size - back]

    def _parent(self, k: int) -> tuple[int, ...]:
        size = len(self.pool)
        back = max(1, int(round(self._dist.value_at(self._uniform()))))
        back = min(back, size)
        best: tuple[int, ...] = ()
        for step in range(self.SEARCH):
            for cand_back in (back + step, back - step) if step else (back,):
                if 1 <= cand_back <= size:
                    cand = self._recent(cand_back)
                    if len(cand) >= k:
                        return cand
                    if len(cand) > len(best):
                        best = cand
        # None nearby is long enough: take the latest prompt of k's size bin or above that is.
        for latest in self._latest_by_bin[_bin_index(k):]:
            if latest is not None and len(latest) >= k:
                return latest
        return best

    def hashes(self, input_tokens: int) -> tuple[int, ...]:
        """Block ids for a prompt of `input_tokens` tokens."""
        blocks = num_blocks(input_tokens)
        b = _bin_index(blocks)
        k = 0
        reused = self._frac[b]
        if self.pool and reused is not None and self._uniform() < self._hit[b]:
            frac = reused.value_at(self._uniform())
            k = min(blocks, max(1, int(round(frac * blocks))))
        prefix = self._parent(k)[:k] if k else ()
        start = self.next_id
        self.next_id += blocks - len(prefix)
        ids = prefix + tuple(range(start, self.next_id))
        self._latest_by_bin[b] = ids
        if len(self.pool) < self.pool_size:
            self.pool.append(ids)
        else:
            self.pool[self._head] = ids
            self._head = (self._head + 1) % self.pool_size
        return ids
