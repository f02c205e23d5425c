"""Steady-state serving prediction: throughput, latency, power and energy for a fixed workload.

In-flight batching in steady state: `B` sequences are active on each replica; every step each
produces one token, and the slots freed by finishing requests are refilled, so on average a
step also prefills B * ISL / OSL new prompt tokens (B / OSL new requests). The step's cost comes
from the engine at that mixed shape (decodes at the mean context ISL + OSL/2). B is the
requested concurrency, or, with all requests queued, the largest the KV cache, the stack's batch
cap and its per-step token budget allow. With pipeline parallelism the batch is split into `pp`
microbatches that keep every stage busy, so a token of one sequence takes pp stage times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from jalapeno.engine.memory import kv_budget_bytes, kv_bytes_per_sequence
from jalapeno.engine.power import wall_power_w
from jalapeno.engine.step import step_cost
from jalapeno.errors import DoesNotFitError, JalapenoError
from jalapeno.formats import Precision, precision_for
from jalapeno.hardware.spec import SystemSpec
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
    output_tokens_per_s: float
    output_tokens_per_s_per_chip: float
    output_tokens_per_s_per_user: float
    ttft_s: float
    tpot_s: float
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

    @property
    def topology(self):
        return self.system.effective_topology

    @property
    def replicas(self) -> int:
        return self.system.num_chips // self.plan.chips_per_replica


def make_setup(model: ModelSpec, system: SystemSpec, plan: ParallelPlan | None = None,
               precision: str | None = None, stack: StackProfile | None = None) -> Setup:
    chip = system.chip
    plan = plan or ParallelPlan(tp=min(system.num_chips, system.scale_up_chips))
    plan.check(model, system.num_chips, system.scale_up_chips)
    prec = precision_for(precision or model.native_format, chip.native_formats())
    return Setup(model, system, plan, prec, stack or load_stack(chip.software_stack))


def max_batch(setup: Setup, wl: Workload) -> tuple[int, str, float, float]:
    """(largest batch per replica, what limits it, KV bytes per chip available, weight bytes per chip)."""
    s = setup
    kv_free, weights = kv_budget_bytes(s.system.chip, s.stack, s.model, s.prec, s.plan)
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
        "token budget": int(s.stack.max_num_tokens * wl.output_tokens
                            / (wl.input_tokens / wl.beams + wl.output_tokens)),
    }
    limits["token budget"] = max(limits["token budget"], 1)
    # With pp microbatches in flight, each stage's microbatch is B/pp; the caps apply to the whole batch.
    name = min(limits, key=limits.get)
    # Each attention data-parallel group is an engine rank with its own cache and limits.
    return max(limits[name], 1) * s.plan.attn_dp, name, kv_free, weights


def evaluate(setup: Setup, wl: Workload, batch_per_replica) -> dict[str, np.ndarray]:
    """Steady-state figures for an array of per-replica batch sizes."""
    s = setup
    B = np.atleast_1d(np.asarray(batch_per_replica, dtype=float))
    pp = s.plan.pp
    micro = B / pp / s.plan.attn_dp  # one attention group's share of one microbatch
    ratio = wl.input_tokens / wl.output_tokens / wl.beams
    batch = Batch.of(decode_seqs=micro, decode_context=wl.input_tokens + wl.output_tokens / 2,
                     prefill_seqs=micro / wl.output_tokens, prefill_tokens=micro * ratio, prefill_context=0)
    cost = step_cost(s.model, s.system.chip, s.stack, s.prec, s.plan, batch, s.topology)
    tpot = cost.time_s * pp
    tput = s.replicas * B / tpot
    chips = s.system.num_chips
    power = wall_power_w(s.system, chips * cost.energy_j / cost.time_s)
    # First token: the prompt is prefilled within the per-step token budget left by the decodes.
    prefill_room = np.maximum(s.stack.max_num_tokens - micro, 1.0)  # per engine rank
    steps_to_first = np.ceil(wl.input_tokens / prefill_room)
    ttft = steps_to_first * tpot
    return {"B": B, "tpot": tpot, "throughput": tput, "power": power, "ttft": ttft, "cost": cost}


def predict(model: ModelSpec, system: SystemSpec, wl: Workload, plan: ParallelPlan | None = None,
            precision: str | None = None, concurrency: int | None = None,
            stack: StackProfile | None = None) -> Prediction:
    setup = make_setup(model, system, plan, precision, stack)
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
    cost = r["cost"]
    tput = float(r["throughput"][0])
    chips = setup.system.num_chips
    kv_used = float(kv_bytes_per_sequence(setup.model, setup.prec, setup.plan,
                                          wl.input_tokens + wl.output_tokens / 2)) * b / setup.plan.attn_dp
    power = float(r["power"][0])
    return Prediction(
        model=setup.model.id, chip=setup.system.chip.id, chips=chips, layout=setup.plan.label(),
        precision=setup.prec.weights, software_stack=setup.stack.id, input_tokens=wl.input_tokens,
        output_tokens=wl.output_tokens, concurrency=b * setup.replicas,
        output_tokens_per_s=tput, output_tokens_per_s_per_chip=tput / chips,
        output_tokens_per_s_per_user=1.0 / float(r["tpot"][0]), ttft_s=float(r["ttft"][0]),
        tpot_s=float(r["tpot"][0]), power_w=power, output_tokens_per_joule=tput / power,
        weights_bytes_per_chip=weights, kv_cache_bytes_per_chip=min(kv_used, kv_free),
        bound=cost.bound()[0], batch_limited_by=limit, power_capped=bool(cost.power_capped[0]),
    )


def batch_grid(b_max: int) -> np.ndarray:
    """Batch sizes to sweep: every size up to 16, then about 24 per doubling, up to b_max."""
    small = np.arange(1, min(b_max, 16) + 1)
    if b_max <= 16:
        return small.astype(float)
    big = np.unique(np.round(np.geomspace(16, b_max, int(np.log2(b_max / 16) * 24) + 2)))
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
