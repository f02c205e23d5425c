"""`jalapeno kernel ...`: one operator on one chip, to check the kernels layer alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from jalapeno.cli.output import CsvOpt, JsonOpt, emit_json, table, use_csv, user_errors
from jalapeno.cli.report_cmd import PlotOpt, ReportOpt, write_outputs
from jalapeno.engine.power import step_energy
from jalapeno.formats import BYTES_PER_ELEMENT
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.topology import topology_from_links
from jalapeno.kernels.attention import decode_attention_cost, prefill_attention_cost
from jalapeno.kernels.cost import BOUNDS, OpCost
from jalapeno.kernels.gemm import gemm_cost
from jalapeno.models.lowering import attended_pairs
from jalapeno.network.collectives import allreduce_cost
from jalapeno.stacks import load_stack

kernel_app = typer.Typer(help="Cost one operator on one chip.")


def _report(c: OpCost, chip, fmt: str, extra: dict, json_out: bool, report: Path | None = None,
            plot: Path | None = None) -> None:
    energy = float(step_energy(chip, fmt, c.flops, c.hbm_bytes, c.onchip_bytes, c.link_bytes)[0]
                   + chip.power.idle_w * c.time_s[0])
    d = {**extra, "time_s": float(c.time_s[0]), "bound": BOUNDS[int(c.bound[0])], "energy_j": energy,
         "flops": float(c.flops[0]), "memory_bytes": float(c.hbm_bytes[0]), "link_bytes": float(c.link_bytes[0]),
         "achieved_tflops": float(c.flops[0] / c.time_s[0] / 1e12)}

    def page():
        from jalapeno.report import data
        from jalapeno.report.build import breakdown_section
        from jalapeno.report.page import Page, Section

        head = Section(f"{extra['op']} on {chip.id}").table(["metric", "value"], [[k, v] for k, v in d.items()])
        return Page(f"jalapeno kernel {extra['op']} on {chip.id}",
                    [head, breakdown_section(data.kernel_point({**d, "dtype": fmt}, chip), "Roofline")])

    write_outputs(page, report, plot)
    if json_out:
        emit_json(d)
    else:
        table(f"{extra['op']} on {chip.id}", ["metric", "value"], [[k, v] for k, v in d.items()])


def _check_dtype(dtype: str) -> None:
    if dtype not in BYTES_PER_ELEMENT:
        raise ValueError(f"--dtype '{dtype}' is not a number format (choose from {', '.join(BYTES_PER_ELEMENT)})")


@kernel_app.command("gemm")
@user_errors
def gemm(chip: str = typer.Option(..., "--chip", help="Chip id or YAML path."),
         m: int = typer.Option(..., "--m", min=1, help="Rows of x and y (tokens)."),
         n: int = typer.Option(..., "--n", min=1, help="Output features (rows of W)."),
         k: int = typer.Option(..., "--k", min=1, help="Input features (the reduction)."),
         dtype: str = typer.Option("bf16", "--dtype", help="bf16, fp8 or fp4 (weights and activations)."),
         stack: str = typer.Option(None, "--stack", help="Software stack profile (default: the chip's)."),
         json_out: JsonOpt = False, csv_out: CsvOpt = False,
         report: ReportOpt = None, plot: PlotOpt = None):
    """y[m,n] = x[m,k] . W[n,k]^T."""
    use_csv(csv_out)
    _check_dtype(dtype)
    c = load_chip(chip)
    s = load_stack(stack or c.software_stack)
    act = dtype if dtype in c.native_formats() else "bf16"
    cost = gemm_cost(c, s, m, n, k, dtype, act)
    _report(cost, c, dtype, {"op": "gemm", "m": m, "n": n, "k": k, "dtype": dtype}, json_out, report, plot)


@kernel_app.command("attention")
@user_errors
def attention(chip: str = typer.Option(..., "--chip", help="Chip id or YAML path."),
              phase: str = typer.Option(..., "--phase", help="prefill or decode"),
              batch: int = typer.Option(1, "--batch", min=1, help="Sequences."),
              tokens: int = typer.Option(1, "--tokens", min=1, help="New tokens per sequence."),
              context: int = typer.Option(0, "--context", min=0, help="Tokens already cached per sequence."),
              heads: int = typer.Option(32, "--heads", min=1, help="Query heads."),
              kv_heads: int = typer.Option(8, "--kv-heads", min=1, help="Key/value heads (GQA groups)."),
              head_dim: int = typer.Option(128, "--head-dim", min=1, help="Dimension per head."),
              dtype: str = typer.Option("bf16", "--dtype", help="KV-cache format (bf16 or fp8)."),
              stack: str = typer.Option(None, "--stack", help="Software stack profile (default: the chip's)."),
              json_out: JsonOpt = False, csv_out: CsvOpt = False,
         report: ReportOpt = None, plot: PlotOpt = None):
    """FlashAttention-style prefill or paged decode attention."""
    use_csv(csv_out)
    _check_dtype(dtype)
    if phase not in ("prefill", "decode"):
        raise ValueError(f"--phase must be prefill or decode, got '{phase}'")
    if heads % kv_heads:
        raise ValueError(f"--kv-heads {kv_heads} must divide --heads {heads}")
    c = load_chip(chip)
    s = load_stack(stack or c.software_stack)
    kvb = BYTES_PER_ELEMENT[dtype]
    if phase == "prefill":
        pairs = batch * attended_pairs(context, tokens, 0, 0)
        cost = prefill_attention_cost(c, s, batch, batch * tokens, pairs, batch * (context + tokens), heads, kv_heads,
                                      head_dim, head_dim, kvb, dtype)
    else:
        cost = decode_attention_cost(c, s, batch, batch * (context + 1), heads, kv_heads, head_dim, head_dim,
                                     2 * kv_heads * head_dim, kvb)
    _report(cost, c, "bf16", {"op": f"attention-{phase}", "batch": batch, "tokens": tokens, "context": context,
                               "heads": heads, "kv_heads": kv_heads, "head_dim": head_dim, "dtype": dtype},
            json_out, report, plot)


@kernel_app.command("allreduce")
@user_errors
def allreduce(chip: str = typer.Option(..., "--chip", help="Chip id or YAML path."),
              chips: int = typer.Option(..., "--chips", min=1, help="Chips taking part."),
              message_bytes: float = typer.Option(..., "--bytes", min=1, help="Message size in bytes."),
              stack: str = typer.Option(None, "--stack", help="Software stack profile (default: the chip's)."),
              json_out: JsonOpt = False, csv_out: CsvOpt = False,
         report: ReportOpt = None, plot: PlotOpt = None):
    """All-reduce of one message across chips of the scale-up domain."""
    use_csv(csv_out)
    c = load_chip(chip)
    if chips > c.links.max_domain_chips:
        raise ValueError(f"--chips {chips} is larger than {c.id}'s scale-up domain ({c.links.max_domain_chips})")
    s = load_stack(stack or c.software_stack)
    cost = allreduce_cost(topology_from_links(c.links), s, chips, np.array([message_bytes]))
    _report(cost, c, "bf16", {"op": "allreduce", "chips": chips, "bytes": message_bytes,
                               "bus_bandwidth_gb_s": float(2 * (chips - 1) / max(chips, 1) * message_bytes
                                                           / cost.time_s[0] / 1e9) if chips > 1 else 0.0},
            json_out, report, plot)
