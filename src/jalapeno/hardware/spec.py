"""Chip and system specifications: a processor described as data.

A `ChipSpec` is what a chip architect would write on a whiteboard: matrix engines and their peak
throughput per number format, vector units, the memory hierarchy, scale-up links, power and
silicon. Catalog files are YAML (see `catalog.py` for the `{value, source}` convention that
attaches a public source to every figure); these classes validate them.

Units are in the field names: `_tflops` (dense, no structured sparsity), `_gib` (2^30 bytes, for capacities),
`_gb_s` (10^9 bytes/s, one direction unless said otherwise), `_w`, `_pj_per_byte`, `_ns`, `_us`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jalapeno.hardware.design import derive_totals
from jalapeno.hardware.figures import (
    MIN_MEMORY_GB_S,
    MIN_TILE_ELEMS,
    AreaMm2,
    CapacityGiB,
    ChipsPerNode,
    ClockGHz,
    Dies,
    DomainChips,
    EnergyPjPerByte,
    HostPowerW,
    LatencyNs,
    LatencyUs,
    LinkCount,
    LinkGBs,
    MatrixTflops,
    MatrixUnits,
    MemoryGBs,
    PowerW,
    PowerWOrZero,
    ProcessNm,
    TileElems,
    TransistorsBillion,
    VectorTflops,
    Year,
)
from jalapeno.hardware.topology import Level, Topology, topology_from_links
from jalapeno.safeload import parse_yaml
from jalapeno.sourced import split_sources

MemoryTechnology = Literal["hbm2", "hbm2e", "hbm3", "hbm3e", "hbm4", "lpddr5", "lpddr5x", "gddr6", "gddr7",
                           "ddr5", "mrdimm", "sram"]
NumberFormat = Literal["fp32", "bf16", "fp16", "fp8", "int8", "fp4", "int4"]
ChipKind = Literal["gpu", "tpu", "asic", "cpu", "lpu"]
# How a chip runs a model (DESIGN.md section 3): `gpu` = kernels as waves of thread blocks over
# many SMs, one launch per kernel (or per captured graph); `systolic` = a compiler schedules large
# arrays with DMA overlapped and a synchronization per layer, no per-kernel launch; `sram-streaming`
# = weights resident in on-chip SRAM, layers pipelined across chips (Groq, Cerebras); `cpu` = cores
# with matrix extensions under a CPU runtime.
ExecutionModel = Literal["gpu", "systolic", "sram-streaming", "cpu"]
DEFAULT_EXECUTION: dict[str, str] = {"gpu": "gpu", "tpu": "systolic", "asic": "systolic",
                                     "lpu": "sram-streaming", "cpu": "cpu"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MatrixEngine(_Strict):
    """Dense matrix throughput of the whole chip, and how work is quantized onto it.

    `units` is the number of independent engines work is spread over (SMs, TensorCores of a TPU,
    NeuronCores, ...). A GEMM output tile occupies one unit, so `units` drives wave quantization.
    `tile_m` x `tile_n` is the output tile one unit computes at a time in the vendor's kernels.
    """

    units: MatrixUnits
    tile_m: TileElems = 128
    tile_n: TileElems = 128
    peak_tflops: dict[NumberFormat, MatrixTflops]
    # Primitive: dense MACs per clock cycle of ONE unit, per number format. With it the peaks derive
    # (units x macs_per_cycle x 2 x clock_ghz); given both, they must agree (hardware/design.py).
    macs_per_cycle: dict[NumberFormat, PositiveFloat] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _tile_is_a_tile(self) -> MatrixEngine:
        if self.tile_m * self.tile_n < MIN_TILE_ELEMS:
            raise ValueError(f"tile_m x tile_n = {self.tile_m} x {self.tile_n} is smaller than the 32 x 32 output tile "
                             "a matrix unit computes at least")
        return self

    @model_validator(mode="after")
    def _has_bf16(self) -> MatrixEngine:
        if "bf16" not in self.peak_tflops and "fp16" not in self.peak_tflops:
            raise ValueError("peak_tflops needs at least bf16 (or fp16)")
        return self


class VectorEngine(_Strict):
    """Non-matrix arithmetic (norms, activations, softmax, RoPE): fp32 throughput of the chip.

    Primitives: `lanes` fp32 FMA lanes per unit (peak = units x lanes x 2 x clock), at `clock_ghz`
    when the vector peak is quoted at another clock than the matrix one (NVIDIA quotes FP32 at the
    boost clock, tensor peaks lower); `exp_per_cycle` exponentials per cycle per unit (special-
    function units), else the NVIDIA SM ratio of 16 per 128 lanes is assumed (see `exp_per_s`)."""

    peak_tflops: VectorTflops
    lanes: PositiveFloat | None = None
    clock_ghz: PositiveFloat | None = None
    exp_per_cycle: PositiveFloat | None = None


class MemoryLevel(_Strict):
    """One level of the memory hierarchy, from off-chip DRAM to on-chip SRAM.

    `capacity_gib` is the whole chip's capacity at that level in binary units, as memory is sold:
    an "80 GB" HBM part holds 80 GiB (stacks and DIMMs come in powers of two), and "50 MB" of L2
    is 50 MiB. `bandwidth_gb_s` is the aggregate
    read bandwidth the compute units see from that level. Energy per byte moved from that level.
    """

    name: str
    kind: Literal["hbm", "dram", "sram", "cache"]
    capacity_gib: CapacityGiB
    bandwidth_gb_s: MemoryGBs
    energy_pj_per_byte: EnergyPjPerByte
    latency_ns: LatencyNs = 500.0
    # Primitives (hardware/design.py derives the totals above from them): off-chip memory as a
    # technology x stacks (HBM) or channels (LPDDR/GDDR/DDR) x per-stack figures; on-chip SRAM as
    # capacity per unit and bytes per cycle per unit.
    technology: MemoryTechnology | None = None
    stacks: PositiveInt | None = None
    per_stack_capacity_gib: PositiveFloat | None = None
    per_stack_bandwidth_gb_s: PositiveFloat | None = None
    capacity_per_unit_mib: PositiveFloat | None = None
    bytes_per_cycle: PositiveFloat | None = None

    @field_validator("bandwidth_gb_s")
    @classmethod
    def _bandwidth_of_its_kind(cls, v: float, info: ValidationInfo) -> float:
        low = MIN_MEMORY_GB_S.get(info.data.get("kind", ""), 0.0)
        if v < low:
            raise ValueError(f"{v:g} GB/s is implausibly low for {info.data['kind']} memory (expected at least "
                             f"{low:g} GB/s); bandwidth_gb_s is in GB/s: a figure in TB/s must be multiplied by 1000")
        return v

    @property
    def capacity_bytes(self) -> float:
        return self.capacity_gib * 2**30


class Links(_Strict):
    """Chip-to-chip links of the scale-up domain.

    `bandwidth_gb_s` is the chip's total one-direction bandwidth over all its scale-up ports.
    `topology` is how the domain is wired: `switch` (NVSwitch-like, any-to-any at full rate),
    `mesh` (a direct link to each peer, bandwidth split among them), `torus` / `ring`.
    """

    kind: str
    count: LinkCount
    bandwidth_gb_s: LinkGBs
    # Primitives: SerDes lanes over all scale-up ports and the rate of each, one direction
    # (bandwidth = lanes x lane_gbps / 8).
    lanes: PositiveInt | None = None
    lane_gbps: PositiveFloat | None = None
    latency_us: LatencyUs = 2.0
    energy_pj_per_byte: EnergyPjPerByte = 10.0
    topology: Literal["switch", "mesh", "torus", "ring"] = "switch"
    max_domain_chips: DomainChips = 8


class Power(_Strict):
    """`tdp_w`: the power limit the chip holds (it clocks down to stay under it). `idle_w`: drawn
    with nothing running. `active_w`: drawn on top of idle whenever the chip executes work at full
    clock, whatever that work is (clock tree, schedulers and instruction issue, register files,
    on-chip network); the energy per FLOP and per byte moved comes on top. Like the rest of the
    dynamic power it falls with the clock when the chip is held at its limit. 0 where it has not
    been characterized."""

    tdp_w: PowerW
    idle_w: PowerW
    active_w: PowerWOrZero = 0.0
    # The datapath's energy per FLOP relative to its node's entry in energy.yaml (1: as the table).
    datapath_energy_scale: PositiveFloat = 1.0

    @model_validator(mode="after")
    def _idle_below_tdp(self) -> Power:
        if self.idle_w >= self.tdp_w:
            raise ValueError(f"idle_w ({self.idle_w}) must be below tdp_w ({self.tdp_w})")
        if self.idle_w + self.active_w >= self.tdp_w:
            raise ValueError(f"idle_w + active_w ({self.idle_w + self.active_w}) must be below tdp_w ({self.tdp_w})")
        return self


class Silicon(_Strict):
    process_node_nm: ProcessNm
    die_area_mm2: AreaMm2 | None = None
    compute_dies: Dies = 1
    io_dies: int = Field(default=0, ge=0)
    transistors_billion: TransistorsBillion | None = None
    area_budget_mm2: PositiveFloat | None = None


class Node(_Strict):
    """The server a chip ships in: how many chips share a host, the host's own power (CPUs, DRAM,
    NICs, switches in the chassis, fans; DC, after the power supplies) and the efficiency of the
    power supplies that turn wall AC into it (80 PLUS Titanium: >= 96 % at half load, 94 % at full;
    0.95 taken for loaded AI servers)."""

    chips_per_node: ChipsPerNode = 8
    host_power_w: HostPowerW = 1500.0
    psu_efficiency: float = Field(default=0.95, gt=0.5, le=1.0)


class ChipSpec(_Strict):
    id: str
    name: str
    vendor: str
    kind: ChipKind
    execution: ExecutionModel = "gpu"
    year: Year | None = None
    software_stack: str = "trtllm"
    clock_ghz: ClockGHz
    matrix: MatrixEngine
    vector: VectorEngine
    memory: tuple[MemoryLevel, ...]
    links: Links
    power: Power
    silicon: Silicon
    node: Node = Node()
    assumptions: tuple[str, ...] = ()
    sources: dict[str, str] = Field(default_factory=dict, repr=False)
    # The span each uncertain figure may take, by dotted path (`{value, range: [lo, hi], source}` in
    # the file): what `jalapeno sensitivity` varies.
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _derive(cls, data):
        """Execution model from the kind when not given; totals from the design primitives."""
        if not isinstance(data, dict):
            return data
        if "execution" not in data and data.get("kind") in DEFAULT_EXECUTION:
            data = {**data, "execution": DEFAULT_EXECUTION[data["kind"]]}
        return derive_totals(data)

    @model_validator(mode="after")
    def _one_main_memory(self) -> ChipSpec:
        if not any(m.kind in ("hbm", "dram") for m in self.memory):
            raise ValueError("memory needs one off-chip level (kind hbm or dram)")
        return self

    @property
    def main_memory(self) -> MemoryLevel:
        """The level that holds weights and KV cache (the largest off-chip level)."""
        off_chip = [m for m in self.memory if m.kind in ("hbm", "dram")]
        return max(off_chip, key=lambda m: m.capacity_gib)

    @property
    def on_chip(self) -> MemoryLevel | None:
        """The largest on-chip level (SRAM or last-level cache), or None."""
        levels = [m for m in self.memory if m.kind in ("sram", "cache")]
        return max(levels, key=lambda m: m.capacity_gib) if levels else None

    def peak_flops(self, fmt: str) -> float:
        """Dense matrix FLOP/s in a number format, falling back to the next wider one supported.

        A chip without native fp4 runs fp4 weights at its fp8 (or bf16) rate after dequantizing.
        """
        order = {"fp4": ["fp4", "int4", "fp8", "int8", "bf16"], "int4": ["int4", "int8", "fp8", "bf16"],
                 "fp8": ["fp8", "bf16"], "int8": ["int8", "fp8", "bf16"],
                 "bf16": ["bf16", "fp16"], "fp16": ["fp16", "bf16"], "fp32": ["fp32", "bf16"]}
        for f in order.get(fmt, [fmt]):
            if f in self.matrix.peak_tflops:
                return self.matrix.peak_tflops[f] * 1e12
        return self.matrix.peak_tflops.get("bf16", self.matrix.peak_tflops.get("fp16", 0.0)) * 1e12

    def native_formats(self) -> list[str]:
        return list(self.matrix.peak_tflops)

    def matrix_macs_per_cycle(self, fmt: str) -> float:
        """Dense MACs per clock cycle of the whole chip in a format (its peak over 2 x clock when
        the file gives totals only)."""
        return self.peak_flops(fmt) / (2 * self.clock_ghz * 1e9)

    def exp_per_s(self) -> float:
        """Exponentials per second the vector/special-function units sustain (softmax)."""
        v = self.vector
        if v.exp_per_cycle is not None:
            return self.matrix.units * v.exp_per_cycle * (v.clock_ghz or self.clock_ghz) * 1e9
        return v.peak_tflops * 1e12 * EXP_SHARE_OF_VECTOR


# Without a per-chip figure: exponentials per fp32 FLOP of vector peak. An NVIDIA SM has 16 SFU
# lanes beside 128 FP32 lanes (2 FLOPs per FMA), so 16 / 256 (NVIDIA Hopper whitepaper, 2022;
# FlashAttention-3, Shah et al. 2024: H100's 989 TFLOPS of matmul face 3.9 TFLOPS of exponentials).
EXP_SHARE_OF_VECTOR = 1.0 / 16


class SystemSpec(_Strict):
    """N chips of one kind, how they are wired (`topology`, innermost level first; without one,
    a single scale-up level built from the chip's links), plus the hosts that feed them."""

    chip: ChipSpec
    num_chips: PositiveInt
    topology: Topology | None = None
    node: Node | None = None  # the system file's hosts; None: the chip's own `node` block

    @property
    def effective_topology(self) -> Topology:
        """The wiring: the system's own, or the chip's scale-up links plus, when the chips fill
        more than one domain, a default scale-out network (data/scale_out_default.yaml)."""
        return self.topology or _chip_topology(self.chip.links, self.num_chips)

    @property
    def scale_up_chips(self) -> int:
        """Chips reachable without leaving the scale-up fabric (the tensor-parallel limit)."""
        return self.topology.scale_up_chips if self.topology else self.chip.links.max_domain_chips

    @property
    def hosts(self) -> Node:
        """The hosts these chips sit in: the system's own, else the chip's (the only source of both
        chips per node and host power)."""
        return self.node or self.chip.node

    @property
    def chips_per_node(self) -> int:
        return self.hosts.chips_per_node

    @property
    def psu_efficiency(self) -> float:
        return self.hosts.psu_efficiency

    @property
    def nodes(self) -> int:
        return -(-self.num_chips // self.chips_per_node)

    @property
    def host_power_w(self) -> float:
        """Host power attributed to these chips (a share of a node when fewer chips than a node)."""
        return self.hosts.host_power_w * self.num_chips / self.hosts.chips_per_node


@lru_cache(maxsize=128)
def _chip_topology(links: Links, num_chips: int) -> Topology:
    inner = topology_from_links(links)
    domain = links.max_domain_chips
    if num_chips <= domain:
        return inner
    f = resources.files("jalapeno.hardware") / "data" / "scale_out_default.yaml"
    plain, _, _ = split_sources(parse_yaml(f.read_text(), str(f)))
    outer = Level.model_validate({"name": "scale-out", "size": -(-num_chips // domain),
                                  **{k: v for k, v in plain.items() if k != "source"}})
    return Topology(levels=(*inner.levels, outer))
