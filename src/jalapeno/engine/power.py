"""Energy of a step from what it moves and computes, by the chip's own figures.

Dynamic energy = FLOPs x energy per FLOP + bytes x energy per byte at each memory level + link
bytes x link energy per byte; static power (the chip's idle draw) is added by the caller for the
step's duration. Energy per FLOP is not a free parameter per chip: a chip running its matrix
engines flat out in a format spends about `MATRIX_SHARE_OF_DYNAMIC_POWER` of its dynamic power
budget (TDP - idle) on them, so pJ/FLOP = share * (TDP - idle) / peak FLOP/s in that format.
That ties energy per FLOP to each chip's datasheet, its process and its format support at once.
"""

from __future__ import annotations

import numpy as np

from jalapeno.hardware.spec import ChipSpec

# Assumption: at full matrix load about 60 % of a chip's dynamic power goes to the matrix
# datapaths and their register files; the rest to data movement counted separately below
# (Dally et al., "Evolution of the Graphics Processing Unit (GPU)", IEEE Micro 2021, and
# Horowitz, ISSCC 2014: data movement rivals arithmetic energy).
MATRIX_SHARE_OF_DYNAMIC_POWER = 0.6


def joules_per_flop(chip: ChipSpec, fmt: str) -> float:
    return MATRIX_SHARE_OF_DYNAMIC_POWER * (chip.power.tdp_w - chip.power.idle_w) / chip.peak_flops(fmt)


def step_energy(chip: ChipSpec, fmt: str, flops, hbm_bytes, onchip_bytes, link_bytes) -> np.ndarray:
    main = chip.main_memory.energy_pj_per_byte * 1e-12
    sram = chip.on_chip.energy_pj_per_byte * 1e-12 if chip.on_chip else 0.0
    link = chip.links.energy_pj_per_byte * 1e-12
    return (np.asarray(flops) * joules_per_flop(chip, fmt) + np.asarray(hbm_bytes) * main
            + np.asarray(onchip_bytes) * sram + np.asarray(link_bytes) * link)
