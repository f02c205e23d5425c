"""One self-contained HTML page: sections of key numbers and plotly charts.

plotly's JavaScript is embedded once in the page (no CDN), so the file opens offline and can be
mailed or attached as it is. Chart divs get stable ids (section and position), so the same
inputs give the same page apart from the generation time.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
table.kv { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
table.kv th, table.kv td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; white-space: nowrap; }
table.kv th { background: #f4f4f4; } table.kv td:first-child, table.kv th:first-child { text-align: left; }
.chart { margin: 1rem 0; } p.note { color: #555; font-size: 0.9rem; }
"""


def fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "-" if v is None else str(v)
    if isinstance(v, float):
        if v != v:
            return "-"
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:,.2f}"
        return f"{v:.3g}"
    return str(v)


@dataclass
class Section:
    title: str
    note: str = ""
    tables: list[tuple[list[str], list[list[Any]]]] = field(default_factory=list)
    figures: list[Any] = field(default_factory=list)  # plotly Figures (None entries are dropped)

    def table(self, columns: list[str], rows: list[list[Any]]) -> Section:
        """Add a table; columns empty in every row are left out."""
        keep = [i for i in range(len(columns)) if not rows or any(r[i] not in (None, "", "-") for r in rows)]
        self.tables.append(([columns[i] for i in keep], [[r[i] for i in keep] for r in rows]))
        return self

    def add(self, *figs: Any) -> Section:
        self.figures += [f for f in figs if f is not None]
        return self


@dataclass
class Page:
    title: str
    sections: list[Section] = field(default_factory=list)

    @property
    def charts(self) -> int:
        return sum(len(s.figures) for s in self.sections)

    def html(self) -> str:
        import plotly.io as pio
        from plotly.offline import get_plotlyjs

        import jalapeno

        parts = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(self.title)}"
                 f"</title><style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
                 f"<h1>{html.escape(self.title)}</h1>",
                 f"<p class='note'>jalapeno {html.escape(jalapeno.__version__)}, generated "
                 f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {self.charts} charts; hover for values.</p>"]
        for si, s in enumerate(self.sections):
            parts.append(f"<section><h2>{html.escape(s.title)}</h2>")
            if s.note:
                parts.append(f"<p class='note'>{html.escape(s.note)}</p>")
            for columns, rows in s.tables:
                head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
                body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in r) + "</tr>" for r in rows)
                parts.append(f"<table class='kv'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            for fi, fig in enumerate(s.figures):
                div = pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=f"chart-{si}-{fi}",
                                  config={"displaylogo": False, "responsive": True})
                parts.append(f"<div class='chart'>{div}</div>")
            parts.append("</section>")
        parts.append("</body></html>\n")
        return "\n".join(parts)

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.html(), encoding="utf-8")
        return p
