"""`jalapeno chips` and `jalapeno models`: browse the catalogs."""

from __future__ import annotations

import typer

from jalapeno.cli.output import CsvOpt, JsonOpt, emit_json, table, use_csv, user_errors
from jalapeno.hardware.catalog import chip_ids, chip_yaml_text, load_chip
from jalapeno.models.config import load_model, model_ids

chips_app = typer.Typer(help="Chips in the catalog (or any chip YAML).", invoke_without_command=True)
models_app = typer.Typer(help="Models in the catalog (or any config.json).", invoke_without_command=True)


def _chip_row(c) -> dict:
    return {
        "id": c.id, "name": c.name, "vendor": c.vendor, "kind": c.kind, "software_stack": c.software_stack,
        "peak_tflops": dict(c.matrix.peak_tflops), "memory_gib": c.main_memory.capacity_gib,
        "memory_bandwidth_gb_s": c.main_memory.bandwidth_gb_s,
        "on_chip_sram_mib": (c.on_chip.capacity_gib * 1024) if c.on_chip else 0.0,
        "tdp_w": c.power.tdp_w, "links": c.links.kind, "link_bandwidth_gb_s": c.links.bandwidth_gb_s,
        "scale_up_domain_chips": c.links.max_domain_chips, "process_node_nm": c.silicon.process_node_nm,
    }


@chips_app.callback()
@user_errors
def chips(ctx: typer.Context, json_out: JsonOpt = False, csv_out: CsvOpt = False):
    """List the chip catalog."""
    use_csv(csv_out)
    if ctx.invoked_subcommand:
        return
    rows = [_chip_row(load_chip(i)) for i in chip_ids()]
    if json_out:
        emit_json(rows)
        return
    table("Chips", ["id", "vendor", "bf16 TF", "fp8 TF", "fp4 TF", "memory GiB", "GB/s", "TDP W", "domain"],
          [[r["id"], r["vendor"], r["peak_tflops"].get("bf16", "-"), r["peak_tflops"].get("fp8", "-"),
            r["peak_tflops"].get("fp4", "-"), r["memory_gib"], r["memory_bandwidth_gb_s"], r["tdp_w"],
            r["scale_up_domain_chips"]] for r in rows])


@chips_app.command("show")
@user_errors
def chips_show(chip: str = typer.Argument(..., help="Catalog id or path to a chip YAML."),
               as_yaml: bool = typer.Option(False, "--yaml", help="Print the YAML file (a start for your own)."),
               json_out: JsonOpt = False, csv_out: CsvOpt = False):
    """Show one chip, with the source of every figure."""
    use_csv(csv_out)
    c = load_chip(chip)
    if as_yaml:
        typer.echo(chip_yaml_text(chip), nl=False)
        return
    data = {**_chip_row(c), "spec": c.model_dump(exclude={"sources"}), "sources": c.sources}
    if json_out:
        emit_json(data)
        return
    table(f"{c.name} ({c.id})", ["figure", "value", "source"],
          [[k, _lookup(data["spec"], k), v] for k, v in sorted(c.sources.items())])
    for a in c.assumptions:
        typer.echo(f"assumption: {a}")


def _lookup(tree, path: str):
    cur = tree
    for part in path.replace("]", "").replace("[", ".").split("."):
        if isinstance(cur, dict):
            cur = cur.get(part, "")
        elif isinstance(cur, list | tuple) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return ""
    return cur if not isinstance(cur, dict | list) else "…"


@models_app.callback()
@user_errors
def models(ctx: typer.Context, json_out: JsonOpt = False, csv_out: CsvOpt = False):
    """List the model catalog."""
    use_csv(csv_out)
    if ctx.invoked_subcommand:
        return
    rows = [load_model(i).describe() for i in model_ids()]
    if json_out:
        emit_json(rows)
        return
    table("Models", ["id", "arch", "layers", "hidden", "heads/kv", "attention", "params B", "active B"],
          [[r["id"], r["architecture"], r["layers"], r["hidden_size"], f"{r['heads']}/{r['kv_heads']}",
            r["attention"], r["total_params"] / 1e9, r.get("active_params", r["total_params"]) / 1e9] for r in rows])


@models_app.command("show")
@user_errors
def models_show(model: str = typer.Argument(..., help="Catalog id or path to a config.json."),
                json_out: JsonOpt = False, csv_out: CsvOpt = False):
    """Show one model's architecture and parameter counts."""
    use_csv(csv_out)
    d = load_model(model).describe()
    if json_out:
        emit_json(d)
        return
    table(d["id"], ["field", "value"], [[k, v] for k, v in d.items()])
