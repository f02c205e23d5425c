"""Economics: area estimator against published dies, unit cost worked by hand, TCO with round
numbers, money fields following from throughput, and bad cost inputs."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pytest

from jalapeno.economics.area import DiePrimitives, estimate_die
from jalapeno.economics.area_validation import area_rows, summary
from jalapeno.economics.data import load
from jalapeno.economics.money import money_fields, parse_cost_basis
from jalapeno.economics.tco import capital_recovery_factor, chip_hour_cost, tco_inputs
from jalapeno.economics.unit_cost import die_yield, dies_per_wafer, spare_yield, unit_cost
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import load_chip
from jalapeno.sourced import read_sourced_yaml


def test_every_economics_figure_has_a_source():
    folder = resources.files("jalapeno.economics") / "data"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    assert len(names) >= 8
    for n in names:
        read_sourced_yaml(Path(str(folder / n)), n)  # raises on a number without a source


def test_dies_per_wafer_yield_and_cost_by_hand():
    # A 10 x 10 mm die on a 300 mm wafer, no edge exclusion or scribe:
    # pi 300^2 / (4 x 100) - pi 300 / sqrt(200) = 706.86 - 66.64 = 640.2 -> 640 dies.
    assert dies_per_wafer(100.0, 300.0, 0.0, 0.0) == 640
    # D0 = 0.1 / cm^2 over 1 cm^2: AD = 0.1.
    assert die_yield(100.0, 0.1, "poisson") == pytest.approx(math.exp(-0.1))
    assert die_yield(100.0, 0.1, "negative-binomial", 3.0) == pytest.approx((1 + 0.1 / 3) ** -3)
    assert die_yield(100.0, 0.1, "murphy") == pytest.approx(((1 - math.exp(-0.1)) / 0.1) ** 2)
    y = die_yield(100.0, 0.1, "negative-binomial", 3.0)
    assert 10000.0 / (640 * y) == pytest.approx(17.24, abs=0.01)  # known-good die at $10,000 a wafer
    # Spares: an array with lambda = 1 defect and one spare unit works with P(k <= 1) = 2/e.
    assert spare_yield(100.0, 1.0, 1) == pytest.approx(2 / math.e)
    assert die_yield(100.0, 0.1, "negative-binomial", 1e9) == pytest.approx(math.exp(-0.1), rel=1e-6)


def test_bad_yield_inputs_name_the_field():
    with pytest.raises(JalapenoError, match="yield model"):
        die_yield(100.0, 0.1, "gaussian")
    with pytest.raises(JalapenoError, match="d0_per_cm2"):
        die_yield(100.0, -0.1)
    with pytest.raises(JalapenoError, match="cluster_alpha"):
        die_yield(100.0, 0.1, "negative-binomial", 0.0)


def test_tco_with_round_numbers():
    assert capital_recovery_factor(0.0, 4) == 0.25
    assert capital_recovery_factor(0.10, 5) == pytest.approx(0.263797, rel=1e-5)
    t = tco_inputs(life_years=1, cost_of_capital=0, pue=1.5, electricity_usd_per_kwh=0.10, facility_usd_per_w=0,
                   maintenance_fraction_per_year=0, network_w_per_chip=0)
    c = chip_hour_cost(load_chip("h100-sxm"), "build", power_w_per_chip=1000.0, inputs=t)
    assert c.energy_usd_per_chip_hour == pytest.approx(1.0 * 1.5 * 0.10)  # 1 kW x PUE 1.5 x $0.10
    assert c.capex_usd_per_chip_hour == pytest.approx(c.capex_usd_per_chip / 8760)
    assert c.usd_per_chip_hour == pytest.approx(c.capex_usd_per_chip / 8760 + 0.15)
    psu = load_chip("h100-sxm").node.psu_efficiency
    assert c.provisioned_w_per_chip == pytest.approx(1.5 * (700 + 2000 / 8) / psu)  # TDP + host share at the wall


def test_bad_tco_inputs():
    with pytest.raises(JalapenoError, match="--pue"):
        tco_inputs(pue=0.9)
    with pytest.raises(JalapenoError, match="--electricity-usd-per-kwh"):
        tco_inputs(electricity_usd_per_kwh=-0.1)
    with pytest.raises(JalapenoError, match="--cost-basis"):
        parse_cost_basis("-2")
    with pytest.raises(JalapenoError, match="--cost-basis"):
        parse_cost_basis("cheap")


def test_cloud_price_follows_from_throughput():
    chip = load_chip("h100-sxm")
    m = money_fields(chip, 8, 1000.0, 3000.0, 8000.0, "2.0")
    assert m.usd_per_million_output_tokens == pytest.approx(8 * 2.0 / (1000 * 3600) * 1e6)
    assert m.usd_per_million_total_tokens == pytest.approx(8 * 2.0 / (4000 * 3600) * 1e6)
    k = load("tco")[0]["input_to_output_price_ratio"]
    p_out = 16.0 / ((1000 + k * 3000) * 3600) * 1e6
    assert m.usd_per_million_tokens_blended_3to1 == pytest.approx(0.75 * k * p_out + 0.25 * p_out)
    listed = money_fields(chip, 8, 1000.0, 0.0, 8000.0, "cloud:committed")
    assert listed.cost_basis.startswith("cloud committed")
    assert listed.usd_per_million_output_tokens == pytest.approx(8 * listed.usd_per_chip_hour / 3.6)
    assert money_fields(chip, 8, 1000.0, 0.0, 8000.0).cost_basis.startswith("cloud")  # auto: public price
    assert money_fields(load_chip("jalapeno-ref"), 4, 1000.0, 0.0, 3000.0).cost_basis.startswith("build")


def test_tokens_per_mw_per_provisioned_power():
    chip = load_chip("h100-sxm")
    m = money_fields(chip, 8, 10000.0, 0.0, 7000.0, "build")
    t = tco_inputs()
    prov_w = ((700 + 2000 / 8) / chip.node.psu_efficiency + t.network_w_per_chip) * t.pue
    assert m.provisioned_mw == pytest.approx(8 * prov_w / 1e6)
    assert m.output_tokens_per_s_per_mw == pytest.approx(10000 / m.provisioned_mw)


def test_area_estimates_within_15_percent_median():
    rows = area_rows()
    s = summary(rows)
    assert s["catalog"]["dies"] >= 5 and s["validation"]["dies"] >= 8
    assert s["catalog"]["median_abs_error"] <= 0.15, s
    assert s["validation"]["median_abs_error"] <= 0.15, s


def test_area_blocks_scale_with_their_primitives():
    base = DiePrimitives("x", "N5", "systolic", {"bf16": 100000}, sram_bytes=64 * 2**20)
    more_sram = DiePrimitives("x", "N5", "systolic", {"bf16": 100000}, sram_bytes=128 * 2**20)
    older = DiePrimitives("x", "N7", "systolic", {"bf16": 100000}, sram_bytes=64 * 2**20)
    a, b, c = estimate_die(base), estimate_die(more_sram), estimate_die(older)
    assert b.blocks_mm2["sram_mm2"] == pytest.approx(2 * a.blocks_mm2["sram_mm2"])
    assert c.blocks_mm2["matrix_mm2"] > a.blocks_mm2["matrix_mm2"]  # N7 logic is less dense than N5
    with pytest.raises(JalapenoError, match="format"):
        estimate_die(DiePrimitives("x", "N5", "systolic", {"fp6": 1.0}))
    with pytest.raises(JalapenoError, match="process node"):
        estimate_die(DiePrimitives("x", 9, "systolic", {"bf16": 1.0}))


def test_unit_cost_parts_add_up_and_sit_below_public_price():
    u = unit_cost(load_chip("h100-sxm"))
    d = u.dies[0]
    assert d.area_basis == "published" and d.dies_per_wafer > 50 and 0.5 < d.yield_fraction < 1
    assert u.unit_usd == pytest.approx((u.dies_usd + u.memory_usd + u.package_usd) / u.assembly_yield
                                       + u.test_usd + u.board_usd)
    assert 2000 < u.unit_usd < u.public_price_usd
    mi = unit_cost(load_chip("mi300x"))
    assert [x.count for x in mi.dies] == [8, 4] and mi.dies[1].node == "N6"


def test_a_comparison_uses_one_cost_basis():
    from jalapeno.economics.money import common_basis
    auto = parse_cost_basis(None)
    assert common_basis(auto, ["h100-sxm", "b200"]).kind == "cloud"
    assert common_basis(auto, ["h100-sxm", "jalapeno-ref"]).kind == "build"  # no rent for a design
    assert common_basis(parse_cost_basis("asp"), ["h100-sxm", "jalapeno-ref"]).kind == "asp"


def test_every_catalog_chip_is_priced():
    from jalapeno.hardware.catalog import chip_ids
    for cid in chip_ids():
        chip = load_chip(cid)
        c = chip_hour_cost(chip, "build")
        assert c.usd_per_chip_hour > 0 and c.capex_usd_per_chip > c.accelerator_usd, cid


def test_a_design_is_priced_from_its_primitives_not_the_catalog_area():
    from jalapeno.economics.chip_area import chip_area
    from jalapeno.hardware.design import derive_chip
    ref = chip_area(load_chip("jalapeno-ref"))
    bigger = chip_area(derive_chip("jalapeno-ref", {"matrix.units": 16}))
    assert ref.published_mm2 == 840 and bigger.published_mm2 is None
    assert bigger.compute_die.blocks_mm2["matrix_mm2"] == pytest.approx(2 * ref.compute_die.blocks_mm2["matrix_mm2"],
                                                                     rel=1e-3)
    assert ref.fits_reticle and not bigger.fits_reticle
    assert unit_cost(derive_chip("jalapeno-ref", {"matrix.units": 16})).dies[0].area_basis == "estimated"


def test_bad_economics_data_names_the_field():
    from jalapeno.economics.data import check_data
    assert check_data("nodes", load("nodes")[0]) == []
    assert check_data("parts", load("parts")[0]) == []
    assert check_data("tco", load("tco")[0]) == []
    bad = check_data("nodes", {"nodes": {"N5": {"wafer_usd": -16000}}})
    assert bad and bad[0][0] == "nodes.N5.wafer_usd"
    assert check_data("tco", {"pue": 0.9})[0][0] == "pue"
    assert check_data("tco", {"cost_of_capital": 10})[0][0] == "cost_of_capital"  # 10 meant 10%: a unit slip
    assert check_data("parts", {"yield": {"model": "bose", "cluster_alpha": 3}})[0][0] == "yield.model"
    with pytest.raises(JalapenoError, match="--cost-of-capital"):
        tco_inputs(cost_of_capital=10)


def test_a_die_described_by_peak_and_clock_matches_macs():
    from jalapeno.economics.area_validation import die_from_dict
    by_macs = die_from_dict("a", {"node": "N7", "execution": "systolic", "macs_per_cycle": {"bf16": 131072}})
    by_peak = die_from_dict("b", {"node": "N7", "execution": "systolic", "peak_tflops": {"bf16": 275.25},
                                  "clock_ghz": 1.05})
    assert estimate_die(by_peak).total_mm2 == pytest.approx(estimate_die(by_macs).total_mm2, rel=1e-3)
    with pytest.raises(JalapenoError, match="units"):
        estimate_die(DiePrimitives("g", "N5", "gpu", {"bf16": 1e5}))  # a GPU's SMs carry control area
