"""Speed of the serving simulator, and of an established peer on the same trace.

    .venv/bin/python benchmarks/bench_serving.py               # all three
    .venv/bin/python benchmarks/bench_serving.py --skip-peer   # without the peer (Vidur)
    .venv/bin/python benchmarks/bench_serving.py --profile     # plus cProfile hot spots of the stream run

Everything runs pinned to one CPU core with single-threaded numerical libraries. It prints:

1. The whole Azure LLM inference 2023 code trace (8,819 requests, `load_trace('azure-code')`)
   on llama-3.1-8b, 1 x h100-sxm, bf16, the default ServingConfig: setup (the engine's step
   tables) and the simulation's wall time, median of 3 runs after one warm-up. Target <= 2 s.
2. A synthetic stream (`from_profile('azure-conv')`: the conversation trace's length
   distributions and burstiness) of 100k and 1M requests at 120 requests/s into 8 replicas of
   llama-3.1-8b on 1 x h100-sxm (each replica sustains ~22 requests/s of this mix, so ~65 % load;
   nothing queues without bound). Each size runs in a fresh process; its peak RSS (Linux VmHWM,
   reset after setup, so it is the run's own peak) shows whether memory stays flat: the 1M peak
   should equal the 100k peak. Target <= 60 s.
3. The same 8,819 requests replayed by Vidur (Microsoft's simulator, `pip install vidur`) from a
   separate virtualenv, found by JALAPENO_PEER_VENV (default /work/peers/vidur-venv); wall clock
   of its process and the ratio to jalapeno's process doing the same job. Skipped, saying why,
   when the venv or Vidur is missing. See benchmarks/README.md for the setup and for where the
   profiling tables Vidur needs come from.

Nothing here asserts: it is a benchmark, its output is the figures.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported anywhere

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import lzma  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

TRACE = "azure-code"
TRACE_REQUESTS = 8819
RUNS = 3
STREAM_PROFILE = "azure-conv"
STREAM_RATE_PER_S = 120.0
STREAM_REPLICAS = 8
STREAM_SIZES = (100_000, 1_000_000)
PEER_VENV_DEFAULT = "/work/peers/vidur-venv"


def _idlest_core(cores: set[int], sample_s: float = 0.3) -> int:
    """The allowed core with the most idle time over a short sample of /proc/stat (Linux)."""
    def idle() -> dict[int, int]:
        out = {}
        with open("/proc/stat") as fh:
            for line in fh:
                name, *vals = line.split()
                if name.startswith("cpu") and name[3:].isdigit():
                    out[int(name[3:])] = int(vals[3]) + int(vals[4])  # idle + iowait
        return out
    try:
        a = idle()
        time.sleep(sample_s)
        b = idle()
        return max(sorted(cores), key=lambda c: b.get(c, 0) - a.get(c, 0))
    except (OSError, ValueError, IndexError):
        return min(cores)


def pin_one_core(choose: bool = True) -> int | None:
    """Run on one core (children inherit it), the idlest one when `choose`; returns the core,
    or None where not supported."""
    try:
        cores = os.sched_getaffinity(0)
        core = _idlest_core(cores) if choose and len(cores) > 1 else min(cores)
        os.sched_setaffinity(0, {core})
        return core
    except (AttributeError, OSError):
        return None


def rss_mb() -> float:
    """Current resident set size of this process, MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB: Linux's VmHWM, else getrusage's ru_maxrss.
    (ru_maxrss is kept across exec, so in a child it starts at the parent's RSS when it forked;
    VmHWM belongs to this process's own memory and can be reset.)"""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def reset_peak_rss() -> bool:
    """Restart the peak-RSS count from the current RSS (Linux: writing 5 to clear_refs resets
    VmHWM), so a later peak_rss_mb() is the peak of what ran since. False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return peak_rss_mb() <= rss_mb() + 1.0


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


# --- 1. the Azure code trace ---------------------------------------------------------------------

def _trace_scenario():
    from jalapeno.serving.scenario import Scenario

    return Scenario(model="llama-3.1-8b", chip="h100-sxm", precision="bf16")


def bench_trace(runs: int = RUNS) -> dict:
    from jalapeno.serving.run import scenario_setup
    from jalapeno.serving.simulator import Simulator
    from jalapeno.workloads.traces import load_trace

    sc = _trace_scenario()
    t = time.perf_counter()
    setup = scenario_setup(sc)
    sim = Simulator(setup, sc.serving)
    setup_cold = time.perf_counter() - t
    res = sim.run(load_trace(TRACE))  # warm-up
    setups, sims = [], []
    for _ in range(runs):
        t = time.perf_counter()
        sim = Simulator(scenario_setup(sc), sc.serving)
        t1 = time.perf_counter()
        res = sim.run(load_trace(TRACE))
        t2 = time.perf_counter()
        setups.append(t1 - t)
        sims.append(t2 - t1)
    s = res.summary()
    return {"setup_cold_s": setup_cold, "setup_warm_s": _median(setups), "sim_s": _median(sims), "sim_runs": sims,
            "requests": s["requests"], "finished": s["finished"], "steps": s["steps"],
            "simulated_s": s["duration_s"], "ttft_p50_s": s["ttft_s_p50"], "tpot_p50_s": s["tpot_s_p50"]}


def child_trace_once() -> dict:
    """One fresh-process run of the trace (for the peer comparison): import, setup, simulate."""
    t0 = time.perf_counter()
    from jalapeno.serving.run import scenario_setup
    from jalapeno.serving.simulator import Simulator
    from jalapeno.workloads.traces import load_trace

    t1 = time.perf_counter()
    sc = _trace_scenario()
    sim = Simulator(scenario_setup(sc), sc.serving)
    t2 = time.perf_counter()
    res = sim.run(load_trace(TRACE))
    t3 = time.perf_counter()
    return {"import_s": t1 - t0, "setup_s": t2 - t1, "sim_s": t3 - t2, "steps": res.summary()["steps"]}


def print_trace(r: dict) -> None:
    total = r["setup_cold_s"] + r["sim_s"]
    print(f"1. {TRACE} trace, {r['requests']} requests ({r['finished']} finished), llama-3.1-8b on 1 x h100-sxm "
          f"bf16, default ServingConfig, one core")
    print(f"   setup (engine step tables): {r['setup_cold_s']:.3f} s first in the process, "
          f"{r['setup_warm_s']:.3f} s again")
    print(f"   simulation: median {r['sim_s']:.3f} s over {len(r['sim_runs'])} runs after a warm-up "
          f"({', '.join(f'{x:.3f}' for x in r['sim_runs'])}); {r['steps']} steps, "
          f"{r['simulated_s']:.0f} s simulated, {r['sim_s'] / r['requests'] * 1e6:.0f} us per request")
    print(f"   total (first setup + median simulation): {total:.3f} s; target <= 2 s "
          f"({'met' if total <= 2.0 else 'NOT met'})")


# --- 2. a million streamed requests --------------------------------------------------------------

def child_stream(n: int) -> dict:
    from jalapeno.serving.config import ServingConfig
    from jalapeno.serving.run import scenario_setup
    from jalapeno.serving.simulator import Simulator
    from jalapeno.workloads.generators import from_profile

    sc = _trace_scenario()
    t = time.perf_counter()
    sim = Simulator(scenario_setup(sc), ServingConfig(replicas=STREAM_REPLICAS))
    setup_s = time.perf_counter() - t
    peak_setup = peak_rss_mb()
    reset = reset_peak_rss()
    rss_before = rss_mb()
    t = time.perf_counter()
    res = sim.run(from_profile(STREAM_PROFILE, STREAM_RATE_PER_S, num_requests=n, seed=0))
    wall = time.perf_counter() - t
    s = res.summary()
    return {"n": n, "setup_s": setup_s, "sim_s": wall, "rss_before_run_mb": rss_before, "peak_setup_mb": peak_setup,
            "peak_reset": reset, "peak_rss_mb": peak_rss_mb(), "rss_after_mb": rss_mb(),
            "finished": s["finished"], "dropped": s["dropped"], "steps": s["steps"],
            "simulated_s": s["duration_s"], "chip_utilization": s["chip_utilization"],
            "ttft_p99_s": s["ttft_s_p99"], "tpot_p99_s": s["tpot_s_p99"], "output_tokens": s["output_tokens"]}


def _run_child(args: list[str], timeout: float | None = None) -> tuple[dict, float]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line), wall


def bench_stream(sizes: tuple[int, ...]) -> list[dict]:
    rows = []
    for n in sizes:
        r, _ = _run_child(["--child-stream", str(n)])
        rows.append(r)
    return rows


def print_stream(rows: list[dict]) -> None:
    print(f"2. synthetic stream: from_profile('{STREAM_PROFILE}', {STREAM_RATE_PER_S:g}/s) into "
          f"{STREAM_REPLICAS} replicas of llama-3.1-8b on 1 x h100-sxm bf16 (default ServingConfig otherwise: "
          f"least-outstanding router); each size in a fresh process")
    for r in rows:
        print(f"   {r['n']:>9,} requests: {r['sim_s']:7.2f} s ({r['sim_s'] / r['n'] * 1e6:.0f} us/request, "
              f"{r['steps']:,} steps, {r['simulated_s']:,.0f} s simulated, replicas busy "
              f"{r['chip_utilization']:.0%} of it, "
              f"p99 TTFT {r['ttft_p99_s']:.3f} s, p99 TPOT {r['tpot_p99_s'] * 1e3:.1f} ms, "
              f"{r['finished']:,} finished, {r['dropped']} dropped)")
        during = "during the run" if r["peak_reset"] else "of the process (could not reset it after setup)"
        print(f"   {'':>9}  memory: peak RSS {r['peak_rss_mb']:.0f} MB {during} (VmHWM); RSS "
              f"{r['rss_before_run_mb']:.0f} MB before the run, {r['rss_after_mb']:.0f} MB after; setup peaked at "
              f"{r['peak_setup_mb']:.0f} MB")
    big = [r for r in rows if r["n"] >= 1_000_000]
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        print(f"   peak RSS during the run, {a['n']:,} -> {b['n']:,} requests: {a['peak_rss_mb']:.0f} -> "
              f"{b['peak_rss_mb']:.0f} MB "
              f"({round(b['peak_rss_mb'] - a['peak_rss_mb']):+d} MB for {b['n'] / a['n']:.0f}x the requests)")
    for r in big:
        verdict = "met" if r["sim_s"] <= 60 else "NOT met"
        print(f"   {r['n']:,} requests: {r['sim_s']:.1f} s; target <= 60 s ({verdict})")


def profile_stream(n: int = 50_000, top: int = 15) -> None:
    import cProfile
    import pstats

    from jalapeno.serving.config import ServingConfig
    from jalapeno.serving.run import scenario_setup
    from jalapeno.serving.simulator import Simulator
    from jalapeno.workloads.generators import from_profile

    sim = Simulator(scenario_setup(_trace_scenario()), ServingConfig(replicas=STREAM_REPLICAS))
    prof = cProfile.Profile()
    prof.enable()
    sim.run(from_profile(STREAM_PROFILE, STREAM_RATE_PER_S, num_requests=n, seed=0))
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    print(f"   cProfile of the stream run with {n:,} requests (top {top} by own time):")
    for line in buf.getvalue().splitlines():
        if line.strip() and not line.startswith(("   Ordered", "   List reduced")):
            print("     " + line.rstrip())


# --- 3. the peer: Vidur --------------------------------------------------------------------------

# Vidur reads per-operator profiling tables (ms per layer) of one model on one GPU: mlp.csv and
# attention.csv (compute), all_reduce.csv and send_recv.csv (network). Its PyPI release fetches
# them at run time from Hugging Face datasets (project-vajra/...); its GitHub repository keeps them
# in Git LFS. Where neither can be had, this benchmark writes stand-in tables with Vidur's schema,
# from a plain roofline of llama-3-8b on one H100 SXM; they set the simulated step times, which
# only matter here through the number of steps the simulator takes, not for its accuracy.
VIDUR_MODEL = "meta-llama/Llama-3-8B"  # Vidur's name (its 8B llama-3 config)
VIDUR_DEVICE, VIDUR_NODE = "h100", "h100_dgx"
VIDUR_DATE = "2023-11-16"  # the Azure traces' day; Vidur's trace replay keeps rows of one date
# hidden, query heads, KV heads, head dim, FFN, vocab: Llama 3 8B's config.json (as in
# src/jalapeno/models/data/configs/llama-3.1-8b.json).
_H, _HQ, _HKV, _HD, _FF, _VOCAB = 4096, 32, 8, 128, 14336, 128256
# Dense bf16 989 TFLOP/s and HBM3 3.35 TB/s: NVIDIA H100 datasheet, SXM column (as in
# src/jalapeno/hardware/data/chips/h100-sxm.yaml); the achieved fractions (0.75 GEMM, 0.5
# attention, 0.8 memory) and the 300 GB/s collective bandwidth below are round assumptions.
_PEAK, _ATT_PEAK, _BW = 989e12 * 0.75, 989e12 * 0.5, 3.35e12 * 0.8  # bf16 FLOP/s, HBM B/s
_PROFILE_FILES = ("mlp.csv", "attention.csv", "all_reduce.csv", "send_recv.csv")


def _gemm_ms(m: int, k: int, n: int) -> float:
    return max(2.0 * m * k * n / _PEAK, 2.0 * (k * n + m * k + m * n) / _BW) * 1e3 + 0.005


def _elementwise_ms(nbytes: float) -> float:
    return nbytes / _BW * 1e3 + 0.003


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def standin_profiles() -> dict[str, str]:
    """Vidur-schema profiling tables for llama-3-8b, TP 1, on one H100 SXM (roofline stand-ins)."""
    def stat(name: str) -> list[str]:
        return [f"time_stats.{name}.median"]

    ops = ["attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj", "mlp_act", "input_layernorm",
           "post_attention_layernorm", "attn_rope", "add"]
    tokens = list(range(1, 33)) + list(range(64, 8193, 64)) + list(range(8448, 16385, 256))
    mlp_rows = []
    for m in tokens:
        t = {"attn_pre_proj": _gemm_ms(m, _H, (_HQ + 2 * _HKV) * _HD), "attn_post_proj": _gemm_ms(m, _H, _H),
             "mlp_up_proj": _gemm_ms(m, _H, 2 * _FF), "mlp_down_proj": _gemm_ms(m, _FF, _H),
             "mlp_act": _elementwise_ms(m * _FF * 2 * 3), "input_layernorm": _elementwise_ms(m * _H * 2 * 2),
             "post_attention_layernorm": _elementwise_ms(m * _H * 2 * 2),
             "attn_rope": _elementwise_ms(m * (_HQ + _HKV) * _HD * 2 * 2), "add": _elementwise_ms(m * _H * 2 * 3)}
        mlp_rows.append([t[o] for o in ops] + [_HQ, _HKV, _H, _FF, _VOCAB, True, m, 1])
    mlp = _csv_text(sum((stat(o) for o in ops), []) + ["n_head", "n_kv_head", "n_embd", "n_expanded_embd",
                                                      "vocab_size", "use_gated_mlp", "num_tokens",
                                                      "num_tensor_parallel_workers"], mlp_rows)
    kv_token_bytes = 2 * _HKV * _HD * 2
    att_rows = []
    kvs = list(range(0, 16385, 512))
    for c in [32, 64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 5120, 6144, 7168, 8192]:
        for kv in kvs:
            pre = max(4.0 * _HQ * _HD * c * (kv + c / 2) / _ATT_PEAK, (kv + c) * kv_token_bytes / _BW) * 1e3 + 0.01
            att_rows.append([_elementwise_ms(c * kv_token_bytes), pre, 0.0, _H, _HQ, _HKV, 16, 1, 16384, 1, c, kv,
                             True])
    for b in [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256]:
        for kv in kvs[1:]:
            dec = b * kv * kv_token_bytes / _BW * 1e3 + 0.01
            att_rows.append([_elementwise_ms(b * kv_token_bytes), 0.0, dec, _H, _HQ, _HKV, 16, 1, 16384, b, 0, kv,
                             False])
    attention = _csv_text(stat("attn_kv_cache_save") + stat("attn_prefill") + stat("attn_decode")
                          + ["n_embd", "n_q_head", "n_kv_head", "block_size", "num_tensor_parallel_workers",
                             "max_model_len", "batch_size", "prefill_chunk_size", "kv_cache_size", "is_prefill"],
                          att_rows)
    net = []
    for coll in ("all_reduce", "send_recv"):
        rows = []
        for workers, per_node in ((2, 2), (2, 1), (4, 4), (8, 8)):
            for size in [2 ** i for i in range(11, 31)]:
                rows.append([0.01 + size / 300e9 * 1e3 * (2 if coll == "all_reduce" else 1), 0, workers, size,
                             coll, per_node, 8])
        net.append(_csv_text([f"time_stats.{coll}.median", "rank", "num_workers", "size", "collective",
                              "devices_per_node", "max_devices_per_node"], rows))
    return {"mlp.csv": mlp, "attention.csv": attention, "all_reduce.csv": net[0], "send_recv.csv": net[1]}


def _hf_dataset(cache: Path, repo_id: str, files: dict[str, str], config: dict) -> None:
    """Lay out a dataset the way huggingface_hub's cache does, so Vidur's snapshot_download finds
    it offline (HF_HUB_OFFLINE=1): refs/main names a snapshot holding config.json and *.csv.xz."""
    text = json.dumps(config, sort_keys=True) + "".join(files[k] for k in sorted(files))
    rev = hashlib.sha1(text.encode()).hexdigest()
    root = cache / ("datasets--" + repo_id.replace("/", "--"))
    snap = root / "snapshots" / rev
    snap.mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(rev)
    (snap / "config.json").write_text(json.dumps(config))
    for name, body in files.items():
        with lzma.open(snap / (name + ".xz"), "wt") as fh:
            fh.write(body)


VIDUR_DRIVER = r'''
import json, sys, time
t0 = time.perf_counter()
from vidur.config import SimulationConfig
from vidur.simulator import Simulator
from vidur.utils.random import set_seeds
t1 = time.perf_counter()
config = SimulationConfig.create_from_cli_args()
set_seeds(config.seed)
sim = Simulator(config)
t2 = time.perf_counter()
requests = len(sim._event_queue)
write = sim._write_output
marks = []
def timed_write():  # the loop ends where writing the metrics files starts
    marks.append(time.perf_counter())
    write()
sim._write_output = timed_write
sim.run()
t3 = time.perf_counter()
loop = (marks[0] if marks else t3) - t2
print("JALAPENO_VIDUR " + json.dumps({"import_s": t1 - t0, "setup_s": t2 - t1, "run_s": t3 - t2, "loop_s": loop,
                                      "write_s": t3 - t2 - loop, "requests": requests, "simulated_s": sim._time}))
'''


def _vidur_args(work: Path, trace_csv: Path, native: bool) -> list[str]:
    p = "random_forrest_execution_time_predictor_config_"
    return [
        "--replica_config_model_name", VIDUR_MODEL, "--replica_config_device", VIDUR_DEVICE,
        "--replica_config_network_device", VIDUR_NODE, "--replica_config_tensor_parallel_size", "1",
        "--replica_config_num_pipeline_stages", "1", "--cluster_config_num_replicas", "1",
        "--global_scheduler_config_type", "round_robin",
        # jalapeno's defaults: chunked prefill, 8192 tokens per step, at most 256 sequences, 16-token blocks
        "--replica_scheduler_config_type", "sarathi", "--sarathi_scheduler_config_chunk_size", "8192",
        "--sarathi_scheduler_config_batch_size_cap", "256", "--cache_config_block_size", "16",
        "--no-cache_config_enable_prefix_caching",
        "--request_generator_config_type", "trace_replay",
        "--trace_request_generator_config_trace_file", str(trace_csv),
        "--trace_request_generator_config_date", VIDUR_DATE,
        "--trace_request_generator_config_prefill_scale_factor", "1",
        "--trace_request_generator_config_decode_scale_factor", "1",
        "--trace_request_generator_config_time_scale_factor", "1",
        "--trace_request_generator_config_max_tokens", "16384",
        "--execution_time_predictor_config_type", "random_forrest",
        f"--{p}model_profiling_dataset", "local/jalapeno-bench-llama-3-8b-h100",
        f"--{p}network_profiling_dataset", "local/jalapeno-bench-h100-dgx",
        f"--{p}cache_dir", str(work / "vidur_cache"),
        f"--{p}prediction_max_prefill_chunk_size", "8192", f"--{p}prediction_max_batch_size", "256",
        f"--{p}prediction_max_tokens_per_request", "16384",
        # one grid point and 2-fold CV: training happens once (cached), it is not what is timed
        f"--{p}num_estimators", "100", f"--{p}max_depth", "16", f"--{p}min_samples_split", "2",
        f"--{p}k_fold_cv_splits", "2", f"--{p}num_training_job_threads", "1",
        f"--{p}use_native_execution_time_predictor" if native else f"--no-{p}use_native_execution_time_predictor",
        "--no-metrics_config_store_plots", "--no-metrics_config_enable_chrome_trace",
        "--metrics_config_output_dir", str(work / "out"),
    ]


def _run_vidur(py: Path, work: Path, args: list[str], timeout: float) -> tuple[dict | None, float, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(work / "hf_home"), WANDB_MODE="disabled",
               MPLBACKEND="Agg")
    t = time.perf_counter()
    try:
        out = subprocess.run([str(py), str(work / "run_vidur.py"), *args], capture_output=True, text=True,
                             cwd=work, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t, f"timed out after {timeout:.0f} s"
    wall = time.perf_counter() - t
    lines = [x for x in out.stdout.splitlines() if x.startswith("JALAPENO_VIDUR ")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr or out.stdout).strip().splitlines()[-8:]
        return None, wall, f"exit {out.returncode}: " + " | ".join(tail)
    return json.loads(lines[-1][len("JALAPENO_VIDUR "):]), wall, ""


def bench_peer(runs: int = RUNS) -> None:
    venv = Path(os.environ.get("JALAPENO_PEER_VENV", PEER_VENV_DEFAULT))
    py = venv / "bin" / "python"
    print(f"3. peer: Vidur on the same {TRACE_REQUESTS} requests (peer venv {venv})")
    if not py.exists():
        print(f"   skipped: no peer venv at {venv} (set JALAPENO_PEER_VENV, or create it: see benchmarks/README.md)")
        return
    check = "import importlib.metadata as m, vidur.simulator; print(m.version('vidur'))"
    probe = subprocess.run([str(py), "-c", check], capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        print(f"   skipped: Vidur does not import in {venv}: {last}")
        return
    version = probe.stdout.strip()

    from jalapeno.workloads.traces import load_trace

    work = Path(tempfile.mkdtemp(prefix="jalapeno-vidur-"))
    try:
        trace_csv = work / "azure_code_vidur.csv"
        n = 0
        with open(trace_csv, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["Date", "Time", "PromptTokenCount", "CompletionTokenCount"])
            for r in load_trace(TRACE):
                w.writerow([VIDUR_DATE, repr(r.arrival_s), r.input_tokens, r.output_tokens])
                n += 1
        real = os.environ.get("JALAPENO_VIDUR_PROFILES")
        if real and all((Path(real) / f).exists() for f in _PROFILE_FILES[:2]):
            tables = {f: (Path(real) / f).read_text() for f in _PROFILE_FILES if (Path(real) / f).exists()}
            tables.setdefault("all_reduce.csv", standin_profiles()["all_reduce.csv"])
            tables.setdefault("send_recv.csv", standin_profiles()["send_recv.csv"])
            source = f"Vidur's own profiling tables from {real}"
        else:
            tables = standin_profiles()
            why = (f"JALAPENO_VIDUR_PROFILES={real} lacks mlp.csv/attention.csv" if real else
                   "JALAPENO_VIDUR_PROFILES not set")
            source = ("stand-in roofline tables in Vidur's schema (Vidur " + version + " ships no profiling data: it "
                      "downloads it from Hugging Face at run time, and the GitHub copies are Git LFS objects; " + why
                      + "); they set Vidur's step times, not its simulation work per step")
        cache = work / "vidur_cache" / "profiling_data"
        _hf_dataset(cache / "compute", "local/jalapeno-bench-llama-3-8b-h100",
                    {k: tables[k] for k in ("mlp.csv", "attention.csv")},
                    {"model": VIDUR_MODEL, "device_sku": VIDUR_DEVICE})
        _hf_dataset(cache / "network", "local/jalapeno-bench-h100-dgx",
                    {k: tables[k] for k in ("all_reduce.csv", "send_recv.csv")}, {"sku": VIDUR_NODE})
        (work / "run_vidur.py").write_text(VIDUR_DRIVER)
        print(f"   vidur {version}, {VIDUR_MODEL} on 1 x {VIDUR_DEVICE}, TP 1, sarathi scheduler (chunked prefill, "
              f"8192-token steps, <= 256 sequences), trace replay of {n} requests from {trace_csv.name}")
        print(f"   profiling data: {source}")
        first, first_wall, err = _run_vidur(py, work, _vidur_args(work, trace_csv, native=False), timeout=3600)
        if first is None:
            print(f"   skipped: Vidur did not run: {err}")
            return
        print(f"   first run (trains and caches its runtime predictors): {first_wall:.1f} s wall")
        best = None
        for native in (False, True):
            walls, inner = [], []
            for _ in range(runs):
                r, wall, err = _run_vidur(py, work, _vidur_args(work, trace_csv, native), timeout=3600)
                if r is None:
                    break
                walls.append(wall)
                inner.append(r)
            label = "native (C++) predictor" if native else "Python predictor"
            if len(walls) < runs:
                print(f"   {label}: did not run: {err}")
                continue
            med = _median(walls)
            mid = inner[walls.index(sorted(walls)[len(walls) // 2])]
            print(f"   {label}: process wall median {med:.2f} s over {runs} runs "
                  f"({', '.join(f'{x:.2f}' for x in walls)}): import {mid['import_s']:.2f} s, setup (predictor "
                  f"tables, trace) {mid['setup_s']:.2f} s, simulation {mid['loop_s']:.2f} s, writing its metrics "
                  f"{mid['write_s']:.2f} s; {mid['requests']} requests, {mid['simulated_s']:.0f} s simulated")
            if best is None or med < best[0]:
                best = (med, mid, label)
        if best is None:
            return
        jal_walls, jal_inner = [], []
        for _ in range(runs):
            r, wall = _run_child(["--child-trace"])
            jal_walls.append(wall)
            jal_inner.append(r)
        jmed = _median(jal_walls)
        jmid = jal_inner[jal_walls.index(sorted(jal_walls)[len(jal_walls) // 2])]
        print(f"   jalapeno, same job in a fresh process: wall median {jmed:.2f} s over {runs} runs: import "
              f"{jmid['import_s']:.2f} s, setup {jmid['setup_s']:.2f} s, simulation {jmid['sim_s']:.2f} s")
        vmed, vmid, vlabel = best
        print(f"   ratio vidur_time / jalapeno_time (process wall, Vidur's faster {vlabel}): {vmed / jmed:.1f}x")
        print(f"   ratio of the simulation loop alone (Vidur's event loop / jalapeno's Simulator.run): "
              f"{vmid['loop_s'] / jmid['sim_s']:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- main ----------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-peer", action="store_true", help="do not run the peer simulator (Vidur)")
    ap.add_argument("--skip-stream", action="store_true", help="do not run the 100k / 1M request streams")
    ap.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), default=STREAM_SIZES,
                    help="stream sizes, comma-separated (default 100000,1000000)")
    ap.add_argument("--profile", action="store_true", help="also cProfile the stream run (50k requests)")
    ap.add_argument("--child-trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-stream", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    core = pin_one_core(choose=not (args.child_trace or args.child_stream))  # children keep the parent's core
    if args.child_trace:
        print(json.dumps(child_trace_once()))
        return
    if args.child_stream:
        print(json.dumps(child_stream(args.child_stream)))
        return
    print(f"python {sys.version.split()[0]}, pinned to core {core}, single-threaded BLAS")
    t = time.perf_counter()
    import jalapeno.serving.simulator  # noqa: F401
    print(f"import jalapeno.serving: {time.perf_counter() - t:.2f} s")
    print_trace(bench_trace())
    sys.stdout.flush()
    if not args.skip_stream:
        print_stream(bench_stream(args.sizes))
        if args.profile:
            profile_stream()
        sys.stdout.flush()
    if not args.skip_peer:
        bench_peer()


if __name__ == "__main__":
    main()
