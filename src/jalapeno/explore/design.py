"""A point of a design space becomes a validated chip.

A point is a flat mapping of parameter values (`compute_units: 16, memory_stacks: 6, ...`).
`design_overrides` turns it into the chip fields it changes, starting from a base chip, and
`derive_design` builds the validated `ChipSpec` through one adapter (`_derive`): today a thin
one that re-validates the base's `model_dump()` with the overrides merged in (list entries of
`memory` by name); it is the single place to point at `hardware.design.derive_chip` once that
lands. Never `model_copy` without validation.

Primitives and how the totals follow from them (the base chip gives what a point leaves out):
- matrix peak per format = units x MACs per cycle per unit x 2 x clock; MACs per cycle per unit
  default to the base's, scaled by the array's PE count (rows x cols) when the array changes;
- vector fp32 peak and on-chip SRAM bandwidth scale with units x clock (lanes and bytes per cycle
  per unit as the base's); SRAM capacity = units x SRAM per core;
- main memory = technology x stacks (data/memory_technologies.yaml: per-stack capacity,
  bandwidth, energy);
- scale-up links = lanes x Gb/s per lane / 8 per direction;
- power: `tdp_w` as a parameter, or derived at peak (see `derived_tdp_w`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from jalapeno.engine.power import joules_per_flop
from jalapeno.errors import JalapenoError, SpecError, pydantic_problems
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.spec import ChipSpec
from jalapeno.sourced import split_sources

FORMATS = ("fp4", "fp8", "int8", "bf16")
BASE_LANE_GBPS = 200.0  # Assumption: the base chip's links counted in 200G SerDes lanes when a point changes lanes

# Parameter name -> (type, what it sets). The space parser checks names against this table.
PARAMETERS: dict[str, tuple[type, str]] = {
    "compute_units": (int, "matrix engines (cores, SMs, arrays)"),
    "array_rows": (int, "rows of each unit's systolic array (the GEMM tile_m)"),
    "array_cols": (int, "columns of each unit's systolic array (the GEMM tile_n)"),
    **{f"macs_per_cycle_{f}": (float, f"{f} MACs per cycle per unit") for f in FORMATS},
    "clock_ghz": (float, "core clock"),
    "sram_per_core_mib": (float, "on-chip SRAM per unit, MiB"),
    "memory_technology": (str, "off-chip memory technology (hbm3, hbm3e, hbm4, lpddr5x, gddr7)"),
    "memory_stacks": (int, "HBM stacks or DRAM devices/packages"),
    "link_lanes": (int, "scale-up SerDes lanes per direction"),
    "lane_gbps": (float, "Gb/s per SerDes lane per direction"),
    "process_node_nm": (float, "process node"),
    "chips": (int, "chips per scale-up domain (the system the design is planned on)"),
    "tdp_w": (float, "power limit (instead of the TDP derived at peak)"),
}


@lru_cache(maxsize=1)
def memory_technologies() -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load((resources.files("jalapeno.explore") / "data" / "memory_technologies.yaml").read_text())
    plain, _, unsourced = split_sources(raw)
    if unsourced:
        raise SpecError("explore/data/memory_technologies.yaml", [(p, "a figure without a source") for p in unsourced])
    return plain


def _per_unit_macs(base: ChipSpec, fmt: str) -> float:
    return base.matrix.peak_tflops[fmt] * 1e12 / (2.0 * base.clock_ghz * 1e9 * base.matrix.units)  # type: ignore[index]


def design_overrides(base: ChipSpec, point: dict[str, Any]) -> dict[str, Any]:
    """The chip fields a point changes, as a nested mapping over the base's `model_dump()`."""
    units = int(point.get("compute_units", base.matrix.units))
    clock = float(point.get("clock_ghz", base.clock_ghz))
    rows = int(point.get("array_rows", base.matrix.tile_m))
    cols = int(point.get("array_cols", base.matrix.tile_n))
    pe_scale = rows * cols / (base.matrix.tile_m * base.matrix.tile_n)
    peaks = {}
    for fmt in base.matrix.peak_tflops:
        per_unit = point.get(f"macs_per_cycle_{fmt}", _per_unit_macs(base, fmt) * pe_scale)
        peaks[fmt] = units * float(per_unit) * 2.0 * clock * 1e9 / 1e12
    for fmt in FORMATS:  # a format the base lacks but the point gives
        if f"macs_per_cycle_{fmt}" in point and fmt not in peaks:
            peaks[fmt] = units * float(point[f"macs_per_cycle_{fmt}"]) * 2.0 * clock * 1e9 / 1e12
    scale = units * clock / (base.matrix.units * base.clock_ghz)
    out: dict[str, Any] = {
        "id": point.get("_id", f"{base.id}-design"), "name": f"design from {base.id}", "clock_ghz": clock,
        "matrix": {"units": units, "tile_m": rows, "tile_n": cols, "peak_tflops": peaks},
        "vector": {"peak_tflops": base.vector.peak_tflops * scale},
    }
    memory: dict[str, dict[str, Any]] = {}
    sram = base.on_chip
    if sram is not None:
        level: dict[str, Any] = {"bandwidth_gb_s": sram.bandwidth_gb_s * scale}
        if "sram_per_core_mib" in point:
            level["capacity_gib"] = units * float(point["sram_per_core_mib"]) / 1024.0
        elif "compute_units" in point:
            level["capacity_gib"] = sram.capacity_gib * units / base.matrix.units
        memory[sram.name] = level
    if "memory_technology" in point or "memory_stacks" in point:
        memory[base.main_memory.name] = _main_memory(base, point)
    out["memory"] = memory
    if "link_lanes" in point or "lane_gbps" in point:
        base_lanes = base.links.bandwidth_gb_s * 8 / BASE_LANE_GBPS
        lanes = int(point.get("link_lanes", round(base_lanes)))
        lane = float(point.get("lane_gbps", BASE_LANE_GBPS))
        out["links"] = {"bandwidth_gb_s": lanes * lane / 8.0,
                        "count": max(1, round(base.links.count * lanes / base_lanes))}
    if "chips" in point:
        out.setdefault("links", {})["max_domain_chips"] = max(int(point["chips"]), base.links.max_domain_chips)
    if "process_node_nm" in point:
        out["silicon"] = {"process_node_nm": float(point["process_node_nm"])}
    return out


def _main_memory(base: ChipSpec, point: dict[str, Any]) -> dict[str, Any]:
    techs = memory_technologies()
    tech = str(point.get("memory_technology", "hbm3e"))
    if tech not in techs:
        raise JalapenoError(f"memory_technology '{tech}' is not one of {', '.join(techs)}")
    t = techs[tech]
    stacks = int(point.get("memory_stacks", 8))
    if stacks < 1:
        raise JalapenoError("memory_stacks must be at least 1: the engine needs an off-chip memory level "
                            "(weights and KV cache live there)")
    unit = "stacks" if t["kind"] == "hbm" else "devices"
    return {"name": f"{tech.upper()} ({stacks} {unit})", "kind": t["kind"],
            "capacity_gib": stacks * t["per_stack_capacity_gib"],
            "bandwidth_gb_s": stacks * t["per_stack_bandwidth_gb_s"],
            "energy_pj_per_byte": t["energy_pj_per_byte"], "_replaces": base.main_memory.name}


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if k == "memory":
            levels = [dict(m) for m in out["memory"]]
            for name, fields in v.items():
                fields = dict(fields)
                target = fields.pop("_replaces", name)
                for i, m in enumerate(levels):
                    if m["name"] == target:
                        levels[i] = {**m, **fields}
            out["memory"] = levels
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _derive(base: ChipSpec, overrides: dict[str, Any]) -> ChipSpec:
    """The one adapter from (base, overrides) to a validated chip."""
    data = _merge(base.model_dump(), overrides)
    try:
        return ChipSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"design from {base.id}", pydantic_problems(exc)) from None


def peak_dynamic_w(chip: ChipSpec, fmt: str) -> float:
    """Dynamic power with the matrix engines at peak in `fmt`, main memory at full bandwidth and the
    scale-up links at full rate, from the engine's energy coefficients (engine/power.py)."""
    return (chip.peak_flops(fmt) * joules_per_flop(chip, fmt)
            + chip.main_memory.bandwidth_gb_s * 1e9 * chip.main_memory.energy_pj_per_byte * 1e-12
            + chip.links.bandwidth_gb_s * 1e9 * chip.links.energy_pj_per_byte * 1e-12)


def derived_tdp_w(chip: ChipSpec, fmt: str, idle_w: float, active_w: float) -> float:
    """TDP derived at peak: idle + active + `peak_dynamic_w` (an upper bound: a chip with this limit
    never clocks down). On-chip SRAM traffic is inside the per-FLOP energy (energy.yaml)."""
    return idle_w + active_w + peak_dynamic_w(chip, fmt)


def derive_design(base: ChipSpec | str, point: dict[str, Any], compute_format: str = "fp8") -> ChipSpec:
    """The validated chip of a design point. Power: `tdp_w` if the point gives it, else derived at
    peak in `compute_format`; idle power is the base's and active power (clock tree, issue) scales
    with units x clock (Assumption, until the engine's power model derives both from area and node)."""
    base_chip = load_chip(base) if isinstance(base, str) else base
    over = design_overrides(base_chip, point)
    scale = over["matrix"]["units"] * over["clock_ghz"] / (base_chip.matrix.units * base_chip.clock_ghz)
    idle = base_chip.power.idle_w
    active = base_chip.power.active_w * scale
    draft = _derive(base_chip, {**over, "power": {"tdp_w": 1e9, "idle_w": idle, "active_w": active}})
    tdp = float(point["tdp_w"]) if "tdp_w" in point else derived_tdp_w(draft, compute_format, idle, active)
    if tdp <= idle + active:
        raise JalapenoError(f"tdp_w {tdp:g} must exceed the design's idle + active power ({idle + active:g} W)")
    return _derive(base_chip, {**over, "power": {"tdp_w": tdp, "idle_w": idle, "active_w": active}})
