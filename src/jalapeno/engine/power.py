"""Power and energy: the one place that turns work into joules and watts.

A chip draws three kinds of power (DESIGN.md section 3, "Energy"):
- idle (`power.idle_w`): leakage, memory refresh, SerDes kept up, drawn whatever happens;
- running (`power.active_w`): clock tree, schedulers, instruction issue, register files and the
  on-chip network toggling at full clock whatever the work is. Where a chip file gives no
  figure it is derived from the width of the datapath it clocks, the node and the clock
  (`active_power_w`): W = k x MACs per cycle x clock, with k fitted once on GH100 (h200-sxm.yaml)
  and scaled to other nodes by the datapath energy per FLOP of energy.yaml (both are C.V^2 per
  switch). No chip runs at 0 W above idle;
- work: FLOPs x energy per FLOP (node, format), bytes x energy per byte at each memory level,
  and the link energy of every collective at the level it crosses (network/algorithms.py charges
  each topology level's own pJ per byte, so a cross-node transfer pays the scale-out NIC, not NVLink).

The step's dynamic energy over its time may not exceed the power limit less idle: a chip that
would draw more clocks down and the step stretches (`cap_step`). A system's wall power adds the
hosts' share (`SystemSpec.host_power_w`, from the system file when there is one) and divides by the
power-supply efficiency (`wall_power_w`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from jalapeno.hardware.spec import ChipSpec, SystemSpec
from jalapeno.safeload import parse_yaml


@lru_cache(maxsize=1)
def _table() -> dict:
    f = resources.files("jalapeno.hardware") / "data" / "energy.yaml"
    return parse_yaml(f.read_text(), str(f))


def joules_per_flop(chip: ChipSpec, fmt: str) -> float:
    return _joules_per_flop(chip.silicon.process_node_nm, fmt) * chip.power.datapath_energy_scale


@lru_cache(maxsize=64)
def _joules_per_flop(node_nm: float, fmt: str) -> float:
    """Interpolated over the table's nodes; asked once per step, so kept per (node, format)."""
    pj = _node_scale(node_nm) * _table()["pj_per_bf16_flop_by_node_nm"][4]
    return pj * _table()["format_scale"].get(fmt, 1.0) * 1e-12


@lru_cache(maxsize=64)
def _node_scale(node_nm: float) -> float:
    """Switching energy at a node relative to N4 (the datapath column of energy.yaml)."""
    nodes = sorted(_table()["pj_per_bf16_flop_by_node_nm"].items())
    xs, ys = [n for n, _ in nodes], [v for _, v in nodes]
    return float(np.interp(node_nm, xs, ys)) / _table()["pj_per_bf16_flop_by_node_nm"][4]


def active_power_w(chip: ChipSpec) -> float:
    """Power drawn on top of idle whenever the chip runs at full clock (see module docstring)."""
    if chip.power.active_w > 0:
        return chip.power.active_w
    return _derived_active_w(chip)


def _derived_active_w(chip: ChipSpec) -> float:
    """k x (switching energy at the node / N4) x the chip's bf16 MACs per cycle x clock: the clock
    tree, operand delivery and issue logic that keep the datapath fed scale with its width and
    clock. k is fitted once on GH100 (energy.yaml, running_power)."""
    t = _table()["running_power"]
    macs = chip.matrix_macs_per_cycle("bf16")
    derived = t["w_per_mmac_ghz_n4"] * _node_scale(chip.silicon.process_node_nm) * macs / 1e6 * chip.clock_ghz
    # The limit must leave room for work: never more than 60 % of the headroom above idle (the
    # fitted GH100 figure is 25 % of it), so a part sold at a low TDP stays usable.
    return min(derived, 0.6 * (chip.power.tdp_w - chip.power.idle_w))


@dataclass(frozen=True)
class ChipPower:
    """What the engine needs to turn a step's work into energy on one chip."""

    idle_w: float
    active_w: float
    limit_w: float
    j_per_byte_main: float
    j_per_byte_onchip: float
    j_per_byte_link: float  # scale-up links, for transfers costed without a topology

    @property
    def dynamic_limit_w(self) -> float:
        return self.limit_w - self.idle_w


def chip_power(chip: ChipSpec, power_limit_w: float | None = None) -> ChipPower:
    on = chip.on_chip
    return ChipPower(idle_w=chip.power.idle_w, active_w=active_power_w(chip),
                     limit_w=power_limit_w or chip.power.tdp_w,
                     j_per_byte_main=chip.main_memory.energy_pj_per_byte * 1e-12,
                     j_per_byte_onchip=on.energy_pj_per_byte * 1e-12 if on else 0.0,
                     j_per_byte_link=chip.links.energy_pj_per_byte * 1e-12)


def work_energy(chip: ChipSpec, fmt: str, flops, hbm_bytes, onchip_bytes, link_energy_j) -> np.ndarray:
    """Joules of the work itself: FLOPs, bytes at each memory level, and link energy (already in
    joules, per topology level)."""
    p = chip_power(chip)
    return (np.asarray(flops) * joules_per_flop(chip, fmt) + np.asarray(hbm_bytes) * p.j_per_byte_main
            + np.asarray(onchip_bytes) * p.j_per_byte_onchip + np.asarray(link_energy_j))


def step_energy(chip: ChipSpec, fmt: str, flops, hbm_bytes, onchip_bytes, link_bytes) -> np.ndarray:
    """Work energy with link bytes charged at the chip's scale-up rate (for a lone kernel)."""
    return work_energy(chip, fmt, flops, hbm_bytes, onchip_bytes,
                       np.asarray(link_bytes) * chip.links.energy_pj_per_byte * 1e-12)


def cap_step(time_s, work_j, power: ChipPower):
    """(time, energy, capped) of a step after the power limit: running power over the uncapped time
    plus the work's energy may not exceed the limit less idle; idle is paid over the final time.
    Works on numpy arrays and on plain floats (the serving hot path)."""
    dyn = work_j + power.active_w * time_s
    capped_time = dyn / power.dynamic_limit_w
    if isinstance(time_s, float):
        capped = capped_time > time_s
        t = capped_time if capped else time_s
        return t, dyn + power.idle_w * t, capped
    capped = capped_time > time_s
    t = np.maximum(time_s, capped_time)
    return t, dyn + power.idle_w * t, capped


def with_power_limit(system: SystemSpec, limit_w: float | None) -> SystemSpec:
    """The system with every chip held at `limit_w` (MLPerf "MaxQ" runs, nvidia-smi -pl): its cap
    falls and a step that would draw more stretches. The limit must leave room above idle and
    running power, and cannot exceed the part's own TDP."""
    if limit_w is None:
        return system
    from jalapeno.errors import JalapenoError
    from jalapeno.hardware.design import derive_chip

    chip = system.chip
    floor = chip.power.idle_w + active_power_w(chip)
    if not limit_w == limit_w or limit_w <= floor or limit_w > chip.power.tdp_w:
        raise JalapenoError(f"--power-limit-w {limit_w:g}: {chip.id} runs between {floor:.0f} W (idle + running "
                            f"power) and its {chip.power.tdp_w:.0f} W TDP")
    capped = derive_chip(chip, {"power.tdp_w": limit_w, "power.active_w": active_power_w(chip)})
    return system.model_copy(update={"chip": capped})


def wall_power_w(system: SystemSpec, chips_w: float, num_chips: int | None = None) -> float:
    """Wall power of `num_chips` chips of a system (default: all of them) drawing `chips_w` in all:
    plus their hosts' share, over the power supplies' efficiency."""
    hosts = system.hosts
    n = system.num_chips if num_chips is None else num_chips
    return (chips_w + hosts.host_power_w * n / hosts.chips_per_node) / hosts.psu_efficiency
