"""Static pictures (`--plot out.png`): a page's charts redrawn with matplotlib.

The plotly figures stay the one description of each chart; this module draws their traces
(lines, markers, bars) and axes (titles, log scales) on a grid of matplotlib axes, so a PNG or
SVG and the HTML page always show the same data.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jalapeno.report.page import Page

MAX_PANELS = 9


def _axis(layout: Any, name: str) -> tuple[str, bool]:
    ax = getattr(layout, name)
    title = ax.title.text if ax.title and ax.title.text else ""
    return title, ax.type == "log"


def _draw(ax: Any, fig: Any) -> None:
    bars = [t for t in fig.data if t.type == "bar"]
    for t in fig.data:
        if t.type != "scatter" or t.x is None:
            continue
        mode = t.mode or "lines"
        style = "-" if "lines" in mode else ""
        marker = ("*" if t.marker and t.marker.symbol == "star" else "o") if "markers" in mode else ""
        step = "steps-post" if t.line and t.line.shape == "hv" else "default"
        label = t.name if t.showlegend is not False and t.name else None
        ax.plot(list(t.x), list(t.y), linestyle=style or "none", marker=marker, markersize=4, drawstyle=step,
                label=label, color="grey" if t.hoverinfo == "skip" else None,
                linewidth=1 if t.hoverinfo == "skip" else 1.5)
    horizontal = [t for t in bars if t.orientation == "h"]
    if horizontal:  # a tornado: bars from `base` along x, one category per row
        for t in horizontal:
            base = list(t.base) if t.base is not None else [0.0] * len(t.x)
            ax.barh(list(t.y), list(t.x), left=base, label=t.name)
        ax.tick_params(axis="y", labelsize=7)
        bars = []
    if bars:
        cats = list(dict.fromkeys(x for t in bars for x in t.x))
        width = 0.8 / len(bars)
        for i, t in enumerate(bars):
            pos = {c: j for j, c in enumerate(cats)}
            ax.bar([pos[c] + (i - (len(bars) - 1) / 2) * width for c in t.x], list(t.y), width, label=t.name)
        ax.set_xticks(range(len(cats)))
        ax.set_xticklabels(cats, rotation=30, ha="right", fontsize=7)
    xt, xlog = _axis(fig.layout, "xaxis")
    yt, ylog = _axis(fig.layout, "yaxis")
    ax.set_xlabel(xt, fontsize=8)
    ax.set_ylabel(yt, fontsize=8)
    if xlog and not bars:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    ax.set_title(fig.layout.title.text or "", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if any(line.get_label() and not line.get_label().startswith("_") for line in ax.get_lines()) or len(bars) > 1:
        ax.legend(fontsize=6)


def write_png(page: Page, path: str | Path) -> Path:
    """Draw up to MAX_PANELS of the page's charts in a grid; the format follows the file suffix
    (png, svg, pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = [f for s in page.sections for f in s.figures][:MAX_PANELS]
    if not figs:
        raise ValueError("nothing to plot: the result has no chartable data")
    cols = min(len(figs), 3)
    rows = math.ceil(len(figs) / cols)
    canvas, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.9 * rows), squeeze=False)
    for ax, fig in zip(axes.flat, figs, strict=False):
        _draw(ax, fig)
    for ax in list(axes.flat)[len(figs):]:
        ax.axis("off")
    canvas.suptitle(page.title, fontsize=11)
    canvas.tight_layout()
    p = Path(path)
    canvas.savefig(p, dpi=110)
    plt.close(canvas)
    return p
