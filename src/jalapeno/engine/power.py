"""Energy of a step from what it moves and computes.

Dynamic energy = FLOPs x energy per FLOP (by process node and number format, from
hardware/data/energy.yaml) + bytes x energy per byte at each memory level + link bytes x link
energy per byte; the chip's idle power is added by the caller for the step's duration. Energy
per FLOP is a property of the silicon, not of the TDP: a part sold at a lower TDP than its
datapaths would draw at full rate (H100 NVL at 400 W, H100 PCIe at 350 W) hits its power cap
and the engine slows the step down to fit.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from jalapeno.hardware.spec import ChipSpec


@lru_cache(maxsize=1)
def _table() -> dict:
    return yaml.safe_load((resources.files("jalapeno.hardware") / "data" / "energy.yaml").read_text())


def joules_per_flop(chip: ChipSpec, fmt: str) -> float:
    t = _table()
    nodes = sorted(t["pj_per_bf16_flop_by_node_nm"].items())
    node = chip.silicon.process_node_nm
    xs, ys = [n for n, _ in nodes], [v for _, v in nodes]
    pj = float(np.interp(node, xs, ys))
    return pj * t["format_scale"].get(fmt, 1.0) * 1e-12


def step_energy(chip: ChipSpec, fmt: str, flops, hbm_bytes, onchip_bytes, link_bytes) -> np.ndarray:
    main = chip.main_memory.energy_pj_per_byte * 1e-12
    sram = chip.on_chip.energy_pj_per_byte * 1e-12 if chip.on_chip else 0.0
    link = chip.links.energy_pj_per_byte * 1e-12
    return (np.asarray(flops) * joules_per_flop(chip, fmt) + np.asarray(hbm_bytes) * main
            + np.asarray(onchip_bytes) * sram + np.asarray(link_bytes) * link)
