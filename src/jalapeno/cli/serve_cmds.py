"""`jalapeno simulate` and `jalapeno capacity`: the serving simulator from a scenario or flags."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from jalapeno.cli.checks import MAX_CHIPS, MAX_TOKENS, count, exclusive, figure, output_path
from jalapeno.cli.exports import ArrivalCounter, check_requests_out, write_requests
from jalapeno.cli.money_opts import CostBasisOpt, add_money, basis
from jalapeno.cli.output import CsvOpt, JsonOpt, console, emit_json, err_console, fmt, progress_bar, table, use_csv
from jalapeno.cli.report_cmd import PlotOpt, ReportOpt, check_plot_extra, write_outputs
from jalapeno.cli.workload_opts import PrecisionOpt
from jalapeno.errors import JalapenoError, JalapenoWarning
from jalapeno.hardware.catalog import load_chip
from jalapeno.network.parallel import ParallelPlan
from jalapeno.serving.capacity import find_capacity
from jalapeno.serving.config import MAX_BATCHED_TOKENS, MAX_REPLICAS, MAX_SEQS
from jalapeno.serving.run import simulate
from jalapeno.serving.scenario import MAX_DURATION_S, MAX_REQUESTS, load_scenario, merge, parse_scenario

_KEYS = ["offered_rate_per_s", "arrival_rate_per_s",
         "ttft_s_p50", "ttft_s_p90", "ttft_s_p99", "tpot_s_p50", "tpot_s_p90", "tpot_s_p99", "e2e_s_p50",
         "e2e_s_p99", "output_tokens_per_s", "requests_per_s", "goodput_requests_per_s", "slo_attainment",
         "prefix_hit_rate", "kv_cache_utilization", "preemptions", "chip_utilization", "average_power_w",
         "output_tokens_per_joule", "usd_per_million_output_tokens", "usd_per_million_tokens_blended_3to1",
         "output_tokens_per_s_per_mw", "cost_basis", "requests", "finished", "dropped", "in_flight", "duration_s",
         "wall_s"]


def _check_flags(flags: dict) -> None:
    """Each flag's meaning, before any work: counts at least 1, finite positive figures, no two
    flags that say the same thing (see cli/checks.py)."""
    for flag, key, hi in (("--tp", "tp", MAX_CHIPS), ("--pp", "pp", MAX_CHIPS), ("--ep", "ep", MAX_CHIPS),
                          ("--num-requests", "num_requests", MAX_REQUESTS), ("--replicas", "replicas", MAX_REPLICAS),
                          ("--max-num-seqs", "max_num_seqs", MAX_SEQS),
                          ("--max-batched-tokens", "max_batched_tokens", MAX_BATCHED_TOKENS),
                          ("--max-new-tokens", "max_new_tokens", MAX_TOKENS), ("--spec-tokens", "spec_tokens", 16)):
        count(flag, flags.get(key), hi=hi)
    for flag, key, top, unit in (("--rate", "rate", 1e6, "requests/s"), ("--duration", "duration", MAX_DURATION_S, "s"),
                                ("--input-tokens", "input_tokens", MAX_TOKENS, ""),
                                ("--output-tokens", "output_tokens", MAX_TOKENS, ""),
                                ("--slo-ttft-ms", "slo_ttft_ms", 8.64e7, "ms"),
                                ("--slo-tpot-ms", "slo_tpot_ms", 3.6e6, "ms")):
        figure(flag, flags.get(key), hi=float(top), unit=unit)
    figure("--spec-acceptance", flags.get("spec_acceptance"), lo=0.0, hi=1.0, lo_inclusive=True)
    if flags.get("input_tokens") is not None and flags["input_tokens"] < 1:
        raise JalapenoError(f"--input-tokens must be at least 1, got {flags['input_tokens']:g}")
    if flags.get("output_tokens") is not None and flags["output_tokens"] < 1:
        raise JalapenoError(f"--output-tokens must be at least 1, got {flags['output_tokens']:g}")
    exclusive(("--trace", flags.get("trace")), ("--generator", flags.get("generator")))
    for flag in ("tp", "pp", "ep"):
        exclusive(("--layout", flags.get("layout")), (f"--{flag}", flags.get(flag)))


def _scenario(scenario: Path | None, **flags):
    _check_flags(flags)
    base = load_scenario(scenario).model_dump(exclude_none=True) if scenario else {}
    wl = {"trace": flags["trace"], "rate_per_s": flags["rate"], "duration_s": flags["duration"],
          "num_requests": flags["num_requests"], "generator": flags["generator"], "profile": flags["profile"],
          "input_tokens": flags["input_tokens"], "output_tokens": flags["output_tokens"], "seed": flags["seed"]}
    if flags["trace"]:
        base.get("workload", {}).pop("generator", None)
    if flags["generator"]:
        base.get("workload", {}).pop("trace", None)
    sched = {"max_num_seqs": flags["max_num_seqs"], "max_num_batched_tokens": flags["max_batched_tokens"],
             "chunked_prefill": flags["chunked_prefill"], "prefix_caching": flags["prefix_caching"],
             "kv_reservation": flags["kv_reservation"], "max_new_tokens": flags["max_new_tokens"],
             "mixed_batches": flags["mixed_batches"]}
    spec = {"method": flags["spec_method"], "num_tokens": flags["spec_tokens"],
            "acceptance_rate": flags["spec_acceptance"], "draft_model": flags["draft_model"]}
    dis = None
    if flags["disaggregate"]:
        try:
            p, d = (int(x) for x in flags["disaggregate"].split(":"))
        except ValueError:
            raise ValueError(f"--disaggregate expects PREFILL:DECODE replicas like 1:3, got "
                             f"'{flags['disaggregate']}'") from None
        count("--disaggregate PREFILL", p, hi=MAX_REPLICAS)
        count("--disaggregate DECODE", d, hi=MAX_REPLICAS)
        dis = {"enabled": True, "prefill_replicas": p, "decode_replicas": d}
    slo = {"ttft_s": flags["slo_ttft_ms"] / 1e3 if flags["slo_ttft_ms"] is not None else None,
           "tpot_s": flags["slo_tpot_ms"] / 1e3 if flags["slo_tpot_ms"] is not None else None}
    serving = {"replicas": flags["replicas"], "router": flags["router"], "scheduler": sched, "speculative": spec,
               "disaggregation": dis, "slo": slo, "seed": flags["seed"]}
    if flags.get("layout"):
        plan, dp = ParallelPlan.parse(flags["layout"])
        flags.update(tp=plan.tp, pp=plan.pp, ep=plan.ep)
        count("--layout dp", dp, hi=MAX_REPLICAS)
        if dp is not None and flags["replicas"] is not None and dp != flags["replicas"]:
            raise JalapenoError(f"--layout dp={dp} and --replicas {flags['replicas']} conflict: give one of them")
        if dp is not None:
            serving["replicas"] = dp
    top = {"model": flags["model"], "chip": flags["chip"], "tp": flags["tp"], "pp": flags["pp"], "ep": flags["ep"],
           "precision": flags["precision"], "stack": flags["stack"], "workload": wl, "serving": serving}
    raw = merge(base, top)
    w = raw.get("workload", {})
    if w.get("trace") is None and w.get("duration_s") is None and w.get("num_requests") is None:
        w["duration_s"] = 600.0
    raw["workload"] = w
    return parse_scenario(raw, str(scenario) if scenario else "command-line flags")


# Options `simulate` and `capacity` declare the same way (the others differ in help or default).
ScenarioArg = Annotated[Path | None, typer.Argument(help="Scenario YAML (flags override its fields).")]
TpOpt = Annotated[int | None, typer.Option("--tp", help="Tensor-parallel chips per replica.")]
PpOpt = Annotated[int | None, typer.Option("--pp", help="Pipeline stages per replica.")]
EpOpt = Annotated[int | None, typer.Option("--ep", help="Expert-parallel degree (MoE models).")]
LayoutOpt = Annotated[str | None, typer.Option("--layout", help="tp=..,pp=..,ep=..,dp=.. (dp = replicas).")]
ReplicasOpt = Annotated[int | None, typer.Option("--replicas", help="Model replicas behind the router.")]
MaxNumSeqsOpt = Annotated[int | None, typer.Option("--max-num-seqs", help="Running sequences per replica (batch cap).")]
MaxBatchedTokensOpt = Annotated[int | None, typer.Option("--max-batched-tokens",
                                                    help="Token budget per step (prompt chunks + decodes).")]
ChunkedPrefillOpt = Annotated[bool | None, typer.Option("--chunked-prefill/--no-chunked-prefill",
                                                 help="Split long prompts across steps.")]
PrefixCachingOpt = Annotated[bool | None, typer.Option("--prefix-caching/--no-prefix-caching",
                                                help="Keep finished prompt prefixes for reuse.")]
KvReservationOpt = Annotated[str | None, typer.Option("--kv-reservation",
                                                     help="auto (the stack's), full or on_demand.")]
MaxNewTokensOpt = Annotated[int | None, typer.Option("--max-new-tokens",
                                              help="Output limit requests declare (full reservation holds it).")]
MixedBatchesOpt = Annotated[bool | None, typer.Option("--mixed-batches/--prefill-first",
                                               help="Prompts and decodes in one step, or prompt-only steps first.")]
StackOpt = Annotated[str | None, typer.Option("--stack", help="Software-stack profile id (default: the chip's).")]
SpecTokensOpt = Annotated[int | None, typer.Option("--spec-tokens", help="Tokens drafted per speculative step.")]
SpecAcceptanceOpt = Annotated[float | None, typer.Option("--spec-acceptance",
                                                 help="Probability a drafted token is accepted (0-1).")]
DraftModelOpt = Annotated[str | None, typer.Option("--draft-model", help="Draft model id for --spec draft.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (same seed, same numbers).")]


def simulate_cmd(
    scenario: ScenarioArg = None,
    model: str = typer.Option(None, "--model", help="Model id or config.json path (default llama-3.1-8b)."),
    chip: str = typer.Option(None, "--chip", help="Chip id or YAML path (default h100-sxm)."),
    tp: TpOpt = None, pp: PpOpt = None, ep: EpOpt = None, layout: LayoutOpt = None, precision: PrecisionOpt = None,
    trace: str = typer.Option(None, "--trace", help="Trace name (azure-code, azure-conv, mooncake-conversation, "
                                                   "mooncake-synthetic) or path."),
    generator: str = typer.Option(None, "--generator", help="profile, poisson or gamma (instead of a trace)."),
    profile: str = typer.Option(None, "--profile", help="Trace profile for --generator profile."),
    rate: float = typer.Option(None, "--rate", help="Requests per second (time-scales a trace)."),
    duration: float = typer.Option(None, "--duration", help="Seconds of arrivals to simulate."),
    num_requests: int = typer.Option(None, "--num-requests", help="Stop after this many requests."),
    input_tokens: float = typer.Option(None, "--input-tokens", help="Mean prompt tokens (poisson/gamma)."),
    output_tokens: float = typer.Option(None, "--output-tokens", help="Mean output tokens (poisson/gamma)."),
    replicas: ReplicasOpt = None,
    router: str = typer.Option(None, "--router", help="round_robin, least_outstanding or prefix_affinity."),
    max_num_seqs: MaxNumSeqsOpt = None, max_batched_tokens: MaxBatchedTokensOpt = None,
    chunked_prefill: ChunkedPrefillOpt = None, prefix_caching: PrefixCachingOpt = None,
    kv_reservation: KvReservationOpt = None, max_new_tokens: MaxNewTokensOpt = None,
    mixed_batches: MixedBatchesOpt = None, stack: StackOpt = None,
    spec_method: str = typer.Option(None, "--spec", help="Speculative decoding: none, ngram, draft, eagle or mtp "
                                                         "(acceptance defaults: published measurements)."),
    spec_tokens: SpecTokensOpt = None, spec_acceptance: SpecAcceptanceOpt = None, draft_model: DraftModelOpt = None,
    disaggregate: str = typer.Option(None, "--disaggregate", help="PREFILL:DECODE replicas, e.g. 1:3."),
    slo_ttft_ms: float = typer.Option(None, "--slo-ttft-ms", help="TTFT bound for goodput, ms."),
    slo_tpot_ms: float = typer.Option(None, "--slo-tpot-ms", help="TPOT bound for goodput, ms."),
    seed: SeedOpt = None,
    trace_out: Path = typer.Option(None, "--trace-out", metavar="FILE.json[.gz]",
                                   help="Write the timeline as Chrome/Perfetto trace JSON (gzip if it ends in .gz)."),
    requests_out: Path = typer.Option(None, "--requests-out", metavar="FILE.csv|.parquet",
                                      help="Write one row per request (arrival, TTFT, TPOT, end, tokens, replica)."),
    cost_basis: CostBasisOpt = "auto",
    json_out: JsonOpt = False, csv_out: CsvOpt = False, report: ReportOpt = None, plot: PlotOpt = None,
):
    """Simulate an inference server on a trace or generated traffic."""
    use_csv(csv_out)
    cb = basis(cost_basis)
    skip = ("scenario", "trace_out", "requests_out", "json_out", "csv_out", "report", "plot", "cost_basis", "cb")
    sc = _scenario(scenario, **{k: v for k, v in locals().items() if k not in skip})
    output_path("--trace-out", trace_out)  # before the run, not after it
    check_plot_extra(report, plot)
    check_requests_out(requests_out)
    w = sc.workload
    arrivals = ArrivalCounter(w.requests())
    with progress_bar("simulating") as update:
        # The Chrome trace streams to its file as the run goes (flat memory); a report keeps the steps.
        res = simulate(sc, requests=arrivals, keep_requests=requests_out is not None, timeline=bool(report or plot),
                       progress=lambda t, n: update(info=f"{n:,} requests, t={t:,.0f} s"), timeline_path=trace_out)
    s = res.summary()
    span = s["duration_s"] or 1.0
    add_money(s, load_chip(sc.chip), s["chips"], cb, s["output_tokens_per_s"], s["input_tokens"] / span,
              s["average_power_w"])
    s["offered_rate_per_s"] = offered_rate(sc)
    s["arrival_rate_per_s"] = arrivals.rate_per_s(w.duration_s, w.num_requests)
    warn_rate_gap(s["offered_rate_per_s"], s["arrival_rate_per_s"], arrivals.count)
    if requests_out:
        n = write_requests(res.metrics.records, requests_out)
        err_console.print(f"wrote {requests_out} ({n:,} requests)", highlight=False)

    def page():
        from jalapeno.report import data
        from jalapeno.report.build import simulate_section
        from jalapeno.report.page import Page

        d = data.simulation(res)
        d["summary"].update(offered_rate_per_s=s["offered_rate_per_s"], arrival_rate_per_s=s["arrival_rate_per_s"])
        return Page(f"jalapeno simulate: {sc.model} on {sc.chip}",
                    [simulate_section(d, f"{sc.model} on {sc.chip} (tp={sc.tp}, pp={sc.pp}) x {s['replicas']}")])

    write_outputs(page, report, plot)
    if json_out:
        emit_json({"scenario": sc.model_dump(), **s})
        return
    table(f"{sc.model} on {sc.chip} (tp={sc.tp}, pp={sc.pp}) x {s['replicas']} replicas", ["metric", "value"],
          [[k, s[k]] for k in _KEYS])
    for reason, n in s["dropped_reasons"].items():
        console.print(f"dropped {n:,} ({reason}): {s['dropped_details'].get(reason, '')}", highlight=False)


def offered_rate(sc) -> float | None:
    """The arrival rate asked for: the workload's rate, else a profile's own mean rate (a trace
    replayed as recorded has no separate offered rate)."""
    w = sc.workload
    if w.rate_per_s:
        return w.rate_per_s
    if not w.trace and w.generator in (None, "profile"):
        from jalapeno.workloads.profiles import get_profile

        return get_profile(w.profile).mean_rate_per_s
    return None


def warn_rate_gap(offered: float | None, realized: float | None, arrivals: int, tolerance: float = 0.10) -> None:
    if not offered or realized is None or abs(realized / offered - 1) <= tolerance:
        return
    warnings.warn(f"the realized arrival rate, {realized:.3g} requests/s over {arrivals:,} arrivals, differs from "
                  f"the offered {offered:.3g} by {100 * (realized / offered - 1):+.0f} % (random arrivals over a "
                  f"short window; bursty profiles need longer runs): compare results at the realized rate, or "
                  f"raise --duration / --num-requests", JalapenoWarning, stacklevel=2)


def capacity_cmd(
    scenario: ScenarioArg = None,
    model: str = typer.Option(None, "--model", help="Model id or config.json path (default llama-3.1-8b)."),
    chip: str = typer.Option(None, "--chip", help="Chip id or YAML path (default h100-sxm)."),
    tp: TpOpt = None, pp: PpOpt = None, ep: EpOpt = None, layout: LayoutOpt = None, precision: PrecisionOpt = None,
    trace: str = typer.Option(None, "--trace", help="Trace name or path (its arrivals are rescaled per probe)."),
    generator: str = typer.Option(None, "--generator", help="profile, poisson or gamma (instead of a trace)."),
    profile: str = typer.Option(None, "--profile", help="Trace profile for --generator profile."),
    input_tokens: float = typer.Option(None, "--input-tokens", help="Mean prompt tokens (poisson/gamma)."),
    output_tokens: float = typer.Option(None, "--output-tokens", help="Mean output tokens (poisson/gamma)."),
    replicas: ReplicasOpt = None,
    router: str = typer.Option(None, "--router", help="round_robin, least_outstanding or prefix_affinity."),
    max_num_seqs: MaxNumSeqsOpt = None, max_batched_tokens: MaxBatchedTokensOpt = None,
    chunked_prefill: ChunkedPrefillOpt = None, prefix_caching: PrefixCachingOpt = None,
    kv_reservation: KvReservationOpt = None, max_new_tokens: MaxNewTokensOpt = None,
    mixed_batches: MixedBatchesOpt = None, stack: StackOpt = None,
    spec_method: str = typer.Option(None, "--spec", help="Speculative decoding: none, ngram, draft, eagle or mtp."),
    spec_tokens: SpecTokensOpt = None, spec_acceptance: SpecAcceptanceOpt = None, draft_model: DraftModelOpt = None,
    disaggregate: str = typer.Option(None, "--disaggregate", help="PREFILL:DECODE replicas, e.g. 1:3."),
    slo_ttft_ms: float = typer.Option(None, "--slo-ttft-ms", help="Default: the scenario's, else 2000."),
    slo_tpot_ms: float = typer.Option(None, "--slo-tpot-ms", help="Default: the scenario's, else 200."),
    duration: float = typer.Option(120.0, "--duration", help="Seconds of traffic per probe."),
    seed: SeedOpt = None, cost_basis: CostBasisOpt = "auto", json_out: JsonOpt = False, csv_out: CsvOpt = False,
):
    """Highest request rate meeting p99 TTFT and p99 TPOT SLOs (MLPerf Server-style)."""
    use_csv(csv_out)
    cb = basis(cost_basis)
    flags = {k: v for k, v in locals().items() if k not in ("scenario", "json_out", "csv_out", "cost_basis", "cb")}
    figure("--duration", duration, hi=MAX_DURATION_S, unit="s")
    # The search sets the rate; a placeholder satisfies generators that need one.
    flags.update(rate=1.0 if generator in ("poisson", "gamma") else None, num_requests=None)
    sc = _scenario(scenario, **flags)
    with progress_bar("capacity", total=None) as update:
        res = find_capacity(sc, duration_s=duration, progress=lambda msg: update(info=msg))
    d = res.to_dict()
    s = res.summary
    if s.get("finished"):
        out_s = d["output_tokens_per_s"]
        add_money(d, load_chip(sc.chip), s["chips"], cb, out_s, out_s * s["input_tokens"] / max(s["output_tokens"], 1),
                  s["average_power_w"])
    if json_out:
        emit_json(d)
        return
    table(f"capacity of {sc.model} on {sc.chip} (p99 TTFT <= {sc.serving.slo.ttft_s:g} s, "
          f"p99 TPOT <= {sc.serving.slo.tpot_s:g} s)", ["metric", "value"],
          [[k, v if k != "rate_spread_per_s" else " - ".join(fmt(x) for x in v)] for k, v in d.items()
           if k not in ("probes", "rate_by_seed_per_s")])
