"""The system catalog: chips, how many, and how they are wired, from `hardware/data/systems/*.yaml`.

A system file names a chip from the chip catalog and lists the network levels innermost first
(see `jalapeno.network.topology`), plus the host: chips per node and the host's own power. Every
figure carries a public source in the `{value, source}` convention of the chip files; a figure
without one is reported as an error naming the file and the field.

`load_system(id)` returns the system as shipped; `num_chips=` (or `nodes=`) takes a smaller slice
(a TPU v5e 8x8 out of the 16x16 pod, one DGX out of a SuperPOD) or, when the outermost level is a
scale-out fat tree, grows it to more nodes or racks.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from jalapeno.errors import JalapenoError, SpecError, UnknownIdError, pydantic_problems
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.figures import ChipsPerNode, HostPowerW
from jalapeno.hardware.spec import ChipSpec, Node, SystemSpec
from jalapeno.hardware.topology import Level, Topology
from jalapeno.sourced import catalog_ids, catalog_path, read_sourced_yaml

_DATA = resources.files("jalapeno.hardware") / "data" / "systems"


class SystemTopologySpec(BaseModel):
    """N chips of one kind, their network levels, and the hosts that feed them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    chip: ChipSpec
    num_chips: PositiveInt
    topology: Topology
    chips_per_node: PositiveInt
    host_power_w: float = Field(ge=0, description="power of one host (node) besides its chips")
    description: str = ""
    assumptions: tuple[str, ...] = ()
    sources: dict[str, str] = Field(default_factory=dict, repr=False)

    @model_validator(mode="after")
    def _chips_match(self) -> SystemTopologySpec:
        if self.topology.num_chips != self.num_chips:
            raise ValueError(f"topology holds {self.topology.num_chips} chips but num_chips is {self.num_chips}")
        return self

    @property
    def nodes(self) -> int:
        return -(-self.num_chips // self.chips_per_node)

    @property
    def total_host_power_w(self) -> float:
        """Host power attributed to these chips (a share of a node when fewer chips than a node)."""
        return self.host_power_w * self.num_chips / self.chips_per_node

    @property
    def scale_up_chips(self) -> int:
        """Largest group that stays on the scale-up fabric (the tensor-parallel limit)."""
        return min(self.topology.scale_up_chips, self.num_chips)

    def system_spec(self) -> SystemSpec:
        """The `SystemSpec` the engine takes: chip, count and wiring."""
        return SystemSpec(chip=self.chip, num_chips=self.num_chips, topology=self.topology,
                          node=Node(chips_per_node=self.chips_per_node, host_power_w=self.host_power_w,
                                    psu_efficiency=self.chip.node.psu_efficiency))


class _SystemFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    chip: str
    description: str = ""
    chips_per_node: ChipsPerNode
    host_power_w: HostPowerW
    topology: tuple[Level, ...] = Field(min_length=1)
    assumptions: tuple[str, ...] = ()
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)


def system_ids() -> list[str]:
    return catalog_ids(_DATA)


def system_path(ref: str) -> Path:
    """The YAML file behind a catalog id or a user path."""
    return catalog_path("system", ref, _DATA)


@lru_cache(maxsize=128)
def _load_file(ref: str) -> tuple[_SystemFile, dict[str, str], str]:
    path = system_path(ref)
    plain, sources = read_sourced_yaml(path, "system")
    try:
        spec = _SystemFile.model_validate(plain)
    except ValidationError as exc:
        raise SpecError(str(path), pydantic_problems(exc)) from None
    return spec, sources, str(path)


@lru_cache(maxsize=256)
def load_system(ref: str, num_chips: int | None = None, nodes: int | None = None) -> SystemTopologySpec:
    """Load a system by catalog id or path.

    `num_chips` (or `nodes`, hosts of `chips_per_node` chips) below the shipped size takes a
    slice (innermost levels first; a torus slice keeps wraparound only on full dimensions);
    above it, the outermost level must be a `fat_tree`, which is grown to hold them.
    """
    spec, sources, path = _load_file(ref)
    try:
        chip = load_chip(spec.chip)
    except UnknownIdError as exc:
        raise SpecError(path, [("chip", str(exc))]) from None
    if nodes is not None:
        if num_chips is not None and num_chips != nodes * spec.chips_per_node:
            raise JalapenoError(f"give num_chips or nodes, not both ({num_chips} != {nodes} x {spec.chips_per_node})")
        num_chips = nodes * spec.chips_per_node
    topo = Topology(levels=spec.topology)
    n = topo.num_chips if num_chips is None else int(num_chips)
    if n > topo.num_chips:
        if topo.levels[-1].kind != "fat_tree":
            raise JalapenoError(f"system '{spec.id}' holds at most {topo.num_chips} chips "
                                f"({topo.describe()}); it has no scale-out level to grow")
        inner = topo.num_chips // topo.levels[-1].size
        if n % inner:
            raise JalapenoError(f"{n} chips do not fill whole {inner}-chip units of '{spec.id}'; "
                                f"use a multiple of {inner}")
        topo = topo.resized(n // inner)
    topo = topo.restrict(n)
    return SystemTopologySpec(id=spec.id, name=spec.name, chip=chip, num_chips=n, topology=topo,
                              chips_per_node=spec.chips_per_node, host_power_w=spec.host_power_w,
                              description=spec.description, assumptions=spec.assumptions, sources=sources)


def system_yaml_text(ref: str) -> str:
    return system_path(ref).read_text()
