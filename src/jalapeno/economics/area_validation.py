"""Estimated against published die areas: the area estimator's validation table.

Two sets: catalog chips whose chip file publishes a die area (estimated from the chip's own
primitives), and the dies of economics/data/dies.yaml `validation` (further real dies described only
by public primitives: GA100, GV100, MI300X XCD and IOD, TPU v4, MTIA, Dojo D1, GC200, WSE-3). Each
row: estimated, published, error; the summary gives the median and 90th-percentile |error|.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from jalapeno.economics.area import DiePrimitives, estimate_die
from jalapeno.economics.chip_area import chip_area
from jalapeno.economics.data import load
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import chip_ids, load_chip


@dataclass(frozen=True)
class AreaRow:
    set: str  # "catalog" or "validation"
    die: str
    node: str
    estimated_mm2: float
    published_mm2: float
    source: str

    @property
    def error(self) -> float:
        return self.estimated_mm2 / self.published_mm2 - 1.0

    def to_dict(self) -> dict:
        return {**asdict(self), "error": self.error}


def die_from_dict(key: str, d: dict, known: dict[str, DiePrimitives] | None = None) -> DiePrimitives:
    """A die described in the dies.yaml schema: `node`, `execution`, `units`, `macs_per_cycle`
    {format: MACs per clock} (or `peak_tflops` {format: dense TFLOPS} with `clock_ghz`),
    `vector_lanes`, `register_file_mib`, `sram_mib`, `cache_mib`, `memory_phys` {technology: stacks or
    channels}, `serdes` [{lanes, gbps}], `die_to_die_gb_s`, `host_interface`, and `stacked_dies` +
    `stacked_die` (chiplets bonded on top of this base die)."""
    macs = {f: float(v) for f, v in d.get("macs_per_cycle", {}).items()}
    if not macs and "peak_tflops" in d:
        if not d.get("clock_ghz"):
            raise JalapenoError(f"die '{key}': peak_tflops needs clock_ghz to give MACs per cycle")
        macs = {f: float(v) * 1e12 / (2 * float(d["clock_ghz"]) * 1e9) for f, v in d["peak_tflops"].items()}
    stacked = 0.0
    if "stacked_die" in d:
        if not known or d["stacked_die"] not in known:
            raise JalapenoError(f"die '{key}': stacked_die '{d['stacked_die']}' must be described before it")
        stacked = float(d.get("stacked_dies", 1)) * estimate_die(known[d["stacked_die"]]).total_mm2
    return DiePrimitives(
        name=key, node=d["node"], execution=d["execution"], macs_per_cycle=macs,
        units=float(d.get("units", 0)), vector_lanes=float(d.get("vector_lanes", 0)),
        register_file_bytes=d["register_file_mib"] * 2**20 if "register_file_mib" in d else None,
        sram_bytes=d.get("sram_mib", 0) * 2**20, cache_bytes=d.get("cache_mib", 0) * 2**20,
        memory_phys={t: float(n) for t, n in d.get("memory_phys", {}).items()},
        serdes=tuple((float(s["lanes"]), float(s["gbps"])) for s in d.get("serdes", [])),
        die_to_die_gb_s=float(d.get("die_to_die_gb_s", 0)), host_interface=d.get("host_interface", True),
        stacked_mm2=stacked)


def validation_dies() -> list[tuple[DiePrimitives, float, str]]:
    """(primitives, published mm^2, source) of every die in dies.yaml `validation`."""
    raw, sources = load("dies")
    out: list[tuple[DiePrimitives, float, str]] = []
    known: dict[str, DiePrimitives] = {}
    for key, d in raw["validation"].items():
        prim = die_from_dict(key, d, known)
        known[key] = prim
        out.append((prim, float(d["published_mm2"]), sources.get(f"validation.{key}.published_mm2", "")))
    return out


def area_rows() -> list[AreaRow]:
    rows = []
    for cid in chip_ids():
        chip = load_chip(cid)
        if chip.silicon.die_area_mm2 is None:
            continue
        est = chip_area(chip)
        if len(est.dies) != 1 or est.dies[0][1] != 1:
            continue  # a published single-die area cannot be compared with a multi-die estimate
        rows.append(AreaRow("catalog", cid, est.compute_die.node, est.total_mm2, chip.silicon.die_area_mm2,
                            chip.sources.get("silicon.die_area_mm2", "")))
    for prim, published, source in validation_dies():
        e = estimate_die(prim)
        rows.append(AreaRow("validation", prim.name, e.node, e.total_mm2, published, source))
    return rows


def summary(rows: list[AreaRow]) -> dict:
    out = {}
    for name, sel in (("catalog", [r for r in rows if r.set == "catalog"]),
                      ("validation", [r for r in rows if r.set == "validation"]), ("all", rows)):
        errs = np.abs([r.error for r in sel])
        out[name] = {"dies": len(sel), "median_abs_error": float(np.median(errs)) if len(errs) else None,
                     "p90_abs_error": float(np.percentile(errs, 90)) if len(errs) else None}
    return out
