"""Chip catalog: every file loads, every figure carries a source, datasheet peaks reproduce."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
import yaml

from jalapeno.errors import SpecError, UnknownIdError
from jalapeno.hardware.catalog import chip_ids, chip_path, load_chip
from jalapeno.sourced import split_sources

CHIPS_DIR = Path(str(resources.files("jalapeno.hardware") / "data" / "chips"))

REQUIRED = ["h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi325x", "mi355x", "tpu-v5e",
            "tpu-v6e", "tpu-7x", "inferentia2", "trainium2", "trainium3", "maia-100", "gaudi3", "groq-lpu",
            "jalapeno-ref"]

# Numbers in a chip file that are labels rather than measured figures.
NOT_FIGURES = {"year"}


def test_catalog_is_not_empty():
    assert len(chip_ids()) >= 10


@pytest.mark.parametrize("chip_id", chip_ids())
def test_chip_loads(chip_id):
    c = load_chip(chip_id)
    assert c.id == chip_id, f"{chip_id}.yaml declares id '{c.id}'"
    assert c.main_memory.capacity_gib > 0 and c.main_memory.bandwidth_gb_s > 0
    assert c.peak_flops("bf16") > 0
    assert 0 < c.power.idle_w < c.power.tdp_w


@pytest.mark.parametrize("chip_id", REQUIRED)
def test_required_chip_exists(chip_id):
    assert chip_id in chip_ids(), f"missing catalog file hardware/data/chips/{chip_id}.yaml"
    assert load_chip(chip_id).id == chip_id


@pytest.mark.parametrize("chip_id", chip_ids())
def test_every_figure_has_a_source(chip_id):
    raw = yaml.safe_load(chip_path(chip_id).read_text())
    _, _, unsourced = split_sources(raw)
    assert [p for p in unsourced if p not in NOT_FIGURES] == []
    sources = load_chip(chip_id).sources  # with the figures a `base:` chip lends
    assert all(isinstance(s, str) and s.strip() for s in sources.values())
    # The figures the engine depends on are among the sourced ones.
    for path in ("clock_ghz", "power.tdp_w", "power.idle_w", "links.bandwidth_gb_s", "vector.peak_tflops"):
        assert path in sources, f"{chip_id}: {path} has no source"
    assert any(p.startswith("matrix.peak_tflops") for p in sources)
    assert any(re.fullmatch(r"memory\[\d+\]\.bandwidth_gb_s", p) for p in sources)


@pytest.mark.parametrize("chip_id", chip_ids())
def test_narrower_formats_are_not_slower(chip_id):
    peaks = load_chip(chip_id).matrix.peak_tflops
    order = ["bf16", "fp8", "fp4"]
    present = [peaks[f] for f in order if f in peaks]
    assert present == sorted(present), f"{chip_id}: {dict(peaks)}"


def test_unsourced_figure_is_rejected(tmp_path):
    text = (CHIPS_DIR / "h100-sxm.yaml").read_text()
    text, n = re.subn(r"tdp_w: \{value: 700, source: \"[^\"]*\"\}", "tdp_w: 700", text)
    assert n == 1
    path = tmp_path / "unsourced.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as exc:
        load_chip(str(path))
    assert "power.tdp_w" in str(exc.value)
    assert str(path) in str(exc.value)


def test_unknown_chip_suggests_close_ids():
    with pytest.raises(UnknownIdError) as exc:
        load_chip("h100")
    assert "h100-sxm" in str(exc.value)


# --- datasheet figures -----------------------------------------------------------------------

def test_h100_sxm_datasheet():
    c = load_chip("h100-sxm")
    assert c.matrix.peak_tflops["bf16"] == pytest.approx(989.4)
    assert c.matrix.peak_tflops["fp8"] == pytest.approx(1978.9)
    assert c.peak_flops("bf16") == pytest.approx(989.4e12)
    assert c.peak_flops("fp8") == pytest.approx(1978.9e12)
    assert c.main_memory.bandwidth_gb_s == pytest.approx(3350)
    assert c.main_memory.capacity_gib == pytest.approx(80)
    assert c.main_memory.capacity_bytes == 80 * 2**30
    assert c.power.tdp_w == pytest.approx(700)
    assert "fp4" not in c.matrix.peak_tflops
    # No native fp4: fp4 weights run at the fp8 rate.
    assert c.peak_flops("fp4") == pytest.approx(1978.9e12)


def test_b200_has_fp4():
    c = load_chip("b200")
    assert "fp4" in c.matrix.peak_tflops
    assert c.matrix.peak_tflops["fp4"] == pytest.approx(2 * c.matrix.peak_tflops["fp8"])
    assert "fp4" in c.native_formats()


def test_mi300x_datasheet():
    c = load_chip("mi300x")
    assert c.matrix.peak_tflops["bf16"] == pytest.approx(1307.4)
    assert c.main_memory.bandwidth_gb_s == pytest.approx(5300)
    assert c.main_memory.capacity_gib == pytest.approx(192)


def test_tpu_v6e_datasheet():
    assert load_chip("tpu-v6e").matrix.peak_tflops["bf16"] == pytest.approx(918)


def test_jalapeno_ref_states_its_assumptions():
    c = load_chip("jalapeno-ref")
    assert len(c.assumptions) > 0
    assert all(isinstance(a, str) and a.strip() for a in c.assumptions)


def test_a_chip_can_start_from_another(tmp_path):
    """`base:` takes every field of another chip; the file gives only what differs, with sources."""
    path = tmp_path / "faster-hbm.yaml"
    path.write_text("base: h100-sxm\nid: h100-faster-hbm\nname: H100 with faster HBM\n"
                    "memory:\n  - name: HBM3\n"
                    "    bandwidth_gb_s: {value: 4800, source: what-if}\n")
    chip, base = load_chip(str(path)), load_chip("h100-sxm")
    assert chip.id == "h100-faster-hbm" and chip.main_memory.bandwidth_gb_s == 4800
    assert len(chip.memory) == len(base.memory)  # named entries merge one by one
    assert chip.memory[1:] == base.memory[1:] and chip.main_memory.capacity_gib == 80
    assert chip.main_memory.per_stack_bandwidth_gb_s is None  # the primitive it replaced went with it
    assert chip.matrix == base.matrix and chip.power == base.power
    assert chip.sources["memory[0].bandwidth_gb_s"] == "what-if"
    assert chip.sources["power.tdp_w"] == base.sources["power.tdp_w"]


def test_a_what_if_changes_a_primitive_and_the_totals_follow(tmp_path):
    path = tmp_path / "more-stacks.yaml"
    path.write_text("base: b200\nid: b200-10-stacks\nname: B200 with ten stacks\n"
                    "memory:\n  - name: HBM3e\n    stacks: {value: 10, source: what-if}\n"
                    "matrix:\n  units: {value: 296, source: what-if}\n")
    chip, base = load_chip(str(path)), load_chip("b200")
    assert chip.main_memory.bandwidth_gb_s == pytest.approx(base.main_memory.bandwidth_gb_s * 10 / 8)
    assert chip.main_memory.capacity_gib == pytest.approx(240)  # 10 x 24 GiB, physical
    assert chip.peak_flops("fp8") == pytest.approx(2 * base.peak_flops("fp8"))


def test_board_variant_differs_only_in_its_links():
    variant, gpu = load_chip("h100-sxm-hgx4"), load_chip("h100-sxm")
    assert variant.links.max_domain_chips == 4 and variant.links.topology == "mesh"
    assert variant.matrix == gpu.matrix and variant.memory == gpu.memory and variant.power == gpu.power


@pytest.mark.parametrize("base, problem", [("no-such-chip", "unknown chip"), ("{}", "expected a chip id"),
                                           ("SELF", "loop")])
def test_bad_base_names_the_field(tmp_path, base, problem):
    path = tmp_path / "variant.yaml"
    path.write_text(f"base: {str(path) if base == 'SELF' else base}\nid: variant\n")
    with pytest.raises(SpecError) as exc:
        load_chip(str(path))
    assert "base" in str(exc.value) and problem in str(exc.value).lower()
