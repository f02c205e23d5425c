"""`jalapeno explore`: search a design space (`explore SPACE.yaml --trials N`), print a study's
Pareto front (`explore show STUDY`) and export one design as a chip file (`explore export`).

The explore layer (optuna, and Ray when asked) is imported inside the commands, so the rest of
the CLI starts without it.
"""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from jalapeno.cli.output import console, emit_json, err_console, fmt, table, user_errors
from jalapeno.cli.report_cmd import PlotOpt, ReportOpt, check_plot_extra, write_outputs
from jalapeno.errors import JalapenoError

DEFAULT_STORAGE = "sqlite:///study.db"


class _DefaultRun(TyperGroup):
    """`explore SPACE.yaml ...` runs a search; `explore show|export ...` are subcommands."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


explore_app = typer.Typer(cls=_DefaultRun, no_args_is_help=True,
                          help="Design-space search over chip designs: explore SPACE.yaml --trials N (options: "
                               "explore run --help); explore show STUDY; explore export STUDY --trial N.")


@explore_app.command("run")
@user_errors
def run_cmd(
    space_file: Path = typer.Argument(..., help="A space file (see examples/spaces)."),
    trials: int = typer.Option(100, "--trials", help="Finished trials the study should hold (with --resume: "
                                                      "in total, counting those already done)."),
    sampler: str = typer.Option("nsga2", "--sampler", help="nsga2, tpe or random."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampler (the same seed gives the same study)."),
    storage: str = typer.Option(DEFAULT_STORAGE, "--storage", help="Any SQLAlchemy URL (default: study.db here)."),
    study_name: str = typer.Option(None, "--study-name", help="Default: the space's name."),
    resume: bool = typer.Option(False, "--resume", help="Continue a study (e.g. one killed mid-run)."),
    workers: int = typer.Option(1, "--workers", help="Local processes evaluating designs (or Ray actors)."),
    ray_address: str = typer.Option(None, "--ray-address", help="Spread trials over Ray: ADDR, auto, or local."),
    batch: int = typer.Option(8, "--batch", help="Trials asked per round (the result depends on it, "
                                                  "not on --workers)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Search a design space with optuna; every finished trial is committed to --storage."""
    from jalapeno.explore import load_space
    from jalapeno.explore.evaluate import check_constraints
    from jalapeno.explore.study import Backend, finished, infeasible_message, open_study, run

    if trials < 1 or workers < 1 or batch < 1:
        raise JalapenoError("--trials, --workers and --batch must be at least 1")
    space = load_space(space_file)
    _check_available(space)
    check_constraints(space)
    study = open_study(space, storage, study_name, sampler, seed, resume)
    before = finished(study.memory)
    backend = Backend(space, workers, ray_address)
    try:
        ran = _run_with_progress(study, trials, backend, batch, before, quiet=json_out, run=run)
    finally:
        backend.close()
    msg = infeasible_message(study.durable)
    if msg:
        raise JalapenoError(msg)
    _summary(study.durable, space, before, ran, json_out)


def _run_with_progress(study, trials, backend, batch, before, quiet, run) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    names = [o.name for o in study.space.objectives]
    senses = study.space.directions
    best: dict[str, tuple[float, int]] = {}

    def describe() -> str:
        if not best:
            return "no feasible design yet"
        return "best " + ", ".join(f"{n} {fmt(best[n][0])} (#{best[n][1]})" for n in names if n in best)

    with Progress(TextColumn("explore"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console,
                  disable=quiet or not err_console.is_terminal) as bar:
        task = bar.add_task(describe(), total=trials, completed=min(before, trials))

        def on_batch(told):
            for t in told:
                if t.user_attrs.get("rejected_by"):
                    continue
                for n, s, v in zip(names, senses, t.values, strict=True):
                    if n not in best or (v > best[n][0] if s == "maximize" else v < best[n][0]):
                        best[n] = (v, t.number)
            bar.update(task, advance=len(told), description=describe())

        return run(study, trials, backend, batch, on_batch)


def _check_available(space) -> None:
    from jalapeno.explore.costing import Unavailable, has_economics

    if has_economics():
        return
    for i, o in enumerate(space.objectives):
        if o.name == "usd_per_mtoken":
            raise Unavailable(f"{space.path}: field 'objectives[{i}].name': usd_per_mtoken needs "
                              "jalapeno.economics (issue 12), which this build does not have")
    c = space.constraints
    for name in ("die_area_mm2", "unit_cost_usd"):
        if getattr(c, name) is not None:
            raise Unavailable(f"{space.path}: field 'constraints.{name}': needs jalapeno.economics "
                              "(die area and unit cost, issue 12), which this build does not have")


def _summary(study, space, before: int, ran: int, json_out: bool) -> None:
    from jalapeno.explore.results import feasible_trials, pareto_front
    from jalapeno.explore.study import rejection_counts

    feas = feasible_trials(study)
    front = pareto_front(feas, space.directions)
    if json_out:
        emit_json({"study": study.study_name, "trials_before": before, "trials_run": ran,
                   "feasible": len(feas), "rejected_by": rejection_counts(study),
                   "pareto_front": [_row_dict(t, space) for t in front]})
        return
    console.print(f"study '{study.study_name}': {ran} trials run ({before} before), {len(feas)} feasible, "
                  f"{len(front)} on the Pareto front; rejected by: {rejection_counts(study) or 'none'}",
                  highlight=False)
    _front_table(front, space, f"Pareto front of '{study.study_name}'")


def _row_dict(t, space) -> dict:
    m = dict(t.user_attrs.get("metrics", {}))
    if m.get("die_area_mm2") is None or m.get("unit_cost_usd") is None:
        m.update(_silicon(space, dict(t.params)))
    return {"trial": t.number, "params": dict(t.params),
            **{o.name: v for o, v in zip(space.objectives, t.values, strict=True)},
            "die_area_mm2": m.get("die_area_mm2"), "tdp_w": m.get("tdp_w"), "unit_cost_usd": m.get("unit_cost_usd"),
            "tokens_per_joule": m.get("tokens_per_joule"), "tokens_per_s_per_chip": m.get("tokens_per_s_per_chip"),
            "usd_per_mtoken": m.get("usd_per_mtoken"), "tokens_per_s_per_user": m.get("tokens_per_s_per_user")}


def _silicon(space, params: dict) -> dict:
    """Die area and unit cost of a front design (economics), computed when shown, not per trial."""
    from jalapeno.explore.costing import die_area_mm2, has_economics, unit_cost_usd
    from jalapeno.explore.results import design_chip

    if not has_economics():
        return {}
    chip = design_chip(space, params, "shown")
    return {"die_area_mm2": die_area_mm2(chip), "unit_cost_usd": unit_cost_usd(chip)}


def primitives_text(params: dict) -> str:
    """A design's primitives in a few characters: `6u 256x128 2.2GHz 32MiB/u hbm3e x8 48L 4 chips`."""
    p = dict(params)
    out = []
    if "compute_units" in p:
        out.append(f"{p.pop('compute_units')}u")
    if "array_rows" in p or "array_cols" in p:
        out.append(f"{p.pop('array_rows', '?')}x{p.pop('array_cols', '?')}")
    if "clock_ghz" in p:
        out.append(f"{p.pop('clock_ghz'):.2g}GHz")
    if "sram_per_core_mib" in p:
        out.append(f"{p.pop('sram_per_core_mib'):.3g}MiB/u")
    if "memory_technology" in p or "memory_stacks" in p:
        stacks = p.pop("memory_stacks", "?")
        out.append("SRAM-only" if stacks == 0 else f"{p.pop('memory_technology', 'mem')} x{stacks}")
        p.pop("memory_technology", None)
    if "link_lanes" in p:
        out.append(f"{p.pop('link_lanes')}L" + (f"@{p.pop('lane_gbps'):g}G" if "lane_gbps" in p else ""))
    if "chips" in p:
        out.append(f"{p.pop('chips')} chips")
    if "process_node_nm" in p:
        out.append(f"N{p.pop('process_node_nm'):g}")
    out += [f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in p.items()]
    return " ".join(out)


def _front_table(front, space, title: str, limit: int = 20) -> None:
    varied = [n for n, p in space.parameters.items() if not (p.choices is not None and len(p.choices) == 1)]
    rows = []
    for t in front[:limit]:
        d = _row_dict(t, space)
        prims = primitives_text({k: v for k, v in t.params.items() if k in varied})
        rows.append([t.number, prims, _dash(d["die_area_mm2"]), _dash(d["tdp_w"]), _dash(d["unit_cost_usd"]),
                     _dash(d["tokens_per_joule"]), _dash(d["usd_per_mtoken"]), _dash(d["tokens_per_s_per_chip"]),
                     _dash(d["tokens_per_s_per_user"])])
    cols = ["trial", "primitives", "area mm2", "TDP W", "unit $", "tokens/J", "$/Mtok", "tokens/s/chip",
            "max tokens/s/user"]
    keep = [i for i in range(len(cols)) if i < 2 or any(r[i] != "-" for r in rows)]  # drop empty columns
    table(title + (f" (first {limit} of {len(front)})" if len(front) > limit else ""),
          [cols[i] for i in keep], [[r[i] for i in keep] for r in rows])


def _dash(v):
    return "-" if v is None else v


def _open(study_ref: str, storage: str | None):
    from jalapeno.explore.study import load

    p = Path(study_ref)
    if p.suffix == ".db" or p.is_file():
        if not p.exists():
            raise JalapenoError(f"STUDY {study_ref}: no such file")
        return load(f"sqlite:///{p}", None)
    return load(storage or DEFAULT_STORAGE, study_ref)


@explore_app.command("show")
@user_errors
def show_cmd(
    study_ref: str = typer.Argument(..., metavar="STUDY", help="Study name (in --storage) or a .db file."),
    storage: str = typer.Option(None, "--storage", help=f"SQLAlchemy URL (default {DEFAULT_STORAGE})."),
    robust: bool = typer.Option(False, "--robust", help="Re-rank the front across the space's assumption ranges."),
    rank_by: str = typer.Option(None, "--rank-by", help="Objective for --robust (default: the first)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    report: ReportOpt = None, plot: PlotOpt = None,
):
    """Print the Pareto front of a study and which parameters matter most."""
    from jalapeno.explore.results import feasible_trials, importances, pareto_front
    from jalapeno.explore.study import infeasible_message, rejection_counts, space_of

    study = _open(study_ref, storage)
    space = space_of(study)
    feas = feasible_trials(study)
    if not feas:
        raise JalapenoError(infeasible_message(study) or f"study '{study.study_name}' has no finished trial yet")
    front = pareto_front(feas, space.directions)
    imp = importances(study, space)
    rows = None
    if robust:
        from jalapeno.explore.robust import robust_ranking

        rows = robust_ranking(space, front, rank_by)
    check_plot_extra(report, plot)
    summary = {"study": study.study_name, "trials": len(study.trials), "feasible": len(feas),
               "rejected_by": rejection_counts(study), "pareto_front": [_row_dict(t, space) for t in front],
               "importance": imp}

    def page():
        from jalapeno.report.build import explore_section
        from jalapeno.report.page import Page

        return Page(f"jalapeno explore: {study.study_name}",
                    [explore_section(summary, [o.name for o in space.objectives])])

    write_outputs(page, report, plot)
    if json_out:
        out = dict(summary)
        if rows is not None:
            out["robust"] = [{"trial": r.trial, "nominal": r.nominal, "quantile": r.quantile, "wins": r.wins,
                              "feasible_samples": r.feasible, "flag": r.flag, "values": r.values} for r in rows]
        emit_json(out)
        return
    console.print(f"study '{study.study_name}': {len(study.trials)} trials, {len(feas)} feasible; rejected by: "
                  f"{rejection_counts(study) or 'none'}", highlight=False)
    _front_table(front, space, f"Pareto front of '{study.study_name}'")
    for obj, vals in imp.items():
        table(f"Parameter importance for {obj} (optuna, feasible trials)", ["parameter", "importance"],
              [[k, v] for k, v in vals.items()])
    if rows is not None:
        q = space.robust.quantile
        table(f"Front ranked by the {q:g}-quantile over {len(rows[0].values) if rows else 0} assumption samples",
              ["trial", "nominal", f"q{q:g}", "min", "max", "feasible", "wins", "flag"],
              [[r.trial, r.nominal, r.quantile, min(r.values), max(r.values), f"{r.feasible}/{len(r.values)}",
                r.wins, r.flag] for r in rows])


@explore_app.command("export")
@user_errors
def export_cmd(
    study_ref: str = typer.Argument(..., metavar="STUDY", help="Study name (in --storage) or a .db file."),
    trial: int = typer.Option(..., "--trial", help="Trial number (explore show lists them)."),
    storage: str = typer.Option(None, "--storage", help=f"SQLAlchemy URL (default {DEFAULT_STORAGE})."),
    chip_id: str = typer.Option(None, "--id", help="Chip id in the file (default STUDY-tN)."),
):
    """Write one design as a chip YAML (stdout) that predict, compare and plan take with --chip."""
    from jalapeno.explore.results import chip_yaml, trial_by_number
    from jalapeno.explore.study import space_of

    study = _open(study_ref, storage)
    space = space_of(study)
    t = trial_by_number(study, trial)
    if not t.params:
        raise JalapenoError(f"--trial {trial}: trial {trial} of '{study.study_name}' has no parameters")
    if t.user_attrs.get("rejected_by"):
        err_console.print(f"note: trial {trial} is infeasible (rejected by {t.user_attrs['rejected_by']})",
                          highlight=False)
    typer.echo(chip_yaml(space, dict(t.params), chip_id or f"{study.study_name}-t{trial}",
                         f"study '{study.study_name}' trial {trial}"), nl=False)
