"""Report sections for each kind of result, and the main job's report on built-in defaults.

Each `*_section` takes the dicts of report/data.py or a command's `--json` shape and returns a
Section of key numbers and charts. `main_report` runs the main job (DESIGN §1: real-time coding
on the reference design and today's GPUs and TPUs) end to end: the comparison and each system's
frontier, a simulated server on the coding profile, the validation, and the step cost of the
reference chip's chosen operating point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jalapeno.report import figures
from jalapeno.report.page import Page, Section


def compare_section(d: dict[str, Any], frontiers: dict[str, list[dict[str, Any]]] | None = None) -> Section:
    """`d`: the `compare --json` shape; `frontiers`: system label -> PlanPoint dicts."""
    rows = d["systems"]
    label = [r.get("system") or f"{r['chips']} x {r['chip']}" for r in rows]
    s = Section(f"Compare: {d['model']}, {d['input_tokens']} in / {d['output_tokens']} out, "
                f">= {d['min_tokens_per_s_per_user']:g} tokens/s per user",
                "Each system at its best layout and batch for the per-user bound; the frontier is every "
                "layout and batch size the planner finds, the star the chosen point.")
    s.table(["system", "layout", "precision", "tok/s/chip", "tok/s/user", "TTFT s", "tok/J", "power W", "$/Mtok out",
             "tok/s/MW", "note"],
            [[lbl, r.get("layout"), r.get("precision"), r.get("output_tokens_per_s_per_chip"),
              r.get("output_tokens_per_s_per_user"), r.get("ttft_s"), r.get("output_tokens_per_joule"),
              r.get("power_w"), r.get("usd_per_million_output_tokens"), r.get("output_tokens_per_s_per_mw"),
              r.get("note", "")] for lbl, r in zip(label, rows, strict=True)])
    if frontiers:
        s.add(figures.frontier([{"system": lbl, "frontier": frontiers.get(lbl, []),
                                 "best": r if r.get("layout") else None} for lbl, r in zip(label, rows, strict=True)],
                               "Throughput per chip against speed per user"))
    s.add(figures.bars(label, [r.get("output_tokens_per_joule") for r in rows], "Energy efficiency at the chosen point",
                       "output tokens per joule"),
          figures.bars(label, [r.get("output_tokens_per_s_per_chip") for r in rows], "Throughput at the chosen point",
                       "output tokens/s per chip"))
    if any(r.get("usd_per_million_output_tokens") for r in rows):
        s.add(figures.bars(label, [r.get("usd_per_million_output_tokens") for r in rows],
                           "Cost per million output tokens", "$ per million output tokens"))
    return s


def compare_rows(d: dict[str, Any], user_rate: float = 100.0) -> dict[str, Any]:
    """The `compare --json` of per-user-speed cells as one chosen point per system (the cell at
    `user_rate` tokens/s per user if the system reaches it, else its fastest), the shape
    `compare_section` draws."""
    rows = []
    for r in d["systems"]:
        cells = [c for c in r.get("cells", []) if c.get("reachable")]
        pick = next((c for c in cells if c["min_tokens_per_s_per_user"] == user_rate), None) or r.get("fastest")
        rows.append({"chip": r["chip"], "chips": r["chips"], "system": r.get("system"),
                     "note": r.get("note") or ("" if pick is None or pick in cells else "fastest point"),
                     **({k: v for k, v in pick.items() if k != "reachable"} if pick else {})})
    return {"model": d["model"], "input_tokens": d["input_tokens"], "output_tokens": d["output_tokens"],
            "min_tokens_per_s_per_user": user_rate, "systems": rows}


def plan_section(d: dict[str, Any]) -> Section:
    """`d`: the `plan --json` shape."""
    s = Section(f"Plan: {d['model']} on {d['chips']} x {d['chip']} ({d['layouts_feasible']} of "
                f"{d['layouts_tried']} layouts fit)")
    best = d["best"]
    s.table(["objective", "layout", "concurrency", "tok/s/chip", "tok/s/user", "TTFT s", "tok/J"],
            [[k, p["layout"], p["concurrency"], p["output_tokens_per_s_per_chip"], p["output_tokens_per_s_per_user"],
              p["ttft_s"], p["output_tokens_per_joule"]] for k, p in best.items()])
    label = f"{d['chips']} x {d['chip']}"
    s.add(figures.frontier([{"system": label, "frontier": d["frontier"], "best": best.get(d["objective"])}],
                           "Pareto frontier"),
          figures.bars([p["layout"] + f" c={p['concurrency']}" for p in d["frontier"]],
                       [p["output_tokens_per_joule"] for p in d["frontier"]], "Tokens per joule along the frontier",
                       "output tokens per joule"))
    return s


SIM_KEYS = ["ttft_s_p50", "ttft_s_p99", "tpot_s_p50", "tpot_s_p99", "e2e_s_p99", "output_tokens_per_s",
            "requests_per_s", "offered_rate_per_s", "average_power_w", "output_tokens_per_joule", "finished", "dropped"]


def simulate_section(d: dict[str, Any], title: str) -> Section:
    """`d`: report/data.simulation()."""
    s = Section(title, "Latency distributions from the run's histograms; series per replica at each step start.")
    summ = d["summary"]
    s.table(["metric", "value"], [[k, summ[k]] for k in SIM_KEYS if k in summ])
    s.add(figures.cdfs(d["cdf"], "Latency CDFs"),
          figures.series(d["series"], "waiting", "Requests waiting", "requests"),
          figures.series(d["series"], "kv_occupancy", "KV-cache occupancy", "fraction of blocks in use"),
          figures.series(d["series"], "power_w", "Replica power while stepping", "W"))
    return s


def validate_section(d: dict[str, Any]) -> Section:
    """`d`: the `validate --json` shape."""
    summ = d["summary"]
    e = summ["end_to_end"]
    s = Section("Validation: predicted against measured",
                f"{e['count']} end-to-end rows: median absolute error {e['median_abs_error_pct']:.1f} %, "
                f"90th percentile {e['p90_abs_error_pct']:.1f} %. Dotted lines: +-20 %.")
    s.table(["set", "rows", "median |err| %", "p90 |err| %"],
            [[name, g["count"], g["median_abs_error_pct"], g["p90_abs_error_pct"]]
             for name, g in [("end to end", e), *summ["by_table"].items(), *summ["by_vendor"].items()]])
    s.add(figures.predicted_vs_measured(d["rows"], "Predicted against measured"),
          figures.error_groups(summ, "Error by table and vendor"))
    serving = [(name, g) for name, g in (
        ("InferenceX at public layouts (tokens/s per GPU)", summ.get("inferencex")),
        ("InferenceX $/Mtoken at the source's GPU-hour rate", (summ.get("inferencex") or {}).get("usd_per_mtok")),
        ("InferenceX frontier via plan", summ.get("inferencex_frontier")),
        ("single stream via plan (tokens/s per user)", summ.get("single_stream"))) if g]
    if serving:
        s.table(["serving set", "rows", "median |err| %", "p90 |err| %", "signed median %"],
                [[name, g["count"], g["median_abs_error_pct"], g["p90_abs_error_pct"],
                  g.get("median_signed_error_pct")] for name, g in serving])
    if d.get("single_stream_rows"):
        s.table(["single stream", "measured tok/s/user", "planned", "error %", "planner's method"],
                [[r["label"], r["measured_tokens_per_s_per_user"], r["predicted_tokens_per_s_per_user"],
                  r["error_pct"], r["method"]] for r in d["single_stream_rows"]])
    return s


def breakdown_section(b: dict[str, Any], title: str) -> Section:
    """`b`: report/data.step_breakdown() or kernel_point()."""
    total_t = sum(o["time_s"] for o in b["ops"]) + b["step_overhead_s"]
    total_e = sum(o["energy_j"] for o in b["ops"])
    s = Section(title, f"{b['chip']}, {b['layout']}, {b['precision']}, batch {b['batch_per_replica']} per replica: "
                       f"step {total_t * 1e3:.3g} ms (fixed costs: launches, host, sync "
                       f"{b['step_overhead_s'] * 1e3:.3g} ms), "
                       f"{total_e:.3g} J of work and active power per chip.")
    s.table(["operator", "time ms", "energy mJ", "GFLOP", "memory MB"],
            [[o["op"], o["time_s"] * 1e3, o["energy_j"] * 1e3, o["flops"] / 1e9, o["memory_bytes"] / 1e6]
             for o in b["ops"][:12]])
    s.add(figures.by_operator(b, "Time and energy by operator"), figures.roofline(b, "Roofline"))
    return s


def explore_section(d: dict[str, Any], objectives: list[str]) -> Section:
    """`explore show --json`: the Pareto front (the first two objectives against each other) and
    each objective's parameter importance."""
    sec = Section(f"Design search '{d['study']}': {d['feasible']} feasible of {d['trials']} trials",
                  note=f"rejected by: {d.get('rejected_by') or 'none'}")
    front = d["pareto_front"]
    cols = ["trial", *objectives, "die_area_mm2", "tdp_w", "unit_cost_usd"]
    sec.table(cols, [[r.get(c) for c in cols] for r in front])
    if len(objectives) >= 2:
        sec.add(figures.pareto(front, objectives[0], objectives[1], "Pareto front"))
    for obj, vals in (d.get("importance") or {}).items():
        sec.add(figures.bars(list(vals), list(vals.values()), f"Parameter importance for {obj}", "importance"))
    return sec


def sensitivity_section(d: dict[str, Any]) -> Section:
    """`sensitivity --json`: each system's metric with its band, and the tornado of the ratio."""
    metric = d["metric"]
    sec = Section(f"What decides {d.get('subject')} / {d.get('reference')}",
                  note=f"metric: {metric}; ratio at baseline {d.get('baseline_ratio')}; "
                       f"flips the ranking: {', '.join(d.get('flips_ranking') or []) or 'none'}")
    sec.table(["system", "layout", metric, "band low", "band high"],
              [[s["system"], s["layout"], s[metric], *(s["band"] or [None, None])] for s in d["systems"]])
    sec.add(figures.tornado(d["swings"], "Tornado: the ratio over each range", "ratio"))
    return sec


def main_report(progress: Callable[[str], None] | None = None) -> Page:
    """The main job's report on built-in defaults."""
    from jalapeno.economics.money import common_basis, money_fields, parse_cost_basis
    from jalapeno.engine.compare import best_on_system
    from jalapeno.engine.predict import Workload
    from jalapeno.hardware.catalog import load_chip, make_system
    from jalapeno.models.config import load_model
    from jalapeno.report import data
    from jalapeno.serving.run import simulate
    from jalapeno.serving.scenario import parse_scenario
    from jalapeno.validation.summary import run_validation

    say = progress or (lambda _msg: None)
    model = load_model("gpt-oss-120b")
    wl = Workload(2048, 256)
    chips = ["jalapeno-ref", "h100-sxm", "b200", "mi300x", "tpu-v6e", "trainium2"]
    rows, frontiers, systems = [], {}, {}
    cost_basis = common_basis(parse_cost_basis("auto"), chips)  # one basis for the whole comparison
    for cid in chips:
        say(f"compare: {cid}")
        c = load_chip(cid)
        sysspec = make_system(c, min(c.node.chips_per_node, c.links.max_domain_chips))
        r = best_on_system(model, sysspec, wl, None, 100.0)
        label = f"{r.chips} x {r.chip}"
        systems[label] = (sysspec, r)
        row = {"chip": r.chip, "chips": r.chips, "note": r.note, **(r.prediction.to_dict() if r.prediction else {})}
        if r.prediction:
            p = r.prediction
            row.update(money_fields(c, p.chips, p.output_tokens_per_s, p.output_tokens_per_s * wl.input_tokens
                                    / wl.output_tokens, p.power_w, cost_basis, hosts=sysspec.hosts).to_dict())
        rows.append(row)
        frontiers[label] = data.frontier(model, sysspec, wl, None)
    cmp = {"model": model.id, "input_tokens": 2048, "output_tokens": 256, "min_tokens_per_s_per_user": 100.0,
           "systems": rows}
    page = Page("jalapeno: real-time coding on a Jalapeño-class design, GPUs and TPUs")
    page.sections.append(compare_section(cmp, frontiers))
    ref = next((v for k, v in systems.items() if "jalapeno-ref" in k and v[1].prediction), None)
    if ref and ref[1].prediction:
        say("step breakdown")
        sysspec, p = ref[0], ref[1].prediction
        b = data.step_breakdown(model, sysspec, p.layout, None, wl, p.concurrency)
        page.sections.append(breakdown_section(b, f"One step of {model.id} on {p.chips} x {p.chip} at the chosen "
                                                  "point"))
    say("simulate: llama-3.1-8b on h100-sxm, azure-code profile")
    sc = parse_scenario({"model": "llama-3.1-8b", "chip": "h100-sxm",
                         "workload": {"generator": "profile", "profile": "azure-code", "rate_per_s": 6.0,
                                      "duration_s": 120.0},
                         "serving": {"replicas": 2, "router": "least_outstanding"}}, "report defaults")
    sim = data.simulation(simulate(sc, timeline=True))
    page.sections.append(simulate_section(sim, "Serving: llama-3.1-8b on 2 x h100-sxm, the Azure code profile at 6 "
                                               "requests/s for 120 s"))
    say("validate")
    page.sections.append(validate_section(run_validation().to_dict()))
    return page
