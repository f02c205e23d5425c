"""`jalapeno cost`: what a chip costs to make and to own, by part, with sources.

Area by block (estimated beside published), dies per wafer, yield, known-good-die cost, memory,
package, test, board, public price, capex and opex per chip-hour on the build (and public-price)
basis, and the public cloud prices. `--area-validation` prints the estimator's validation table.
"""

from __future__ import annotations

from pathlib import Path

import typer

from jalapeno.cli.output import console, emit_json, table
from jalapeno.economics.area import DiePrimitives, estimate_die
from jalapeno.economics.area_validation import area_rows, die_from_dict, summary
from jalapeno.economics.breakdown import cost_breakdown
from jalapeno.economics.data import load, node_entry
from jalapeno.errors import JalapenoError, SpecError
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.systems import load_system
from jalapeno.safeload import read_yaml
from jalapeno.sourced import split_sources


def cost_cmd(
    chip: str = typer.Option(None, "--chip", help="Chip id or chip YAML path."),
    system: str = typer.Option(None, "--system", help="System id: its host and wiring set the system share."),
    yield_model: str = typer.Option(None, "--yield-model", help="negative-binomial (default), murphy or poisson."),
    life_years: float = typer.Option(None, "--life-years", help="Amortization life (default 5)."),
    cost_of_capital: float = typer.Option(None, "--cost-of-capital", help="Annual rate, e.g. 0.1 (default 0.10)."),
    pue: float = typer.Option(None, "--pue", help="Power usage effectiveness, at least 1 (default 1.2)."),
    usd_per_kwh: float = typer.Option(None, "--usd-per-kwh", help="Electricity price (default 0.08)."),
    area_validation: bool = typer.Option(False, "--area-validation",
                                         help="Print estimated vs published die areas instead."),
    die: Path = typer.Option(None, "--die", help="Estimate the dies of a YAML file described by primitives "
                                                 "(the schema of economics/data/dies.yaml `validation`)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Die area by block, dies per wafer, yield, unit cost by part and cost per chip-hour, with sources."""
    if area_validation:
        _area_validation(json_out)
        return
    if die:
        _die_file(die, json_out)
        return
    if not chip and not system:
        raise JalapenoError("give --chip ID (or --system ID), or --area-validation")
    sysspec = load_system(system) if system else None
    c = sysspec.chip if sysspec else load_chip(chip)
    if sysspec and chip and load_chip(chip).id != c.id:
        raise JalapenoError(f"--system {system} holds {c.id}, not {chip}")
    b = cost_breakdown(c, sysspec, yield_model, life_years, cost_of_capital, pue, usd_per_kwh)
    area, unit, inputs, build, asp, clouds = b.area, b.unit, b.inputs, b.build, b.asp, b.clouds
    d = {**b.data, "sources": _sources(c)}
    if json_out:
        emit_json(d)
        return
    for est, n in area.dies:
        rows = [[k.removesuffix("_mm2"), v] for k, v in est.blocks_mm2.items() if v]
        rows.append(["total (estimated)", est.total_mm2])
        if len(area.dies) == 1 and n == 1 and area.published_mm2:
            rows.append(["published", area.published_mm2])
        table(f"{n} x {est.name} on {est.node}: area by block, mm^2 (+-{est.accuracy_percent:g}%)",
              ["block", "mm^2"], rows)
    for note in area.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    table(f"{c.id}: unit build cost, USD ({unit.dies[0].yield_model} yield)", ["part", "value", "detail"],
          [*[[f"{x.count} x {x.die}", x.known_good_die_usd * x.count,
              f"{x.area_mm2:,.0f} mm^2 {x.area_basis}, {x.dies_per_wafer} per ${x.wafer_usd:,.0f} {x.node} wafer, "
              f"yield {x.yield_fraction:.1%}"] for x in unit.dies],
            ["memory", unit.memory_usd, f"{unit.memory_gb:g} GB {unit.memory_technology}"],
            ["package", unit.package_usd, f"assembly yield {unit.assembly_yield:.0%}"],
            ["test", unit.test_usd, ""], ["board", unit.board_usd, f"{c.power.tdp_w:g} W TDP"],
            ["unit build cost", unit.unit_usd, ""],
            ["public price / ASP", unit.public_price_usd or "-", unit.public_price_source]])
    cols = ["item", "build"] + (["public price"] if asp else [])
    items = [("accelerator", "accelerator_usd"), ("NRE share", "nre_share_usd"), ("host share", "host_share_usd"),
             ("network", "network_usd"), ("rack", "rack_usd"), ("capex per chip", "capex_usd_per_chip"),
             ("capex $/chip-hour", "capex_usd_per_chip_hour"), ("facility $/chip-hour", "facility_usd_per_chip_hour"),
             ("maintenance $/chip-hour", "maintenance_usd_per_chip_hour"),
             ("energy $/chip-hour (at provisioned IT power)", "energy_usd_per_chip_hour"),
             ("total $/chip-hour", "usd_per_chip_hour")]
    bd, ad = build.to_dict(), asp.to_dict() if asp else {}
    table(f"{c.id}: cost of ownership ({inputs.life_years:g} years at {inputs.cost_of_capital:.0%}, "
          f"PUE {inputs.pue:g}, "
          f"${inputs.electricity_usd_per_kwh:g}/kWh)", cols,
          [[label, bd[k]] + ([ad[k]] if asp else []) for label, k in items])
    console.print(f"provisioned power per chip: {build.it_w_per_chip:,.0f} W IT, {build.provisioned_w_per_chip:,.0f} W "
                  f"with facility overhead; {build.chips_per_rack} chips per {inputs.rack_it_kw:g} kW rack",
                  highlight=False)
    if clouds:
        table(f"{c.id}: public cloud prices", ["term", "$/chip-hour", "date", "source"],
              [[p.term, p.usd_per_chip_hour, p.date, p.source] for p in clouds])


def _sources(chip) -> dict:
    out = {}
    for name in ("area", "parts", "tco", "nodes"):
        out[name] = {k: v for k, v in load(name)[1].items() if k.count(".") <= 2}
    node = node_entry(chip.silicon.process_node_nm)[0]
    out["nodes"] = {k: v for k, v in out["nodes"].items() if k.startswith(f"nodes.{node}.") or k.startswith("wafer")}
    return out


def _area_validation(json_out: bool) -> None:
    rows = area_rows()
    s = summary(rows)
    if json_out:
        emit_json({"rows": [r.to_dict() for r in rows], "summary": s})
        return
    table("Die area: estimated from primitives vs published", ["set", "die", "node", "estimated mm^2",
                                                              "published mm^2", "error"],
          [[r.set, r.die, r.node, r.estimated_mm2, r.published_mm2, f"{r.error:+.1%}"] for r in rows])
    for k, v in s.items():
        console.print(f"{k}: {v['dies']} dies, median |error| {v['median_abs_error']:.1%}, "
                      f"p90 {v['p90_abs_error']:.1%}", highlight=False)


def _die_file(path: Path, json_out: bool) -> None:
    """Estimate every die of a YAML file (`dies: {name: {...}}`, or one die's fields at top level);
    a `published_mm2` in it is shown beside the estimate, never used by it."""
    plain, _, _ = split_sources(read_yaml(path, "die"))
    if not isinstance(plain, dict):
        raise SpecError(str(path), [("(file)", "expected a mapping of die fields")])
    dies = plain.get("dies") or plain.get("validation") or {path.stem: plain}
    known: dict[str, DiePrimitives] = {}
    rows = []
    for key, d in dies.items():
        try:
            prim = die_from_dict(str(key), d, known)
        except KeyError as exc:
            raise SpecError(str(path), [(f"{key}.{exc.args[0]}", "is required but missing")]) from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise SpecError(str(path), [(str(key), f"invalid die description: {exc}")]) from None
        known[str(key)] = prim
        e = estimate_die(prim)
        pub = d.get("published_mm2")
        rows.append({**e.to_dict(), "published_mm2": pub, "error": e.total_mm2 / pub - 1 if pub else None})
    if json_out:
        emit_json(rows)
        return
    table(f"{path}: estimated die area (mm^2)", ["die", "node", "estimated", "published", "error", "largest blocks"],
          [[r["name"], r["node"], r["total_mm2"], r["published_mm2"] or "-",
            f"{r['error']:+.1%}" if r["error"] is not None else "-",
            ", ".join(f"{k.removesuffix('_mm2')} {v:,.0f}" for k, v in
                      sorted(r["blocks_mm2"].items(), key=lambda kv: -kv[1])[:3])] for r in rows])
