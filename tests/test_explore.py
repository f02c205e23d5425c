"""Design-space search: spaces, the known optimum, the Pareto front, export into compare, bad spaces."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytest.importorskip("optuna")

from cli_helpers import fails_cleanly, ok_json, run  # noqa: E402

from jalapeno.explore import Evaluator, load_space, parse_space  # noqa: E402
from jalapeno.explore.results import dominates  # noqa: E402
from jalapeno.explore.study import Backend, open_study  # noqa: E402
from jalapeno.explore.study import run as run_study  # noqa: E402

DATA = Path(__file__).parent / "data" / "spaces"
EXAMPLES = Path(__file__).parent.parent / "examples" / "spaces"
BANDWIDTH = DATA / "bandwidth-bound.yaml"


def _space(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(BANDWIDTH.read_text())
    for key, value in changes.items():
        node = raw
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_example_spaces_parse():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        space = load_space(path)
        assert space.parameters and space.objectives


def test_known_optimum_spends_the_budget_on_memory(tmp_path):
    """The hand argument of the space file: the optimum takes every HBM stack (8) and, with the power
    left, as many units as the TDP budget allows at 8 stacks. Brute force over the 96 designs agrees,
    and the search finds that design in fewer trials than the space has points."""
    space = load_space(BANDWIDTH)
    ev = Evaluator(space)
    grid = {(u, s): ev({"compute_units": u, "memory_stacks": s}) for u in range(1, 13) for s in range(1, 9)}
    affordable = max(u for u in range(1, 13) if ev.chip({"compute_units": u, "memory_stacks": 8}).power.tdp_w <= 800)
    feasible = {k: e.objectives["tokens_per_s_per_chip"] for k, e in grid.items() if e.feasible}
    assert max(feasible, key=feasible.get) == (affordable, 8)
    assert grid[(affordable + 1, 8)].rejected_by == "tdp_w" and grid[(affordable, 1)].rejected_by == "slo"
    study = open_study(space, f"sqlite:///{tmp_path / 's.db'}", None, "tpe", 0, False)
    run_study(study, 40, Backend(space), batch=4)  # found for seeds 0-3 (batch 8: 3 of 4)
    best = max((t for t in study.durable.trials if not t.user_attrs["rejected_by"]), key=lambda t: t.values[0])
    assert (best.params["compute_units"], best.params["memory_stacks"]) == (affordable, 8)


def test_front_is_non_dominated_and_export_runs_in_compare(tmp_path):
    space = _space(tmp_path, objectives=["tokens_per_s_per_chip", "tokens_per_joule"],
                   **{"parameters.clock_ghz": {"range": [1.0, 2.0]}})
    db = tmp_path / "study.db"
    out = ok_json("explore", space, "--trials", 24, "--sampler", "random", "--storage", f"sqlite:///{db}", "--json")
    assert out["trials_run"] == 24
    shown = ok_json("explore", "show", db, "--json")
    front = shown["pareto_front"]
    assert front and shown["feasible"] >= len(front)
    senses = ["maximize", "maximize"]
    vec = [[r["tokens_per_s_per_chip"], r["tokens_per_joule"]] for r in front]
    for i, a in enumerate(vec):
        assert not any(dominates(b, a, senses) for j, b in enumerate(vec) if j != i)
    # Every feasible trial is dominated by, or equal to, a front member.
    import optuna

    study = optuna.load_study(study_name="bandwidth-bound", storage=f"sqlite:///{db}")
    for t in study.trials:
        if not t.user_attrs["rejected_by"]:
            assert any(v == t.values or dominates(v, t.values, senses) for v in vec)
    top = front[0]["trial"]
    exported = run("explore", "export", db, "--trial", top)
    assert exported.exit_code == 0, exported.output
    chip = tmp_path / "design.yaml"
    chip.write_text(exported.stdout)
    rate_flag = "--tokens-per-s-per-user"
    cmp = ok_json("compare", "--model", "llama-3.1-8b", "--precision", "fp8", "--input-tokens", 256,
                  "--output-tokens", 2048, rate_flag, 300, "--chips", 1,
                  "--chip", chip, "--chip", "b200", "--json")
    rows = {r["chip"]: r for r in cmp["systems"]}
    assert f"bandwidth-bound-t{top}" in rows and "b200" in rows

    def at_rate(row):  # one operating point per system, or one per per-user rate asked
        cells = [c for c in row.get("cells", [row]) if c.get("min_tokens_per_s_per_user", 300) == 300]
        return cells[0].get("output_tokens_per_s_per_chip") if cells else None

    # compare searches at least what the design search did (plain decoding, its layouts) on the same chip
    assert at_rate(rows[f"bandwidth-bound-t{top}"]) >= 0.95 * front[0]["tokens_per_s_per_chip"]


def test_same_seed_same_study_whatever_the_workers(tmp_path):
    space = load_space(_space(tmp_path, **{"parameters.clock_ghz": {"range": [1.0, 2.0]}}))
    results = []
    for name, workers in (("a", 1), ("b", 2)):
        study = open_study(space, f"sqlite:///{tmp_path / (name + '.db')}", None, "nsga2", 7, False)
        backend = Backend(space, workers)
        try:
            run_study(study, 12, backend, batch=4)
        finally:
            backend.close()
        results.append([(t.params, t.values) for t in study.durable.trials])
    assert results[0] == results[1]


def test_robust_ranking_flags_and_orders(tmp_path):
    path = _space(tmp_path, objectives=["tokens_per_s_per_chip", "tokens_per_joule"],
                  robust={"assumptions": {"stack.memory_efficiency": {"range": [0.7, 0.95]},
                                          "chip.memory.hbm.energy_pj_per_byte": {}},
                          "samples": "corners", "quantile": 0.25})
    db = tmp_path / "r.db"
    ok_json("explore", path, "--trials", 16, "--sampler", "random", "--storage", f"sqlite:///{db}", "--json")
    out = ok_json("explore", "show", db, "--robust", "--json")
    rows = out["robust"]
    assert rows and all(len(r["values"]) == 4 for r in rows)  # 2 assumptions -> 4 corners
    q = [r["quantile"] for r in rows]
    assert q == sorted(q, reverse=True)
    assert sum(r["wins"] for r in rows) == 4
    for r in rows:  # lower memory efficiency never helps a bandwidth-bound design
        assert min(r["values"]) <= r["nominal"] * 1.001


def test_bad_spaces_name_the_field(tmp_path):
    msg = fails_cleanly("explore", _space(tmp_path, **{"parameters.memory_stacks": {"range": [8, 1]}}), "--trials", 2)
    assert "parameters.memory_stacks" in msg and "empty range" in msg
    msg = fails_cleanly("explore", _space(tmp_path, **{"parameters.compute_unit": {"range": [1, 4]}}), "--trials", 2)
    assert "parameters.compute_unit" in msg and "compute_units" in msg
    msg = fails_cleanly("explore", _space(tmp_path, **{"parameters.compute_units": {"choices": []}}), "--trials", 2)
    assert "parameters.compute_units" in msg
    msg = fails_cleanly("explore", _space(tmp_path, **{"constraints.tdp_w": {"max": 150}}), "--trials", 2)
    assert "constraints.tdp_w" in msg and "no design" in msg
    msg = fails_cleanly("explore", _space(tmp_path, objectives=["tokens_per_watt"]), "--trials", 2)
    assert "objectives[0].name" in msg
    with pytest.raises(Exception, match="workload.models"):
        parse_space({**yaml.safe_load(BANDWIDTH.read_text()), "workload": {"models": ["no-such-model"]}})


def test_every_trial_infeasible_names_the_constraint(tmp_path):
    path = _space(tmp_path, **{"workload.min_tokens_per_s_per_user": [100000], "constraints.tdp_w": None})
    msg = fails_cleanly("explore", path, "--trials", 6, "--storage", f"sqlite:///{tmp_path / 'x.db'}")
    assert "infeasible" in msg and "'slo' rejected most (6 of 6" in msg


def test_economics_objective_unavailable_without_economics(tmp_path):
    from jalapeno.explore.costing import has_economics

    if has_economics():
        pytest.skip("jalapeno.economics is present: $/Mtoken is available")
    msg = fails_cleanly("explore", _space(tmp_path, objectives=["usd_per_mtoken"]), "--trials", 2,
                        "--storage", f"sqlite:///{tmp_path / 'e.db'}")
    assert "objectives[0].name" in msg and "jalapeno.economics" in msg


def test_existing_study_needs_resume(tmp_path):
    path = _space(tmp_path, **{"constraints.tdp_w": None})
    url = f"sqlite:///{tmp_path / 'r.db'}"
    ok_json("explore", path, "--trials", 3, "--storage", url, "--json")
    msg = fails_cleanly("explore", path, "--trials", 3, "--storage", url)
    assert "--resume" in msg
    out = ok_json("explore", path, "--trials", 5, "--storage", url, "--resume", "--json")
    assert out["trials_before"] == 3 and out["trials_run"] == 2


def _complete(db: Path) -> list[tuple]:
    import sqlite3

    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        try:
            return con.execute("select t.number, group_concat(v.value) from trials t join trial_values v "
                               "on v.trial_id = t.trial_id where t.state = 'COMPLETE' group by t.trial_id "
                               "order by t.number").fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []


def test_sigkill_mid_run_then_resume_keeps_every_finished_trial(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    path = _space(tmp_path, **{"constraints.tdp_w": None, "parameters.clock_ghz": {"range": [1.0, 2.0]}})
    db = tmp_path / "k.db"
    cmd = [sys.executable, "-c", "from jalapeno.cli.main import run; run()", "explore", str(path),
           "--trials", "400", "--storage", f"sqlite:///{db}", "--batch", "4"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(_complete(db)) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _complete(db)
    assert 6 <= len(before) < 400, "the run was not killed mid-run"
    assert [n for n, _ in before] == list(range(len(before)))
    total = len(before) + 5
    out = ok_json("explore", path, "--trials", total, "--storage", f"sqlite:///{db}", "--resume", "--batch", 4,
                  "--json")
    assert out["trials_before"] == len(before) and out["trials_run"] == 5
    after = _complete(db)
    assert after[: len(before)] == before  # every finished trial kept as it was
    assert [n for n, _ in after] == list(range(total))  # and the count continues


def test_ray_workers_give_the_inline_result(tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (the distributed extra)")
    space = load_space(_space(tmp_path, **{"constraints.tdp_w": None}))
    results = []
    for name, address in (("inline", None), ("ray", "local")):
        study = open_study(space, f"sqlite:///{tmp_path / (name + '.db')}", None, "tpe", 3, False)
        backend = Backend(space, 2, address)
        try:
            run_study(study, 8, backend, batch=4)
        finally:
            backend.close()
        results.append([(t.params, t.values) for t in study.memory.trials])
    ray.shutdown()
    assert results[0] == results[1]


def test_area_unit_cost_and_usd_per_mtoken_from_economics(tmp_path):
    from jalapeno.explore.costing import has_economics

    if not has_economics():
        pytest.skip("jalapeno.economics is not in this build: area, unit cost and $/Mtoken are unavailable")
    space = load_space(_space(tmp_path, objectives=["usd_per_mtoken", "tokens_per_joule"],
                              **{"constraints.die_area_mm2": {"max": 858}, "constraints.tdp_w": None,
                                 "parameters.compute_units": {"range": [2, 64]}}))
    ev = Evaluator(space)
    small, big = ev({"compute_units": 3, "memory_stacks": 8}), ev({"compute_units": 64, "memory_stacks": 8})
    assert small.feasible and 0 < small.objectives["usd_per_mtoken"] < 100
    assert 0 < small.metrics["die_area_mm2"] < 858
    from jalapeno.explore.costing import unit_cost_usd

    assert unit_cost_usd(ev.chip({"compute_units": 3, "memory_stacks": 8})) > 0
    assert big.rejected_by == "die_area_mm2" and big.metrics["die_area_mm2"] > small.metrics["die_area_mm2"]


def test_sram_only_design_streams_weights_over_chips(tmp_path):
    """0 stacks: the SRAM is the only memory, the design runs the streaming profile, and the model
    fits only when enough chips (and pipeline stages) hold its weights."""
    space = load_space(_space(tmp_path, **{"constraints.tdp_w": None, "workload.max_pp": 32,
                                           "parameters.memory_stacks": {"range": [0, 8]},
                                           "parameters.sram_per_core_mib": {"range": [16, 512]},
                                           "parameters.chips": {"choices": [4, 64]}}))
    ev = Evaluator(space)
    point = {"compute_units": 8, "memory_stacks": 0, "sram_per_core_mib": 64}
    chip = ev.chip(point)
    assert [m.kind for m in chip.memory] == ["dram"] and chip.memory[0].technology == "sram"
    assert chip.execution == "sram-streaming" and chip.main_memory.capacity_gib == 0.5
    assert ev({**point, "chips": 4}).rejected_by == "memory_fits"  # 2 GiB of SRAM for 8 GB of weights
    assert ev({**point, "chips": 64}).feasible


def test_a_space_can_extend_another(tmp_path):
    (tmp_path / "child.yaml").write_text(f"extends: {BANDWIDTH}\nname: child\n"
                                         "workload: {min_tokens_per_s_per_user: [100]}\n")
    child = load_space(tmp_path / "child.yaml")
    parent = load_space(BANDWIDTH)
    assert child.name == "child" and child.workload.min_tokens_per_s_per_user == (100.0,)
    assert child.workload.models == parent.workload.models and child.parameters == parent.parameters
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\nname: loop\n")
    with pytest.raises(Exception, match="extends"):
        load_space(tmp_path / "loop.yaml")


def test_show_writes_a_report_with_the_front_and_importance(tmp_path):
    space = _space(tmp_path, objectives=["tokens_per_s_per_chip", "tokens_per_joule"],
                   **{"parameters.clock_ghz": {"range": [1.0, 2.0]}})
    db = tmp_path / "study.db"
    ok_json("explore", space, "--trials", 12, "--sampler", "random", "--storage", f"sqlite:///{db}", "--json")
    out = tmp_path / "front.html"
    res = run("explore", "show", db, "--report", out)
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "Pareto front" in page and "Design search" in page
