"""The Python API: `import jalapeno` is light, exposes the operations named in one list, and each
takes ids, paths or objects and returns results whose dicts match the CLI's JSON."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import ok_json

import jalapeno
from jalapeno import api
from jalapeno.errors import JalapenoError

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_exact_one_liner():
    code = ("import jalapeno; r = jalapeno.predict(model='llama-3.1-8b', chip='h100-sxm'); "
            "print(r.to_dict()['output_tokens_per_s'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert float(out) > 100


def test_import_is_lazy():
    code = "import sys, jalapeno; print(sorted(m for m in ('numpy', 'pydantic', 'jalapeno.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_all_is_the_one_list_and_the_readme_names_it():
    assert jalapeno.__all__ == [*jalapeno.API, "__version__"]
    for name in jalapeno.API:
        assert callable(getattr(jalapeno, name)) and getattr(jalapeno, name) is getattr(api, name)
        assert getattr(api, name).__doc__, f"{name} has no docstring"
        assert f"`{name}`" in README.split("## Python")[1].split("## ")[0], f"README's Python section omits {name}"
    assert set(jalapeno.API) <= set(dir(jalapeno))
    with pytest.raises(AttributeError):
        jalapeno.no_such_function  # noqa: B018


def test_version_is_the_package_metadata():
    from importlib.metadata import version

    assert jalapeno.__version__ == version("jalapeno")
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", jalapeno.__version__)


def test_predict_matches_the_cli_json():
    r = jalapeno.predict(model="llama-3.1-8b", chip="h100-sxm", precision="fp8", concurrency=16)
    cli = ok_json("predict", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--precision", "fp8",
                  "--concurrency", "16", "--json")
    assert r.to_dict().keys() == cli.keys()
    for k, v in cli.items():
        assert r.to_dict()[k] == (pytest.approx(v) if isinstance(v, float) else v), k
    assert r.output_tokens_per_s == r.to_dict()["output_tokens_per_s"]  # attributes read through


def test_ids_paths_and_objects_give_the_same_answer(tmp_path):
    chip_yaml = tmp_path / "c.yaml"
    from jalapeno.hardware.catalog import chip_yaml_text

    chip_yaml.write_text(chip_yaml_text("h100-sxm"))
    by_id = jalapeno.predict(model="llama-3.1-8b", chip="h100-sxm").output_tokens_per_s
    by_path = jalapeno.predict(model="llama-3.1-8b", chip=chip_yaml).output_tokens_per_s
    by_obj = jalapeno.predict(model=jalapeno.load_model("llama-3.1-8b"),
                              chip=jalapeno.load_chip("h100-sxm")).output_tokens_per_s
    assert by_id == pytest.approx(by_path) == pytest.approx(by_obj)


def test_predict_on_a_system_with_a_layout():
    r = jalapeno.predict(model="llama-3.3-70b", system="dgx-h100", layout="tp=4,dp=2", precision="fp8")
    assert r.chips == 8 and r.layout.startswith("tp=4")
    with pytest.raises(JalapenoError):
        jalapeno.predict(model="llama-3.3-70b", system="dgx-h100", layout="tp=4,dp=3")
    with pytest.raises(JalapenoError, match="chip= or system="):
        jalapeno.predict(model="llama-3.1-8b")


def test_load_system_from_a_system_or_a_chip():
    s = jalapeno.load_system("dgx-h100")
    assert s.num_chips == 8 and jalapeno.load_system(s) is s
    assert jalapeno.load_system("h100-sxm").num_chips == 8  # one node of the chip
    assert jalapeno.load_system(jalapeno.load_chip("h100-sxm"), chips=2).num_chips == 2


def test_compare_rows_and_frame():
    c = jalapeno.compare(model="llama-3.1-8b", systems=["h100-sxm", "mi300x"], input_tokens=1024, output_tokens=128)
    d = c.to_dict()
    assert [r["chip"] for r in d["systems"]] == ["h100-sxm", "mi300x"]
    assert all(r["output_tokens_per_s_per_user"] >= 100 for r in d["systems"])
    pd = pytest.importorskip("pandas")
    f = c.to_frame()
    assert isinstance(f, pd.DataFrame) and list(f["chip"]) == ["h100-sxm", "mi300x"]


def test_plan_best_and_frontier():
    p = jalapeno.plan(model="llama-3.1-8b", system="h100-sxm", chips=2, objective="tokens-per-joule")
    assert p.best is p.result.best["tokens-per-joule"]
    assert p.frontier and all(x.pareto for x in p.frontier)
    assert p.to_dict()["best"]["throughput"]["output_tokens_per_s_per_chip"] >= p.best.output_tokens_per_s_per_chip
    with pytest.raises(JalapenoError, match="objective"):
        jalapeno.plan(model="llama-3.1-8b", system="h100-sxm", objective="speed")


def test_simulate_with_overrides_keeps_requests():
    s = jalapeno.simulate(model="llama-3.1-8b", chip="h100-sxm", keep_requests=True,
                          workload={"generator": "poisson", "rate_per_s": 2, "duration_s": 10})
    assert s["finished"] == len(s.requests) == len(s.rows()) > 0
    row = s.rows()[0]
    assert {"arrival_s", "ttft_s", "tpot_s", "finish_s", "input_tokens", "output_tokens", "replica"} <= set(row)
    assert s.to_dict()["scenario"]["workload"]["rate_per_s"] == 2
    again = jalapeno.simulate(s.scenario)
    assert again["ttft_s_p99"] == s["ttft_s_p99"]  # deterministic for a seed; a Scenario object works


def test_simulate_bad_override_names_the_key():
    with pytest.raises(JalapenoError, match="workload.rate_per_s"):
        jalapeno.simulate(workload={"generator": "poisson", "rate_per_s": -1, "duration_s": 5})


def test_capacity_result():
    c = jalapeno.capacity(model="llama-3.1-8b", chip="h100-sxm", duration_s=20,
                          workload={"generator": "poisson", "rate_per_s": 1, "input_tokens": 500, "output_tokens": 50},
                          serving={"slo": {"ttft_s": 2.0, "tpot_s": 0.2}})
    assert c.max_rate_per_s > 0 and c.to_dict()["max_rate_per_s"] == c.max_rate_per_s
    assert c.rows() and all("passed" in r for r in c.rows())


def test_to_frame_without_pandas_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    r = jalapeno.predict(model="llama-3.1-8b", chip="h100-sxm")
    with pytest.raises(JalapenoError, match="pip install pandas"):
        r.to_frame()


def test_cost_matches_the_cli_json():
    import json

    from jalapeno.cli.output import _clean

    r = jalapeno.cost(chip="h100-sxm")
    cli = ok_json("cost", "--chip", "h100-sxm", "--json")
    as_json = json.loads(json.dumps(_clean(r.to_dict())))  # tuples become lists, NaN null, as the CLI prints
    for key in ("area", "unit_cost", "chip_hour_build", "chip_hour_asp", "cloud_prices"):
        assert as_json[key] == cli[key], key
    assert r.usd_per_chip_hour == cli["chip_hour_build"]["usd_per_chip_hour"] > 0
    assert jalapeno.cost(chip=jalapeno.load_chip("h100-sxm")).usd_per_chip_hour == r.usd_per_chip_hour
    with pytest.raises(JalapenoError, match="chip= or system="):
        jalapeno.cost()


def test_design_search_and_sensitivity_from_python(tmp_path):
    space = Path(__file__).parent / "data" / "spaces" / "bandwidth-bound.yaml"
    import jalapeno.explore  # noqa: F401  (the package: it must not hide the API function)

    r = jalapeno.explore_space(space, trials=6, storage=f"sqlite:///{tmp_path / 's.db'}", sampler="random", batch=3)
    d = r.to_dict()
    assert d["trials_run"] == 6 and d["feasible"] + sum(d["rejected_by"].values()) == 6
    assert len(r.front) <= d["feasible"]
    chip = jalapeno.derive_chip("b200", {"matrix.units": 296})
    assert chip.peak_flops("fp8") == pytest.approx(2 * jalapeno.load_chip("b200").peak_flops("fp8"), rel=1e-3)
