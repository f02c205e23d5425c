"""The `jalapeno` command: JSON output for machines, one-line errors (never tracebacks) for bad input."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from cli_helpers import fails_cleanly, ok_json, stderr_of

from jalapeno.hardware.catalog import chip_ids
from jalapeno.models.config import model_ids

CHIPS_DIR = Path(str(resources.files("jalapeno.hardware") / "data" / "chips"))
CONFIGS_DIR = Path(str(resources.files("jalapeno.models") / "data" / "configs"))
H100_YAML = (CHIPS_DIR / "h100-sxm.yaml").read_text()
H100_YAML_WITHOUT_TDP = "\n".join(line for line in H100_YAML.splitlines() if not line.strip().startswith("tdp_w:"))


# --- JSON output -----------------------------------------------------------------------------

def test_chips_json_lists_ids():
    rows = ok_json("chips", "--json")
    ids = [r["id"] for r in rows]
    assert ids == chip_ids()
    assert "h100-sxm" in ids


def test_chips_show_json():
    d = ok_json("chips", "show", "h100-sxm", "--json")
    assert d["id"] == "h100-sxm"
    assert d["peak_tflops"]["bf16"] == pytest.approx(989.4)
    assert d["sources"]


def test_models_json_lists_ids():
    rows = ok_json("models", "--json")
    assert [r["id"] for r in rows] == model_ids()


def test_models_show_gpt_oss_json():
    d = ok_json("models", "show", "gpt-oss-120b", "--json")
    assert d["total_params"] > d["active_params"] > 0
    assert d["total_params"] == pytest.approx(116.83e9, rel=0.02)


PREDICT_KEYS = {"output_tokens_per_s", "output_tokens_per_s_per_chip", "concurrency", "ttft_s", "tpot_s",
                "output_tokens_per_s_per_user", "power_w", "output_tokens_per_joule",
                "weights_bytes_per_chip", "kv_cache_bytes_per_chip", "bound"}


def test_predict_json_has_all_keys():
    d = ok_json("predict", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--precision", "fp8",
                "--input-tokens", "1000", "--output-tokens", "1000", "--json")
    assert PREDICT_KEYS <= set(d), PREDICT_KEYS - set(d)
    for k in PREDICT_KEYS - {"bound"}:
        assert isinstance(d[k], int | float) and d[k] > 0, (k, d[k])
    assert isinstance(d["bound"], str) and d["bound"]
    assert d["output_tokens_per_s_per_chip"] == pytest.approx(d["output_tokens_per_s"])  # one chip
    assert d["output_tokens_per_joule"] == pytest.approx(d["output_tokens_per_s"] / d["power_w"])
    assert d["tpot_s"] == pytest.approx(1 / d["output_tokens_per_s_per_user"])


def test_predict_accepts_paths(tmp_path):
    chip = tmp_path / "my-chip.yaml"
    chip.write_text(H100_YAML)
    model = tmp_path / "config.json"
    model.write_text((CONFIGS_DIR / "llama-3.1-8b.json").read_text())
    d = ok_json("predict", "--model", model, "--chip", chip, "--json")
    assert d["output_tokens_per_s"] > 0


KERNEL_KEYS = {"time_s", "bound", "energy_j"}


def test_kernel_gemm_json():
    d = ok_json("kernel", "gemm", "--chip", "h100-sxm", "--m", "128", "--n", "4096", "--k", "4096", "--json")
    assert KERNEL_KEYS <= set(d)
    assert d["time_s"] > 0 and d["energy_j"] > 0
    assert d["time_s"] >= 2 * 128 * 4096 * 4096 / 989.4e12


def test_kernel_attention_decode_json():
    d = ok_json("kernel", "attention", "--chip", "h100-sxm", "--phase", "decode", "--batch", "8",
                "--context", "4096", "--json")
    assert KERNEL_KEYS <= set(d)
    assert d["time_s"] > 0 and d["energy_j"] > 0


def test_kernel_attention_prefill_json():
    d = ok_json("kernel", "attention", "--chip", "h100-sxm", "--phase", "prefill", "--tokens", "2048",
                "--json")
    assert KERNEL_KEYS <= set(d)
    assert d["time_s"] > 0


def test_kernel_allreduce_json():
    d = ok_json("kernel", "allreduce", "--chip", "h100-sxm", "--chips", "8", "--bytes", "1048576", "--json")
    assert KERNEL_KEYS <= set(d)
    assert d["time_s"] > 0 and d["energy_j"] > 0


# --- bad input: one line, non-zero exit, no traceback ------------------------------------------

def test_unknown_chip_lists_close_matches():
    msg = fails_cleanly("predict", "--model", "llama-3.1-8b", "--chip", "h100")
    assert "h100" in msg and "h100-sxm" in msg


def test_unknown_chip_in_kernel_command():
    msg = fails_cleanly("kernel", "gemm", "--chip", "h100", "--m", "1", "--n", "1", "--k", "1")
    assert "h100-sxm" in msg


def test_unknown_model():
    msg = fails_cleanly("predict", "--model", "llama-9-1b", "--chip", "h100-sxm")
    assert "llama-9-1b" in msg and "model" in msg


def test_unknown_model_in_show():
    msg = fails_cleanly("models", "show", "no-such-model")
    assert "no-such-model" in msg


def _bad_chip(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_chip_yaml_missing_field(tmp_path):
    path = _bad_chip(tmp_path, "missing.yaml", H100_YAML_WITHOUT_TDP)
    msg = fails_cleanly("predict", "--model", "llama-3.1-8b", "--chip", path)
    assert str(path) in msg and "tdp_w" in msg


@pytest.mark.parametrize("name, pattern, replacement, field", [
    ("negative.yaml", r"tdp_w: \{value: 700,", "tdp_w: {value: -5,", "tdp_w"),
    ("mistyped.yaml", r"bandwidth_gb_s: \{value: 3350,", 'bandwidth_gb_s: {value: "fast",', "bandwidth_gb_s"),
])
def test_chip_yaml_bad_value(tmp_path, name, pattern, replacement, field):
    text, n = re.subn(pattern, replacement, H100_YAML)
    assert n == 1
    path = _bad_chip(tmp_path, name, text)
    msg = fails_cleanly("predict", "--model", "llama-3.1-8b", "--chip", path)
    assert str(path) in msg and field in msg


def test_chip_yaml_errors_in_chips_show(tmp_path):
    path = _bad_chip(tmp_path, "missing2.yaml", H100_YAML_WITHOUT_TDP)
    msg = fails_cleanly("chips", "show", path)
    assert str(path) in msg and "tdp_w" in msg


def test_config_json_not_a_model(tmp_path):
    path = tmp_path / "foo.json"
    path.write_text('{"foo": 1}')
    msg = fails_cleanly("predict", "--model", path, "--chip", "h100-sxm")
    assert str(path) in msg


def test_config_json_not_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("this is { not json")
    msg = fails_cleanly("predict", "--model", path, "--chip", "h100-sxm")
    assert str(path) in msg and "JSON" in msg


def test_config_json_not_a_model_in_show(tmp_path):
    path = tmp_path / "bar.json"
    path.write_text('{"foo": 1}')
    msg = fails_cleanly("models", "show", path)
    assert str(path) in msg


def test_model_does_not_fit():
    msg = fails_cleanly("predict", "--model", "llama-3.1-405b", "--chip", "h100-sxm", "--precision", "bf16",
                        "--chips", "1")
    assert "does not fit" in msg and "GB" in msg
    assert re.search(r"--tp|--pp|more chips", msg)
    assert re.search(r"fp8|fp4|smaller format", msg)


def test_impossible_layout():
    msg = fails_cleanly("predict", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--tp", "3")
    assert "tp" in msg and "3" in msg


def test_error_text_is_printed_as_written_not_as_rich_markup():
    """A message naming an extra (`jalapeno[plot]`) or a list entry (`memory[0]`) keeps its brackets."""
    import typer
    from typer.testing import CliRunner

    from jalapeno.cli.output import user_errors
    from jalapeno.errors import JalapenoError

    app = typer.Typer()

    def fails():
        raise JalapenoError("--report needs plotly: pip install 'jalapeno[plot]' (memory[0])")

    app.command()(user_errors(fails))
    r = CliRunner().invoke(app, [])
    assert r.exit_code == 2
    assert "'jalapeno[plot]' (memory[0])" in stderr_of(r)
