"""Total cost of ownership per chip-hour: capex amortized at a cost of capital, plus opex.

Capex per chip = the accelerator (its build cost and a share of the design NRE, or its public
price) + its share of the server (host CPUs, memory, chassis), scale-out NIC and switches,
scale-up switching where the chip's fabric is switched, and rack infrastructure. It is paid back
over `life_years` at `cost_of_capital` (capital recovery factor r(1+r)^n / ((1+r)^n - 1)); the data
hall is priced per W of provisioned IT power over its own life. Opex = maintenance (a share of
capex per year) + energy: power x PUE x electricity price. Provisioned power per chip is what a
data-center planner reserves: the chip's TDP, its host share and its network share, times PUE.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from jalapeno.economics.data import load, node_entry
from jalapeno.economics.unit_cost import UnitCost, unit_cost
from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import ChipSpec, Node

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class TcoInputs:
    life_years: float
    cost_of_capital: float
    pue: float
    electricity_usd_per_kwh: float
    facility_usd_per_w: float
    facility_life_years: float
    maintenance_fraction_per_year: float
    network_w_per_chip: float
    rack_it_kw: float

    def __post_init__(self):
        for f in ("life_years", "facility_life_years", "rack_it_kw"):
            if not getattr(self, f) > 0:
                raise JalapenoError(f"--{f.replace('_', '-')}: must be above 0 (got {getattr(self, f)!r})")
        for f in ("cost_of_capital", "electricity_usd_per_kwh", "facility_usd_per_w",
                  "maintenance_fraction_per_year", "network_w_per_chip"):
            v = getattr(self, f)
            if not (v >= 0 and math.isfinite(v)):
                raise JalapenoError(f"--{f.replace('_', '-')}: must be 0 or more (got {v!r})")
        if not self.pue >= 1.0:
            raise JalapenoError(f"--pue: a power usage effectiveness is at least 1.0 (got {self.pue!r})")
        for f in ("cost_of_capital", "maintenance_fraction_per_year"):
            if getattr(self, f) >= 1.0:
                raise JalapenoError(f"--{f.replace('_', '-')}: a fraction per year (0.10 = 10%), below 1 "
                                    f"(got {getattr(self, f)!r})")

    def to_dict(self) -> dict:
        return asdict(self)


def tco_inputs(**overrides: float | None) -> TcoInputs:
    """Defaults from economics/data/tco.yaml, with any non-None override; validated."""
    d = load("tco")[0]
    names = [f.name for f in fields(TcoInputs)]
    unknown = set(overrides) - set(names)
    if unknown:
        raise JalapenoError(f"unknown TCO inputs: {', '.join(sorted(unknown))}")
    vals = {n: overrides.get(n) for n in names}
    return TcoInputs(**{n: float(v) if v is not None else float(d[n]) for n, v in vals.items()})


def capital_recovery_factor(rate: float, years: float) -> float:
    """Share of a capital cost paid each year to repay it over `years` at interest `rate`."""
    if rate == 0:
        return 1.0 / years
    g = (1 + rate) ** years
    return rate * g / (g - 1)


@dataclass(frozen=True)
class ChipHourCost:
    """Cost of owning and running one chip for one hour, by part (US dollars)."""

    chip: str
    basis: str
    accelerator_usd: float
    nre_share_usd: float
    host_share_usd: float
    network_usd: float
    rack_usd: float
    capex_usd_per_chip: float
    capex_usd_per_chip_hour: float
    facility_usd_per_chip_hour: float
    maintenance_usd_per_chip_hour: float
    energy_usd_per_chip_hour: float
    power_w_per_chip: float
    it_w_per_chip: float
    provisioned_w_per_chip: float
    chips_per_rack: int
    inputs: TcoInputs

    @property
    def usd_per_chip_hour(self) -> float:
        return (self.capex_usd_per_chip_hour + self.facility_usd_per_chip_hour
                + self.maintenance_usd_per_chip_hour + self.energy_usd_per_chip_hour)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["usd_per_chip_hour"] = self.usd_per_chip_hour
        return d


def chip_hour_cost(chip: ChipSpec, basis: str = "build", power_w_per_chip: float | None = None,
                   inputs: TcoInputs | None = None, unit: UnitCost | None = None,
                   switched_scale_up: bool | None = None, hosts: Node | None = None) -> ChipHourCost:
    """TCO per chip-hour. `basis`: "build" (build cost + NRE share) or "asp" (public price).
    `power_w_per_chip`: the average wall power per chip (host share included) that energy is
    billed at; default the provisioned IT power (full load). `hosts`: the server the chips sit
    in (a system's own; default the chip's)."""
    t = inputs or tco_inputs()
    parts = load("parts")[0]["system"]
    tco_raw = load("tco")[0]
    h = hosts or chip.node
    per_node = h.chips_per_node
    if basis == "build":
        unit = unit or unit_cost(chip)
        accel = unit.unit_usd
        node_name = node_entry(chip.silicon.process_node_nm)[0]
        nre = tco_raw["nre_usd_by_node"][node_name] / tco_raw["volume_units"]
    elif basis == "asp":
        unit = unit or unit_cost(chip)
        if unit.public_price_usd is None:
            raise JalapenoError(f"--cost-basis asp: no public price for '{chip.id}' in "
                                f"economics/data/device_prices.yaml (use build, cloud or a $/chip-hour number)")
        accel, nre = unit.public_price_usd, 0.0
    else:
        raise JalapenoError(f"chip_hour_cost basis must be build or asp, got '{basis}'")
    switched = chip.links.topology == "switch" if switched_scale_up is None else switched_scale_up
    network = float(parts["nic_usd_per_chip"] + parts["scale_out_switch_usd_per_chip"] + (
        parts["scale_up_switch_usd_per_chip"] if switched else 0.0))
    it_w = provisioned_it_w(chip, t, h)
    rack = parts["rack_usd_per_kw"] * it_w / 1000
    host = parts["host_usd_per_node"] / per_node
    capex = accel + nre + host + network + rack
    crf = capital_recovery_factor(t.cost_of_capital, t.life_years)
    capex_h = capex * crf / HOURS_PER_YEAR
    facility_h = t.facility_usd_per_w * it_w * capital_recovery_factor(t.cost_of_capital, t.facility_life_years) \
        / HOURS_PER_YEAR
    maint_h = capex * t.maintenance_fraction_per_year / HOURS_PER_YEAR
    power = it_w if power_w_per_chip is None else power_w_per_chip
    energy_h = power / 1000 * t.pue * t.electricity_usd_per_kwh
    per_rack = max(1, int(t.rack_it_kw * 1000 // it_w))
    return ChipHourCost(chip.id, basis, accel, nre, host, network, rack, capex, capex_h, facility_h, maint_h,
                        energy_h, power, it_w, it_w * t.pue, per_rack, t)


def provisioned_it_w(chip: ChipSpec, inputs: TcoInputs, hosts: Node | None = None) -> float:
    """IT power reserved per chip at the wall: (TDP + host share) / PSU efficiency + network share."""
    h = hosts or chip.node
    return (chip.power.tdp_w + h.host_power_w / h.chips_per_node) / h.psu_efficiency + inputs.network_w_per_chip


def with_power(c: ChipHourCost, power_w_per_chip: float) -> ChipHourCost:
    """The same ownership cost billed at another average power."""
    t = c.inputs
    return replace(c, power_w_per_chip=power_w_per_chip,
                   energy_usd_per_chip_hour=power_w_per_chip / 1000 * t.pue * t.electricity_usd_per_kwh)
