"""Area, unit cost and $/Mtoken of a design, from `jalapeno.economics` when it is there.

The design search does not estimate silicon or money itself: those are the economics layer's
(issue 12). Until it is importable, every constraint and objective that needs it is unavailable
with an error that says so, never a stand-in figure. The HBM shoreline rule is geometry and
lives here (`shoreline_stacks`).
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

from jalapeno.errors import JalapenoError
from jalapeno.hardware.spec import ChipSpec

# Assumption: an HBM site takes ~11 mm of die edge (the JEDEC HBM3/3E package is ~11 mm wide) and
# 80 % of a die's perimeter can hold PHYs (corners and the scale-up SerDes take the rest). Check:
# H100 (814 mm^2, ~26 x 33 mm) places 6 HBM sites along its two 33 mm edges; a reticle die (858 mm^2)
# gets 8 sites, as reported for the Jalapeno die (8 stacks) and Maia 200 (6 stacks, 2 edges).
HBM_EDGE_MM = 11.0
USABLE_PERIMETER = 0.8
RETICLE_ASPECT = 33.0 / 26.0  # a full reticle field is 26 x 33 mm


class Unavailable(JalapenoError):
    """A constraint or objective that needs a layer this build does not have."""


_WHY = "needs jalapeno.economics (die area, unit cost, $/Mtoken: issue 12), which this build does not have"


def economics() -> ModuleType:
    try:
        import jalapeno.economics as econ
        import jalapeno.economics.chip_area  # noqa: F401
        import jalapeno.economics.money  # noqa: F401
        import jalapeno.economics.unit_cost  # noqa: F401
    except ImportError:
        raise Unavailable(_WHY) from None
    return econ


def has_economics() -> bool:
    try:
        economics()
    except Unavailable:
        return False
    return True


def _area(chip: ChipSpec) -> Any:
    economics()
    from jalapeno.economics.chip_area import chip_area

    key = id(chip)
    hit = _LAST_AREA.get(key)
    if hit is not None and hit[0] is chip:
        return hit[1]
    area = chip_area(chip)
    _LAST_AREA.clear()  # one design at a time: the evaluator asks area and unit cost of the same chip
    _LAST_AREA[key] = (chip, area)
    return area


_LAST_AREA: dict[int, tuple[ChipSpec, Any]] = {}


def die_area_mm2(chip: ChipSpec) -> float:
    """The largest die of the design (the compute die: what must fit the reticle or the budget)."""
    return float(_area(chip).largest_die_mm2)


def unit_cost_usd(chip: ChipSpec) -> float:
    """Build cost of one packaged chip (dies, memory, package, test): economics' unit cost."""
    from jalapeno.economics.unit_cost import unit_cost

    return float(unit_cost(chip, area=_area(chip)).unit_usd)


def usd_per_mtoken(chip: ChipSpec, output_tokens_per_s_per_chip: float, input_tokens_per_s_per_chip: float,
                   power_w_per_chip: float) -> float:
    """$ per million output tokens on the build-cost basis (a design has no cloud price)."""
    economics()
    from jalapeno.economics.money import money_fields

    m = money_fields(chip, 1, output_tokens_per_s_per_chip, input_tokens_per_s_per_chip, power_w_per_chip,
                     basis="build")
    return float(m.usd_per_million_output_tokens)


def shoreline_stacks(die_area_mm2: float) -> int:
    """HBM stacks the edge of a die of this area holds (reticle aspect ratio)."""
    short = math.sqrt(die_area_mm2 / RETICLE_ASPECT)
    perimeter = 2.0 * (short + short * RETICLE_ASPECT)
    return int(perimeter * USABLE_PERIMETER // HBM_EDGE_MM)
