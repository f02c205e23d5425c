"""MLPerf Inference v4.1 Server rows: capacity under the latency limits, by simulation.

Each row is predicted as MLPerf measures it (mlperf_workloads.yaml, scenarios.Server): Poisson
arrivals for the rules' 600 s from an empty server; prompt and output lengths drawn from the
dataset's measured length distributions (quantiles, scaled to the benchmark's mean lengths); the
scheduler settings of the harness the submission ran (mlperf_cases.yaml `server.harness`: for
TensorRT-LLM, NVIDIA's harness with on-demand KV allocation, no chunked context and a 4,096-token
step budget for Llama-2-70B); the highest rate whose p99 TTFT and p99 TPOT meet the limits
(Llama-2-70B and Mixtral: 2 s and 200 ms), judged on the whole run as LoadGen does; and LoadGen's
metric, all output tokens over the time to the last completion. The run must be long: a
request lives tens of seconds, and a probe of a minute ends before the running batch has filled.

Replicas of one system are independent under MLPerf's load balancing, so one replica is
simulated at the system's rate over the replica count and the result scaled back. The layout
and software stack are those of the Offline prediction for the same system. GPT-J's Server
limit is on whole-query latency (20 s p99) and is not modeled here.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

from jalapeno.serving.capacity import CapacityResult, find_capacity
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.scenario import Scenario, WorkloadSpec
from jalapeno.stacks import load_stack
from jalapeno.validation.datafiles import read_yaml
from jalapeno.validation.e2e_rows import Case, _mlperf_config, best_plan, mlperf_cases


def _config() -> dict:
    return _mlperf_config()["server"]


def _family(model: str) -> str | None:
    """The MLPerf benchmark family of a model id, if it has a Server configuration."""
    fam = next((f for f, b in _mlperf_config()["benchmarks"].items() if b["model"] == model), None)
    return fam if fam in _config()["benchmarks"] else None


def _lookup(path: str) -> dict[str, float]:
    node = read_yaml("mlperf_workloads.yaml")
    for key in path.split("."):
        node = node[key]
    return {str(k): float(v) for k, v in node.items()}


def length_quantiles(family: str) -> tuple[dict[str, float], dict[str, float]]:
    """(input, output) length quantiles of a benchmark's dataset (shapes; scale to the mean)."""
    b = _config()["benchmarks"][family]
    return _lookup(b["input_quantiles"]), _lookup(b["output_quantiles"])


def harness_scheduler(stack_id: str, family: str) -> dict:
    """Scheduler settings of the serving harness behind a stack's Server submissions."""
    h = _config()["harness"].get(stack_id)
    if h is None:  # a stack without a known harness: its own profile's limits
        stack = load_stack(stack_id)
        return {"max_num_seqs": stack.max_batch_size, "max_num_batched_tokens": stack.max_num_tokens}
    out = dict(h)
    tokens = out["max_num_batched_tokens"]
    if isinstance(tokens, dict):
        out["max_num_batched_tokens"] = tokens[family]
    return out


def server_cases() -> tuple[list[Case], list[tuple[str, str]]]:
    cases, skipped = mlperf_cases("Server")
    kept = []
    for c in cases:
        if _family(c.model) is None:
            skipped.append((c.label, "GPT-J Server bounds whole-query latency (not modeled)"))
        else:
            kept.append(c)
    return kept, skipped


def server_scenario(case: Case, tp: int, duration_s: float | None = None) -> Scenario:
    """The simulation of one replica of a Server row (arrival rate set by the capacity search)."""
    family = _family(case.model)
    if family is None:
        raise ValueError(f"no Server configuration for {case.model}")
    cfg = _config()
    b = cfg["benchmarks"][family]
    q_in, q_out = length_quantiles(family)
    return Scenario(
        model=case.model, chip=case.chip, tp=tp, precision=case.precision, stack=case.stack_id,
        workload=WorkloadSpec(generator="poisson", rate_per_s=1.0, duration_s=duration_s or cfg["duration_s"],
                              input_tokens=case.input_tokens, output_tokens=case.output_tokens,
                              input_quantiles=q_in, output_quantiles=q_out,
                              max_input_tokens=int(b["max_input_tokens"]),
                              max_output_tokens=int(b["max_output_tokens"])),
        serving=ServingConfig.model_validate({"slo": {"ttft_s": b["ttft_s"], "tpot_s": b["tpot_s"]},
                                              "scheduler": harness_scheduler(case.stack_id, family)}))


def replica_capacity(sc: Scenario) -> CapacityResult:
    """Capacity of one replica by MLPerf's criterion: the latency percentiles of the whole run,
    without the stand-in stability tests a short probe needs."""
    assert sc.workload.duration_s is not None  # server_scenario always sets it
    return find_capacity(sc, duration_s=sc.workload.duration_s, iterations=6, stability_checks=False, repeats=1,
                         rel_tol=0.0)


@lru_cache(maxsize=64)
def _completed_tokens_per_s(scenario_json: str) -> float:
    return replica_capacity(Scenario.model_validate_json(scenario_json)).completed_tokens_per_s


def _job(case: Case, duration_s: float | None) -> tuple[str | None, int]:
    """(the replica's scenario as JSON, replica count) of a case; records the layout."""
    plan, _ = best_plan(case, load_stack(case.stack_id))
    if plan is None:
        case.layout = "does not fit"
        return None, 0
    case.layout = plan.label()
    # (The H200 CTS rows' raised power limit is not applied to the simulation.)
    return server_scenario(case, plan.tp, duration_s).model_dump_json(), case.chips // plan.chips_per_replica


def predict_server(case: Case, duration_s: float | None = None) -> float:
    """Predicted Server tokens/s of a row (LoadGen's completed tokens per second)."""
    key, replicas = _job(case, duration_s)
    return _completed_tokens_per_s(key) * replicas if key else 0.0


def predict_servers(cases: list[Case], workers: int | None = None, duration_s: float | None = None) -> None:
    """Predict every case (sets `predicted` and `layout`). Rows that share a system simulate once;
    the distinct simulations run in up to `workers` processes (default: one per CPU)."""
    jobs = [_job(c, duration_s) for c in cases]
    keys = sorted({k for k, _ in jobs if k})
    workers = min(workers or os.cpu_count() or 1, len(keys))
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            done = dict(zip(keys, pool.map(_completed_tokens_per_s, keys), strict=True))
    else:
        done = {k: _completed_tokens_per_s(k) for k in keys}
    for c, (key, replicas) in zip(cases, jobs, strict=True):
        c.predicted = done[key] * replicas if key else 0.0
