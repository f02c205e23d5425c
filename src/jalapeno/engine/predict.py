"""Steady-state serving prediction: throughput, latency, power and energy for a fixed workload.

In-flight batching in steady state: `B` sequences are active on each replica; every step each
gains E tokens (1, or the expected tokens per step of speculative decoding), and the slots freed
by finishing requests are refilled, so on average a step also prefills B * E * ISL / OSL new
prompt tokens. Those prompt tokens are not spread over every step: as the schedulers do
(chunked prefill within a per-step token budget), a new prompt runs in ceil(ISL / room) chunks,
room being the budget the decodes leave, so a fraction f of the steps carries a prompt chunk
together with the decodes and the rest decode only. Both kinds of step are costed by the engine
(decodes at the mean context ISL + OSL/2, chunks at their mean prior context):
- throughput and the mean time per output token follow from the mean step, f * t_chunk + (1 - f) * t_decode;
- TPOT p50 and p99 are the inter-token gaps of the step most users see and of the step carrying
  a prompt chunk (the worst gap co-batched users see);
- TTFT is the prompt's own chunk steps, plus the rest of the step in flight when it arrives
  (queueing for a slot is excluded: B is the concurrency).
B is the requested concurrency, or, with all requests queued, the largest the KV cache, the
stack's batch cap and its per-step token budget allow. With pipeline parallelism the batch is
split into `pp` microbatches that keep every stage busy, so a token of one sequence takes pp
stage times. Speculative decoding (engine/speculative.py) adds the k draft passes to each step
and verifies k + 1 tokens per sequence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from jalapeno.engine.memory import kv_budget_bytes, kv_bytes_per_sequence
from jalapeno.engine.power import wall_power_w
from jalapeno.engine.spec_cost import draft_setup, draft_step_cost, draft_weight_bytes
from jalapeno.engine.speculative import NO_SPEC, SpecDecoding
from jalapeno.engine.step import step_cost
from jalapeno.errors import DoesNotFitError, JalapenoError
from jalapeno.formats import Precision, precision_for
from jalapeno.hardware.spec import SystemSpec
from jalapeno.kernels.execution import pipeline_time
from jalapeno.models.lowering import Batch
from jalapeno.models.spec import ModelSpec
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile, load_stack


@dataclass(frozen=True)
class Workload:
    """Fixed prompt and output lengths. With beam search (`beams` > 1) every request decodes
    `beams` sequences that share one prefill of the prompt; throughput counts all of them."""

    input_tokens: int
    output_tokens: int
    beams: int = 1

    def __post_init__(self):
        if self.input_tokens < 1 or self.output_tokens < 1:
            raise JalapenoError("--input-tokens and --output-tokens must be at least 1")


@dataclass
class Prediction:
    model: str
    chip: str
    chips: int
    layout: str
    precision: str
    software_stack: str
    input_tokens: int
    output_tokens: int
    concurrency: int
    replicas: int
    speculative: str
    tokens_per_step: float
    output_tokens_per_s: float
    output_tokens_per_s_per_chip: float
    output_tokens_per_s_per_user: float
    ttft_s: float
    tpot_s: float
    tpot_p50_s: float
    tpot_p99_s: float
    prefill_steps_per_prompt: int
    prefill_step_fraction: float
    power_w: float
    output_tokens_per_joule: float
    weights_bytes_per_chip: float
    kv_cache_bytes_per_chip: float
    bound: str
    batch_limited_by: str
    power_capped: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Setup:
    """Everything fixed for one (model, system, layout, precision): shared by all batch sizes."""

    model: ModelSpec
    system: SystemSpec
    plan: ParallelPlan
    prec: Precision
    stack: StackProfile
    spec: SpecDecoding = NO_SPEC

    @property
    def topology(self):
        return self.system.effective_topology

    @property
    def replicas(self) -> int:
        return self.system.num_chips // self.plan.chips_per_replica


def make_setup(model: ModelSpec, system: SystemSpec, plan: ParallelPlan | None = None,
               precision: str | None = None, stack: StackProfile | None = None,
               spec: SpecDecoding | None = None) -> Setup:
    chip = system.chip
    plan = plan or ParallelPlan(tp=min(system.num_chips, system.scale_up_chips))
    plan.check(model, system.num_chips, system.scale_up_chips)
    stack = stack or load_stack(chip.software_stack)
    name = precision or model.native_format
    # The checkpoint's own storage and bf16 modules apply when it runs at its native precision.
    native = name == model.native_format
    storage = model.quant_storage if native else ""
    act4 = stack.capabilities.mxfp4_activations if storage == "mxfp4" else "fp4"
    prec = precision_for(name, chip.native_formats(), storage, model.bf16_modules if native else frozenset(), act4)
    return Setup(model, system, plan, prec, stack, spec or NO_SPEC)


def max_batch(setup: Setup, wl: Workload) -> tuple[int, str, float, float]:
    """(largest batch per replica, what limits it, KV bytes per chip available, weight bytes per chip)."""
    s = setup
    kv_free, weights = kv_budget_bytes(s.system.chip, s.stack, s.model, s.prec, s.plan)
    if s.spec.draft_model is not None:  # the draft's weights share the chips
        extra = draft_weight_bytes(s)
        weights += extra
        kv_free -= extra * s.stack.memory_utilization
    # Beams of one request share the prompt's KV blocks; each holds its own generated tokens.
    prompt = wl.input_tokens / wl.beams
    held = prompt + (wl.output_tokens if s.stack.kv_reservation == "full" else wl.output_tokens / 2)
    per_seq = float(kv_bytes_per_sequence(s.model, s.prec, s.plan, held))
    full_seq = float(kv_bytes_per_sequence(s.model, s.prec, s.plan, prompt + wl.output_tokens))
    if full_seq > kv_free:
        raise DoesNotFitError(f"one {wl.input_tokens}+{wl.output_tokens}-token sequence of {s.model.id} "
                              f"on {s.system.chip.id} with {s.plan.label()}", full_seq + weights, kv_free + weights,
                              "Use more chips, a smaller format or shorter sequences.")
    limits = {
        "kv-cache capacity": int(kv_free // per_seq),
        "max batch size": s.stack.max_batch_size,
        # Each sequence's verified tokens plus its share of new prompt tokens fit the step budget.
        "token budget": int(s.stack.max_num_tokens
                            / (s.spec.width + s.spec.tokens_per_step * wl.input_tokens / wl.beams / wl.output_tokens)),
    }
    limits["token budget"] = max(limits["token budget"], 1)
    # With pp microbatches in flight, each stage's microbatch is B/pp; the caps apply to the whole batch.
    name = min(limits, key=lambda k: limits[k])
    # Each attention data-parallel group is an engine rank with its own cache and limits.
    return max(limits[name], 1) * s.plan.attn_dp, name, kv_free, weights


def evaluate(setup: Setup, wl: Workload, batch_per_replica) -> dict[str, np.ndarray]:
    """Steady-state figures for an array of per-replica batch sizes (one engine pass for all)."""
    return evaluate_specs(setup, wl, batch_per_replica, [setup.spec])[0]


def _shapes(setup: Setup, wl: Workload, B: np.ndarray, spec: SpecDecoding) -> dict:
    """The three step shapes of one speculative setting at each batch size: decode only, the
    mean step that carries prompt tokens, and a step carrying exactly one chunk."""
    s = setup
    micro = B / s.plan.pp / s.plan.attn_dp  # one attention group's share of one microbatch
    gain = spec.tokens_per_step  # tokens per sequence per step
    prompt = wl.input_tokens / wl.beams  # prompt tokens per sequence (beams share one prefill)
    new_prompts = micro * gain / wl.output_tokens  # sequences started per step
    room = np.maximum(s.stack.max_num_tokens - micro * spec.width, 1.0)  # budget the decodes leave
    chunks = np.ceil(wl.input_tokens / room)  # steps a whole prompt takes
    chunk = wl.input_tokens / chunks
    frac = np.maximum(np.minimum(new_prompts / wl.beams * chunks, 1.0), 1e-12)  # steps carrying a chunk
    per_carrying = new_prompts * prompt / frac  # prompt tokens in a step that carries any
    zero = np.zeros(B.size)
    prior = (wl.input_tokens - chunk) / 2
    return {"micro": micro, "gain": gain, "prompt": prompt, "new_prompts": new_prompts, "room": room,
            "chunks": chunks, "chunk": chunk, "frac": frac,
            "decode_seqs": np.concatenate([micro, micro, micro]),
            "prefill_seqs": np.concatenate([zero, np.maximum(per_carrying / chunk, 1.0), zero + 1.0]),
            "prefill_tokens": np.concatenate([zero, per_carrying, chunk + zero]),
            "prefill_context": np.concatenate([zero, prior, prior]),
            "decode_width": np.full(3 * B.size, float(spec.width))}


_BATCH_KEYS = ("decode_seqs", "prefill_seqs", "prefill_tokens", "prefill_context", "decode_width")


def evaluate_specs(setup: Setup, wl: Workload, batch_per_replica, specs: list[SpecDecoding]) -> list[dict]:
    """`evaluate` for several speculative settings of one layout: the target's steps of all of them
    in one engine pass, and one pass per draft."""
    return evaluate_with_extra(setup, wl, batch_per_replica, specs)[0]


def evaluate_with_extra(setup: Setup, wl: Workload, batch_per_replica, specs: list[SpecDecoding],
                        extra: np.ndarray | None = None) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """`evaluate_specs`, also costing `extra` step shapes (rows of decode_seqs, prefill_seqs,
    prefill_tokens, prefill_context, decode_width) in the same engine pass: (results, their
    times, their energies)."""
    s = setup
    B = np.atleast_1d(np.asarray(batch_per_replica, dtype=float))
    n = B.size
    ctx = wl.input_tokens + wl.output_tokens / 2
    shapes = [_shapes(s, wl, B, sp) for sp in specs]
    # Each distinct step shape is costed once (with few prompts in flight, the mean step that
    # carries a chunk is the one-chunk step).
    rows = np.stack([np.concatenate([sh[k] for sh in shapes]) for k in _BATCH_KEYS], axis=1)
    n_rows = rows.shape[0]
    if extra is not None:
        rows = np.concatenate([rows, np.atleast_2d(extra)])
    uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    batch = Batch.of(decode_context=ctx, **{k: uniq[:, j] for j, k in enumerate(_BATCH_KEYS)})
    unique_cost = step_cost(s.model, s.system.chip, s.stack, s.prec, s.plan, batch, s.topology)
    cost = _Expanded(unique_cost, inverse)
    bounds = cost.bounds
    out = []
    for i, (sp, sh) in enumerate(zip(specs, shapes, strict=True)):
        lo = 3 * n * i
        time, energy = cost.time_s[lo:lo + 3 * n], cost.energy_j[lo:lo + 3 * n]
        if sp.draft_model is not None:
            dset = replace(s, spec=sp)
            d = draft_step_cost(draft_setup(dset), Batch.of(decode_context=ctx, **{k: sh[k] for k in _BATCH_KEYS}),
                                sp.tokens)
            time, energy = time + d.time_s, energy + d.energy_j
        r = _steady(s, B, sh, time, energy)
        r["flops"] = sh["frac"] * cost.flops[lo + n:lo + 2 * n] + (1 - sh["frac"]) * cost.flops[lo:lo + n]
        r["hbm_bytes"] = sh["frac"] * cost.hbm_bytes[lo + n:lo + 2 * n] + (1 - sh["frac"]) * cost.hbm_bytes[lo:lo + n]
        r["bound"] = bounds[lo:lo + n]
        r["power_capped"] = cost.power_capped[lo:lo + n] | cost.power_capped[lo + n:lo + 2 * n]
        out.append(r)
    return out, cost.time_s[n_rows:], cost.energy_j[n_rows:]


class _Expanded:
    """A StepCost of distinct shapes, read back at every requested shape."""

    def __init__(self, c, inverse: np.ndarray):
        self.time_s, self.energy_j = c.time_s[inverse], c.energy_j[inverse]
        self.flops, self.hbm_bytes = c.flops[inverse], c.hbm_bytes[inverse]
        self.power_capped = c.power_capped[inverse]
        names = c.bound()
        self.bounds = [names[i] for i in inverse]


def _steady(s: Setup, B: np.ndarray, sh: dict, time: np.ndarray, energy: np.ndarray) -> dict:
    n = B.size
    pp, gain, frac = s.plan.pp, sh["gain"], sh["frac"]
    t_dec, t_pre, t_one = time[:n], time[n:2 * n], time[2 * n:]
    t_mean = frac * t_pre + (1 - frac) * t_dec
    e_mean = frac * energy[n:2 * n] + (1 - frac) * energy[:n]
    # A replica step through the pipeline's stages (the host schedules once per microbatch).
    host, fill = s.stack.host_step_s, np.minimum(B / pp, 1.0)

    def through(t):
        return pipeline_time(t, pp, host, fill, mx=np.maximum)

    step_dec, step_pre = through(t_dec), through(t_pre)
    step_mean = frac * step_pre + (1 - frac) * step_dec
    tpot = step_mean / gain
    tput = s.replicas * B * gain / step_mean
    chips = s.system.num_chips
    power = wall_power_w(s.system, chips * e_mean / t_mean)
    # A random arrival lands in a step of size-biased length E[t^2] / E[t] and waits for the rest
    # of it (half, on average); with B requests in flight on average, it finds the replica busy
    # with probability 1 - exp(-B) (requests in flight are Poisson-distributed in an open system).
    biased = (frac * t_pre ** 2 + (1 - frac) * t_dec ** 2) / t_mean
    residual = biased / 2 * (1 - np.exp(-B))
    # Its first chunk shares the next step with the prompt tokens that arrived during that step
    # (prompt tokens arrive at P per mean step), within the room the decodes leave; a step's cost
    # is close to linear in the number of co-batched chunks.
    chunk = sh["chunk"]
    others = np.minimum(sh["new_prompts"] * sh["prompt"] * biased / t_mean, np.maximum(sh["room"] - chunk, 0.0))
    t_mine = np.maximum(t_one + others / chunk * (t_one - t_dec), t_pre)
    step_mine = through(t_mine)
    ttft = residual + sh["chunks"] * step_mine
    # Inter-token gaps: the decode-only step most users see, and a step carrying a chunk.
    p50 = np.where(frac < 0.5, step_dec, step_pre) / gain
    p99 = np.where(frac > 0.01, step_mine, step_dec) / gain
    return {"B": B, "tpot": tpot, "tpot_p50": p50, "tpot_p99": p99, "throughput": tput, "power": power,
            "ttft": ttft, "chunks": sh["chunks"], "prefill_fraction": np.minimum(frac, 1.0),
            "t_decode": t_dec, "step_decode": step_dec, "e_decode": energy[:n]}


def predict(model: ModelSpec, system: SystemSpec, wl: Workload, plan: ParallelPlan | None = None,
            precision: str | None = None, concurrency: int | None = None,
            stack: StackProfile | None = None, spec: SpecDecoding | None = None) -> Prediction:
    setup = make_setup(model, system, plan, precision, stack, spec)
    b_max, limit, kv_free, weights = max_batch(setup, wl)
    if concurrency is not None:
        if concurrency < 1:
            raise JalapenoError("--concurrency must be at least 1")
        per_replica = -(-concurrency // setup.replicas)
        if per_replica > b_max:
            limit = f"{limit} (asked {concurrency}, capped)"
        else:
            limit = "requested concurrency"
        b = min(per_replica, b_max)
    else:
        b = b_max
    return _prediction(setup, wl, b, limit, kv_free, weights)


def _prediction(setup: Setup, wl: Workload, b: int, limit: str, kv_free: float, weights: float) -> Prediction:
    r = evaluate(setup, wl, [b])
    tput = float(r["throughput"][0])
    chips = setup.system.num_chips
    kv_used = float(kv_bytes_per_sequence(setup.model, setup.prec, setup.plan,
                                          wl.input_tokens + wl.output_tokens / 2)) * b / setup.plan.attn_dp
    power = float(r["power"][0])
    tpot = float(r["tpot"][0])
    return Prediction(
        model=setup.model.id, chip=setup.system.chip.id, chips=chips, layout=setup.plan.label(),
        precision=setup.prec.label(), software_stack=setup.stack.id, input_tokens=wl.input_tokens,
        output_tokens=wl.output_tokens, concurrency=b * setup.replicas, replicas=setup.replicas,
        speculative=setup.spec.label(), tokens_per_step=setup.spec.tokens_per_step,
        output_tokens_per_s=tput, output_tokens_per_s_per_chip=tput / chips,
        output_tokens_per_s_per_user=1.0 / tpot, ttft_s=float(r["ttft"][0]), tpot_s=tpot,
        tpot_p50_s=float(r["tpot_p50"][0]), tpot_p99_s=float(r["tpot_p99"][0]),
        prefill_steps_per_prompt=int(r["chunks"][0]), prefill_step_fraction=float(r["prefill_fraction"][0]),
        power_w=power, output_tokens_per_joule=tput / power,
        weights_bytes_per_chip=weights, kv_cache_bytes_per_chip=min(kv_used, kv_free),
        bound=r["bound"][0], batch_limited_by=limit, power_capped=bool(r["power_capped"][0]),
    )


def batch_grid(b_max: int, per_doubling: int = 24) -> np.ndarray:
    """Batch sizes to sweep: every size up to 16 (8 on a coarse grid), then `per_doubling` per
    doubling, up to b_max."""
    dense = 16 if per_doubling >= 16 else 8
    small = np.arange(1, min(b_max, dense) + 1)
    if b_max <= dense:
        return small.astype(float)
    big = np.unique(np.round(np.geomspace(dense, b_max, int(np.log2(b_max / dense) * per_doubling) + 2)))
    return np.unique(np.concatenate([small, big])).astype(float)


def best_under_user_rate(setup: Setup, wl: Workload, min_user_tokens_per_s: float | None) -> Prediction | None:
    """The highest-throughput batch size whose per-user rate (1 / TPOT) meets the bound, or None."""
    b_max, limit, kv_free, weights = max_batch(setup, wl)
    grid = batch_grid(b_max)
    r = evaluate(setup, wl, grid)
    ok = np.ones(grid.shape, dtype=bool) if not min_user_tokens_per_s else (1.0 / r["tpot"] >= min_user_tokens_per_s)
    if not ok.any():
        return None
    i = int(np.argmax(np.where(ok, r["throughput"], -1.0)))
    b = int(grid[i])
    why = limit if b == b_max else "per-user rate bound"
    return _prediction(setup, wl, b, why, kv_free, weights)
