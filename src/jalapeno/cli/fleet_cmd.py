"""`jalapeno fleet`: chips, racks, megawatts and money for a traffic plan, per candidate system."""

from __future__ import annotations

import typer

from jalapeno.cli.money_opts import CostBasisOpt, basis
from jalapeno.cli.output import CsvOpt, JsonOpt, console, emit_json, progress_bar, table, use_csv
from jalapeno.cli.workload_opts import PrecisionOpt
from jalapeno.fleet.plan import FleetPlan, Slo, plan_fleet
from jalapeno.fleet.traffic import make_traffic, parse_sites
from jalapeno.models.config import load_model

DEFAULT_FLEET = ["b200", "gb200-nvl72", "tpu-7x", "trainium2", "jalapeno-ref"]


def fleet_cmd(
    model: str = typer.Option("gpt-oss-120b", "--model", help="Model id or config.json path."),
    candidate: list[str] = typer.Option(None, "--candidate", help="System id or chip id (one node); repeat."),
    profile: str = typer.Option("azure-code", "--profile", help="Trace profile for request lengths."),
    daily_requests: float = typer.Option(None, "--daily-requests",
                                         help="Requests per day (the daily curve sets the peak). Default 50e6."),
    peak_rate: float = typer.Option(None, "--peak-rate", help="Peak requests/s instead of a daily volume."),
    slo_ttft_ms: float = typer.Option(1000.0, "--slo-ttft-ms", help="p99 time to first token, network included."),
    slo_tpot_ms: float = typer.Option(40.0, "--slo-tpot-ms", help="p99 time per output token."),
    min_user_rate: float = typer.Option(50.0, "--min-tokens-per-s-per-user", help="Mean tokens/s per user."),
    sites: str = typer.Option("regional", "--sites", help="regional, or edge:N for N edge sites."),
    rtt_ms: str = typer.Option(None, "--rtt-ms", help="Round trip to users in ms: one for all sites, or one per "
                                                      "site (comma-separated). Default by site kind."),
    site_shares: str = typer.Option(None, "--site-shares", help="Each site's share of the traffic, comma-separated "
                                                                "(default equal)."),
    precision: PrecisionOpt = None,
    cost_basis: CostBasisOpt = "auto",
    json_out: JsonOpt = False, csv_out: CsvOpt = False,
):
    """Plan a fleet: replicas, chips, racks, MW, capex, $/year and $/Mtoken per candidate system."""
    use_csv(csv_out)
    cb = basis(cost_basis)
    slo = Slo(slo_ttft_ms / 1e3, slo_tpot_ms / 1e3, min_user_rate)
    site = parse_sites(sites, rtt_ms, site_shares)
    traffic = make_traffic(profile, daily_requests if daily_requests or peak_rate else 50e6, peak_rate)
    m = load_model(model)
    with progress_bar("planning the fleet") as _:
        plans = plan_fleet(candidate or DEFAULT_FLEET, m, traffic, slo, site, cb, precision)
    if json_out:
        emit_json({"model": m.id, "traffic": traffic.to_dict(), "slo": slo.__dict__, "sites": site.label,
                   "site_shares_and_rtt_ms": [[sh, r * 1e3] for sh, r in site.sites],
                   "plans": [p.to_dict() if isinstance(p, FleetPlan) else {"candidate": p[0], "error": p[1]}
                             for p in plans]})
        return
    ok = [p for p in plans if isinstance(p, FleetPlan)]
    table(f"{m.id}: {traffic.daily_requests:,.0f} requests/day ({traffic.profile}, "
          f"peak {traffic.peak_rate_per_s:,.0f}/s), "
          f"{site.label}, RTT {_rtts(site)} ms, p99 TTFT <= {slo_ttft_ms:g} ms, p99 TPOT <= {slo_tpot_ms:g} ms",
          ["candidate", "layout", "units/site", "chips", "racks", "MW", "daily util", "TTFT p99 s", "TPOT p99 s",
           "SLO", "capex $M", "$M/year", "$/Mtok out", "$/Mtok 3:1", "tokens/s/MW"],
          [[p.candidate, p.layout, p.units_per_site, p.chips, p.racks, p.provisioned_mw, p.daily_utilization,
            p.ttft_s_p99, p.tpot_s_p99, "met" if p.slo_met else "MISSED",
            p.capex_usd / 1e6 if p.capex_usd else "-", p.usd_per_year / 1e6, p.usd_per_million_output_tokens,
            p.usd_per_million_tokens_blended_3to1, p.output_tokens_per_s_per_mw] for p in ok])
    for p in ok:
        chunks = {s.prefill_chunk_tokens for s in p.site_plans if s.prefill_chunk_tokens is not None}
        extra = f"; prefill chunks of {', '.join(map(str, sorted(chunks)))} tokens for p99 TPOT" if chunks else ""
        console.print(f"{p.candidate}: cost basis {p.cost_basis}{extra}" + (f"; {p.note}" if p.note else ""),
                      highlight=False)
    for r in plans:
        if not isinstance(r, FleetPlan):
            console.print(f"{r[0]}: no plan ({r[1]})", highlight=False)


def _rtts(site) -> str:
    vals = sorted({round(r * 1e3, 3) for _, r in site.sites})
    return f"{vals[0]:g}" if len(vals) == 1 else f"{vals[0]:g}-{vals[-1]:g}"
