"""`jalapeno sensitivity`: which assumptions decide a comparison (a tornado over stated ranges)."""

from __future__ import annotations

import typer
from rich.progress import Progress

from jalapeno.cli.output import console, emit_json, err_console, table
from jalapeno.cli.plan_cmd import resolve_system
from jalapeno.cli.report_cmd import PlotOpt, ReportOpt, check_plot_extra, write_outputs
from jalapeno.cli.workload_opts import InputTokensOpt, OutputTokensOpt, PrecisionOpt
from jalapeno.engine.predict import Workload
from jalapeno.engine.sensitivity import sensitivity, work_items
from jalapeno.errors import JalapenoError
from jalapeno.models.config import load_model
from jalapeno.stacks import load_stack

DEFAULT_PAIR = ["jalapeno-ref", "b200"]


def sensitivity_cmd(
    model: str = typer.Option("gpt-oss-120b", "--model", help="Model id or path to a config.json."),
    chip: list[str] = typer.Option(None, "--chip", help="Chip id or YAML path; the first is compared with the "
                                   "second (default: jalapeno-ref against b200)."),
    system: list[str] = typer.Option(None, "--system", help="System id; repeat (before any --chip)."),
    chips: int = typer.Option(None, "--chips", help="Chips per system (default: one node of each)."),
    precision: PrecisionOpt = None,
    input_tokens: InputTokensOpt = 2048,
    output_tokens: OutputTokensOpt = 256,
    min_user_rate: float = typer.Option(100.0, "--min-tokens-per-s-per-user",
                                        help="Operating points must give each user at least this rate."),
    metric: str = typer.Option("output_tokens_per_joule", "--metric",
                               help="output_tokens_per_joule or output_tokens_per_s_per_chip."),
    stack: str = typer.Option(None, "--stack", help="Run every system on this software stack profile."),
    top: int = typer.Option(10, "--top", help="Rows of the tornado to print."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    report: ReportOpt = None, plot: PlotOpt = None,
):
    """Vary each assumption of each system across its stated range, one at a time, and rank them
    by how much they move the comparison (and whether the ranking flips)."""
    if top < 1:
        raise JalapenoError(f"--top must be at least 1, got {top}")
    check_plot_extra(report, plot)
    m = load_model(model)
    wl = Workload(input_tokens, output_tokens)
    systems = [resolve_system(s, None, chips) for s in system or []]
    systems += [resolve_system(None, ref, chips) for ref in chip or ([] if system else DEFAULT_PAIR)]
    st = load_stack(stack) if stack else None
    stacks = [st] * len(systems)
    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("varying assumptions", total=work_items(systems, stacks))
        res = sensitivity(m, systems, wl, precision, min_user_rate or None, metric, stacks,
                          progress=lambda: bar.advance(task))
    d = res.to_dict()

    def page():
        from jalapeno.report.build import sensitivity_section
        from jalapeno.report.page import Page

        return Page(f"jalapeno sensitivity: {m.id}", [sensitivity_section(d)])

    write_outputs(page, report, plot)
    if json_out:
        emit_json({"model": m.id, "input_tokens": input_tokens, "output_tokens": output_tokens,
                   "min_tokens_per_s_per_user": min_user_rate, "stack": stack, **d})
        return
    unit = "tokens/J" if metric == "output_tokens_per_joule" else "tokens/s/chip"
    table(f"{m.id}: {input_tokens} in / {output_tokens} out, >= {min_user_rate:g} tokens/s per user: {unit}",
          ["system", "layout", unit, "band (own assumptions)", "note"],
          [[s["system"], s["layout"] or "-", s[metric] if s[metric] is not None else "-",
            f"{s['band'][0]:.3g} - {s['band'][1]:.3g}" if s["band"] else "-", s["note"]] for s in d["systems"]])
    rows = d["swings"][:top]
    ratio = d["baseline_ratio"]
    title = (f"What decides {d['subject']} / {d['reference']} = {ratio:.2f}" if ratio is not None
             else "Assumptions by effect")
    table(title, ["#", "system", "assumption", "low", "high", "ratio at low", "ratio at high", "spread"],
          [[i + 1, s["system"], s["path"], f"{s['low']:g}", f"{s['high']:g}",
            f"{s['ratio_low']:.2f}" if s["ratio_low"] is not None else f"{s['metric_low']:.3g}",
            f"{s['ratio_high']:.2f}" if s["ratio_high"] is not None else f"{s['metric_high']:.3g}",
            f"{s['spread']:.2f}"] for i, s in enumerate(rows)])
    if ratio is not None:
        flips = d["flips_ranking"]
        console.print(("The ranking flips within the range of: " + ", ".join(flips)) if flips
                          else "No single assumption flips the ranking within its range.", highlight=False)
