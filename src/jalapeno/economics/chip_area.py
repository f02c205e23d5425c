"""A catalog chip's dies, as primitives for the area estimator.

Reads only what a `ChipSpec` declares (and economics-only facts about the physical die from
economics/data/dies.yaml `catalog`): whole-chip MACs per cycle per format, vector lanes, on-chip
SRAM and caches, memory stacks or channels, SerDes lanes, compute and I/O dies. Where the chip
file gives a primitive directly (`matrix_macs_per_cycle`, `MemoryLevel.stacks`/`technology`,
`links.lanes`/`lane_gbps`, `silicon.io_dies`) it is used; otherwise it is derived from the totals
(MACs = peak / (2 x clock); HBM stacks from bandwidth per stack of the generation; lanes from link
bandwidth / lane rate of the link generation), and the estimate says so in its notes.
"""

from __future__ import annotations

from dataclasses import dataclass

from jalapeno.economics.area import AreaEstimate, DiePrimitives, estimate_die, reticle_mm2
from jalapeno.economics.data import load, node_entry
from jalapeno.hardware.spec import ChipSpec, MemoryLevel

_TECH_WORDS = ("hbm4", "hbm3e", "hbm3", "hbm2e", "hbm2", "gddr7", "gddr6", "lpddr5x", "lpddr5", "mrdimm", "ddr5")


@dataclass(frozen=True)
class ChipArea:
    """Dies of one chip (each estimated once, with its count), and the chip's total silicon."""

    chip: str
    dies: tuple[tuple[AreaEstimate, int], ...]
    published_mm2: float | None
    notes: tuple[str, ...]
    memory_phys: tuple[tuple[str, float], ...] = ()  # (technology, stacks or channels), whole chip

    @property
    def hbm_stacks(self) -> float:
        return sum(n for t, n in self.memory_phys if t.startswith("hbm"))

    @property
    def total_mm2(self) -> float:
        return sum(e.total_mm2 * n for e, n in self.dies)

    @property
    def compute_die(self) -> AreaEstimate:
        return self.dies[0][0]

    @property
    def largest_die_mm2(self) -> float:
        """The largest die: published where the chip file gives its (single) die's area."""
        if self.published_mm2 and len(self.dies) == 1 and self.dies[0][1] == 1:
            return self.published_mm2
        return max(e.total_mm2 for e, _ in self.dies)

    @property
    def fits_reticle(self) -> bool:
        """Every die within the lithography reticle (a larger one must be split into chiplets)."""
        return self.largest_die_mm2 <= reticle_mm2()

    def to_dict(self) -> dict:
        return {"chip": self.chip, "total_mm2": self.total_mm2, "published_mm2": self.published_mm2,
                "fits_reticle": self.fits_reticle, "reticle_mm2": reticle_mm2(),
                "dies": [{"count": n, **e.to_dict()} for e, n in self.dies], "notes": list(self.notes),
                "memory_phys": dict(self.memory_phys)}


def memory_technology(level: MemoryLevel) -> str:
    """The level's technology: declared (`technology`) or read from its name ("HBM3e" -> hbm3e)."""
    tech = getattr(level, "technology", None)
    if tech:
        return str(tech)
    name = level.name.lower().replace(" ", "").replace("-", "")
    if level.kind in ("sram", "cache") or "sram" in name:
        return "sram"
    for word in _TECH_WORDS:
        if word in name:
            return word
    return "hbm3" if level.kind == "hbm" else "ddr5"


def memory_count(level: MemoryLevel, tech: str) -> tuple[float, str | None]:
    """(stacks or channels, a note when inferred) of an off-chip level."""
    stacks = getattr(level, "stacks", None)
    if stacks:
        return float(stacks), None
    per = load("chip_facts")[0]["bandwidth_per_stack_or_channel_gb_s"][tech]
    n = max(1.0, round(level.bandwidth_gb_s / per))
    return n, f"{level.name}: {n:g} {'stacks' if tech.startswith('hbm') else 'channels'} inferred from " \
              f"{level.bandwidth_gb_s:g} GB/s at ~{per:g} GB/s each"


def link_lanes(chip: ChipSpec) -> tuple[float, float, str | None]:
    """(SerDes lanes, Gb/s per lane, note when inferred) of the chip's scale-up links."""
    lanes, rate = getattr(chip.links, "lanes", None), getattr(chip.links, "lane_gbps", None)
    if lanes and rate:
        return float(lanes), float(rate), None
    facts = load("chip_facts")[0]
    kind = chip.links.kind.lower()
    rate = next((float(v) for k, v in facts["lane_gbps_by_link_kind"].items() if k.lower() in kind), None)
    how = f"link kind '{chip.links.kind}'"
    if rate is None:
        year = chip.year or 2024
        rate = next(float(v) for y, v in sorted(facts["lane_gbps_by_year"].items()) if year <= int(y))
        how = f"year {year}"
    n = round(chip.links.bandwidth_gb_s * 8 / rate)
    note = f"{n:g} SerDes lanes at {rate:g} Gb/s inferred from {chip.links.bandwidth_gb_s:g} GB/s ({how})"
    return float(n), rate, note


def is_catalog_chip(chip: ChipSpec) -> bool:
    """True when `chip` is exactly the catalog entry of its id (not a what-if derived from it):
    only then do the catalog's published die area and physical-die facts describe it."""
    from jalapeno.errors import JalapenoError
    from jalapeno.hardware.catalog import load_chip
    try:
        return load_chip(chip.id) == chip
    except (JalapenoError, OSError, ValueError):
        return False


def chip_area(chip: ChipSpec) -> ChipArea:
    """Estimated dies of a chip. Units fused off for yield (H100's 132 of 144 SMs) are added back
    from economics/data/dies.yaml, so the estimate is of the physical die."""
    facts, _ = load("dies")
    catalog = is_catalog_chip(chip)
    phys = facts["catalog"].get(chip.id, {}) if catalog else {}
    notes: list[str] = [] if catalog else ["a design (not a catalog chip): area from its primitives only"]
    clock_hz = chip.clock_ghz * 1e9
    u = phys.get("units_physical", chip.matrix.units) / chip.matrix.units
    if u != 1:
        notes.append(f"physical die has {phys['units_physical']:g} units ({chip.matrix.units} enabled)")
    macs_fn = getattr(chip, "matrix_macs_per_cycle", None)
    macs = {f: (macs_fn(f) if callable(macs_fn) else t * 1e12 / (2 * clock_hz)) * u
            for f, t in chip.matrix.peak_tflops.items()}
    lanes = chip.vector.peak_tflops * 1e12 / (2 * clock_hz) * u
    sram = cache = 0.0
    caches: list[float] = []
    phys_mem: dict[str, float] = {}
    for level in chip.memory:
        tech = memory_technology(level)
        if level.kind in ("hbm", "dram") and tech != "sram" and not (
                chip.execution == "sram-streaming" and level.capacity_gib < 4):
            n, note = memory_count(level, tech)
            if tech.startswith("hbm") and "hbm_stacks_physical" in phys:
                n, note = float(phys["hbm_stacks_physical"]), None
            phys_mem[tech] = phys_mem.get(tech, 0.0) + n
            if note:
                notes.append(note)
        elif level.kind == "cache":
            caches.append(level.capacity_bytes)
        else:
            sram += level.capacity_bytes * (u if level.kind == "sram" else 1.0)
    if "cache_mib_physical" in phys and caches:
        caches[caches.index(max(caches))] = phys["cache_mib_physical"] * 2**20
    lanes_n, rate, note = link_lanes(chip)
    if note:
        notes.append(note)
    n_compute = chip.silicon.compute_dies
    n_io = int(getattr(chip.silicon, "io_dies", 0) or phys.get("io_dies", 0))
    node = chip.silicon.process_node_nm
    ex = chip.execution
    units = chip.matrix.units * u if ex in ("gpu", "cpu") else 0.0
    main_bw = chip.main_memory.bandwidth_gb_s
    if n_io:
        # Compute chiplets hold the arrays and their local caches; the I/O dies hold the last-level
        # cache, the memory PHYs and the SerDes, and feed the compute dies over die-to-die links.
        llc = max(caches)
        cache = sum(caches) - llc
        d2d_each = max(main_bw, _largest_cache_bw(chip)) / n_compute
        compute = DiePrimitives(f"{chip.id} compute die", node, ex, {f: m / n_compute for f, m in macs.items()},
                                units / n_compute, lanes / n_compute, None, sram / n_compute, cache / n_compute,
                                die_to_die_gb_s=d2d_each, host_interface=False)
        io_node = phys.get("io_node", node)
        compute_est = estimate_die(compute)
        io = DiePrimitives(f"{chip.id} I/O die", io_node, "io", cache_bytes=llc / n_io,
                           memory_phys={t: c / n_io for t, c in phys_mem.items()},
                           serdes=((lanes_n / n_io, rate),), die_to_die_gb_s=d2d_each * n_compute / n_io,
                           stacked_mm2=compute_est.total_mm2 * n_compute / n_io)
        dies: tuple[tuple[AreaEstimate, int], ...] = ((compute_est, n_compute), (estimate_die(io), n_io))
        notes.append(f"{n_compute} compute dies + {n_io} I/O dies ({node_entry(io_node)[0]})")
    else:
        cache = sum(caches)
        d2d = float(phys.get("die_to_die_gb_s", main_bw)) if n_compute > 1 else 0.0
        die = DiePrimitives(f"{chip.id} die", node, ex, {f: m / n_compute for f, m in macs.items()},
                            units / n_compute, lanes / n_compute, None, sram / n_compute, cache / n_compute,
                            {t: c / n_compute for t, c in phys_mem.items()}, ((lanes_n / n_compute, rate),),
                            d2d, True)
        dies = ((estimate_die(die), n_compute),)
        if n_compute > 1:
            notes.append(f"{n_compute} identical compute dies joined at {d2d:,.0f} GB/s")
    published = chip.silicon.die_area_mm2 if catalog else None
    biggest = published if published and len(dies) == 1 and dies[0][1] == 1 else max(e.total_mm2 for e, _ in dies)
    if biggest > reticle_mm2():
        notes.append(f"a {biggest:,.0f} mm^2 die exceeds the {reticle_mm2():g} mm^2 reticle: split it into more "
                     f"compute dies (silicon.compute_dies) or I/O dies")
    budget = chip.silicon.area_budget_mm2
    if budget and sum(e.total_mm2 * n for e, n in dies) > budget:
        notes.append(f"estimated silicon {sum(e.total_mm2 * n for e, n in dies):,.0f} mm^2 exceeds the area budget "
                     f"of {budget:g} mm^2")
    return ChipArea(chip.id, dies, published, tuple(notes), tuple(phys_mem.items()))


def _largest_cache_bw(chip: ChipSpec) -> float:
    return max((m.bandwidth_gb_s for m in chip.memory if m.kind == "cache"), default=0.0)
