"""A chip's whole cost picture in one call: area, unit cost, cost per chip-hour, cloud prices.

`jalapeno cost` and `jalapeno.cost()` both show it; computing it here keeps them one thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jalapeno.economics.chip_area import chip_area
from jalapeno.economics.cloud import cloud_prices
from jalapeno.economics.tco import chip_hour_cost, tco_inputs
from jalapeno.economics.unit_cost import unit_cost
from jalapeno.hardware.spec import ChipSpec
from jalapeno.hardware.systems import SystemTopologySpec


@dataclass
class CostBreakdown:
    area: Any  # economics.chip_area result (dies and their blocks)
    unit: Any  # economics.unit_cost result
    inputs: Any  # the TCO assumptions used (life, cost of capital, PUE, electricity)
    build: Any  # cost per chip-hour on the build basis
    asp: Any  # ... on the public price, where the device has one (else None)
    clouds: list[Any]  # public cloud prices of the chip
    data: dict[str, Any]  # the `cost --json` keys


def cost_breakdown(chip: ChipSpec, system: SystemTopologySpec | None = None, yield_model: str | None = None,
                   life_years: float | None = None, cost_of_capital: float | None = None, pue: float | None = None,
                   usd_per_kwh: float | None = None) -> CostBreakdown:
    """Die area (mm^2), unit build cost (USD) and cost per chip-hour (USD/h) of a chip, in a
    catalog system's hosts and wiring when one is given, with its public cloud prices."""
    inputs = tco_inputs(life_years=life_years, cost_of_capital=cost_of_capital, pue=pue,
                        electricity_usd_per_kwh=usd_per_kwh)
    area = chip_area(chip)
    unit = unit_cost(chip, area, yield_model)
    hosts = system.system_spec().hosts if system else None
    switched = system.topology.levels[0].kind == "switch" if system else None
    build = chip_hour_cost(chip, "build", None, inputs, unit, switched, hosts)
    asp = chip_hour_cost(chip, "asp", None, inputs, unit, switched, hosts) if unit.public_price_usd else None
    clouds = cloud_prices(chip.id)
    data = {"chip": chip.id, "system": system.id if system else None, "area": area.to_dict(),
            "unit_cost": unit.to_dict(), "chip_hour_build": build.to_dict(),
            "chip_hour_asp": asp.to_dict() if asp else None, "cloud_prices": [p.to_dict() for p in clouds]}
    return CostBreakdown(area, unit, inputs, build, asp, clouds, data)
