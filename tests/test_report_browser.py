"""`jalapeno report` on defaults, opened in headless Chromium: no console messages, at least four
charts drawn (plotly's SVG in the rendered DOM, and colour in the screenshot's plot areas), and
the key numbers in the page.

Skipped with a reason when Chromium is not installed; .ci/run installs Debian's `chromium` and
sets JALAPENO_REQUIRE_BROWSER=1, under which a missing browser fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import run, stderr_of

pytest.importorskip("plotly")
pytest.importorskip("matplotlib")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]
WIDTH, HEIGHT = 1280, 9000


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("JALAPENO_REQUIRE_BROWSER") == "1":
        pytest.fail("JALAPENO_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
    pytest.skip("headless Chromium not installed (apt-get install chromium); .ci/run installs it")


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([browser, *FLAGS, f"--user-data-dir={profile}", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    browser = _browser()
    tmp = tmp_path_factory.mktemp("report")
    html = tmp / "report.html"
    r = run("report", "--out", html)
    assert r.exit_code == 0, f"{r.stdout}\n{stderr_of(r)}\n{r.exception!r}"
    url = html.resolve().as_uri()
    shot = tmp / "shot.png"
    # Both at once (each mostly waits on the page's scripts), each with a fresh profile.
    dom = _chromium(browser, tmp / "profile-dom", "--dump-dom", url)
    pic = _chromium(browser, tmp / "profile-shot", f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", url)
    dom_out, dom_err = dom.communicate(timeout=180)
    _, pic_err = pic.communicate(timeout=180)
    assert dom.returncode == 0 and pic.returncode == 0, dom_err[-2000:] + pic_err[-2000:]
    return {"html": html, "dom": dom_out, "logs": dom_err + pic_err, "shot": shot}


def test_no_console_messages(rendered):
    console = [line for line in rendered["logs"].splitlines() if ":CONSOLE" in line]
    assert not console, "\n".join(console)


def _chart_divs(dom: str) -> dict[str, str]:
    """Each chart div's rendered markup, by id."""
    parts = re.split(r'<div id="(chart-\d+-\d+)"', dom)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_at_least_four_charts_are_drawn(rendered):
    charts = _chart_divs(rendered["dom"])
    drawn = []
    for cid, markup in charts.items():
        markup = markup.split('<div class="chart">')[0]
        has_svg = 'class="main-svg"' in markup
        # A drawn trace: a line, marker or bar path with real geometry inside the plot layer.
        paths = re.findall(r'<path[^>]*class="(?:js-line|point)[^"]*"[^>]*d="(M[^"]{8,})"', markup)
        paths += re.findall(r'<path[^>]*d="(M[^"]{8,})"[^>]*class="(?:js-line|point)', markup)
        paths += re.findall(r'<g class="point"><path[^>]*d="(M[^"]{8,})"', markup)  # bars
        if has_svg and paths:
            drawn.append(cid)
    assert len(drawn) >= 4, f"drawn: {drawn} of {sorted(charts)}"
    assert len(drawn) == len(charts), f"charts without a trace: {sorted(set(charts) - set(drawn))}"


def test_plot_areas_are_not_blank_in_the_screenshot(rendered):
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(rendered["shot"])[..., :3]
    assert img.shape[1] == WIDTH
    img = img[::2, ::2]  # half resolution is plenty to see colour
    # Trace colours are saturated; text, grid lines and table borders are grey.
    mx, mn = img.max(axis=2), img.min(axis=2)
    colourful = (mx - mn) > 0.25
    band = 215  # one chart's height (430 px in report/figures.py) at half resolution
    bands = [colourful[y:y + band].mean() for y in range(0, img.shape[0] - band + 1, band)]
    assert sum(b > 0.002 for b in bands) >= 4, [round(b, 4) for b in bands]
    assert np.std(img) > 0.05


def test_key_numbers_are_in_the_page(rendered):
    from jalapeno.engine.compare import best_on_system
    from jalapeno.engine.predict import Workload
    from jalapeno.hardware.catalog import load_chip, make_system
    from jalapeno.models.config import load_model

    dom = rendered["dom"]
    chip = load_chip("jalapeno-ref")
    n = min(chip.node.chips_per_node, chip.links.max_domain_chips)
    r = best_on_system(load_model("gpt-oss-120b"), make_system(chip, n), Workload(2048, 256), None, 100.0)
    assert r.prediction is not None
    assert f"{n} x jalapeno-ref" in dom
    assert f"{r.prediction.output_tokens_per_s_per_chip:,.0f}" in dom
    assert "median absolute error" in dom and "Latency CDFs" in dom and "Roofline" in dom
