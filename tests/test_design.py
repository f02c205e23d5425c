"""Chips as designs: primitives derive every peak, capacity and bandwidth (hardware/design.py)."""

from __future__ import annotations

import pytest

from jalapeno.errors import SpecError
from jalapeno.hardware.catalog import chip_ids, load_chip
from jalapeno.hardware.design import ChipDesign, derive_chip, strip_derived
from jalapeno.hardware.spec import ChipSpec


@pytest.mark.parametrize("chip_id", chip_ids())
def test_primitives_alone_reproduce_the_datasheet(chip_id):
    """Drop every total the primitives determine; what they derive is the datasheet within 2 %."""
    chip = load_chip(chip_id)
    rebuilt = ChipSpec.model_validate(strip_derived(chip.model_dump()))
    assert chip.matrix.macs_per_cycle, f"{chip_id} has no matrix.macs_per_cycle"
    for fmt, peak in chip.matrix.peak_tflops.items():
        assert rebuilt.matrix.peak_tflops[fmt] == pytest.approx(peak, rel=0.02), fmt
    assert rebuilt.vector.peak_tflops == pytest.approx(chip.vector.peak_tflops, rel=0.02)
    for a, b in zip(rebuilt.memory, chip.memory, strict=True):
        assert a.bandwidth_gb_s == pytest.approx(b.bandwidth_gb_s, rel=0.02)
        assert b.capacity_gib <= a.capacity_gib * 1.02  # usable <= physical
    assert rebuilt.links.bandwidth_gb_s == pytest.approx(chip.links.bandwidth_gb_s, rel=0.02)


def test_main_chips_describe_memory_and_links_as_primitives():
    for chip_id in ("h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi355x", "jalapeno-ref"):
        chip = load_chip(chip_id)
        assert chip.main_memory.stacks and chip.main_memory.technology, chip_id
        assert chip.links.lanes and chip.links.lane_gbps, chip_id


@pytest.mark.parametrize("chip_id", ["h100-sxm", "jalapeno-ref", "groq-lpu"])  # gpu, systolic, sram-streaming
def test_doubling_units_doubles_the_matrix_peak(chip_id):
    base = load_chip(chip_id)
    twice = derive_chip(base, {"matrix.units": base.matrix.units * 2})
    for fmt in base.matrix.peak_tflops:
        assert twice.peak_flops(fmt) == pytest.approx(2 * base.peak_flops(fmt), rel=1e-3)
    assert twice.main_memory.bandwidth_gb_s == base.main_memory.bandwidth_gb_s  # off-chip unchanged
    assert twice.execution == base.execution


def test_memory_from_stacks_and_links_from_lanes():
    chip = derive_chip("jalapeno-ref", {"memory.hbm.stacks": 6, "links.lanes": 24})
    assert chip.main_memory.capacity_gib == pytest.approx(6 * 36)
    assert chip.main_memory.bandwidth_gb_s == pytest.approx(6 * 1000)
    assert chip.links.bandwidth_gb_s == pytest.approx(24 * 200 / 8)


def test_a_faster_clock_speeds_matrix_and_sram_but_not_hbm():
    base = load_chip("jalapeno-ref")
    fast = derive_chip(base, {"clock_ghz": base.clock_ghz * 1.5})
    assert fast.peak_flops("fp8") == pytest.approx(1.5 * base.peak_flops("fp8"), rel=1e-3)
    assert fast.main_memory.bandwidth_gb_s == base.main_memory.bandwidth_gb_s


def test_primitives_and_totals_that_disagree_name_both(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("base: h100-sxm\nid: bad\nname: bad\nmatrix:\n"
                    "  macs_per_cycle: {source: what-if, bf16: 4096}\n"
                    "  peak_tflops: {source: what-if, bf16: 989.4}\n")
    with pytest.raises(SpecError) as err:
        load_chip(str(path))
    text = str(err.value)
    assert "matrix.peak_tflops.bf16 = 989.4" in text and "macs_per_cycle.bf16" in text and "1978" in text


def test_unknown_override_path_is_an_error():
    with pytest.raises(ValueError, match="no single entry"):
        derive_chip("b200", {"memory.lpddr.stacks": 4})


def test_a_design_becomes_a_validated_chip():
    design = ChipDesign(clock_ghz=2.0, units=8, macs_per_cycle={"bf16": 32768, "fp8": 131072}, memory_pj_per_byte=31.2,
                        memory_stacks=6, per_stack_capacity_gib=36, per_stack_bandwidth_gb_s=1200)
    chip = design.to_spec()
    assert chip.execution == "systolic"
    assert chip.peak_flops("fp8") == pytest.approx(8 * 131072 * 2 * 2e9)
    assert chip.main_memory.capacity_gib == pytest.approx(216)
    assert chip.main_memory.bandwidth_gb_s == pytest.approx(7200)
    assert chip.on_chip is not None and chip.on_chip.capacity_gib == pytest.approx(8 * 32 / 1024)
    assert chip.links.bandwidth_gb_s == pytest.approx(48 * 200 / 8)


def test_an_sram_only_design_holds_its_weights_on_chip():
    chip = ChipDesign(clock_ghz=1.0, units=64, macs_per_cycle={"bf16": 4096}, memory_stacks=0,
                      sram_per_unit_mib=256, execution="sram-streaming").to_spec()
    assert chip.main_memory.capacity_gib == pytest.approx(16)
    assert chip.main_memory.technology == "sram"


def test_a_memory_technology_supplies_what_a_design_leaves_out():
    chip = ChipDesign(clock_ghz=2.0, units=8, macs_per_cycle={"bf16": 32768}, memory_technology="hbm4",
                      memory_stacks=8).to_spec()
    assert chip.main_memory.bandwidth_gb_s == pytest.approx(8 * 2048)
    assert chip.main_memory.capacity_gib == pytest.approx(8 * 48)
    assert chip.main_memory.energy_pj_per_byte == pytest.approx(2.5 * 8)
    with pytest.raises(ValueError, match="memory_technology"):
        ChipDesign(clock_ghz=2.0, units=8, macs_per_cycle={"bf16": 1}, memory_technology="hbm9").to_spec()
