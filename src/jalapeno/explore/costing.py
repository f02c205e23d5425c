"""Area, unit cost and $/Mtoken of a design, from `jalapeno.economics` when it is there.

The design search does not estimate silicon or money itself: those are the economics layer's
(issue 12). Until it is importable, every constraint and objective that needs it is unavailable
with an error that says so, never a stand-in figure. The HBM shoreline rule is geometry and
lives here (`shoreline_stacks`).
"""

from __future__ import annotations

import math
from types import ModuleType

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


def economics() -> ModuleType:
    try:
        import jalapeno.economics as econ  # noqa: PLC0415 - optional layer, imported when asked
    except ImportError:
        raise Unavailable("needs jalapeno.economics (die area, unit cost, $/Mtoken: issue 12), "
                          "which this build does not have") from None
    return econ


def has_economics() -> bool:
    try:
        economics()
    except Unavailable:
        return False
    return True


def die_area_mm2(chip: ChipSpec) -> float:
    econ = economics()
    return float(econ.die_area_mm2(chip))  # type: ignore[attr-defined]


def unit_cost_usd(chip: ChipSpec) -> float:
    econ = economics()
    return float(econ.unit_cost_usd(chip))  # type: ignore[attr-defined]


def usd_per_mtoken(chip: ChipSpec, tokens_per_s_per_chip: float, power_w_per_chip: float) -> float:
    econ = economics()
    return float(econ.usd_per_million_tokens(chip, tokens_per_s_per_chip, power_w_per_chip))  # type: ignore[attr-defined]


def shoreline_stacks(die_area_mm2: float) -> int:
    """HBM stacks the edge of a die of this area holds (reticle aspect ratio)."""
    short = math.sqrt(die_area_mm2 / RETICLE_ASPECT)
    perimeter = 2.0 * (short + short * RETICLE_ASPECT)
    return int(perimeter * USABLE_PERIMETER // HBM_EDGE_MM)
