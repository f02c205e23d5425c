"""What one accelerator costs to build: dies, memory, package, test and board.

Dies per wafer come from geometry (the standard gross-die formula with edge loss), yield from a
defect-density model (negative binomial by default; Poisson and Murphy for comparison), and a
die with spare units (H100 sells 132 of 144 SMs) survives defects in its spares: the unit arrays
yield by the Poisson probability of no more defects than spares, the rest by the defect model, and
SRAM is repaired by its redundant rows. Known-good-die cost = wafer price / (dies per wafer x yield).
Memory is priced per GB by generation, CoWoS-class packaging by interposer area and placed dies,
and a package lost in assembly scraps its dies and stacks. Figures come from economics/data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from jalapeno.economics.area import AreaEstimate
from jalapeno.economics.chip_area import ChipArea, chip_area, is_catalog_chip, memory_technology
from jalapeno.economics.data import check_positive, load, node_entry
from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import ChipSpec

YIELD_MODELS = ("negative-binomial", "murphy", "poisson")
_REPAIRABLE_BLOCKS = ("matrix_mm2", "vector_mm2", "unit_control_mm2", "register_file_mm2")


def dies_per_wafer(die_mm2: float, diameter_mm: float = 300.0, edge_exclusion_mm: float = 3.0,
                   scribe_mm: float = 0.0) -> int:
    """Gross dies of a square die on a round wafer: pi d^2 / 4S - pi d / sqrt(2S), with S the die
    area plus its scribe street and d the usable diameter (de Vries, IEEE TSM 2005)."""
    check_positive("dies per wafer", "die_mm2", die_mm2)
    side = math.sqrt(die_mm2) + scribe_mm
    s = side * side
    d = diameter_mm - 2 * edge_exclusion_mm
    if d <= 0:
        raise JalapenoError(f"wafer: edge exclusion {edge_exclusion_mm} mm leaves no usable wafer of {diameter_mm} mm")
    return max(0, int(math.pi * d * d / (4 * s) - math.pi * d / math.sqrt(2 * s)))


def die_yield(area_mm2: float, d0_per_cm2: float, model: str = "negative-binomial", alpha: float = 3.0) -> float:
    """Fraction of dies with no killer defect: Poisson e^-AD, Murphy ((1 - e^-AD) / AD)^2, or
    negative binomial (1 + AD / alpha)^-alpha (defects clustered; alpha -> inf is Poisson)."""
    if model not in YIELD_MODELS:
        raise JalapenoError(f"yield model must be one of {', '.join(YIELD_MODELS)}, got '{model}'")
    check_positive("yield", "d0_per_cm2", d0_per_cm2, allow_zero=True)
    check_positive("yield", "cluster_alpha", alpha)
    ad = area_mm2 / 100.0 * d0_per_cm2
    if ad == 0:
        return 1.0
    if model == "poisson":
        return math.exp(-ad)
    if model == "murphy":
        return ((1 - math.exp(-ad)) / ad) ** 2
    return (1 + ad / alpha) ** -alpha


def spare_yield(area_mm2: float, d0_per_cm2: float, spares: int) -> float:
    """Probability that an array of identical units with `spares` extra units works: no more
    killer defects in it than spares (Poisson count, each defect in a different unit)."""
    lam = area_mm2 / 100.0 * d0_per_cm2
    return min(1.0, sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(spares + 1)))


@dataclass(frozen=True)
class DieCost:
    die: str
    node: str
    count: int
    area_mm2: float
    area_basis: str  # "published" or "estimated"
    wafer_usd: float
    dies_per_wafer: int
    yield_fraction: float
    yield_model: str
    known_good_die_usd: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class UnitCost:
    """Build cost of one accelerator package on its board, by part, in US dollars."""

    chip: str
    dies: tuple[DieCost, ...]
    memory_gb: float
    memory_technology: str
    memory_usd: float
    package_usd: float
    test_usd: float
    board_usd: float
    assembly_yield: float
    public_price_usd: float | None
    public_price_source: str
    sources: dict[str, str]

    @property
    def dies_usd(self) -> float:
        return sum(d.known_good_die_usd * d.count for d in self.dies)

    @property
    def unit_usd(self) -> float:
        """Everything in the package (scrapped at the assembly yield) plus test and board."""
        package = (self.dies_usd + self.memory_usd + self.package_usd) / self.assembly_yield
        return package + self.test_usd + self.board_usd

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dies"] = [x.to_dict() for x in self.dies]
        d["dies_usd"] = self.dies_usd
        d["unit_usd"] = self.unit_usd
        return d


def _die_cost(est: AreaEstimate, count: int, published: float | None, spares: int, yparams: dict) -> DieCost:
    nodes = load("nodes")[0]
    name, node = node_entry(est.node)
    w = nodes["wafer"]
    area = published if published else est.total_mm2
    scale = area / est.total_mm2
    b = est.blocks_mm2
    sram = (b.get("sram_mm2", 0) + b.get("cache_mm2", 0)) * scale
    repairable = sum(b.get(k, 0) for k in _REPAIRABLE_BLOCKS) * scale if spares > 0 else 0.0
    critical = max(area - repairable - sram * yparams["sram_repair_fraction"], 0.0)
    y = die_yield(critical, node["d0_per_cm2"], yparams["model"], yparams["cluster_alpha"])
    if spares > 0:
        y *= spare_yield(repairable, node["d0_per_cm2"], spares)
    dpw = dies_per_wafer(area, w["diameter_mm"], w["edge_exclusion_mm"], w["scribe_mm"])
    usable_mm2 = math.pi * (w["diameter_mm"] / 2) ** 2
    if dpw < 1 and area <= usable_mm2:
        dpw = 1  # a wafer-scale part (Cerebras WSE) is the wafer itself: priced per wafer
    if dpw < 1:
        raise JalapenoError(f"{est.name}: a {area:,.0f} mm^2 die does not fit a {w['diameter_mm']:g} mm wafer "
                            f"as a rectangle; price wafer-scale parts per wafer")
    return DieCost(est.name, name, count, area, "published" if published else "estimated", node["wafer_usd"],
                   dpw, y, yparams["model"], node["wafer_usd"] / (dpw * y))


def unit_cost(chip: ChipSpec, area: ChipArea | None = None, yield_model: str | None = None) -> UnitCost:
    """Build cost of one chip: its dies (published area where the chip file gives one, estimated
    otherwise), memory, package, test and board."""
    area = area or chip_area(chip)
    parts, sources = load("parts")
    yparams = {**parts["yield"], "model": yield_model or parts["yield"]["model"]}
    if yparams["model"] not in YIELD_MODELS:
        raise JalapenoError(f"--yield-model must be one of {', '.join(YIELD_MODELS)}, got '{yparams['model']}'")
    phys = load("dies")[0]["catalog"].get(chip.id, {}) if is_catalog_chip(chip) else {}
    spares_total = int(phys.get("units_physical", chip.matrix.units) - chip.matrix.units)
    dies = []
    for i, (est, n) in enumerate(area.dies):
        published = area.published_mm2 if (i == 0 and len(area.dies) == 1 and n == 1) else None
        spares = spares_total // n if i == 0 else 0
        dies.append(_die_cost(est, n, published, spares, yparams))
    main = chip.main_memory
    tech = memory_technology(main)
    is_sram = tech == "sram" or (chip.execution == "sram-streaming" and main.capacity_gib < 4)
    gb = 0.0 if is_sram else main.capacity_gib
    price = parts["memory_usd_per_gb"].get(tech)
    if gb and price is None:
        raise JalapenoError(f"{chip.id}: no $/GB for memory technology '{tech}' in economics/data/parts.yaml")
    mem_usd = gb * (price or 0.0)
    p = parts["package"]
    hbm = tech.startswith("hbm") and not is_sram
    if hbm:
        stacks = area.hbm_stacks
        silicon = sum(d.area_mm2 * d.count for d in dies) + stacks * p["hbm_stack_footprint_mm2"]
        package = (silicon * p["interposer_area_factor"] * p["interposer_usd_per_mm2"]
                   + p["assembly_usd_per_die"] * (sum(d.count for d in dies) + stacks) + p["substrate_usd"])
        a_yield = p["assembly_yield"]
    else:
        package, a_yield = p["organic_package_usd"] + p["assembly_usd_per_die"] * (sum(d.count for d in dies) - 1), 1.0
    b = parts["board"]
    board = b["base_usd"] + b["usd_per_w"] * chip.power.tdp_w
    asp, asp_src = device_price(chip.id)
    return UnitCost(chip.id, tuple(dies), gb, tech, mem_usd, package, p["test_usd"], board, a_yield, asp, asp_src,
                    {k: v for k, v in sources.items() if k.count(".") <= 1})


def device_price(chip_id: str) -> tuple[float | None, str]:
    """(public price or ASP in USD, source) of a real device, or (None, "")."""
    raw, sources = load("device_prices")
    e = raw["prices"].get(chip_id)
    if e is None:
        return None, ""
    v = e["value"] if isinstance(e, dict) else e
    return float(check_positive("economics/data/device_prices.yaml", f"prices.{chip_id}", v)), \
        sources.get(f"prices.{chip_id}.value", sources.get(f"prices.{chip_id}", ""))
