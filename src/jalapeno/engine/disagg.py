"""Disaggregated prefill and decode pools: the operating point of a deployment that splits its
replicas into prompt-only and decode-only pools, the KV cache of each prompt moving from one to
the other over the links (TensorRT-LLM / Dynamo and vLLM disaggregated serving).

Decode replicas run decode-only steps, so no user's inter-token gap carries a prompt chunk (p99
TPOT = the decode step). Prefill replicas run full token-budget prompt steps. For a decode batch
B the pools are sized in the ratio of prompt demand to prompt capacity, in whole replicas, and
the deployment delivers the smaller of what the decode pool emits and what the prefill pool
feeds it. TTFT is the prompt's own prefill steps (alone on a prefill replica at the pool's
utilization, after half a step in flight) plus the KV transfer. Only for stacks that declare
`capabilities.disaggregation`, with at least two replicas.
"""

from __future__ import annotations

import numpy as np

from jalapeno.engine.memory import kv_bytes_per_sequence


def prefill_pool_shapes(setup, wl) -> tuple[np.ndarray, int, float] | None:
    """The prefill pool's two step shapes as engine rows (decode_seqs, prefill_seqs,
    prefill_tokens, prefill_context, decode_width): a full token-budget step and one prompt's
    own chunk; plus chunks per prompt and prompts per full step. None if the stack cannot split."""
    s = setup
    if not s.stack.capabilities.disaggregation or s.replicas < 2:
        return None
    budget = s.stack.max_num_tokens
    prompt = wl.input_tokens
    if prompt <= budget:
        per_step = float(max(budget // prompt, 1))
        rows = [[0.0, per_step, per_step * prompt, 0.0, 1.0], [0.0, 1.0, float(prompt), 0.0, 1.0]]
        return np.array(rows), 1, per_step
    chunks = -(-prompt // budget)
    chunk, prior = prompt / chunks, (prompt - prompt / chunks) / 2
    return np.array([[0.0, 1.0, chunk, prior, 1.0]] * 2), chunks, 1.0 / chunks


def disaggregated(setup, wl, grid: np.ndarray, results: list[dict], specs, pool: tuple,
                  times: np.ndarray, energies: np.ndarray) -> list[dict] | None:
    """Per speculative setting: total output tokens/s, TPOT, TTFT, power and the pool sizes at
    each decode batch size of `grid` (per decode replica). `pool` is prefill_pool_shapes' answer
    and `times`, `energies` the engine's cost of its two shapes."""
    s = setup
    n_rep = s.replicas
    _, chunks, per_step = pool
    pp = s.plan.pp
    dp = s.plan.attn_dp
    prompt = wl.input_tokens
    t_full, t_one = float(times[0]), float(times[1])
    e_full = float(energies[0])
    # Prompts per second one prefill replica finishes (microbatches keep its pp stages busy; its
    # attention-DP groups each take their own prompts).
    capacity = per_step * dp / t_full
    chip = s.system.chip
    kv_bytes = float(kv_bytes_per_sequence(s.model, s.prec, s.plan, prompt))
    transfer = chip.links.latency_us * 1e-6 + kv_bytes / (chip.links.bandwidth_gb_s * 1e9)
    cpr = s.plan.chips_per_replica
    idle = chip.power.idle_w
    out = []
    for sp, r in zip(specs, results, strict=True):
        t_dec, e_dec, step_dec = r["t_decode"], r["e_decode"], r["step_decode"]
        emit = grid * sp.tokens_per_step / step_dec  # output tokens/s of one decode replica
        need = emit / wl.output_tokens  # prompts/s it consumes
        x = need / capacity
        n_p = np.clip(np.round(n_rep * x / (1 + x)), 1, n_rep - 1)
        n_d = n_rep - n_p
        tput = np.minimum(n_d * emit, n_p * capacity * wl.output_tokens)
        util = np.minimum(tput / wl.output_tokens / (n_p * capacity), 1.0)
        power = cpr * (n_d * e_dec / t_dec + n_p * (util * e_full / t_full + (1 - util) * idle)) \
            + s.system.host_power_w
        ttft = chunks * t_one * pp + util * t_full / 2 + transfer
        tpot = step_dec / sp.tokens_per_step
        out.append({"throughput": tput, "tpot": tpot, "tpot_p50": tpot, "tpot_p99": tpot, "ttft": ttft,
                    "power": power, "prefill_replicas": n_p, "decode_replicas": n_d})
    return out
