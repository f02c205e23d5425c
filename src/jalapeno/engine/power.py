"""Energy of a step from what it moves and computes.

Dynamic energy = FLOPs x energy per FLOP (by process node and number format, from
hardware/data/energy.yaml) + bytes x energy per byte at each memory level + link bytes x link
energy per byte; the engine adds the chip's active power (`power.active_w`, drawn whenever it
runs at full clock, whatever the work) over the step's uncapped time, and the idle power over
its final duration. Energy per FLOP and active power are properties of the silicon, not of the
TDP: a part sold at a lower TDP than it would draw at full rate (H100 NVL at 400 W, H100 PCIe
at 350 W, an H200 held at 500 W) hits its power cap and the engine slows the step down to fit.
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
    return _joules_per_flop(chip.silicon.process_node_nm, fmt)


@lru_cache(maxsize=64)
def _joules_per_flop(node_nm: float, fmt: str) -> float:
    """Interpolated over the table's nodes; asked once per step, so kept per (node, format)."""
    t = _table()
    nodes = sorted(t["pj_per_bf16_flop_by_node_nm"].items())
    xs, ys = [n for n, _ in nodes], [v for _, v in nodes]
    pj = float(np.interp(node_nm, xs, ys))
    return pj * t["format_scale"].get(fmt, 1.0) * 1e-12


def step_energy(chip: ChipSpec, fmt: str, flops, hbm_bytes, onchip_bytes, link_bytes) -> np.ndarray:
    main = chip.main_memory.energy_pj_per_byte * 1e-12
    sram = chip.on_chip.energy_pj_per_byte * 1e-12 if chip.on_chip else 0.0
    link = chip.links.energy_pj_per_byte * 1e-12
    return (np.asarray(flops) * joules_per_flop(chip, fmt) + np.asarray(hbm_bytes) * main
            + np.asarray(onchip_bytes) * sram + np.asarray(link_bytes) * link)
