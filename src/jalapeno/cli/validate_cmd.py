"""`jalapeno validate`: predicted vs measured, per row and summarized, with the fitted parameters."""

from __future__ import annotations

import typer
import yaml

from jalapeno.cli.output import CsvOpt, JsonOpt, console, emit_json, progress_bar, table, use_csv
from jalapeno.cli.report_cmd import PlotOpt, ReportOpt, check_plot_extra, write_outputs
from jalapeno.validation.summary import run_validation


def validate_cmd(
    json_out: JsonOpt = False, csv_out: CsvOpt = False,
    rows: bool = typer.Option(True, "--rows/--no-rows", help="Print every row, not only the summary."),
    server: bool = typer.Option(False, "--server", help="Also predict the MLPerf Server rows by simulating "
                                "capacity under their latency limits (about a minute)."),
    refit: str = typer.Option(None, "--refit", metavar="STACK",
                              help="Re-fit a stack's parameters on the measured rows first (needs scipy), "
                                   "validate with them and print them as YAML."),
    report: ReportOpt = None, plot: PlotOpt = None,
):
    """Predict every measured row the catalog covers (TensorRT-LLM tables, MLPerf v4.1 Offline,
    H100 kernel tables, InferenceX peak configurations as calibration rows with their own
    summary) and report per-row and summary errors."""
    use_csv(csv_out)
    stacks = {}
    if refit:
        from jalapeno.validation.fit import fit_stack

        fitted, before, after = fit_stack(refit)
        stacks[refit] = fitted
        console.print(f"refit {refit}: mean |log error| {before:.4f} -> {after:.4f}", highlight=False)
        console.print(yaml.safe_dump({refit: {k: float(f"{v:.4g}") for k, v in fitted.fitted().items()}}))
    check_plot_extra(report, plot)
    with progress_bar("validating" + (" (MLPerf Server rows: about a minute)" if server else "")) as _:
        res = run_validation(stacks, server=server)
    summary = res.summary()

    def page():
        from jalapeno.report.build import validate_section
        from jalapeno.report.page import Page

        return Page("jalapeno validate", [validate_section(res.to_dict())])

    write_outputs(page, report, plot)
    params = {sid: st.fitted() for sid, st in sorted(res.stacks.items())}
    if json_out:
        emit_json(res.to_dict())
        return
    if rows:
        table("End-to-end: predicted vs measured",
              ["table", "row", "layout", "unit", "measured", "predicted", "error %"],
              [[c.table, c.label, c.layout, c.unit, c.measured, c.predicted, f"{c.error_pct:+.1f}"] for c in res.cases])
        table("Whole-node wall power (MLPerf MaxQ power runs): predicted vs measured",
              ["row", "limit W", "measured W", "predicted W", "error %", "samples/s error %", "samples/J error %"],
              [[c.label.removeprefix("MLPerf "), c.power_limit_w, c.measured_w, c.predicted_w, f"{c.error_pct:+.1f}",
                f"{c.samples_error_pct:+.1f}", f"{c.samples_per_joule_error_pct:+.1f}"] for c in res.power])
    if rows and res.inferencex:
        table("Calibration: InferenceX peak configurations at their public layouts (input + output tokens/s per GPU)",
              ["row", "layout", "measured", "predicted", "error %", "tok/s/user measured", "predicted"],
              [[r.label, r.layout, r.measured_tok_s_per_gpu, r.predicted_tok_s_per_gpu, f"{r.error_pct:+.1f}",
                r.measured_tok_s_per_user, r.predicted_tok_s_per_user] for r in res.inferencex])
        table("Frontier: what `plan` reaches at each InferenceX point's tokens/s per user "
              "(input + output tokens/s per GPU)",
              ["row", "tok/s/user", "measured", "planned", "error %", "planner's method"],
              [[f.label, f.measured_tok_s_per_user, f.measured_tok_s_per_gpu,
                f.predicted_tok_s_per_gpu if f.predicted_tok_s_per_gpu is not None else "unreachable",
                f"{f.error_pct:+.1f}" if f.error_pct is not None else f"(fastest {f.best_tok_s_per_user:.1f})",
                f.method] for f in res.frontier])
        table("Single stream: the fastest tokens/s per user `plan` reaches against published one-user speeds",
              ["row", "measured", "planned", "error %", "planner's method"],
              [[r.label, r.measured_tok_s_per_user,
                r.predicted_tok_s_per_user if r.predicted_tok_s_per_user is not None else "not planned",
                f"{r.error_pct:+.1f}" if r.error_pct is not None else "", r.method] for r in res.single_stream])
    s = summary
    table("Summary (absolute percentage error)", ["set", "rows", "median %", "p90 %", "signed median %"],
          [[name, d["count"], d["median_abs_error_pct"], d["p90_abs_error_pct"], d.get("median_signed_error_pct")]
           for name, d in [("end to end", s["end_to_end"])]
           + [(f"  {t}", d) for t, d in s["by_table"].items()]
           + ([("MLPerf Server (capacity)", s["server"])] if "server" in s else [])
           + [(f"  vendor {v}", d) for v, d in s["by_vendor"].items()]
           + [(f"power: {k.replace('_', ' ')}", d) for k, d in s.get("power", {}).items()]
           + [(f"kernels: {k} (H100)", d) for k, d in s["kernels"].items()]
           + ([("InferenceX calibration (tokens/s per GPU)", s["inferencex"]),
               ("  InferenceX tokens/s per user", s["inferencex"]["tokens_per_s_per_user"]),
               ("  InferenceX $/Mtoken at the source's GPU-hour rate", s["inferencex"]["usd_per_mtok"])]
              if "inferencex" in s else [])
           + ([(f"InferenceX frontier via plan ({s['inferencex_frontier']['unreachable']} of "
                f"{s['inferencex_frontier']['points']} unreachable)", s["inferencex_frontier"]),
               ("  its $/Mtoken at the source's GPU-hour rate", s["inferencex_frontier"]["usd_per_mtok"])]
              if "inferencex_frontier" in s else [])
           + ([(f"single stream via plan ({s['single_stream']['not_planned']} of "
                f"{s['single_stream']['rows']} not planned)", s["single_stream"])]
              if "single_stream" in s else [])])
    table("Fitted parameters (shared by every device of a stack)", ["stack", "parameter", "value"],
          [[sid, k, v] for sid, p in params.items() for k, v in p.items()])
    console.print(f"{len(res.skipped)} rows skipped (not covered by the catalog or a stack profile); "
                  "--json lists them with the reason.", highlight=False)
