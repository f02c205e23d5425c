"""`jalapeno plan`: layouts and batch sizes of a model on a system, the Pareto frontier and the
best point per objective; and `jalapeno systems`: the system catalog."""

from __future__ import annotations

import typer

from jalapeno.cli.checks import MAX_CHIPS, MAX_TOKENS, check_context, count, exclusive, figure
from jalapeno.cli.money_opts import CostBasisOpt, add_money, basis
from jalapeno.cli.output import CsvOpt, JsonOpt, console, emit_json, progress_bar, table, use_csv, user_errors
from jalapeno.cli.report_cmd import PlotOpt, ReportOpt, check_plot_extra, write_outputs
from jalapeno.cli.spec_opts import DraftModelOpt, SpecAcceptanceOpt, SpecOpt, SpecTokensOpt, spec_request
from jalapeno.cli.workload_opts import InputTokensOpt, OutputTokensOpt, PrecisionOpt
from jalapeno.engine.planner import OBJECTIVES, plan_deployment
from jalapeno.engine.predict import Workload
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import load_chip, make_system
from jalapeno.hardware.spec import SystemSpec
from jalapeno.hardware.systems import load_system, system_ids, system_yaml_text
from jalapeno.models.config import load_model

systems_app = typer.Typer(help="Systems in the catalog: chips, how many, and how they are wired.",
                          invoke_without_command=True)


def resolve_system(system: str | None, chip: str | None, chips: int | None) -> SystemSpec:
    """A catalog system (optionally resized to `chips`), or `chips` of `chip` on its own links."""
    if system:
        return load_system(system, num_chips=chips).system_spec()
    if not chip:
        raise JalapenoError("give --system ID or --chip ID")
    c = load_chip(chip)
    return make_system(c, chips if chips is not None else min(c.node.chips_per_node, c.links.max_domain_chips))


def plan_cmd(
    model: str = typer.Option(..., "--model", help="Model id or config.json path."),
    system: str = typer.Option(None, "--system", help="System id (jalapeno systems) or use --chip."),
    chip: str = typer.Option(None, "--chip", help="Chip id or YAML path (a single scale-up domain)."),
    chips: int = typer.Option(None, "--chips", help="Number of chips (resizes a catalog system)."),
    precision: PrecisionOpt = None,
    input_tokens: InputTokensOpt = 2048,
    output_tokens: OutputTokensOpt = 256,
    slo_ttft_ms: float = typer.Option(None, "--slo-ttft-ms", help="Keep points with TTFT at most this, ms."),
    slo_tpot_ms: float = typer.Option(None, "--slo-tpot-ms", help="Keep points with TPOT at most this, ms."),
    objective: str = typer.Option("throughput", "--objective", help="throughput, tokens-per-joule or cost."),
    chip_hour_usd: float = typer.Option(None, "--chip-hour-usd", help="Price of one chip-hour (needed for cost)."),
    usd_per_kwh: float = typer.Option(0.0, "--usd-per-kwh", help="Electricity price (for cost)."),
    cost_basis: CostBasisOpt = "auto",
    spec: SpecOpt = "auto", spec_tokens: SpecTokensOpt = None, spec_acceptance: SpecAcceptanceOpt = None,
    draft_model: DraftModelOpt = None,
    json_out: JsonOpt = False, csv_out: CsvOpt = False, report: ReportOpt = None, plot: PlotOpt = None,
):
    """Search the layouts (tp, pp, ep, replicas, disaggregated pools), speculative methods and batch
    sizes the stack runs; print the Pareto frontier. --slo-tpot-ms bounds the p99 inter-token gap."""
    exclusive(("--chip", chip), ("--system", system))
    count("--chips", chips, hi=MAX_CHIPS)
    count("--input-tokens", input_tokens, hi=MAX_TOKENS)
    count("--output-tokens", output_tokens, hi=MAX_TOKENS)
    figure("--slo-ttft-ms", slo_ttft_ms, hi=1e8, unit="ms")
    figure("--slo-tpot-ms", slo_tpot_ms, hi=1e7, unit="ms")
    figure("--chip-hour-usd", chip_hour_usd, lo=0.0, hi=1e6, lo_inclusive=True, unit="USD")
    figure("--usd-per-kwh", usd_per_kwh, lo=0.0, hi=100.0, lo_inclusive=True, unit="USD")
    use_csv(csv_out)
    if objective not in OBJECTIVES:
        raise JalapenoError(f"--objective must be one of {', '.join(OBJECTIVES)}, got '{objective}'")
    cb = basis(cost_basis)
    check_plot_extra(report, plot)
    m = load_model(model)
    check_context(m, input_tokens, output_tokens)
    sysspec = resolve_system(system, chip, chips)
    if objective == "cost" and chip_hour_usd is None:
        # Price the chip-hour from the cost basis (energy is inside it), as the money fields do.
        chip_hour_usd = add_money({}, sysspec.chip, 1, cb, 1.0, 0.0, sysspec.chip.power.tdp_w,
                                  sysspec.hosts)["usd_per_chip_hour"]
    with progress_bar(f"planning {m.id} on {sysspec.num_chips} x {sysspec.chip.id}") as _:
        res = plan_deployment(m, sysspec, Workload(input_tokens, output_tokens), precision,
                              slo_ttft_ms / 1e3 if slo_ttft_ms is not None else None,
                              slo_tpot_ms / 1e3 if slo_tpot_ms is not None else None,
                              chip_hour_usd, usd_per_kwh,
                              spec=spec_request(spec, spec_tokens, spec_acceptance, draft_model), disaggregate=True)
    if not res.points:
        reasons = "; ".join(f"{k}: {v}" for k, v in list(res.rejected.items())[:3])
        raise JalapenoError(f"no layout of {m.id} on {sysspec.num_chips} x {sysspec.chip.id} meets the bounds"
                            + (f" ({reasons})" if reasons else ""))
    best = res.best[objective]
    n = sysspec.num_chips

    def point(p) -> dict:
        out_s = p.output_tokens_per_s_per_chip * n
        return add_money(p.to_dict(), sysspec.chip, n, cb, out_s, out_s * input_tokens / output_tokens,
                         out_s / p.output_tokens_per_joule, sysspec.hosts)

    money = {id(p): point(p) for p in [*res.frontier, *res.best.values()]}
    result = {"model": m.id, "chip": sysspec.chip.id, "chips": sysspec.num_chips, "objective": objective,
              "layouts_tried": res.layouts_tried, "layouts_feasible": res.layouts_feasible,
              "best": {k: money[id(v)] for k, v in res.best.items()},
              "frontier": [money[id(p)] for p in res.frontier], "rejected": res.rejected,
              **({"note": res.note} if res.note else {})}

    def page():
        from jalapeno.report.build import plan_section
        from jalapeno.report.page import Page

        return Page(f"jalapeno plan: {m.id} on {sysspec.num_chips} x {sysspec.chip.id}", [plan_section(result)])

    write_outputs(page, report, plot)
    if json_out:
        emit_json(result)
        return
    shown = res.frontier
    if len(shown) > 16:  # thin a long frontier for the screen; --json has every point
        keep = {id(v) for v in res.best.values()}
        step = len(shown) / 14
        idx = {int(i * step) for i in range(14)} | {len(shown) - 1}
        shown = [p for i, p in enumerate(shown) if i in idx or id(p) in keep]
    table(f"Pareto frontier: {m.id} on {sysspec.num_chips} x {sysspec.chip.id} ({res.layouts_feasible} of "
          f"{res.layouts_tried} layouts fit)",
          ["method", "concurrency", "tok/s per chip", "tok/s per user", "TTFT s", "p99 TPOT ms", "tok/J",
           "$/Mtok out", "$/Mtok 3:1", "tok/s per MW", "best"],
          [[p.method, p.concurrency, p.output_tokens_per_s_per_chip, p.output_tokens_per_s_per_user,
            p.ttft_s, p.tpot_p99_s * 1e3, p.output_tokens_per_joule, money[id(p)]["usd_per_million_output_tokens"],
            money[id(p)]["usd_per_million_tokens_blended_3to1"], money[id(p)]["output_tokens_per_s_per_mw"],
            " ".join(k for k, v in res.best.items() if v is p) or "-"] for p in shown])
    console.print(f"cost basis: {money[id(best)]['cost_basis']}: {money[id(best)]['cost_basis_source']}",
                  highlight=False, soft_wrap=True)
    console.print(f"precision: {best.precision}" + (f" ({res.note})" if res.note else ""), highlight=False,
                  soft_wrap=True)
    console.print(f"best for {objective}: {best.method}, concurrency {best.concurrency}: "
                  f"{best.output_tokens_per_s_per_chip:,.0f} tokens/s/chip at "
                  f"{best.output_tokens_per_s_per_user:,.1f} tokens/s/user", highlight=False)


@systems_app.callback()
@user_errors
def systems(ctx: typer.Context, json_out: JsonOpt = False, csv_out: CsvOpt = False):
    """List the system catalog."""
    use_csv(csv_out)
    if ctx.invoked_subcommand:
        return
    rows = []
    for sid in system_ids():
        s = load_system(sid)
        rows.append({"id": sid, "name": s.name, "chip": s.chip.id, "chips": s.num_chips,
                     "scale_up_chips": s.scale_up_chips, "topology": s.topology.describe()})
    if json_out:
        emit_json(rows)
        return
    table("Systems", ["id", "chip", "chips", "scale-up", "topology"],
          [[r["id"], r["chip"], r["chips"], r["scale_up_chips"], r["topology"]] for r in rows])


@systems_app.command("show")
@user_errors
def systems_show(system: str = typer.Argument(..., help="System id or path to a system YAML."),
                 as_yaml: bool = typer.Option(False, "--yaml", help="Print the YAML file (a start for your own).")):
    """Print one system's YAML (with the source of every figure)."""
    if as_yaml:
        typer.echo(system_yaml_text(system), nl=False)
        return
    s = load_system(system)
    table(f"{s.name} ({s.id})", ["field", "value"],
          [["chip", s.chip.id], ["chips", s.num_chips], ["chips per node", s.chips_per_node],
           ["scale-up chips", s.scale_up_chips], ["topology", s.topology.describe()],
           ["host power per node W", s.host_power_w]])
