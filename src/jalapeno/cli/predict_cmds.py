"""`jalapeno predict` and `jalapeno compare`: one workload on one system, or on several."""

from __future__ import annotations

import typer

from jalapeno.cli.money_opts import CostBasisOpt, add_money, basis
from jalapeno.cli.output import console, emit_json, table
from jalapeno.cli.plan_cmd import resolve_system
from jalapeno.economics.money import common_basis
from jalapeno.engine.compare import best_on_system
from jalapeno.engine.predict import Workload, predict
from jalapeno.errors import JalapenoError
from jalapeno.hardware.catalog import load_chip, make_system
from jalapeno.hardware.systems import load_system
from jalapeno.models.config import load_model
from jalapeno.network.parallel import ParallelPlan

DEFAULT_COMPARE_CHIPS = ["jalapeno-ref", "h100-sxm", "b200", "mi300x", "tpu-v6e", "trainium2"]


def predict_cmd(
    model: str = typer.Option(..., "--model", help="Model id or path to a config.json."),
    chip: str = typer.Option(None, "--chip", help="Chip id or path to a chip YAML."),
    system: str = typer.Option(None, "--system", help="System id (jalapeno systems) instead of --chip."),
    chips: int = typer.Option(None, "--chips", help="Number of chips (default: tp*pp, or the system's)."),
    layout: str = typer.Option(None, "--layout",
                               help="A layout like tp=8,pp=2,ep=16,dp=4 (instead of --tp/--pp/--ep)."),
    tp: int = typer.Option(None, "--tp", help="Tensor-parallel degree (default: all chips, within the domain)."),
    pp: int = typer.Option(1, "--pp", help="Pipeline-parallel degree."),
    ep: int = typer.Option(1, "--ep", help="Expert-parallel degree (divides tp)."),
    precision: str = typer.Option(None, "--precision", help="bf16, fp8 or fp4 (default: the model's native format)."),
    input_tokens: int = typer.Option(2048, "--input-tokens", help="Prompt tokens per request."),
    output_tokens: int = typer.Option(256, "--output-tokens", help="Generated tokens per request."),
    concurrency: int = typer.Option(None, "--concurrency",
                                    help="Requests in flight (default: all queued, the largest batch that fits)."),
    cost_basis: CostBasisOpt = "auto",
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Predict throughput, latency, power and energy of one model on one system."""
    m = load_model(model)
    dp = None
    if layout:
        plan, dp = ParallelPlan.parse(layout)
    if system:
        sysspec = load_system(system, num_chips=chips or (dp * plan.chips_per_replica if layout and dp else None)
                              ).system_spec()
    elif chip:
        c = load_chip(chip)
        n = chips or ((dp or 1) * plan.chips_per_replica if layout else (tp or 1) * pp)
        sysspec = make_system(c, n)
    else:
        raise JalapenoError("give --chip ID or --system ID")
    n = sysspec.num_chips
    if not layout:
        plan = ParallelPlan(tp=tp or min(n // pp, sysspec.scale_up_chips) or 1, pp=pp, ep=ep)
    if dp and dp * plan.chips_per_replica != n:
        raise JalapenoError(f"--layout {layout}: dp={dp} replicas of {plan.chips_per_replica} chips is "
                            f"{dp * plan.chips_per_replica} chips, but the system has {n}")
    c = sysspec.chip
    cb = basis(cost_basis)
    p = predict(m, sysspec, Workload(input_tokens, output_tokens), plan, precision, concurrency)
    d = add_money(p.to_dict(), c, n, cb, p.output_tokens_per_s,
                  p.output_tokens_per_s * input_tokens / output_tokens, p.power_w, sysspec.hosts)
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
    precision: str = typer.Option(None, "--precision", help="bf16, fp8 or fp4 (default: the model's native format)."),
    input_tokens: int = typer.Option(2048, "--input-tokens"),
    output_tokens: int = typer.Option(256, "--output-tokens"),
    min_user_rate: float = typer.Option(100.0, "--min-tokens-per-s-per-user",
                                        help="Keep operating points where each user gets at least this "
                                             "rate (0: none)."),
    cost_basis: CostBasisOpt = "auto",
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Compare systems on one workload, each at its best layout. Defaults: real-time coding on gpt-oss-120b."""
    m = load_model(model)
    wl = Workload(input_tokens, output_tokens)
    systems = [resolve_system(s, None, chips) for s in system or []]
    systems += [resolve_system(None, ref, chips) for ref in chip or ([] if system else DEFAULT_COMPARE_CHIPS)]
    cb = common_basis(basis(cost_basis), [s.chip.id for s in systems])
    out = []
    for sysspec in systems:
        r = best_on_system(m, sysspec, wl, precision, min_user_rate or None)
        p = r.prediction
        row = {"chip": r.chip, "chips": r.chips, "note": r.note, **(p.to_dict() if p else {})}
        if p:
            add_money(row, sysspec.chip, p.chips, cb, p.output_tokens_per_s,
                      p.output_tokens_per_s * input_tokens / output_tokens, p.power_w, sysspec.hosts)
        out.append(row)
    if json_out:
        emit_json({"model": m.id, "input_tokens": input_tokens, "output_tokens": output_tokens,
                   "min_tokens_per_s_per_user": min_user_rate, "systems": out})
        return
    table(f"{m.id}: {input_tokens} in / {output_tokens} out, >= {min_user_rate:g} tokens/s per user",
          ["system", "layout", "precision", "tokens/s/chip", "tokens/s/user", "TTFT s", "tokens/J", "power W",
           "$/Mtok out", "$/Mtok 3:1", "tokens/s/MW", "basis", "note"],
          [[f"{r['chips']} x {r['chip']}", r.get("layout", "-"), r.get("precision", "-"),
            r.get("output_tokens_per_s_per_chip", "-"), r.get("output_tokens_per_s_per_user", "-"),
            r.get("ttft_s", "-"), r.get("output_tokens_per_joule", "-"), r.get("power_w", "-"),
            r.get("usd_per_million_output_tokens", "-"), r.get("usd_per_million_tokens_blended_3to1", "-"),
            r.get("output_tokens_per_s_per_mw", "-"), r.get("cost_basis", "-").split(" $")[0], r["note"]]
           for r in out])
    for r in out:
        if "cost_basis" in r:
            console.print(f"{r['chip']}: {r['cost_basis']}", highlight=False, soft_wrap=True)
