"""Die area from a design's primitives at a process node (Accelergy-style block estimators).

A die is described by what an architect decides: MACs per cycle per number format, vector lanes,
register files, SRAM and caches, memory PHYs (HBM stacks, DRAM channels), SerDes lanes and
die-to-die bandwidth (`DiePrimitives`). Each block's area comes from economics/data/area.yaml:
logic blocks given at N7 scale with the node's logic-density ratio, SRAM with its bitcell, PHYs
and SerDes stay fixed (analog I/O barely shrinks); on-chip network, clocking and control add a
fraction. The estimate declares its units (mm^2) and expected accuracy, and names every block.
Nothing is fitted per chip: the same constants price every die, checked against published areas by
`economics.area_validation`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from jalapeno.economics.data import load, node_entry
from jalapeno.errors import JalapenoError

EXECUTIONS = ("gpu", "systolic", "sram-streaming", "cpu", "io")


@dataclass(frozen=True)
class DiePrimitives:
    """What one die is built from. Counts are physical (units fused off for yield included)."""

    name: str
    node: str | float
    execution: str
    macs_per_cycle: dict[str, float] = field(default_factory=dict)
    units: float = 0.0  # SMs / CUs / cores (GPUs and CPUs pay a per-unit control area)
    vector_lanes: float = 0.0
    register_file_bytes: float | None = None
    sram_bytes: float = 0.0
    cache_bytes: float = 0.0
    memory_phys: dict[str, float] = field(default_factory=dict)  # technology -> stacks or channels
    serdes: tuple[tuple[float, float], ...] = ()  # (lanes, Gb/s per lane)
    die_to_die_gb_s: float = 0.0
    host_interface: bool = True
    stacked_mm2: float = 0.0  # footprint of chiplets bonded on top of this (base) die
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        if self.execution not in EXECUTIONS:
            raise JalapenoError(f"die '{self.name}': execution must be one of {', '.join(EXECUTIONS)}, "
                                f"got '{self.execution}'")
        if self.execution in ("gpu", "cpu") and self.units <= 0 and (self.macs_per_cycle or self.vector_lanes):
            raise JalapenoError(f"die '{self.name}': a {self.execution} die needs `units` (SMs, CUs or cores): "
                                f"each carries its own control area")
        for f in ("units", "vector_lanes", "sram_bytes", "cache_bytes", "die_to_die_gb_s", "stacked_mm2"):
            if getattr(self, f) < 0:
                raise JalapenoError(f"die '{self.name}': {f} must be 0 or more (got {getattr(self, f)})")


@dataclass(frozen=True)
class AreaEstimate:
    """Estimated area of one die, by block, in mm^2, with the estimator's declared accuracy."""

    name: str
    node: str
    blocks_mm2: dict[str, float]
    accuracy_percent: float
    notes: tuple[str, ...] = ()

    @property
    def total_mm2(self) -> float:
        return sum(self.blocks_mm2.values())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["total_mm2"] = self.total_mm2
        d["units"] = "mm^2"
        return d


def _serdes_lane_mm2(table: dict, gbps: float) -> float:
    rates = sorted((float(k), v) for k, v in table.items())
    for rate, mm2 in rates:
        if gbps <= rate * 1.001:
            return float(mm2)
    raise JalapenoError(f"no SerDes area for {gbps:g} Gb/s lanes (economics/data/area.yaml serdes_mm2_per_lane "
                        f"goes to {rates[-1][0]:g} Gb/s)")


def estimate_die(d: DiePrimitives) -> AreaEstimate:
    """Area of one die from its primitives. Raises (never guesses) for a format, memory
    technology or SerDes rate the tables do not cover."""
    a = load("area")[0]
    node_name, node = node_entry(d.node)
    _, ref = node_entry(a["reference_node"])
    logic = ref["logic_mtr_per_mm2"] / node["logic_mtr_per_mm2"]  # N7 area -> this node's area
    bit_mm2 = node["sram_bitcell_um2"] * 1e-6
    blocks: dict[str, float] = {}
    notes = list(d.notes)
    mac_terms = {}
    for fmt, macs in d.macs_per_cycle.items():
        if fmt == "fp32":
            notes.append("fp32 matrix rate not priced (runs on the bf16 array)")
            continue
        if fmt not in a["mac_um2_at_n7"]:
            raise JalapenoError(f"die '{d.name}': no MAC area for format '{fmt}' in economics/data/area.yaml")
        mac_terms[fmt] = macs * a["mac_um2_at_n7"][fmt] * 1e-6 * logic
    blocks["matrix_mm2"] = max(mac_terms.values(), default=0.0)
    if d.execution != "io":
        lane = a["vector_lane_um2_at_n7"][d.execution] * 1e-6 * logic
        blocks["vector_mm2"] = d.vector_lanes * lane
        blocks["unit_control_mm2"] = d.units * a["unit_control_mm2_at_n7"].get(d.execution, 0.0) * logic
        rf = d.register_file_bytes
        if rf is None:
            rf = d.vector_lanes * a["register_file"]["bytes_per_lane"][d.execution]
        blocks["register_file_mm2"] = rf * 8 * bit_mm2 * a["register_file"]["bit_area_factor"]
    blocks["sram_mm2"] = d.sram_bytes * 8 * bit_mm2 * a["sram"]["overhead_factor"]
    blocks["cache_mm2"] = d.cache_bytes * 8 * bit_mm2 * a["sram"]["overhead_factor"] * a["sram"]["cache_factor"]
    blocks["die_to_die_mm2"] = d.die_to_die_gb_s / a["die_to_die_gb_s_per_mm2"]
    core = sum(blocks.values())
    blocks["noc_control_mm2"] = core * a["overhead_fraction"][d.execution]
    if d.stacked_mm2:
        # A base die is at least the footprint of the dies bonded on it: the shortfall is area
        # spent on through-silicon vias, bond pads and routing under the chiplets.
        floor = d.stacked_mm2 * a["stacked_footprint_factor"]
        blocks["under_stack_mm2"] = max(0.0, floor - sum(blocks.values()))
    phy = 0.0
    for tech, count in d.memory_phys.items():
        if tech not in a["memory_phy_mm2"]:
            raise JalapenoError(f"die '{d.name}': no PHY area for memory technology '{tech}' "
                                f"(known: {', '.join(a['memory_phy_mm2'])})")
        phy += count * a["memory_phy_mm2"][tech]
    blocks["memory_phy_mm2"] = phy
    blocks["serdes_mm2"] = sum(lanes * _serdes_lane_mm2(a["serdes_mm2_per_lane"], gbps) for lanes, gbps in d.serdes)
    blocks["misc_io_mm2"] = a["misc_mm2_per_die"] if d.host_interface else a["chiplet_misc_mm2"]
    return AreaEstimate(d.name, node_name, blocks, float(a["accuracy_percent"]), tuple(notes))


def reticle_mm2() -> float:
    return float(load("area")[0]["reticle_mm2"])
