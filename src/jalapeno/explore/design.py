"""A point of a design space becomes a validated chip.

A point is a flat mapping of parameter values (`compute_units: 16, memory_stacks: 6, ...`).
`design_overrides` turns it into dotted-path overrides of the base chip's primitives and
`derive_design` builds the validated `ChipSpec` with `hardware.design.derive_chip`, which drops
the base's totals wherever its primitives determine them: changing units, MACs per cycle,
clock, stacks or lanes moves every peak, capacity and bandwidth derived from them.

What each parameter sets (the base chip gives everything a point leaves out):
- `compute_units`, `clock_ghz`, `macs_per_cycle_<fmt>` (per unit); `array_rows` x `array_cols`
  (the GEMM tile; per-unit MACs scale with the PE count when the array changes and no MACs are
  given); vector lanes per unit stay the base's, so the vector peak follows units x clock;
- `sram_per_core_mib`: on-chip SRAM per unit (bytes per cycle per unit stay the base's, so SRAM
  bandwidth follows units x clock);
- `memory_technology` x `memory_stacks`: per-stack capacity, bandwidth and energy from
  hardware/data/memory_technology.yaml (per-device LPDDR/GDDR figures from
  explore/data/memory_technologies.yaml); 0 stacks is an SRAM-only design whose SRAM holds
  the weights;
- `link_lanes` x `lane_gbps`: scale-up SerDes; `chips`: chips per scale-up domain;
- `process_node_nm`: datapath energy per FLOP and running power follow (engine/power.py);
- `tdp_w`: the power limit, else derived at peak (`derived_tdp_w`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from jalapeno.engine.power import active_power_w, joules_per_flop
from jalapeno.errors import JalapenoError, SpecError, pydantic_problems
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.design import derive_chip
from jalapeno.hardware.design import memory_technologies as hardware_memory_technologies
from jalapeno.hardware.spec import ChipSpec
from jalapeno.sourced import split_sources

FORMATS = ("fp4", "fp8", "int8", "bf16")
# Assumption: an SRAM-only design (0 stacks) runs a weights-resident, statically scheduled
# streaming runtime; Groq's compiler profile stands in (no runtime reserve in DRAM it does not have,
# no kernel launches). Its efficiencies are Groq's, stated in stacks.yaml.
SRAM_ONLY_STACK = "groq-compiler"
BASE_LANE_GBPS = 200.0  # Assumption: a base without lane primitives counted in 200G SerDes lanes
DRAFT_TDP_W = 100_000.0  # the spec's plausibility limit on tdp_w

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
    """Off-chip technologies a point may pick: per-stack (HBM) or per-device (LPDDR, GDDR) capacity
    and bandwidth, and energy per byte, from hardware's table plus explore's per-device figures."""
    raw = yaml.safe_load((resources.files("jalapeno.explore") / "data" / "memory_technologies.yaml").read_text())
    devices, _, unsourced = split_sources(raw)
    if unsourced:
        raise SpecError("explore/data/memory_technologies.yaml", [(p, "a figure without a source") for p in unsourced])
    out = {}
    for tech, t in hardware_memory_technologies().items():
        per = t if "per_stack_capacity_gib" in t else devices.get(tech)
        if tech == "sram" or not per:
            continue
        out[tech] = {"kind": "hbm" if tech.startswith("hbm") else "dram",
                     "per_stack_capacity_gib": per["per_stack_capacity_gib"],
                     "per_stack_bandwidth_gb_s": per["per_stack_bandwidth_gb_s"],
                     "energy_pj_per_byte": t["pj_per_bit"] * 8}
    return out


def design_overrides(base: ChipSpec, point: dict[str, Any]) -> dict[str, Any]:
    """Dotted-path overrides of the base's primitives (for `derive_chip`) that a point sets."""
    units = int(point.get("compute_units", base.matrix.units))
    clock = float(point.get("clock_ghz", base.clock_ghz))
    rows = int(point.get("array_rows", base.matrix.tile_m))
    cols = int(point.get("array_cols", base.matrix.tile_n))
    pe_scale = rows * cols / (base.matrix.tile_m * base.matrix.tile_n)
    given: dict[str, float] = {str(k): float(v) for k, v in base.matrix.macs_per_cycle.items()}
    macs: dict[str, float] = {
        f: (given[f] if f in given else base.matrix_macs_per_cycle(f) / base.matrix.units) * pe_scale
        for f in base.matrix.peak_tflops}
    macs.update({f: float(point[f"macs_per_cycle_{f}"]) for f in FORMATS if f"macs_per_cycle_{f}" in point})
    out: dict[str, Any] = {
        "id": str(point.get("_id", f"{base.id}-design")), "name": f"Design-space point from {base.id}",
        "clock_ghz": clock, "matrix.units": units, "matrix.tile_m": rows, "matrix.tile_n": cols,
        # Totals first, then the primitives that derive them: derive_chip drops the primitives a total
        # set later would contradict, and checks that both agree when both stay.
        "matrix.peak_tflops": {f: units * m * 2 * clock / 1e3 for f, m in macs.items()},
        "matrix.macs_per_cycle": macs,
        "silicon.die_area_mm2": None,  # the base's published area is not the design's
    }
    if base.vector.lanes is None:  # a base without vector primitives: scale its fp32 peak
        out["vector.peak_tflops"] = base.vector.peak_tflops * units * clock / (base.matrix.units * base.clock_ghz)
    sram = base.on_chip
    stacks = int(point.get("memory_stacks", -1))
    if sram is not None:
        per_unit_mib = float(point.get("sram_per_core_mib", sram.capacity_gib * 1024 / base.matrix.units))
        bpc = sram.bytes_per_cycle or sram.bandwidth_gb_s / (base.matrix.units * base.clock_ghz)
        level = {"capacity_gib": units * per_unit_mib / 1024, "bandwidth_gb_s": units * bpc * clock,
                 "capacity_per_unit_mib": per_unit_mib, "bytes_per_cycle": bpc}
        if stacks == 0:  # SRAM-only: the SRAM is the level that holds weights and KV cache
            out["execution"] = "sram-streaming"
            out["software_stack"] = SRAM_ONLY_STACK
            out["memory"] = [{**sram.model_dump(exclude={"capacity_gib", "bandwidth_gb_s"}), **level,
                              "kind": "dram", "technology": "sram", "name": "On-chip SRAM (no external memory)"}]
            return _links(base, point, out)
        out.update({f"memory.{sram.name}.{k}": v for k, v in level.items()})
    elif stacks == 0:
        raise JalapenoError(f"memory_stacks 0 needs on-chip SRAM to hold the weights, and {base.id} has none")
    if "memory_technology" in point or "memory_stacks" in point:
        out.update(_main_memory(base, point))
    return _links(base, point, out)


def _links(base: ChipSpec, point: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    if "link_lanes" in point or "lane_gbps" in point:
        base_lanes = base.links.lanes or base.links.bandwidth_gb_s * 8 / BASE_LANE_GBPS
        lanes = int(point.get("link_lanes", round(base_lanes)))
        lane = float(point.get("lane_gbps", base.links.lane_gbps or BASE_LANE_GBPS))
        out.update({"links.bandwidth_gb_s": lanes * lane / 8, "links.lanes": lanes, "links.lane_gbps": lane,
                    "links.count": max(1, round(base.links.count * lanes / base_lanes))})
    if "chips" in point:
        out["links.max_domain_chips"] = max(int(point["chips"]), base.links.max_domain_chips)
    if "process_node_nm" in point:
        out["silicon.process_node_nm"] = float(point["process_node_nm"])
    return out


def _main_memory(base: ChipSpec, point: dict[str, Any]) -> dict[str, Any]:
    techs = memory_technologies()
    tech = str(point.get("memory_technology", base.main_memory.technology or "hbm3e"))
    if tech not in techs:
        raise JalapenoError(f"memory_technology '{tech}' is not one of {', '.join(techs)}")
    t = techs[tech]
    stacks = int(point.get("memory_stacks", base.main_memory.stacks or 8))
    where = f"memory.{base.main_memory.name}"
    fields = {"capacity_gib": stacks * t["per_stack_capacity_gib"],
              "bandwidth_gb_s": stacks * t["per_stack_bandwidth_gb_s"],
              "technology": tech, "stacks": stacks, "per_stack_capacity_gib": t["per_stack_capacity_gib"],
              "per_stack_bandwidth_gb_s": t["per_stack_bandwidth_gb_s"], "energy_pj_per_byte": t["energy_pj_per_byte"],
              "kind": t["kind"]}  # last: the level is found by its name, then retyped
    unit = "stacks" if t["kind"] == "hbm" else "devices"
    out = {f"{where}.{k}": v for k, v in fields.items()}
    out[f"{where}.name"] = f"{tech.upper()} ({stacks} {unit})"
    return out


def _derive(base: ChipSpec, overrides: dict[str, Any]) -> ChipSpec:
    """The one adapter from (base, dotted overrides) to a validated chip: hardware's derive_chip."""
    try:
        return derive_chip(base, overrides)
    except ValidationError as exc:
        raise SpecError(f"design from {base.id}", pydantic_problems(exc)) from None
    except ValueError as exc:
        raise JalapenoError(f"design from {base.id}: {exc}") from None


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
    peak in `compute_format`. Idle power is the base's (Assumption: leakage, refresh and SerDes
    idle as the base design's); running power is the engine's (`active_power_w`: from the
    datapath width, node and clock where the base does not characterize it, else the base's
    figure scaled with MACs per cycle x clock)."""
    base_chip = load_chip(base) if isinstance(base, str) else base
    over = design_overrides(base_chip, point)
    idle = base_chip.power.idle_w
    active = 0.0
    if base_chip.power.active_w > 0:
        width = (over["matrix.units"] * over["matrix.macs_per_cycle"].get("bf16", 1.0) * over["clock_ghz"]
                 / (base_chip.matrix_macs_per_cycle("bf16") * base_chip.clock_ghz))
        active = base_chip.power.active_w * width
    # A draft at the largest limit a chip file may state, to read the primitives' peak power from.
    draft = _derive(base_chip, {**over, "power.tdp_w": DRAFT_TDP_W, "power.idle_w": idle, "power.active_w": active})
    running = active_power_w(draft)
    tdp = float(point["tdp_w"]) if "tdp_w" in point else derived_tdp_w(draft, compute_format, idle, running)
    if tdp <= idle + running:
        raise JalapenoError(f"tdp_w {tdp:g} must exceed the design's idle + running power ({idle + running:g} W)")
    if active == 0.0 and "tdp_w" not in point:
        active = running  # fixed now: the engine's derived figure is capped by a share of the TDP
    return _derive(base_chip, {**over, "power.tdp_w": tdp, "power.idle_w": idle, "power.active_w": active})
