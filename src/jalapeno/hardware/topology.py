"""How chips are wired, as data: a topology is a stack of levels, innermost first.

A `Level` is one tier of the network: an NVSwitch domain, a full mesh of Infinity Fabric links, a
2D/3D torus of TPU ICI links, a ring, or a scale-out fat tree of InfiniBand/Ethernet NICs. Its
`size` is the fan-out at that tier: chips for the innermost level, groups of the next-inner level
for the others, so a `Topology` holds `prod(size)` chips. Two DGX H100 nodes are

    Topology(levels=[Level(kind="switch", size=8, ...),      # 8 GPUs on NVLink/NVSwitch
                     Level(kind="fat_tree", size=2, ...)])   # 2 nodes over InfiniBand

and `groups_for(16)` is `(8, 2)`. Bandwidths are per chip, one direction, at that level (the chip's
share of the NICs for a fat tree); latencies are per hop/step; energies per byte sent.

Wiring rules the collective algorithms rely on (see `algorithms.py`):
- `switch`: any chip reaches any peer at its full `bandwidth_gb_s` (non-blocking crossbar).
- `mesh`: one direct link to each of the `size - 1` peers, each at `bandwidth_gb_s / (size - 1)`.
  A subgroup of n chips still has only those links: n - 1 of them, at the same per-peer rate.
- `torus`: `dims` (e.g. (16, 16) or (4, 4, 4)); each chip has two ports per dimension (+ and -),
  each at `bandwidth_gb_s / (2 * len(dims))`. `wraparound` closes every dimension into a ring
  (True/False for all dimensions, or one flag per dimension). A sub-slice keeps the wraparound
  only on dimensions it spans completely (TPU v5e/v6e: only a full 16-chip axis wraps; Google
  Cloud TPU docs, the scaling book's "How to think about TPUs").
- `ring`: a 1-D torus of `size` chips (two ports per chip).
- `fat_tree`: scale-out; any-to-any at `bandwidth_gb_s / oversubscription`.

Units: `_gb_s` is 10^9 bytes/s one direction; `_us` microseconds; `_pj_per_byte` picojoules.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jalapeno.errors import JalapenoError
from jalapeno.hardware.figures import EnergyPjPerByteOrZero, LatencyUs, LevelSize, LinkGBs, Oversubscription

LevelKind = Literal["switch", "mesh", "torus", "ring", "fat_tree"]


class Level(BaseModel):
    """One tier of the network. See the module docstring for what each `kind` means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    kind: LevelKind
    size: LevelSize
    dims: tuple[LevelSize, ...] | None = None
    wraparound: bool | tuple[bool, ...] = True
    bandwidth_gb_s: LinkGBs
    latency_us: LatencyUs
    energy_pj_per_byte: EnergyPjPerByteOrZero = 10.0
    oversubscription: Oversubscription = 1.0
    in_network_reduction: bool = False
    reduction_latency_us: LatencyUs | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> Level:
        if self.kind == "torus":
            if not self.dims:
                raise ValueError("a torus level needs dims, e.g. [4, 4] or [4, 4, 4]")
            if math.prod(self.dims) != self.size:
                raise ValueError(f"torus dims {list(self.dims)} multiply to {math.prod(self.dims)}, "
                                 f"not to size {self.size}")
            if isinstance(self.wraparound, tuple) and len(self.wraparound) != len(self.dims):
                raise ValueError(f"wraparound has {len(self.wraparound)} flags for {len(self.dims)} dims")
        elif self.dims is not None:
            raise ValueError(f"dims only apply to a torus level, not to kind '{self.kind}'")
        if self.kind == "ring" and isinstance(self.wraparound, tuple) and len(self.wraparound) != 1:
            raise ValueError("a ring has one dimension: give wraparound as one flag")
        if self.kind not in ("torus", "ring") and self.wraparound is not True:
            raise ValueError(f"wraparound only applies to torus and ring levels, not to kind '{self.kind}'")
        if self.oversubscription != 1.0 and self.kind != "fat_tree":
            raise ValueError("oversubscription only applies to a fat_tree level")
        if self.in_network_reduction and self.kind not in ("switch", "fat_tree"):
            raise ValueError("in_network_reduction needs switches (kind switch or fat_tree)")
        if self.reduction_latency_us is not None and not self.in_network_reduction:
            raise ValueError("reduction_latency_us is set but in_network_reduction is false")
        return self

    # --- derived figures ---------------------------------------------------------------------

    @property
    def ring_dims(self) -> tuple[int, ...]:
        """The dimensions of a torus or ring level that have more than one chip."""
        if self.kind == "torus":
            return tuple(d for d in self.dims or () if d > 1)
        if self.kind == "ring":
            return (self.size,) if self.size > 1 else ()
        return ()

    @property
    def wraps(self) -> tuple[bool, ...]:
        """One wraparound flag per entry of `ring_dims`."""
        if self.kind == "ring":
            flags: tuple[bool, ...] = (self.wraparound if isinstance(self.wraparound, bool) else self.wraparound[0],)
            return flags if self.size > 1 else ()
        if self.kind != "torus":
            return ()
        dims = self.dims or ()
        flags = self.wraparound if isinstance(self.wraparound, tuple) else (self.wraparound,) * len(dims)
        return tuple(w for d, w in zip(dims, flags, strict=True) if d > 1)

    @property
    def ports(self) -> int:
        """Chip ports at this level: 2 per torus/ring dimension, size-1 for a mesh, 1 otherwise."""
        if self.kind in ("torus", "ring"):
            return max(2 * len(self.ring_dims), 1)
        if self.kind == "mesh":
            return max(self.size - 1, 1)
        return 1

    @property
    def chip_gb_s(self) -> float:
        """Bandwidth one chip can drive at this level, one direction (after oversubscription)."""
        return self.bandwidth_gb_s / self.oversubscription

    @property
    def link_gb_s(self) -> float:
        """One port's one-direction bandwidth: a mesh peer link, a torus/ring neighbour link, or
        the chip's whole share of a switch/fat tree."""
        return self.chip_gb_s / self.ports

    @property
    def reduction_latency(self) -> float:
        return self.reduction_latency_us if self.reduction_latency_us is not None else self.latency_us

    # --- sub-groups --------------------------------------------------------------------------

    def subgroup(self, n: int) -> Level:
        """The same wiring restricted to n of its chips (or groups), keeping per-link rates.

        A switch or fat tree just has fewer members. A mesh keeps its per-peer links, so the
        chip's usable bandwidth falls to (n-1) of its size-1 links. A torus is cut to the most
        nearly square sub-block that fits (ties: the one with the most wrapped dimensions); a
        dimension keeps its wraparound only when the sub-block spans it entirely. A ring cut
        short becomes a line (no wraparound).
        """
        if n == self.size:
            return self
        if not 1 <= n <= self.size:
            raise JalapenoError(f"cannot take {n} chips from a {self.kind} level of {self.size}")
        data = self.model_dump()
        data["size"] = n
        if self.kind == "mesh":
            data["bandwidth_gb_s"] = self.bandwidth_gb_s * max(n - 1, 1) / max(self.size - 1, 1)
        elif self.kind == "ring":
            data["wraparound"] = False
        elif self.kind == "torus":
            dims = tuple(self.dims or ())
            flags = self.wraparound if isinstance(self.wraparound, tuple) else (self.wraparound,) * len(dims)
            sub = _sub_block(dims, flags, n)
            if sub is None:
                raise JalapenoError(f"{n} chips do not form a block of the {'x'.join(map(str, dims))} torus "
                                    f"(each side must fit inside the torus)")
            kept = [(d, w and d == full) for d, full, w in zip(sub, dims, flags, strict=True) if d > 1] or [(1, False)]
            data["dims"] = tuple(d for d, _ in kept)
            data["wraparound"] = tuple(w for _, w in kept)
            active = sum(1 for d, _ in kept if d > 1)
            data["bandwidth_gb_s"] = self.link_gb_s * self.oversubscription * 2 * max(active, 1)
        return Level.model_validate(data)


def _sub_block(dims: tuple[int, ...], wraps: tuple[bool, ...], n: int) -> tuple[int, ...] | None:
    """The sub-block of a torus holding n chips: smallest longest side, then most wrapped sides."""
    best, best_key = None, None
    for sides in itertools.product(*[range(1, d + 1) for d in dims]):
        if math.prod(sides) != n:
            continue
        wrapped = sum(1 for s, d, w in zip(sides, dims, wraps, strict=True) if w and s == d and s > 1)
        key = (max(sides), sum(sides), -wrapped)
        if best_key is None or key < best_key:
            best, best_key = sides, key
    return best


class Topology(BaseModel):
    """Levels from innermost (the scale-up domain) to outermost (scale-out)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: tuple[Level, ...] = Field(min_length=1)

    @property
    def num_chips(self) -> int:
        return math.prod(lv.size for lv in self.levels)

    @property
    def scale_up_chips(self) -> int:
        """Chips reachable without leaving the scale-up fabric (all levels below the first fat tree)."""
        n = 1
        for lv in self.levels:
            if lv.kind == "fat_tree":
                break
            n *= lv.size
        return n

    def groups_for(self, n: int) -> tuple[int, ...]:
        """How n chips split over the levels, innermost filled first.

        16 chips on DGX H100 nodes (8 per NVSwitch, then InfiniBand) are (8, 2); 4 chips are (4,).
        A group that spills over a level must fill that level completely.
        """
        if n < 1:
            raise JalapenoError(f"a group needs at least one chip, not {n}")
        rem, out = n, []
        for i, lv in enumerate(self.levels):
            if rem <= lv.size:
                out.append(rem)
                return tuple(out)
            if rem % lv.size:
                inner = math.prod(out) * lv.size
                raise JalapenoError(f"{n} chips do not split evenly into groups of {inner} "
                                    f"(level {i}: {lv.kind} of {lv.size}); use a multiple of {inner}")
            out.append(lv.size)
            rem //= lv.size
        raise JalapenoError(f"{n} chips exceed this topology's {self.num_chips} chips ({self.describe()})")

    def restrict(self, n: int) -> Topology:
        """The topology a group of n chips sees: levels cut to `groups_for(n)`, outer ones dropped."""
        groups = self.groups_for(n)
        return Topology(levels=tuple(lv.subgroup(g) for lv, g in zip(self.levels, groups, strict=False)))

    def resized(self, outer_size: int) -> Topology:
        """The same topology with the outermost level grown or shrunk to `outer_size` members
        (how many nodes or racks a scale-out fat tree joins)."""
        last = self.levels[-1]
        data = last.model_dump()
        data["size"] = outer_size
        if last.kind == "torus":
            raise JalapenoError("resize a torus level by giving its dims, not a size")
        return Topology(levels=(*self.levels[:-1], Level.model_validate(data)))

    def describe(self) -> str:
        parts = []
        for lv in self.levels:
            shape = "x".join(map(str, lv.dims)) if lv.kind == "torus" and lv.dims else str(lv.size)
            parts.append(f"{lv.kind} {shape} @ {lv.bandwidth_gb_s:g} GB/s")
        return " / ".join(parts)


def topology_from_links(links, num_chips: int | None = None) -> Topology:
    """A one-level topology from a chip's `Links` (hardware.spec), for chips without a system file.

    Switch, mesh and ring map directly; a torus is taken as the most nearly square 2-D torus of
    `max_domain_chips` (an approximation: the system catalog gives real shapes). `num_chips`
    restricts it to a smaller group.
    """
    size = links.max_domain_chips
    data = dict(kind=links.topology, size=size, bandwidth_gb_s=links.bandwidth_gb_s, latency_us=links.latency_us,
                energy_pj_per_byte=links.energy_pj_per_byte, name=links.kind)
    if links.topology == "torus":
        a = max(d for d in range(1, math.isqrt(size) + 1) if size % d == 0)
        data["dims"] = (a, size // a) if a > 1 else (size,)
    topo = Topology(levels=(Level.model_validate(data),))
    return topo.restrict(num_chips) if num_chips is not None and num_chips != size else topo
