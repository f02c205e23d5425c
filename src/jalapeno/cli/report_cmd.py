"""`jalapeno report`, and the `--report out.html` / `--plot out.png` options of the other commands.

Reports need the `plot` extra (plotly, matplotlib); without it the options fail in one line
saying how to install it, before any work is done.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from jalapeno.cli.output import err_console, progress_bar
from jalapeno.errors import JalapenoError

ReportOpt = Annotated[Path | None, typer.Option("--report", metavar="FILE.html", dir_okay=False,
                                                help="Also write a self-contained HTML report with charts.")]
PlotOpt = Annotated[Path | None, typer.Option("--plot", metavar="FILE.png", dir_okay=False,
                                              help="Also write the charts as a static picture (png, svg or pdf).")]


def check_plot_extra(report: Path | None, plot: Path | None) -> None:
    """Fail early (before a long run) if the outputs are asked for but the libraries are missing."""
    need = (["plotly"] if report or plot else []) + (["matplotlib"] if plot else [])
    for mod in need:
        try:
            __import__(mod)
        except ImportError:
            raise JalapenoError(f"--report/--plot need {mod}: pip install 'jalapeno[plot]'") from None
    for p, suffixes in ((report, (".html", ".htm")), (plot, (".png", ".svg", ".pdf"))):
        if p is not None and p.suffix.lower() not in suffixes:
            raise JalapenoError(f"'{p}': expected a file ending in {' or '.join(suffixes)}")


def write_outputs(make_page: Callable[[], Any], report: Path | None, plot: Path | None) -> None:
    """Build the page once and write the requested files, saying where on stderr."""
    if not (report or plot):
        return
    check_plot_extra(report, plot)
    page = make_page()
    if report:
        page.write(report)
        err_console.print(f"wrote {report} ({page.charts} charts)", highlight=False)
    if plot:
        from jalapeno.report.static import write_png

        write_png(page, plot)
        err_console.print(f"wrote {plot}", highlight=False)


def report_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE.html", dir_okay=False,
                                      help="Where to write the HTML report.")] = Path("jalapeno-report.html"),
    plot: PlotOpt = None,
):
    """Write the main job's report: the real-time coding comparison (frontiers, tokens/J), one
    step's cost by operator and its roofline, a simulated server's latency CDFs and time series,
    and the validation. Self-contained HTML (opens offline)."""
    check_plot_extra(out, plot)
    from jalapeno.report.build import main_report

    with progress_bar("report", total=None) as update:
        page = main_report(progress=lambda msg: update(info=msg))
    write_outputs(lambda: page, out, plot)
