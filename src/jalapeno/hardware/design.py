"""A chip as a design: primitives from which every peak, capacity and bandwidth derives.

A chip architect writes compute units x MACs per cycle per number format x clock, vector lanes,
memory as a technology x stacks (or channels) x per-stack figures, on-chip SRAM as bytes per
cycle per unit, links as SerDes lanes x Gb/s per lane. `derive_totals` turns such a description
into the totals the rest of the house reads (`matrix.peak_tflops`, `memory[i].bandwidth_gb_s`,
`links.bandwidth_gb_s`, ...). A chip file may give primitives, totals or both; with both they
must agree within `AGREEMENT` (1 %), else one error names both figures. Usable capacity may be
a little below physical (vendors sell 141 of an H200's 144 GiB), so capacities may sit up to
`USABLE_FLOOR` below the stacks' physical total.

`derive_chip(base, overrides)` is the what-if and design-search entry: it drops the base's
totals wherever the base has primitives (so doubling `matrix.units` doubles the peak instead of
contradicting it), applies dotted-path overrides, and validates the result as a fresh ChipSpec.
`ChipDesign` is the primitives-only form a search samples.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from jalapeno.safeload import parse_yaml
from jalapeno.sourced import split_sources

AGREEMENT = 0.01
USABLE_FLOOR = 0.90  # usable / physical capacity accepted (H200 141/144, B200 180/192 = 0.94)


class _NotANumber(Exception):
    """A figure that is not a number: derivation stops and pydantic names the field."""


def _f(x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise _NotANumber
    return float(x)


# Which totals each design primitive determines (hardware/design.py). When a file changes one side
# of such a pair, the base's other side goes, so a what-if never contradicts what it starts from.
DERIVES = {"macs_per_cycle": ("peak_tflops",), "lanes": ("peak_tflops", "bandwidth_gb_s"),
            "lane_gbps": ("bandwidth_gb_s",), "clock_ghz": ("peak_tflops",),
            "stacks": ("capacity_gib", "bandwidth_gb_s"), "per_stack_capacity_gib": ("capacity_gib",),
            "per_stack_bandwidth_gb_s": ("bandwidth_gb_s",), "capacity_per_unit_mib": ("capacity_gib",),
            "bytes_per_cycle": ("bandwidth_gb_s",)}
DERIVED_FROM: dict[str, tuple[str, ...]] = {}
for prim_, totals_ in DERIVES.items():
    for t_ in totals_:
        DERIVED_FROM[t_] = (*DERIVED_FROM.get(t_, ()), prim_)



def _agree(given: float, derived: float) -> bool:
    return abs(given - derived) <= AGREEMENT * max(abs(derived), 1e-30)


def _problem(field: str, given: float, derived: float, formula: str) -> ValueError:
    off = (given / derived - 1) * 100 if derived else float("inf")
    return ValueError(f"{field} = {given:g} disagrees with {formula} = {derived:.6g} ({off:+.1f} %); "
                      f"give one of them, or make them agree within {AGREEMENT:.0%}")


def _settle(block: dict, key: str, derived: float, field: str, formula: str) -> None:
    """Fill a total its primitives imply, or check the one given agrees with them."""
    if key not in block:
        block[key] = derived
    elif not _agree(_f(block[key]), derived):
        raise _problem(field, _f(block[key]), derived, formula)


def _derive_matrix(matrix: dict, clock_ghz: float) -> None:
    macs = matrix.get("macs_per_cycle") or {}
    units = matrix.get("units")
    if not macs or not isinstance(units, int | float):
        return
    peaks = dict(matrix.get("peak_tflops") or {})
    for fmt, per_unit in macs.items():
        _settle(peaks, fmt, units * _f(per_unit) * 2 * clock_ghz * 1e9 / 1e12, f"matrix.peak_tflops.{fmt}",
                f"units x macs_per_cycle.{fmt} x 2 x clock_ghz ({units} x {per_unit} x 2 x {clock_ghz})")
    matrix["peak_tflops"] = peaks


def _derive_vector(vector: dict, units: float, clock_ghz: float) -> None:
    lanes = vector.get("lanes")
    if lanes is None:
        return
    clock = vector.get("clock_ghz") or clock_ghz
    _settle(vector, "peak_tflops", units * _f(lanes) * 2 * clock * 1e9 / 1e12, "vector.peak_tflops",
            f"units x lanes x 2 x clock ({units} x {lanes} x 2 x {clock})")


@lru_cache(maxsize=1)
def memory_technologies() -> dict:
    """hardware/data/memory_technology.yaml as plain values (energy per bit, per-stack figures)."""
    f = resources.files("jalapeno.hardware") / "data" / "memory_technology.yaml"
    plain, _, _ = split_sources(parse_yaml(f.read_text(), str(f)))
    return plain["technologies"]


def _derive_memory(level: dict, i: int, units: float, clock_ghz: float) -> None:
    where = f"memory[{i}]"
    tech = level.get("technology")
    if "energy_pj_per_byte" not in level and isinstance(tech, str) and tech in memory_technologies():
        level["energy_pj_per_byte"] = memory_technologies()[tech]["pj_per_bit"] * 8
    stacks = level.get("stacks")
    if stacks is not None:
        for per, total, unit in (("per_stack_capacity_gib", "capacity_gib", "GiB"),
                                 ("per_stack_bandwidth_gb_s", "bandwidth_gb_s", "GB/s")):
            if level.get(per) is None:
                continue
            derived = _f(stacks) * _f(level[per])
            if total not in level:
                level[total] = derived
                continue
            given = _f(level[total])
            ok = (derived * USABLE_FLOOR <= given <= derived * (1 + AGREEMENT)) if total == "capacity_gib" \
                else _agree(given, derived)
            if not ok:
                raise _problem(f"{where}.{total}", given, derived, f"stacks x {per} ({stacks} x {level[per]} {unit})")
    per_unit_mib = level.get("capacity_per_unit_mib")
    if per_unit_mib is not None:
        _settle(level, "capacity_gib", units * _f(per_unit_mib) / 1024, f"{where}.capacity_gib",
                f"units x capacity_per_unit_mib / 1024 ({units} x {per_unit_mib} / 1024)")
    bpc = level.get("bytes_per_cycle")
    if bpc is not None:
        _settle(level, "bandwidth_gb_s", units * _f(bpc) * clock_ghz, f"{where}.bandwidth_gb_s",
                f"units x bytes_per_cycle x clock_ghz ({units} x {bpc} x {clock_ghz})")


def _derive_links(links: dict) -> None:
    lanes, rate = links.get("lanes"), links.get("lane_gbps")
    if lanes is None or rate is None:
        return
    _settle(links, "bandwidth_gb_s", _f(lanes) * _f(rate) / 8, "links.bandwidth_gb_s",
            f"lanes x lane_gbps / 8 ({lanes} x {rate} / 8)")


def derive_totals(data: dict) -> dict:
    """The chip mapping with every total its primitives imply filled in (a copy)."""
    data = copy.deepcopy(data)
    try:
        _derive_all(data)
    except _NotANumber:
        pass  # pydantic reports the malformed field by name
    return data


def _derive_all(data: dict) -> None:
    clock = data.get("clock_ghz")
    matrix = data.get("matrix")
    if not isinstance(clock, int | float) or not isinstance(matrix, dict):
        return  # pydantic reports the missing or malformed field
    _derive_matrix(matrix, _f(clock))
    units = matrix.get("units")
    if not isinstance(units, int | float):
        return
    if isinstance(data.get("vector"), dict):
        _derive_vector(data["vector"], units, _f(clock))
    for i, level in enumerate(data.get("memory") or ()):
        if isinstance(level, dict):
            _derive_memory(level, i, units, _f(clock))
    if isinstance(data.get("links"), dict):
        _derive_links(data["links"])


def strip_derived(data: dict) -> dict:
    """Drop every total that primitives in the same block determine (a copy), so the primitives can
    change without contradicting the totals they once implied."""
    data = copy.deepcopy(data)
    matrix = data.get("matrix") or {}
    if matrix.get("macs_per_cycle"):
        matrix["peak_tflops"] = {f: v for f, v in (matrix.get("peak_tflops") or {}).items()
                                 if f not in matrix["macs_per_cycle"]}
    vector = data.get("vector") or {}
    if vector.get("lanes") is not None:
        vector.pop("peak_tflops", None)
    for level in data.get("memory") or ():
        if level.get("stacks") is not None:
            if level.get("per_stack_capacity_gib") is not None:
                level.pop("capacity_gib", None)
            if level.get("per_stack_bandwidth_gb_s") is not None:
                level.pop("bandwidth_gb_s", None)
        if level.get("capacity_per_unit_mib") is not None:
            level.pop("capacity_gib", None)
        if level.get("bytes_per_cycle") is not None:
            level.pop("bandwidth_gb_s", None)
    links = data.get("links") or {}
    if links.get("lanes") is not None and links.get("lane_gbps") is not None:
        links.pop("bandwidth_gb_s", None)
    return data


def _select(items: list, key: str, path: str) -> dict:
    """A list entry by its name, or by its kind when one entry has that kind (`memory.hbm`)."""
    by_name = [x for x in items if isinstance(x, dict) and x.get("name") == key]
    by_kind = [x for x in items if isinstance(x, dict) and x.get("kind") == key]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_kind) == 1:
        return by_kind[0]
    if key.isdigit() and int(key) < len(items):
        return items[int(key)]
    names = [x.get("name") for x in items if isinstance(x, dict)]
    raise ValueError(f"{path}: no single entry named or of kind {key!r} (entries: {names})")


def node_at(data: dict, dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = _select(list(node), part, dotted) if isinstance(node, list | tuple) else node.get(part)
        if node is None:
            return None
    return node


def set_path(data: dict, dotted: str, value: Any) -> None:
    """Set `a.b.c` in a nested mapping; list levels are addressed by entry name or kind."""
    parts = re.sub(r"\[(\d+)\]", r".\1", dotted).split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        here = ".".join(parts[: i + 1])
        if isinstance(node, list | tuple):
            node = _select(list(node), part, here)
        elif isinstance(node, dict):
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            raise ValueError(f"{here}: not a mapping")
    last = parts[-1]
    if isinstance(node, list | tuple):
        raise ValueError(f"{dotted}: names a list entry, not a field")
    node[last] = value


def derive_chip(base, overrides: dict[str, Any] | None = None, **fields: Any):
    """A validated ChipSpec from a base chip (catalog id, path or ChipSpec) with overrides.

    `overrides` maps dotted paths to values (`{"matrix.units": 16, "memory.hbm.stacks": 6}`);
    keyword arguments set top-level fields (`id="my-chip"`). The base's totals are dropped where
    its primitives determine them, so changing a primitive moves every figure derived from it.
    """
    from jalapeno.hardware.catalog import load_chip
    from jalapeno.hardware.spec import ChipSpec

    spec = load_chip(base) if isinstance(base, str) else base
    raw = spec.model_dump(mode="python")
    raw = strip_derived(raw)
    sources = dict(raw.get("sources") or {})
    for path, value in {**(overrides or {}), **fields}.items():
        set_path(raw, path, value)
        sources[path] = "design override"
        # A total set outright replaces the primitives that would derive it.
        parent, _, leaf = re.sub(r"\[(\d+)\]", r".\1", path).rpartition(".")
        if parent and DERIVED_FROM.get(leaf):
            block = node_at(raw, parent)
            for prim in DERIVED_FROM[leaf]:
                if isinstance(block, dict) and prim != "clock_ghz":
                    block.pop(prim, None)
    raw["sources"] = sources
    return ChipSpec.model_validate(raw)


class ChipDesign(BaseModel):
    """The primitives of a chip and nothing derived: what a design search samples.

    Memory is one off-chip technology (`stacks` x per-stack figures, 0 stacks for an SRAM-only
    design, which then holds its weights in `sram_per_unit_mib`) and one on-chip SRAM level.
    `to_spec()` gives the validated ChipSpec every other layer reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = "design"
    name: str = "Design-space point"
    execution: str = "systolic"
    software_stack: str = "jalapeno-compiler"
    process_node_nm: PositiveFloat = 3
    clock_ghz: PositiveFloat
    units: PositiveInt
    macs_per_cycle: dict[str, PositiveFloat]
    tile_m: PositiveInt = 128
    tile_n: PositiveInt = 128
    vector_lanes: PositiveFloat = 1024
    sram_per_unit_mib: PositiveFloat = 32
    sram_bytes_per_cycle: PositiveFloat = 4096
    sram_pj_per_byte: PositiveFloat = 1.0
    memory_technology: str = "hbm3e"
    memory_stacks: int = Field(default=8, ge=0)
    # None: the technology's figures (hardware/data/memory_technology.yaml)
    per_stack_capacity_gib: PositiveFloat | None = None
    per_stack_bandwidth_gb_s: PositiveFloat | None = None
    memory_pj_per_byte: PositiveFloat | None = None
    link_lanes: PositiveInt = 48
    lane_gbps: PositiveFloat = 200
    link_pj_per_byte: PositiveFloat = 40
    max_domain_chips: PositiveInt = 64
    tdp_w: PositiveFloat = 800
    idle_w: PositiveFloat = 120
    die_area_mm2: PositiveFloat | None = None
    chips_per_node: PositiveInt = 4
    host_power_w: float = Field(default=900, ge=0)

    def to_spec(self):
        from jalapeno.hardware.spec import ChipSpec

        kind = {"gpu": "gpu", "systolic": "asic", "sram-streaming": "lpu", "cpu": "cpu"}.get(self.execution, "asic")
        sram = {"name": "On-chip SRAM", "kind": "sram", "technology": "sram",
                "capacity_per_unit_mib": self.sram_per_unit_mib, "bytes_per_cycle": self.sram_bytes_per_cycle,
                "energy_pj_per_byte": self.sram_pj_per_byte, "latency_ns": 25.0}
        memory: list[dict] = []
        if self.memory_stacks > 0:
            tech = memory_technologies().get(self.memory_technology)
            if tech is None:
                raise ValueError(f"memory_technology: unknown {self.memory_technology!r} "
                                 f"(known: {', '.join(sorted(memory_technologies()))})")
            level = {"name": f"{self.memory_technology.upper()} x {self.memory_stacks}",
                     "kind": "hbm" if self.memory_technology.startswith("hbm") else "dram",
                     "technology": self.memory_technology, "stacks": self.memory_stacks,
                     "per_stack_capacity_gib": self.per_stack_capacity_gib or tech.get("per_stack_capacity_gib"),
                     "per_stack_bandwidth_gb_s": self.per_stack_bandwidth_gb_s or tech.get("per_stack_bandwidth_gb_s"),
                     "latency_ns": 600.0}
            if self.memory_pj_per_byte:
                level["energy_pj_per_byte"] = self.memory_pj_per_byte
            memory.append(level)
            memory.append(sram)
        else:  # SRAM-resident: the SRAM is the memory that holds weights and KV (as Groq's file does)
            memory.append({**sram, "kind": "dram", "name": "On-chip SRAM (no external memory)"})
        data = {
            "id": self.id, "name": self.name, "vendor": "design", "kind": kind, "execution": self.execution,
            "software_stack": self.software_stack, "clock_ghz": self.clock_ghz,
            "matrix": {"units": self.units, "tile_m": self.tile_m, "tile_n": self.tile_n,
                       "macs_per_cycle": dict(self.macs_per_cycle)},
            "vector": {"lanes": self.vector_lanes},
            "memory": memory,
            "links": {"kind": "design links", "count": max(1, self.link_lanes // 4), "lanes": self.link_lanes,
                      "lane_gbps": self.lane_gbps, "energy_pj_per_byte": self.link_pj_per_byte,
                      "topology": "switch", "max_domain_chips": self.max_domain_chips},
            "power": {"tdp_w": self.tdp_w, "idle_w": self.idle_w},
            "silicon": {"process_node_nm": self.process_node_nm, "die_area_mm2": self.die_area_mm2},
            "node": {"chips_per_node": self.chips_per_node, "host_power_w": self.host_power_w},
            "assumptions": ("a design-space point: every figure is a design primitive",),
            "sources": {"(all)": "design primitive"},
        }
        return ChipSpec.model_validate(data)
