"""Plotly figures from result dicts (report/data.py and the commands' JSON shapes).

One function per chart; each returns a `plotly.graph_objects.Figure` (or None when its data is
empty, so a page never shows a blank chart). Axis titles carry units. plotly is imported here
only, on first use (it is in the `plot` extra).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from jalapeno.report.page import fmt

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f"]
"""One colour per system, so a system's line and its chosen point match."""

_LAYOUT = {"template": "plotly_white", "height": 430, "margin": {"l": 70, "r": 30, "t": 60, "b": 60},
           "legend": {"orientation": "h", "y": -0.2}}


def _fig(title: str, x: str, y: str, **axes: Any) -> go.Figure:
    f = go.Figure()
    f.update_layout(title=title, xaxis_title=x, yaxis_title=y, **_LAYOUT)
    if axes.get("logx"):
        f.update_xaxes(type="log")
    if axes.get("logy"):
        f.update_yaxes(type="log")
    return f


def frontier(systems: list[dict[str, Any]], title: str) -> go.Figure | None:
    """Tokens/s per chip against tokens/s per user, one line per system; the compare pick as a star.
    `systems`: [{"system": label, "frontier": [PlanPoint dicts], "best": prediction dict or None}]."""
    f = _fig(title, "output tokens/s per user", "output tokens/s per chip", logx=True, logy=True)
    drawn = False
    for i, s in enumerate(systems):
        colour = PALETTE[i % len(PALETTE)]
        pts = sorted(s["frontier"], key=lambda p: p["output_tokens_per_s_per_user"])
        if pts:
            drawn = True
            f.add_trace(go.Scatter(
                x=[p["output_tokens_per_s_per_user"] for p in pts], y=[p["output_tokens_per_s_per_chip"] for p in pts],
                mode="lines+markers", name=s["system"], marker={"size": 5, "color": colour}, line={"color": colour},
                text=[f"{p['layout']}, concurrency {p['concurrency']}" for p in pts],
                hovertemplate="%{text}<br>%{x:.1f} tok/s/user, %{y:,.0f} tok/s/chip<extra>" + s["system"] + "</extra>"))
        b = s.get("best")
        if b:
            drawn = True
            f.add_trace(go.Scatter(x=[b["output_tokens_per_s_per_user"]], y=[b["output_tokens_per_s_per_chip"]],
                                   mode="markers", name=f"{s['system']} (chosen)", showlegend=False,
                                   marker={"symbol": "star", "size": 14, "color": colour,
                                           "line": {"width": 1, "color": "black"}}))
    return f if drawn else None


def bars(labels: list[str], values: list[float | None], title: str, y: str, x: str = "") -> go.Figure | None:
    pairs = [(lbl, v) for lbl, v in zip(labels, values, strict=True) if v is not None]
    if not pairs:
        return None
    f = _fig(title, x, y)
    f.add_trace(go.Bar(x=[p[0] for p in pairs], y=[p[1] for p in pairs], text=[fmt(p[1]) for p in pairs],
                       textposition="outside", marker={"color": PALETTE[: len(pairs)]}))
    return f


def cdfs(cdf: dict[str, list[list[float]]], title: str) -> go.Figure | None:
    """TTFT, TPOT and end-to-end latency CDFs (seconds, log axis)."""
    names = {"ttft_s": "time to first token", "tpot_s": "time per output token", "e2e_s": "end to end"}
    f = _fig(title, "latency (s)", "fraction of requests at or below", logx=True)
    drawn = False
    for key, name in names.items():
        pts = cdf.get(key) or []
        if pts:
            drawn = True
            f.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines", name=name,
                                   line={"shape": "hv"}))
    return f if drawn else None


def series(per_replica: dict[str, dict[str, list[float]]], key: str, title: str, y: str) -> go.Figure | None:
    """One time series (requests waiting, KV occupancy, power) per replica."""
    f = _fig(title, "simulated time (s)", y)
    drawn = False
    for rep, s in sorted(per_replica.items(), key=lambda kv: int(kv[0])):
        if s["t_s"]:
            drawn = True
            f.add_trace(go.Scatter(x=s["t_s"], y=s[key], mode="lines", name=f"replica {rep}", line={"shape": "hv"}))
    return f if drawn else None


def predicted_vs_measured(rows: list[dict[str, Any]], title: str) -> go.Figure | None:
    """Every validation row, predicted against measured (log-log), one colour per table, with the
    y = x line and +-20 % bands."""
    rows = [r for r in rows if r.get("measured") and r.get("predicted")]
    if not rows:
        return None
    f = _fig(title, "measured (tokens/s)", "predicted (tokens/s)", logx=True, logy=True)
    lo = min(min(r["measured"], r["predicted"]) for r in rows) * 0.8
    hi = max(max(r["measured"], r["predicted"]) for r in rows) * 1.25
    for k, dash in ((1.0, "solid"), (1.2, "dot"), (1 / 1.2, "dot")):
        f.add_trace(go.Scatter(x=[lo, hi], y=[lo * k, hi * k], mode="lines", showlegend=False, hoverinfo="skip",
                               line={"color": "grey", "dash": dash, "width": 1}))
    for table in sorted({r["table"] for r in rows}):
        sel = [r for r in rows if r["table"] == table]
        f.add_trace(go.Scatter(x=[r["measured"] for r in sel], y=[r["predicted"] for r in sel], mode="markers",
                               name=table, text=[f"{r['label']} ({r['error_pct']:+.1f} %)" for r in sel],
                               hovertemplate="%{text}<extra></extra>"))
    return f


def error_groups(summary: dict[str, Any], title: str) -> go.Figure | None:
    """Median and p90 absolute error (%) by table and by vendor."""
    groups = [(f"table: {k}", v) for k, v in summary.get("by_table", {}).items()]
    groups += [(f"vendor: {k}", v) for k, v in summary.get("by_vendor", {}).items()]
    if "server" in summary:
        groups.append(("MLPerf Server", summary["server"]))
    groups = [(k, v) for k, v in groups if v.get("count")]
    if not groups:
        return None
    f = _fig(title, "", "absolute error (%)")
    for key, name in (("median_abs_error_pct", "median"), ("p90_abs_error_pct", "90th percentile")):
        f.add_trace(go.Bar(x=[g[0] for g in groups], y=[g[1][key] for g in groups], name=name,
                           text=[f"{g[1][key]:.1f}" for g in groups], textposition="outside"))
    f.update_layout(barmode="group")
    return f


def by_operator(breakdown: dict[str, Any], title: str) -> go.Figure | None:
    """Each operator's share (%) of one step's time and of its energy, side by side."""
    ops = breakdown["ops"]
    t_total = sum(o["time_s"] for o in ops)
    e_total = sum(o["energy_j"] for o in ops)
    if not ops or t_total <= 0 or e_total <= 0:
        return None
    f = _fig(title, "", "share of the step (%)")
    names = [o["op"] for o in ops]
    f.add_trace(go.Bar(x=names, y=[100 * o["time_s"] / t_total for o in ops], name="time",
                       customdata=[o["time_s"] * 1e3 for o in ops], hovertemplate="%{x}: %{customdata:.3g} ms"))
    f.add_trace(go.Bar(x=names, y=[100 * o["energy_j"] / e_total for o in ops], name="energy",
                       customdata=[o["energy_j"] * 1e3 for o in ops], hovertemplate="%{x}: %{customdata:.3g} mJ"))
    f.update_layout(barmode="group")
    return f


def roofline(breakdown: dict[str, Any], title: str) -> go.Figure | None:
    """Each operator's achieved FLOP/s against its arithmetic intensity, under the chip's memory
    and compute roofs."""
    ops = [o for o in breakdown["ops"] if o.get("intensity_flop_per_byte") and o["achieved_flops"] > 0]
    if not ops:
        return None
    peak, bw = breakdown["peak_flops"], breakdown["memory_bandwidth_bytes_per_s"]
    f = _fig(title, "arithmetic intensity (FLOP per memory byte)", "achieved (TFLOP/s)", logx=True, logy=True)
    xs = [o["intensity_flop_per_byte"] for o in ops]
    x_lo, x_hi = min(min(xs) / 4, 0.1), max(max(xs) * 4, 4 * peak / bw)
    ridge = peak / bw
    f.add_trace(go.Scatter(x=[x_lo, ridge, x_hi], y=[x_lo * bw / 1e12, peak / 1e12, peak / 1e12], mode="lines",
                           name=f"roof: {bw / 1e9:,.0f} GB/s, {peak / 1e12:,.0f} TFLOP/s",
                           line={"color": "black"}))
    f.add_trace(go.Scatter(x=xs, y=[o["achieved_flops"] / 1e12 for o in ops], mode="markers+text", name="operators",
                           text=[o["op"] for o in ops], textposition="top center", marker={"size": 9}))
    return f


def pareto(rows: list[dict[str, Any]], x: str, y: str, title: str) -> go.Figure | None:
    """A design search's Pareto front: each front design as a point of two objectives."""
    pts = [(r[x], r[y], r.get("trial")) for r in rows if r.get(x) is not None and r.get(y) is not None]
    if not pts:
        return None
    f = _fig(title, x.replace("_", " "), y.replace("_", " "))
    f.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers+text",
                           text=[f"#{p[2]}" for p in pts], textposition="top center",
                           marker={"size": 10, "color": PALETTE[0]}, name="Pareto front"))
    return f


def tornado(swings: list[dict[str, Any]], title: str, x: str) -> go.Figure | None:
    """One bar per assumption from the ratio at its low end to the ratio at its high end."""
    rows = [s for s in swings if s.get("ratio_low") is not None and s.get("ratio_high") is not None][:12]
    if not rows:
        return None
    f = _fig(title, x, "")
    labels = [f"{s['system']}: {s['path']}" for s in rows][::-1]
    lo = [min(s["ratio_low"], s["ratio_high"]) for s in rows][::-1]
    hi = [max(s["ratio_low"], s["ratio_high"]) for s in rows][::-1]
    f.add_trace(go.Bar(y=labels, x=[h - low for low, h in zip(lo, hi, strict=True)], base=lo, orientation="h",
                       marker={"color": PALETTE[1]}, name="range of the ratio"))
    f.update_layout(height=max(430, 40 * len(rows) + 120), margin={"l": 320, "r": 30, "t": 60, "b": 60})
    return f
