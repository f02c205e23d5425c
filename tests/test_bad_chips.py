"""The bad-input catalogue, chips and systems: every figure of a chip or system file, given a
value that is not a plausible figure (zero, negative, infinite, NaN, text, a bool, absurdly
large, or a slipped unit), is refused with exit 2 and one line naming the file and the field.
Each case is one parse (`chips show` / `systems show`)."""

from __future__ import annotations

import pytest
from bad_inputs import refused

# (dotted field, bad values); every value is written as {value: X, source: "test"} on top of h100-sxm.
ZERO_BAD = ["0", "-1", ".inf", "-.inf", ".nan", "'12'", "true", "1.0e30"]
CHIP_FIELDS = {
    "clock_ghz": [*ZERO_BAD, "1980"],  # a clock in MHz
    "matrix.units": [*ZERO_BAD, "2.5"],
    "matrix.tile_m": [*ZERO_BAD, "100000"],
    "matrix.tile_n": [*ZERO_BAD],
    "matrix.peak_tflops.bf16": [*ZERO_BAD, "989000"],  # GFLOPS
    "matrix.peak_tflops.fp8": [*ZERO_BAD],
    "vector.peak_tflops": [*ZERO_BAD, "67000000"],
    "links.count": [*ZERO_BAD, "1.5"],
    "links.bandwidth_gb_s": [*ZERO_BAD, "0.45"],  # TB/s
    "links.latency_us": [*ZERO_BAD, "2000000"],
    "links.energy_pj_per_byte": [*ZERO_BAD],
    "links.max_domain_chips": [*ZERO_BAD, "1.0e15"],
    "power.tdp_w": [*ZERO_BAD, "0.7"],  # kW
    "power.idle_w": [*ZERO_BAD, "800"],  # above the TDP
    "power.active_w": ["-1", ".inf", ".nan", "'12'", "true", "1.0e30", "650"],
    "silicon.process_node_nm": [*ZERO_BAD],
    "silicon.die_area_mm2": [*ZERO_BAD, "1.0e7"],
    "silicon.compute_dies": [*ZERO_BAD],
    "node.chips_per_node": [*ZERO_BAD],
    "node.host_power_w": ["-1", ".inf", ".nan", "'12'", "true", "1.0e30"],
    "year": ["1800", "'2022'", "20.5"],
}
CHIP_CASES = [(f, v) for f, vals in CHIP_FIELDS.items() for v in vals]


def _nested(field: str, value: str) -> str:
    parts = field.split(".")
    lines = []
    for depth, key in enumerate(parts[:-1]):
        lines.append("  " * depth + f"{key}:")
    leaf = parts[-1]
    text = value if field == "year" else f'{{value: {value}, source: "test"}}'
    lines.append("  " * (len(parts) - 1) + f"{leaf}: {text}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("field, value", CHIP_CASES, ids=[f"{f}={v}" for f, v in CHIP_CASES])
def test_bad_chip_figure(tmp_path, field, value):
    p = tmp_path / "chip.yaml"
    p.write_text("base: h100-sxm\n" + _nested(field, value))
    leaf = field.split(".")[-1]
    refused("chips", "show", p, "--json", names=(str(p), leaf))


MEMORY = """memory:
  - name: HBM3
    kind: hbm
    capacity_gib: {{value: {cap}, source: "t"}}
    bandwidth_gb_s: {{value: {bw}, source: "t"}}
    energy_pj_per_byte: {{value: {e}, source: "t"}}
    latency_ns: {{value: {lat}, source: "t"}}
"""
GOOD_MEMORY = {"cap": "80", "bw": "3350", "e": "31", "lat": "600"}
MEMORY_CASES = ([("cap", v, "capacity_gib") for v in [*ZERO_BAD, "85899345920"]]  # bytes
                + [("bw", v, "bandwidth_gb_s") for v in [*ZERO_BAD, "3.35"]]  # TB/s for HBM
                + [("e", v, "energy_pj_per_byte") for v in ZERO_BAD]
                + [("lat", v, "latency_ns") for v in ZERO_BAD])


@pytest.mark.parametrize("key, value, field", MEMORY_CASES, ids=[f"{f}={v}" for _, v, f in MEMORY_CASES])
def test_bad_memory_figure(tmp_path, key, value, field):
    p = tmp_path / "chip.yaml"
    p.write_text("base: h100-sxm\n" + MEMORY.format(**{**GOOD_MEMORY, key: value}))
    refused("chips", "show", p, "--json", names=(str(p), field))


CHIP_FILES = {
    "unsourced bare figure": ("base: h100-sxm\nclock_ghz: 1.7\n", "clock_ghz"),
    "source is a number": ('base: h100-sxm\nclock_ghz: {value: 1.7, source: 5}\n', "clock_ghz"),
    "blank source": ('base: h100-sxm\nclock_ghz: {value: 1.7, source: "  "}\n', "clock_ghz"),
    "duplicate key": ('base: h100-sxm\nclock_ghz: {value: 1.7, source: "a"}\nclock_ghz: {value: 1.8, source: "b"}\n',
                      "clock_ghz"),
    "unknown field": ('base: h100-sxm\nclock_mhz: {value: 1700, source: "a"}\n', "clock_mhz"),
    "unknown kind": ("base: h100-sxm\nkind: fpga\n", "kind"),
    "unknown execution": ("base: h100-sxm\nexecution: magic\n", "execution"),
    "base loop": ("base: {self}\n", "base"),
    "base unknown": ("base: no-such-chip\n", "base"),
    "base not text": ("base: 5\n", "base"),
    "not a mapping": ("- 1\n- 2\n", "(file)"),
    "not yaml": ("clock_ghz: [1, 2\n", "(file)"),
    "peak_tflops not a mapping": ('base: h100-sxm\nmatrix:\n  peak_tflops: {value: 900, source: "a"}\n',
                                  "peak_tflops"),
    "no main memory": ('base: h100-sxm\nmemory:\n  - {name: HBM3, kind: cache}\n', "memory"),
    "bad memory kind": ('base: h100-sxm\nmemory:\n  - {name: X, kind: tape, capacity_gib: {value: 8, source: a},'
                        ' bandwidth_gb_s: {value: 500, source: a}, energy_pj_per_byte: {value: 5, source: a}}\n',
                        "kind"),
    "unknown number format": ('base: h100-sxm\nmatrix:\n  peak_tflops: {fp6: {value: 100, source: "a"}}\n',
                              "peak_tflops"),
    "billion laughs": ("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 30)), "alias"),
    "deep nesting": ("x: " + "[" * 200 + "]" * 200 + "\n", "nested"),
}


@pytest.mark.parametrize("name", list(CHIP_FILES))
def test_bad_chip_file(tmp_path, name):
    text, field = CHIP_FILES[name]
    p = tmp_path / "chip.yaml"
    p.write_text(text.replace("{self}", str(p)))
    refused("chips", "show", p, "--json", names=(str(p), field))


def test_missing_and_oversized_chip_files(tmp_path):
    refused("chips", "show", tmp_path / "none.yaml", names=("none.yaml", "no such file"))
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (17 * 2**20) + "\n")
    refused("chips", "show", big, names=(str(big), "limit"))
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    refused("chips", "show", folder, names=(str(folder), "folder"))


SYSTEM = """id: t
name: test system
chip: h100-sxm
chips_per_node: {{value: {cpn}, source: "t"}}
host_power_w: {{value: {host}, source: "t"}}
topology:
  - kind: {kind}
    size: {{value: {size}, source: "t"}}
    bandwidth_gb_s: {{value: {bw}, source: "t"}}
    latency_us: {{value: {lat}, source: "t"}}
"""
GOOD_SYSTEM = {"cpn": "8", "host": "2000", "kind": "switch", "size": "8", "bw": "450", "lat": "2.5"}
SYSTEM_CASES = ([("cpn", v, "chips_per_node") for v in ZERO_BAD]
                + [("host", v, "host_power_w") for v in ["-1", ".inf", ".nan", "'9'", "1.0e30"]]
                + [("size", v, "size") for v in [*ZERO_BAD, "1.0e12"]]
                + [("bw", v, "bandwidth_gb_s") for v in [*ZERO_BAD, "0.45"]]
                + [("lat", v, "latency_us") for v in ZERO_BAD]
                + [("kind", "hypercube", "kind")])


@pytest.mark.parametrize("key, value, field", SYSTEM_CASES, ids=[f"{f}={v}" for _, v, f in SYSTEM_CASES])
def test_bad_system_figure(tmp_path, key, value, field):
    p = tmp_path / "system.yaml"
    p.write_text(SYSTEM.format(**{**GOOD_SYSTEM, key: value}))
    refused("systems", "show", p, names=(str(p), field))


def test_good_system_file_loads(tmp_path):
    from cli_helpers import run

    p = tmp_path / "system.yaml"
    p.write_text(SYSTEM.format(**GOOD_SYSTEM))
    assert run("systems", "show", p).exit_code == 0
