"""The discrete-event loop: arrivals, replica steps and KV transfers on one clock.

Requests stream in from any iterator in arrival order (never all held); a router places each
on a replica; each busy replica has one pending event, the end of its current step. With
prefill/decode disaggregation, a finished prefill becomes a transfer event (the KV cache moving
over the links) that lands on a decode replica. Every request either finishes or is counted as
dropped with a reason: nothing is silently lost. Conservation is checked at the end of every
run (arrived = finished + dropped + in flight); work still held when no event is left is dropped
with reason `stalled` (a bug guard: replicas unstick themselves, serving/replica.py).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from jalapeno.engine.fast_step import FastStep
from jalapeno.engine.memory import kv_budget_bytes, kv_bytes_per_sequence
from jalapeno.engine.power import wall_power_w
from jalapeno.engine.predict import Setup, make_setup
from jalapeno.engine.spec_cost import draft_setup, draft_weight_bytes, in_step
from jalapeno.engine.speculative import SpecDecoding, resolve_spec
from jalapeno.errors import DoesNotFitError
from jalapeno.models.config import load_model
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.metrics import Metrics
from jalapeno.serving.replica import Replica, Seq, StepPlan
from jalapeno.serving.router import Router
from jalapeno.serving.trend import second_half, slope
from jalapeno.workloads.request import Request

_STEP, _TRANSFER = 0, 1
_STUCK = {"kv_cache": "could not start even on an empty KV cache (after preemption or with its reservation)",
          "token_budget": "preempted, its prompt plus generated tokens exceed the per-step token budget "
                          "without chunked prefill"}


@dataclass
class SimulationResult:
    metrics: Metrics
    replicas: list[Replica]
    setup: Setup
    config: ServingConfig
    duration_s: float
    kv_blocks_per_replica: int
    wall_s: float = 0.0
    backlog_at_last_arrival: int = 0
    in_flight: int = 0
    trends: dict = field(default_factory=dict)  # queue growth over the second half of the arrivals

    def summary(self) -> dict:
        m = self.metrics
        span = max(m.last_finish_s - (m.first_arrival_s if m.first_arrival_s < float("inf") else 0.0), 1e-12)
        chips_per_replica = self.setup.plan.chips_per_replica
        chips = chips_per_replica * len(self.replicas)
        system = self.setup.system
        busy = sum(r.busy_s for r in self.replicas)
        chips_j = (sum(r.energy_j for r in self.replicas)
                   + system.chip.power.idle_w * chips_per_replica * max(len(self.replicas) * span - busy, 0.0))
        energy = wall_power_w(system, chips_j / span, num_chips=chips) * span
        kv = [r.kv for r in self.replicas]
        lookups = sum(k.lookup_tokens for k in kv)
        return {
            "requests": m.arrived, "finished": m.finished, "dropped": m.dropped, "dropped_reasons": m.dropped_reasons,
            "dropped_details": m.dropped_details, "in_flight": self.in_flight,
            "duration_s": span,
            "ttft_s_mean": m.ttft.mean, "ttft_s_p50": m.ttft.percentile(50), "ttft_s_p90": m.ttft.percentile(90),
            "ttft_s_p99": m.ttft.percentile(99),
            "tpot_s_mean": m.tpot.mean, "tpot_s_p50": m.tpot.percentile(50), "tpot_s_p90": m.tpot.percentile(90),
            "tpot_s_p99": m.tpot.percentile(99),
            "e2e_s_mean": m.e2e.mean, "e2e_s_p50": m.e2e.percentile(50), "e2e_s_p90": m.e2e.percentile(90),
            "e2e_s_p99": m.e2e.percentile(99),
            "output_tokens": m.output_tokens, "input_tokens": m.input_tokens,
            "output_tokens_per_s": m.output_tokens / span, "requests_per_s": m.finished / span,
            "goodput_requests_per_s": m.good / span, "slo_attainment": m.good / m.finished if m.finished else 0.0,
            "prefix_hit_rate": sum(k.hit_tokens for k in kv) / lookups if lookups else 0.0,
            "kv_cache_utilization": (sum(r.kv_block_seconds for r in self.replicas)
                                     / (sum(k.num_blocks for k in kv) * span)),
            "preemptions": sum(r.preemptions for r in self.replicas),
            "chip_utilization": busy / (len(self.replicas) * span),
            "energy_j": energy, "average_power_w": energy / span,
            "output_tokens_per_joule": m.output_tokens / energy if energy else 0.0,
            "steps": sum(r.steps for r in self.replicas), "replicas": len(self.replicas), "chips": chips,
            "kv_blocks_per_replica": self.kv_blocks_per_replica, "wall_s": self.wall_s,
            "backlog_at_last_arrival": self.backlog_at_last_arrival, **self.trends,
        }


def serving_spec(setup: Setup, cfg: ServingConfig) -> SpecDecoding:
    """The scenario's speculative setting resolved by the engine (defaults, model checks)."""
    sp = cfg.speculative
    draft = load_model(sp.draft_model) if sp.method == "draft" and sp.draft_model else None
    return resolve_spec(setup.model, sp.method, sp.num_tokens, sp.acceptance_rate, draft)


def kv_blocks(setup: Setup, block_size: int) -> int:
    """KV-cache blocks one replica holds (the engine's memory model over the block size). A draft
    model's weights share the chips (as engine.predict); if nothing is left for the cache, the
    deployment does not fit."""
    free, _ = kv_budget_bytes(setup.system.chip, setup.stack, setup.model, setup.prec, setup.plan)
    if setup.spec.draft_model is not None:
        draft_w = draft_weight_bytes(setup) * setup.stack.memory_utilization
        if free <= draft_w:
            cap = setup.system.chip.main_memory.capacity_bytes
            raise DoesNotFitError(f"{setup.model.id} with its draft model on {setup.system.chip.id} "
                                  f"({setup.plan.label()})", cap - free + draft_w, cap,
                                  "Use a smaller draft model, more chips (--tp) or a smaller format (--precision).")
        free -= draft_w
    per_block = float(kv_bytes_per_sequence(setup.model, setup.prec, setup.plan, block_size))
    return max(int(free // per_block), 1)


class Simulator:
    def __init__(self, setup: Setup, cfg: ServingConfig, keep_requests: bool = False, timeline: bool = False,
                 progress: Callable[[float, int], None] | None = None, step_model=None, kv_blocks_override=None,
                 explicit_decodes: bool = False):
        """`step_model` (anything with FastStep's `step`, `max_tokens`, `max_seqs`) and
        `kv_blocks_override` replace the engine's, for hand-computable tests; `explicit_decodes`
        selects the per-sequence decode bookkeeping the fast counters are tested against."""
        if cfg.scheduler.kv_reservation == "auto":
            sched = cfg.scheduler.model_copy(update={"kv_reservation": setup.stack.kv_reservation})
            cfg = cfg.model_copy(update={"scheduler": sched})
        self.setup, self.cfg = setup, cfg
        sc = cfg.scheduler
        fast = step_model or FastStep(setup, max_tokens=sc.max_num_batched_tokens + sc.max_num_seqs * 16,
                                      max_seqs=sc.max_num_seqs + 1)
        draft = None
        spec = serving_spec(setup, cfg)
        if spec.enabled and setup.spec != spec:
            setup = replace(setup, spec=spec)
            self.setup = setup
        if spec.draft_model is not None:
            d = draft_setup(setup)
            # The draft passes run inside the target's scheduled step: no host cost of their own.
            free = in_step(setup.stack)
            dsetup = make_setup(d.model, setup.system, d.plan, d.prec.weights, free)
            draft = FastStep(dsetup, max_tokens=sc.max_num_batched_tokens + sc.max_num_seqs + 1,
                             max_seqs=sc.max_num_seqs + 1)
        self.blocks = kv_blocks_override or kv_blocks(setup, sc.block_size)
        dis = cfg.disaggregation
        roles = (["prefill"] * dis.prefill_replicas + ["decode"] * dis.decode_replicas if dis.enabled
                 else ["mixed"] * cfg.replicas)
        self.replicas = [Replica(i, fast, self.blocks, cfg, role, draft, explicit_decodes=explicit_decodes,
                                 acceptance=spec.acceptance if spec.enabled else ())
                         for i, role in enumerate(roles)]
        entry = [r for r in self.replicas if r.role != "decode"]
        self.router = Router(cfg.router, entry)
        self.decode_router = Router("least_outstanding", [r for r in self.replicas if r.role == "decode"])
        self.metrics = Metrics(cfg.slo.ttft_s, cfg.slo.tpot_s, keep_requests, timeline)
        self.progress = progress
        self._kv_token_bytes = float(kv_bytes_per_sequence(setup.model, setup.prec, setup.plan, 1))
        self._events: list = []
        self._tie = itertools.count()
        self._plans: dict[int, StepPlan] = {}
        self._parked: list[Seq] = []  # handed-over sequences waiting for a decode replica's room
        self.backlog = 0
        self.last_arrival_s = 0.0
        # (time, requests waiting, requests in the system) every 16 arrivals: the overload trend
        self.queue_samples: list[tuple[float, int, int]] = []

    def _start(self, rep: Replica, now: float) -> None:
        plan = rep.plan_step()
        if rep.dropped:
            for _, reason in rep.dropped:
                self.metrics.drop(reason, _STUCK.get(reason, ""))
            rep.dropped.clear()
        if plan is None:
            rep.busy = False
            return
        rep.busy = True
        self._plans[rep.index] = plan
        if self.metrics.timeline or self.metrics.timeline_writer is not None:
            self.metrics.span(rep.index, now, plan, len(rep.waiting), rep.kv.private + rep.kv.cached)
        heapq.heappush(self._events, (now + plan.time_s, next(self._tie), _STEP, rep))

    def _transfer_time(self, seq: Seq) -> float:
        dis = self.cfg.disaggregation
        chip = self.setup.system.chip
        bw = (chip.links.bandwidth_gb_s if dis.link == "scale_up" else dis.network_gb_s) * 1e9
        # Every chip of the replica sends its own shard of the cache in parallel.
        return dis.latency_s + seq.ctx * self._kv_token_bytes / bw

    def run(self, requests: Iterable[Request]) -> SimulationResult:
        import time as _time

        wall = _time.perf_counter()
        arrivals = iter(requests)
        nxt = next(arrivals, None)
        now = 0.0
        while nxt is not None or self._events:
            if nxt is not None and (not self._events or nxt.arrival_s <= self._events[0][0]):
                now = nxt.arrival_s
                self._arrive(nxt, now)
                nxt = next(arrivals, None)
                if self.metrics.arrived % 16 == 0 or nxt is None:
                    self._sample_queue(now)
                if nxt is None:  # queue left when arrivals stop: a growing queue means overload
                    self.backlog = sum(len(r.waiting) for r in self.replicas)
                    self.last_arrival_s = now
                continue
            now, _, kind, obj = heapq.heappop(self._events)
            if kind == _STEP:
                self._step_done(obj, now)
            else:
                self._land(obj, now)
        m = self.metrics
        held = sum(r.in_flight for r in self.replicas) + len(self._parked)
        in_flight = held + sum(1 for e in self._events if e[2] == _TRANSFER)
        if m.arrived != m.finished + m.dropped + in_flight:
            raise RuntimeError(f"simulator lost requests: {m.arrived} arrived, {m.finished} finished, "
                               f"{m.dropped} dropped, {in_flight} in flight")
        for _ in self._parked:  # only possible if no decode replica can ever hold them
            m.drop("decode_kv_cache", "no decode replica could hold the transferred KV cache")
        self._parked = []
        for rep in self.replicas:  # bug guard: replicas never idle with work (Replica.plan_step)
            for _ in range(rep.in_flight):
                m.drop("stalled", "left waiting with no event to wake it (a simulator bug)")
        in_flight -= held
        return SimulationResult(self.metrics, self.replicas, self.setup, self.cfg, now, self.blocks,
                                _time.perf_counter() - wall, self.backlog, in_flight, self._trends())

    def _sample_queue(self, now: float) -> None:
        waiting = sum(len(r.waiting) for r in self.replicas)
        held = sum(r.in_flight for r in self.replicas) + len(self._parked)
        self.queue_samples.append((now, waiting, held))

    def _trends(self) -> dict:
        """Growth (requests per second, with standard errors) of the waiting queue and of the
        running batch over the second half of the arrivals: near 0 when the server keeps up,
        positive while it falls behind (or its running batch is still filling)."""
        half = second_half([(t, 0.0) for t, _, _ in self.queue_samples])
        tail = self.queue_samples[len(self.queue_samples) - len(half):]
        w, w_se = slope([(t, q) for t, q, _ in tail])
        r, r_se = slope([(t, h - q) for t, q, h in tail])
        running = sum(h - q for _, q, h in tail) / len(tail) if tail else 0.0
        return {"last_arrival_s": self.last_arrival_s, "waiting_growth_per_s": w, "waiting_growth_se_per_s": w_se,
                "running_growth_per_s": r, "running_growth_se_per_s": r_se, "running_mean": running}

    def _arrive(self, req: Request, now: float) -> None:
        m = self.metrics
        m.arrive(now)
        window = self.setup.model.max_context
        if window and req.input_tokens + max(req.output_tokens, 1) > window:
            m.drop("context_window", f"prompt + output longer than {self.setup.model.id}'s context window "
                                     f"({window} tokens)")
            return
        rep = self.router.pick(req)
        if not rep.fits_ever(req):
            m.drop("kv_cache", "prompt + output longer than the KV cache of one replica "
                               f"({rep.kv.num_blocks * rep.kv.block_size} tokens)")
            return
        if not self.cfg.scheduler.chunked_prefill and req.input_tokens > rep.max_tokens:
            m.drop("token_budget", f"prompt longer than the per-step token budget ({rep.max_tokens}) "
                                   "without chunked prefill")
            return
        rep.enqueue(Seq(req))
        if not rep.busy:
            self._start(rep, now)
        if self.progress and m.arrived % 1000 == 0:
            self.progress(now, m.arrived)

    def _step_done(self, rep: Replica, now: float) -> None:
        plan = self._plans.pop(rep.index)
        finished, handoff = rep.complete_step(plan, now)
        for seq in finished:
            self.metrics.finish(seq, now, rep.index)
        for seq in handoff:
            heapq.heappush(self._events, (now + self._transfer_time(seq), next(self._tie), _TRANSFER, seq))
        self._start(rep, now)
        if finished and self._parked:
            self._retry_parked(now)

    def _land(self, seq: Seq, now: float) -> None:
        rep = self.decode_router.pick(seq.req)
        if rep.adopt(seq):
            if not rep.busy:
                self._start(rep, now)
        else:
            self._parked.append(seq)

    def _retry_parked(self, now: float) -> None:
        parked, self._parked = self._parked, []
        for seq in parked:
            self._land(seq, now)
