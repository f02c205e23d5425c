"""Reports: the HTML page is self-contained and holds the key numbers; each command's --report
and --plot write files; charts come from the result dicts (so their data can be checked)."""

from __future__ import annotations

import json
import re

import pytest
from cli_helpers import fails_cleanly, run, stderr_of

pytest.importorskip("plotly")
pytest.importorskip("matplotlib")

from jalapeno.report import data, figures  # noqa: E402
from jalapeno.report.page import Page, Section  # noqa: E402


def _ok(*args):
    r = run(*args)
    assert r.exit_code == 0, f"exit {r.exit_code}: {r.stdout}\n{stderr_of(r)}\n{r.exception!r}"
    return r


def test_page_is_self_contained_and_deterministic_in_its_charts(tmp_path):
    s = Section("numbers").table(["metric", "value"], [["tok/s", 1234.5]])
    s.add(figures.bars(["a", "b"], [1.0, 2.0], "bars", "y"), None)
    page = Page("t", [s])
    html = page.html()
    assert not re.search(r"<script[^>]*\bsrc=", html) and "<link" not in html  # nothing fetched: opens offline
    assert "Plotly.newPlot" in html and 'id="chart-0-0"' in html
    assert "1,234" in html and page.charts == 1


def test_step_breakdown_adds_up_to_the_engines_step():
    from jalapeno.engine.predict import Workload, make_setup
    from jalapeno.engine.step import step_cost
    from jalapeno.hardware.catalog import make_system
    from jalapeno.models.config import load_model
    from jalapeno.models.lowering import Batch
    from jalapeno.network.parallel import ParallelPlan

    m = load_model("llama-3.1-8b")
    sysspec = make_system("h100-sxm", 1)
    wl = Workload(1024, 128)
    b = data.step_breakdown(m, sysspec, "tp=1,pp=1", "fp8", wl, 32)
    s = make_setup(m, sysspec, ParallelPlan(tp=1), "fp8")
    batch = Batch.of(decode_seqs=32, decode_context=1024 + 64, prefill_seqs=32 / 128, prefill_tokens=32 * 1024 / 128,
                     prefill_context=0)
    step = step_cost(m, sysspec.chip, s.stack, s.prec, s.plan, batch, s.topology)
    total = sum(o["time_s"] for o in b["ops"]) + b["step_overhead_s"]
    assert not step.power_capped[0]
    assert total == pytest.approx(float(step.time_s[0]), rel=1e-6)
    names = {o["op"] for o in b["ops"]}
    assert {"qkv_proj", "decode_attention"} <= names
    assert all(o["achieved_flops"] <= b["peak_flops"] * 1.0001 for o in b["ops"])


def test_simulation_cdfs_are_monotone_and_end_at_one():
    from jalapeno.serving.run import simulate
    from jalapeno.serving.scenario import parse_scenario

    sc = parse_scenario({"workload": {"generator": "poisson", "rate_per_s": 5, "duration_s": 20,
                                      "input_tokens": 500, "output_tokens": 50}})
    d = data.simulation(simulate(sc, timeline=True))
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        pts = d["cdf"][key]
        assert pts and pts[-1][1] == pytest.approx(1.0)
        assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(pts, pts[1:], strict=False))
    p99 = d["summary"]["ttft_s_p99"]
    at = next(f for x, f in d["cdf"]["ttft_s"] if x >= p99 * 0.999)
    assert at >= 0.98
    s = d["series"]["0"]
    assert len(s["t_s"]) == len(s["waiting"]) == len(s["kv_occupancy"]) == len(s["power_w"]) > 0
    assert all(0 <= k <= 1 for k in s["kv_occupancy"]) and max(s["power_w"]) > 0


def test_compare_report_and_plot(tmp_path):
    html, png = tmp_path / "c.html", tmp_path / "c.png"
    r = _ok("compare", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--chip", "mi300x", "--input-tokens", "1024",
            "--output-tokens", "128", "--report", html, "--plot", png, "--json")
    d = json.loads(r.stdout)
    text = html.read_text()
    assert "Throughput per chip against speed per user" in text
    from jalapeno.report.build import compare_rows

    chosen = compare_rows(d)["systems"]
    assert len(chosen) == 2
    for row in chosen:  # the point drawn for each system (at 100 tokens/s per user) is in the page's table
        assert f"{row['output_tokens_per_s_per_chip']:,.0f}" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.parametrize("args", [
    ("predict", "--model", "llama-3.1-8b", "--chip", "h100-sxm"),
    ("plan", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--chips", "2"),
    ("simulate", "--generator", "poisson", "--rate", "4", "--duration", "10", "--input-tokens", "500"),
    ("kernel", "gemm", "--chip", "h100-sxm", "--m", "64", "--n", "4096", "--k", "4096"),
])
def test_each_command_writes_a_report(tmp_path, args):
    html = tmp_path / "r.html"
    r = _ok(*args, "--report", html)
    assert "wrote" in stderr_of(r)
    assert html.read_text().count("Plotly.newPlot") >= 1


def test_report_suffix_is_checked_before_any_work():
    msg = fails_cleanly("predict", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--report", "out.png")
    assert ".html" in msg


def test_static_plot_draws_every_panel(tmp_path):
    from jalapeno.report.static import write_png

    s = Section("x").add(figures.bars(["a"], [1.0], "one", "y"),
                         figures.cdfs({"ttft_s": [[0.1, 0.5], [0.2, 1.0]]}, "cdf"))
    out = write_png(Page("p", [s]), tmp_path / "p.png")
    import matplotlib.image as mpimg

    img = mpimg.imread(out)
    assert img.std() > 0.05  # not a blank canvas
    with pytest.raises(ValueError, match="nothing to plot"):
        write_png(Page("empty", [Section("none")]), tmp_path / "e.png")
