"""`jalapeno predict` and `jalapeno compare`: one workload on one system, or on several."""

from __future__ import annotations

from typing import Any

import typer

from jalapeno.cli.checks import MAX_CHIPS, MAX_TOKENS, check_context, count, exclusive
from jalapeno.cli.money_opts import CostBasisOpt, add_money, basis
from jalapeno.cli.output import CsvOpt, JsonOpt, console, emit_json, progress_bar, table, use_csv
from jalapeno.cli.plan_cmd import resolve_system
from jalapeno.cli.report_cmd import PlotOpt, ReportOpt, check_plot_extra, write_outputs
from jalapeno.cli.spec_opts import DraftModelOpt, SpecAcceptanceOpt, SpecOpt, SpecTokensOpt, spec_request
from jalapeno.cli.workload_opts import InputTokensOpt, OutputTokensOpt, PrecisionOpt
from jalapeno.economics.money import common_basis
from jalapeno.engine.compare import DEFAULT_USER_RATES, compare_system
from jalapeno.engine.power import with_power_limit
from jalapeno.engine.predict import Workload, predict
from jalapeno.engine.speculative import resolve_spec
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import load_chip, make_system
from jalapeno.hardware.systems import load_system
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import load_stack

DEFAULT_COMPARE_CHIPS = ["jalapeno-ref", "h100-sxm", "b200", "mi300x", "tpu-v6e", "trainium2"]
# Systems compare adds to the chips above: the real-time records are held by wafer-scale and
# SRAM-resident machines, which need more than one node for these models.
DEFAULT_COMPARE_SYSTEMS = ["cs3-cluster-4", "groqrack-576"]
_DEFAULT_RATES = ",".join(f"{rate:g}" for rate in DEFAULT_USER_RATES)


def predict_cmd(
    model: str = typer.Option(..., "--model", help="Model id or path to a config.json."),
    chip: str = typer.Option(None, "--chip", help="Chip id or path to a chip YAML."),
    system: str = typer.Option(None, "--system", help="System id (jalapeno systems) instead of --chip."),
    chips: int = typer.Option(None, "--chips", help="Number of chips (default: tp*pp, or the system's)."),
    layout: str = typer.Option(None, "--layout",
                               help="A layout like tp=8,pp=2,ep=16,dp=4 (instead of --tp/--pp/--ep)."),
    tp: int = typer.Option(None, "--tp", help="Tensor-parallel degree (default: all chips, within the domain)."),
    pp: int = typer.Option(None, "--pp", help="Pipeline-parallel degree (default 1)."),
    ep: int = typer.Option(None, "--ep", help="Expert-parallel degree (divides tp; default 1)."),
    precision: PrecisionOpt = None,
    input_tokens: InputTokensOpt = 2048,
    output_tokens: OutputTokensOpt = 256,
    concurrency: int = typer.Option(None, "--concurrency",
                                    help="Requests in flight (default: all queued, the largest batch that fits)."),
    spec: SpecOpt = "none", spec_tokens: SpecTokensOpt = None, spec_acceptance: SpecAcceptanceOpt = None,
    draft_model: DraftModelOpt = None, cost_basis: CostBasisOpt = "auto",
    power_limit_w: float = typer.Option(None, "--power-limit-w", help="Hold every chip at this power limit "
                                        "in W (MLPerf MaxQ runs); a step that would draw more runs slower."),
    json_out: JsonOpt = False, csv_out: CsvOpt = False, report: ReportOpt = None, plot: PlotOpt = None,
):
    """Predict throughput, latency (TTFT, TPOT p50/p99), power and energy of one model on one system."""
    exclusive(("--chip", chip), ("--system", system))
    for flag, v in (("--tp", tp), ("--pp", pp), ("--ep", ep)):
        exclusive(("--layout", layout), (flag, v))
        count(flag, v, hi=MAX_CHIPS)
    count("--chips", chips, hi=MAX_CHIPS)
    count("--input-tokens", input_tokens, hi=MAX_TOKENS)
    count("--output-tokens", output_tokens, hi=MAX_TOKENS)
    count("--concurrency", concurrency, hi=10**7)
    pp = pp or 1
    ep = ep or 1
    use_csv(csv_out)
    check_plot_extra(report, plot)
    m = load_model(model)
    check_context(m, input_tokens, output_tokens)
    dp = None
    if layout:
        plan, dp = ParallelPlan.parse(layout)
    if system:
        sysspec = load_system(system, num_chips=chips or (dp * plan.chips_per_replica if layout and dp else None)
                              ).system_spec()
    elif chip:
        c = load_chip(chip)
        n = chips if chips is not None else ((dp or 1) * plan.chips_per_replica if layout else (tp or 1) * pp)
        sysspec = make_system(c, n)
    else:
        raise JalapenoError("give --chip ID or --system ID")
    sysspec = with_power_limit(sysspec, power_limit_w)
    n = sysspec.num_chips
    if not layout:
        plan = ParallelPlan(tp=tp or min(n // pp, sysspec.scale_up_chips) or 1, pp=pp, ep=ep)
    if dp and dp * plan.chips_per_replica != n:
        raise JalapenoError(f"--layout {layout}: dp={dp} replicas of {plan.chips_per_replica} chips is "
                            f"{dp * plan.chips_per_replica} chips, but the system has {n}")
    c = sysspec.chip
    stack = load_stack(c.software_stack)
    sp = resolve_spec(m, spec, spec_tokens, spec_acceptance, load_model(draft_model) if draft_model else None,
                      tuple(stack.capabilities.spec_methods), stack.id)
    p = predict(m, sysspec, Workload(input_tokens, output_tokens), plan, precision, concurrency, spec=sp)
    cb = basis(cost_basis)
    wl = Workload(input_tokens, output_tokens)
    d = add_money(p.to_dict(), c, n, cb, p.output_tokens_per_s,
                  p.output_tokens_per_s * input_tokens / output_tokens, p.power_w, sysspec.hosts)

    def page():
        from jalapeno.report import data
        from jalapeno.report.build import breakdown_section
        from jalapeno.report.page import Page, Section

        b = data.step_breakdown(m, sysspec, p.layout, precision, wl, p.concurrency)
        head = Section(f"{m.id} on {n} x {c.id}").table(["metric", "value"], [[k, v] for k, v in d.items()])
        return Page(f"jalapeno predict: {m.id} on {n} x {c.id}", [head, breakdown_section(b, "One step by operator")])

    write_outputs(page, report, plot)
    if json_out:
        emit_json(d)
        return
    table(f"{m.id} on {n} x {c.id} ({p.layout}, {p.precision}, {p.software_stack})", ["metric", "value"],
          [[k, v] for k, v in d.items()
           if k not in ("model", "chip", "chips", "layout", "precision", "software_stack", "cost_basis_source")])
    console.print(f"cost basis: {d['cost_basis']}: {d['cost_basis_source']}", highlight=False, soft_wrap=True)


def compare_cmd(
    model: str = typer.Option("gpt-oss-120b", "--model", help="Model id or path to a config.json."),
    chip: list[str] = typer.Option(None, "--chip", help="Chip id or YAML path; repeat for each system."),
    system: list[str] = typer.Option(None, "--system", help="System id; repeat (in addition to --chip)."),
    chips: int = typer.Option(None, "--chips", help="Chips per system (default: one node of each)."),
    precision: PrecisionOpt = None,
    input_tokens: InputTokensOpt = 2048,
    output_tokens: OutputTokensOpt = 256,
    rates: str = typer.Option(_DEFAULT_RATES, "--tokens-per-s-per-user",
                              help="Per-user speeds to read each system's frontier at (comma-separated)."),
    spec: SpecOpt = "auto", spec_tokens: SpecTokensOpt = None, spec_acceptance: SpecAcceptanceOpt = None,
    draft_model: DraftModelOpt = None, cost_basis: CostBasisOpt = "auto",
    stack: str = typer.Option(None, "--stack", help="Price every system on this software stack's costs "
                              "(efficiencies, fixed costs), each keeping its own layouts: hardware alone."),
    common_stack: str = typer.Option("trtllm", "--common-stack",
                                     help="Also show each system's tokens/J on this stack's costs ('none': skip). "
                                          "Default: TensorRT-LLM, the profile fitted on measurements."),
    bands: bool = typer.Option(True, "--bands/--no-bands",
                               help="Show each system's tokens/J band over its stated assumption ranges."),
    power_limit_w: float = typer.Option(None, "--power-limit-w", help="Hold every chip at this power limit "
                                        "in W (MLPerf MaxQ runs); a step that would draw more runs slower."),
    json_out: JsonOpt = False, csv_out: CsvOpt = False, report: ReportOpt = None, plot: PlotOpt = None,
):
    """Compare systems on one workload: each one's best operating point at several per-user speeds.
    Defaults: real-time coding on gpt-oss-120b (2048-token prompts, 256-token completions)."""
    count("--chips", chips, hi=MAX_CHIPS)
    count("--input-tokens", input_tokens, hi=MAX_TOKENS)
    count("--output-tokens", output_tokens, hi=MAX_TOKENS)
    use_csv(csv_out)
    check_plot_extra(report, plot)
    m = load_model(model)
    check_context(m, input_tokens, output_tokens)
    wl = Workload(input_tokens, output_tokens)
    try:
        user_rates = tuple(float(x) for x in rates.split(",") if x.strip())
    except ValueError:
        raise JalapenoError(f"--tokens-per-s-per-user expects numbers like 50,100,200, got '{rates}'") from None
    if not user_rates or any(not (0 < r < 1e9) for r in user_rates):  # also refuses nan and inf
        raise JalapenoError(f"--tokens-per-s-per-user expects positive numbers, got '{rates}'")
    req = spec_request(spec, spec_tokens, spec_acceptance, draft_model)
    named = list(system or [])
    refs = list(chip or [])
    if not system and not chip:
        refs, named = DEFAULT_COMPARE_CHIPS, DEFAULT_COMPARE_SYSTEMS
    entries = [(with_power_limit(resolve_system(None, ref, chips), power_limit_w), "") for ref in refs]
    entries += [(with_power_limit(resolve_system(s, None, chips), power_limit_w), s) for s in named]
    forced = load_stack(stack) if stack else None
    common = None if common_stack in (None, "", "none") or forced else load_stack(common_stack)
    ref_rate = 100.0 if 100.0 in user_rates else user_rates[0]
    rows, extras = [], []
    with progress_bar("compare", total=len(entries)) as update:
        for sysspec, name in entries:
            update(info=f"{sysspec.num_chips} x {sysspec.chip.id}")
            row = compare_system(m, sysspec, wl, precision, user_rates, req,
                                 f"{name} ({sysspec.num_chips} x {sysspec.chip.id})" if name else "", stack=forced)
            rows.append(row)
            extras.append(_stack_view(m, sysspec, row, wl, precision, ref_rate, forced, common, bands))
            update(advance=1)
    cb = common_basis(basis(cost_basis), [s.chip.id for s, _ in entries])
    specs = [s for s, _ in entries]
    result = {"model": m.id, "input_tokens": input_tokens, "output_tokens": output_tokens,
              "tokens_per_s_per_user": list(user_rates), "reference_tokens_per_s_per_user": ref_rate,
              "stack": stack, "common_stack": common.id if common else None,
              "systems": [{**_row_json(r, s, cb, input_tokens / output_tokens), **x}
                          for r, s, x in zip(rows, specs, extras, strict=True)]}

    def page():
        from jalapeno.report import data
        from jalapeno.report.build import compare_rows, compare_section
        from jalapeno.report.page import Page

        with progress_bar("frontiers", total=len(specs)) as update:
            fronts = {}
            for s, r in zip(specs, rows, strict=True):
                fronts[r.system] = data.frontier(m, s, wl, precision)
                update(advance=1)
        return Page(f"jalapeno compare: {m.id}", [compare_section(compare_rows(result), fronts)])

    write_outputs(page, report, plot)
    if json_out:
        emit_json(result)
        return
    out: list[list[Any]] = []
    for r in rows:
        if not r.cells:
            out.append([r.system, "-", r.note or "does not fit", "", "", "", "", "", "", "", ""])
            continue
        best = r.fastest.output_tokens_per_s_per_user if r.fastest else 0.0
        for rate, p in r.cells.items():
            if p is None:
                out.append([r.system, f"{rate:g}", f"cannot reach (best {best:,.0f})", "", "", "", "", "", "", "", ""])
                continue
            out.append([r.system, f"{rate:g}", p.output_tokens_per_s_per_chip, p.output_tokens_per_s_per_user,
                        p.concurrency, p.replicas, p.ttft_s, p.tpot_p99_s * 1e3, p.output_tokens_per_joule,
                        p.method, p.precision_short])
    table(f"Real-time frontier: {m.id}, {input_tokens}-token prompts, {output_tokens}-token outputs "
          f"(tokens/s per chip at each per-user speed)",
          ["system", "≥ tok/s/user", "tok/s/chip", "tok/s/user", "concurrency", "replicas", "TTFT s",
           "p99 TPOT ms", "tok/J", "method", "precision"], out)
    def band_text(x: dict) -> str:
        if x["band"]:
            return f"{x['band'][0]:.3g} - {x['band'][1]:.3g}"
        return "no ranges stated" if not x["ranges_stated"] and x["tokens_per_joule"] is not None else "-"

    view = [[r.system, x["stack"], x["tokens_per_joule"] if x["tokens_per_joule"] is not None else "cannot reach",
             band_text(x), x["common_tokens_per_joule"] if x["common_tokens_per_joule"] is not None
             else ("cannot reach" if common else "-")]
            for r, x in zip(rows, extras, strict=True)]
    table(f"Tokens/J at >= {ref_rate:g} tokens/s per user: own stack, the band over its stated assumption "
          f"ranges, and on {common.id if common else 'no common'} stack costs",
          ["system", "stack", "tok/J", "band", f"tok/J on {common.id}" if common else "common stack"], view)


def _row_json(r, sysspec, cb, in_per_out: float) -> dict:
    def money(p) -> dict:
        out_s = p.output_tokens_per_s_per_chip * sysspec.num_chips
        return add_money(p.to_dict(), sysspec.chip, sysspec.num_chips, cb, out_s, out_s * in_per_out, p.power_w,
                         sysspec.hosts)

    return {"system": r.system, "chip": r.chip, "chips": r.chips, "note": r.note,
            "fastest": money(r.fastest) if r.fastest else None,
            "cells": [{"min_tokens_per_s_per_user": rate, "reachable": p is not None,
                       **(money(p) if p else {})} for rate, p in r.cells.items()]}


def _stack_view(m, sysspec, row, wl, precision, rate, forced, common, bands) -> dict:
    """Tokens/J at one per-user speed: the system's own (or forced) stack, its assumption band there,
    and the same hardware on the common stack's costs."""
    from jalapeno.engine.compare import on_common_stack
    from jalapeno.engine.sensitivity import assumptions_of, point_band
    from jalapeno.engine.speculative import SpecRequest

    own = load_stack(sysspec.chip.software_stack)
    used = on_common_stack(own, forced) if forced else own
    p = row.cells.get(rate)
    out: dict = {"stack": used.id, "tokens_per_joule": p.output_tokens_per_joule if p else None,
                 "band": None, "common_tokens_per_joule": None}
    out["ranges_stated"] = bool(assumptions_of(sysspec, used))
    if p and bands and out["ranges_stated"]:
        f = point_band(m, sysspec, p.layout, wl, precision, rate, used)
        out["band"] = (p.output_tokens_per_joule * f[0], p.output_tokens_per_joule * f[1]) if f else None
    if common is not None and common.id != own.id:
        c = compare_system(m, sysspec, wl, precision, (rate,), SpecRequest("none"), stack=common).cells.get(rate)
        out["common_tokens_per_joule"] = c.output_tokens_per_joule if c else None
    elif common is not None:
        out["common_tokens_per_joule"] = out["tokens_per_joule"]
    return out
