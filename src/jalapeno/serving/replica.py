"""One model replica: continuous batching over a paged KV cache.

Each step the scheduler (vLLM-style, chunked prefill):
1. gives every decoding sequence its next token slot (k+1 slots when verifying speculative
   drafts), preempting the most recently admitted sequence (recompute) when blocks run out;
2. continues unfinished prefills, then admits waiting requests, within the step's token budget
   and the cap on running sequences; a request whose prompt starts with cached prefix blocks
   skips their compute;
3. asks the engine's FastStep for the step's time and energy.
When the step ends, decodes emit tokens and finished prefills emit their first token.

A waiting request pins the cached prefix blocks it matches only once it is admitted: a queue of
matched-but-waiting requests would otherwise hold the cache they wait for. A replica never goes
idle with work it could still do: if a step would carry nothing while sequences wait or run (no
memory will ever be freed by the running ones), the most recently admitted running sequence is
preempted, and a waiting request that cannot start even on an empty cache is dropped with a
reason (`dropped`, drained by the simulator). Nothing is left waiting for an event that never comes.
"""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np

from jalapeno.engine.fast_step import FastStep
from jalapeno.engine.speculative import sample_accepted
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.decoding import ExplicitDecodes, LockstepDecodes
from jalapeno.serving.kv_cache import KVCache
from jalapeno.workloads.request import BLOCK_TOKENS, Request


class Seq:
    __slots__ = ("req", "target", "to_prefill", "prefilled", "ctx", "generated", "blocks", "shared_tokens",
                 "pinned", "first_token_s", "preemptions", "matched", "order", "t0", "epoch")

    def __init__(self, req: Request):
        self.req = req
        self.target = max(req.output_tokens, 1)
        self.to_prefill = req.input_tokens
        self.prefilled = 0
        self.ctx = 0
        self.generated = 0
        self.blocks = 0
        self.shared_tokens = 0
        self.pinned: tuple[int, ...] = ()
        self.first_token_s = -1.0
        self.preemptions = 0
        self.matched = False
        self.order = -1  # admission order among the replica's running sequences
        self.t0 = -1  # step at which it started decoding (-1: not decoding); see serving/decoding.py
        self.epoch = 0  # bumped each time it starts decoding (invalidates stale heap entries)


class StepPlan:
    __slots__ = ("n_decodes", "chunks", "time_s", "energy_j", "tick")

    def __init__(self, n_decodes, chunks, time_s, energy_j, tick):
        self.tick = tick  # the decode tick (serving/decoding.py) if the step decodes, else -1
        self.n_decodes = n_decodes
        self.chunks = chunks
        self.time_s = time_s
        self.energy_j = energy_j


class Replica:
    def __init__(self, index: int, fast: FastStep, kv_blocks: int, cfg: ServingConfig, role: str = "mixed",
                 draft: FastStep | None = None, explicit_decodes: bool = False, acceptance: tuple[float, ...] = ()):
        """`explicit_decodes` keeps per-sequence decode bookkeeping even without speculation (the
        reference the counter-based tracker is tested against)."""
        self.index = index
        self.fast = fast
        self.cfg = cfg
        sc = cfg.scheduler
        self.kv = KVCache(kv_blocks, sc.block_size, sc.prefix_caching)
        self.role = role  # mixed | prefill | decode
        self.draft = draft
        self.rng = np.random.default_rng(cfg.seed + index)
        self.waiting: deque[Seq] = deque()
        self.running: dict[Seq, None] = {}  # admission order (dicts keep it; O(1) removal)
        self.prefilling: list[Seq] = []  # running sequences still prefilling, admission order
        # Per-position acceptance of the drafted tokens (the engine's resolved setting).
        self.acceptance = tuple(acceptance)
        self.spec_k = len(self.acceptance)
        tracker = ExplicitDecodes if (self.spec_k or explicit_decodes) else LockstepDecodes
        self.decoding = tracker(sc.block_size)
        self._admitted = itertools.count()
        self.busy = False
        self.busy_s = 0.0
        self.energy_j = 0.0
        self.steps = 0
        self.dticks = 0  # steps that decoded (the clock of the decode tracker)
        self.preemptions = 0
        self.outstanding_tokens = 0
        self.kv_block_seconds = 0.0
        self.max_tokens = min(sc.max_num_batched_tokens, fast.max_tokens)
        # A step holds every running sequence's decode tokens (vLLM likewise requires the token
        # budget to cover max_num_seqs), so the cap on running sequences never exceeds it.
        self.max_seqs = max(1, min(sc.max_num_seqs, self.max_tokens // (1 + self.spec_k)))
        self.reserve_full = sc.kv_reservation == "full"
        self.max_new_tokens = sc.max_new_tokens or 0
        self.mixed = sc.mixed_batches
        self.dropped: list[tuple[Seq, str]] = []  # (sequence, reason key) dropped here, for the simulator
        self.stalls = 0  # steps that would have carried nothing while work waited (resolved)

    @property
    def in_flight(self) -> int:
        """Requests this replica holds (waiting or running)."""
        return len(self.waiting) + len(self.running)

    # --- admission -------------------------------------------------------------------------
    def fits_ever(self, req: Request) -> bool:
        return self.kv.blocks_for(req.input_tokens + max(req.output_tokens, 1)) <= self.kv.num_blocks

    def enqueue(self, seq: Seq) -> None:
        self.waiting.append(seq)
        self.outstanding_tokens += seq.to_prefill - seq.prefilled + seq.target - seq.generated

    def _admit(self, seq: Seq) -> None:
        seq.order = next(self._admitted)
        self.running[seq] = None

    def _grow(self, seq: Seq, new_ctx: int) -> bool:
        need = self.kv.blocks_for(max(new_ctx - seq.shared_tokens, 0)) - seq.blocks
        if need <= 0:
            return True
        if not self.kv.allocate(need):
            return False
        seq.blocks += need
        return True

    def _free(self, seq: Seq) -> None:
        self.kv.release(seq.blocks)
        seq.blocks = 0
        self.kv.unpin(seq.pinned)
        seq.pinned = ()
        seq.shared_tokens = 0

    def _retire(self, seq: Seq, t: int) -> None:
        """Take `seq` out of the running set as of step t's start."""
        del self.running[seq]
        if seq.t0 >= 0:
            self.decoding.leave(seq, t)
        elif seq.prefilled < seq.to_prefill:
            self.prefilling.remove(seq)
        self._free(seq)

    def _preempt(self, victim: Seq, t: int) -> None:
        self._retire(victim, t)
        victim.to_prefill = victim.req.input_tokens + victim.generated
        victim.prefilled = 0
        victim.ctx = 0
        victim.matched = False
        victim.preemptions += 1
        self.preemptions += 1
        self.waiting.appendleft(victim)

    # --- one step --------------------------------------------------------------------------
    def plan_step(self) -> StepPlan | None:
        """The next step, or None when the replica holds no work. Work that cannot progress (an
        empty step while sequences wait or run) is unstuck: see the module docstring."""
        plan = self._plan_step()
        while plan is None and (self.waiting or self.running):
            self.stalls += 1
            self._unstick()
            plan = self._plan_step()
        return plan

    def _unstick(self) -> None:
        """Free the memory a stuck replica holds: preempt the newest running sequence, or drop the
        head of the queue if it cannot start alone (each call removes one obstacle, so it ends)."""
        if self.running:
            self._preempt(next(reversed(self.running)), self.dticks)
            return
        seq = self.waiting.popleft()
        self._unmatch(seq)
        self.outstanding_tokens -= seq.to_prefill - seq.prefilled + seq.target - seq.generated
        budget_short = not self.cfg.scheduler.chunked_prefill and seq.to_prefill > self.max_tokens
        self.dropped.append((seq, "token_budget" if budget_short else "kv_cache"))

    def _plan_step(self) -> StepPlan | None:
        per_seq = 1 + self.spec_k
        if not self.mixed and (self.prefilling or self.waiting):
            chunks = self._prefill_chunks(self.max_tokens)  # prompts first, alone
            if chunks:
                return self._plan(0, chunks, per_seq, -1)
        t = self.dticks  # this step's decode tick, if it decodes
        dec = self.decoding
        # 1. Decodes whose blocks are full grow by a block, preempting the most recently admitted
        #    sequence (possibly themselves) while there is no room.
        for seq in dec.needing_blocks(t, per_seq):
            if seq.t0 < 0:
                continue  # preempted earlier in this loop
            new_ctx = dec.ctx(seq, t) + per_seq
            while not self._grow(seq, new_ctx):
                victim = next(reversed(self.running))
                if victim is seq:
                    break
                self._preempt(victim, t)
            else:
                dec.grown(seq, t)
                continue
            self._preempt(seq, t)  # no room even alone: wait for memory
        n_dec = len(dec)
        # 2. Unfinished prefills continue, then waiting requests are admitted, within the budget.
        chunks = self._prefill_chunks(self.max_tokens - n_dec * per_seq) if self.mixed else []
        if n_dec:
            self.dticks += 1
        return self._plan(n_dec, chunks, per_seq, t)

    def _prefill_chunks(self, budget: int) -> list[tuple[Seq, int]]:
        sc = self.cfg.scheduler
        chunks: list[tuple[Seq, int]] = []
        for seq in self.prefilling:
            if budget <= 0:
                break
            c = self._chunk(seq, budget, sc.chunked_prefill)
            if c and self._grow(seq, seq.ctx + c):
                chunks.append((seq, c))
                budget -= c
        # (On a decode replica the queue holds only preempted sequences, recomputed here.)
        while self.waiting and budget > 0 and len(self.running) < self.max_seqs:
            seq = self.waiting[0]
            if not seq.matched:
                self._match_prefix(seq)
            c = self._chunk(seq, budget, sc.chunked_prefill)
            if not c or not self._grow(seq, max(self._reserve(seq), seq.ctx + c)):
                self._unmatch(seq)  # it waits without pinning the cache it waits for
                break
            self.waiting.popleft()
            self._admit(seq)
            self.prefilling.append(seq)
            chunks.append((seq, c))
            budget -= c
        return chunks

    def _reserve(self, seq: Seq) -> int:
        """Context the KV cache holds for `seq` at admission: with full reservation its prompt plus
        the output it declares (capped at the whole cache), else nothing beyond the first chunk."""
        if not self.reserve_full:
            return 0
        declared = max(seq.target, self.max_new_tokens)
        # Capped at the whole cache, counting the shared prefix blocks it holds as part of it.
        return min(seq.req.input_tokens + declared, self.kv.num_blocks * self.kv.block_size)

    def _plan(self, n_dec: int, chunks: list[tuple[Seq, int]], per_seq: int, tick: int) -> StepPlan | None:
        if not n_dec and not chunks:
            return None
        ctx_sum = float(self.decoding.context_sum(tick)) if n_dec else 0.0
        est = self.fast.step(n_dec, ctx_sum, [(c, s.ctx) for s, c in chunks], per_seq)
        time_s, energy = est.time_s, est.energy_j
        if self.spec_k and self.draft is not None and (n_dec or chunks):
            # k draft passes for the decoding sequences; the first also takes the prompt chunks
            # (the draft keeps its own KV cache of the prompt), as engine/spec_cost.py costs them.
            for i in range(self.spec_k if n_dec else 1):
                d = self.draft.step(n_dec, ctx_sum + i * n_dec, [(c, s.ctx) for s, c in chunks] if i == 0 else [], 1)
                time_s += d.time_s
                energy += d.energy_j
        return StepPlan(n_dec, chunks, time_s, energy, tick)

    def _chunk(self, seq: Seq, budget: int, chunked: bool) -> int:
        remaining = seq.to_prefill - seq.prefilled
        if remaining <= budget:
            return remaining
        return budget if chunked else 0

    def _unmatch(self, seq: Seq) -> None:
        """Undo a waiting sequence's prefix match (pins and hit statistics); it matches again when
        it is next at the head of the queue."""
        if not seq.matched:
            return
        seq.matched = False
        self.kv.lookup_tokens -= seq.to_prefill
        if seq.pinned:
            self.kv.unpin(seq.pinned)
            self.kv.hit_tokens -= len(seq.pinned) * BLOCK_TOKENS
            seq.pinned = ()
            seq.prefilled = seq.ctx = seq.shared_tokens = 0

    def _match_prefix(self, seq: Seq) -> None:
        seq.matched = True
        hashes = seq.req.prefix_hashes
        if not hashes or not self.kv.prefix_caching:
            self.kv.lookup_tokens += seq.to_prefill
            return
        n = self.kv.match(hashes, seq.to_prefill)
        if n:
            seq.pinned = hashes[:n]
            seq.shared_tokens = n * BLOCK_TOKENS
            seq.prefilled = seq.ctx = seq.shared_tokens

    def complete_step(self, plan: StepPlan, now: float) -> tuple[list[Seq], list[Seq]]:
        """Apply a finished step at time `now`: (finished sequences, prefills done on a prefill-only
        replica, to hand over to a decode replica)."""
        t = plan.tick
        self.steps += 1
        self.busy_s += plan.time_s
        self.energy_j += plan.energy_j
        self.kv_block_seconds += (self.kv.private + self.kv.cached) * plan.time_s
        handoff: list[Seq] = []
        if plan.n_decodes:
            finished, emitted = self.decoding.advance(t, plan.n_decodes, self._accepted if self.spec_k else None)
            self.outstanding_tokens -= emitted
        else:
            finished = []
        joining: list[Seq] = []
        for seq, c in plan.chunks:
            seq.prefilled += c
            seq.ctx += c
            self.outstanding_tokens -= c
            if seq.prefilled < seq.to_prefill:
                continue
            self.prefilling.remove(seq)
            if seq.req.prefix_hashes and self.kv.prefix_caching:
                created, moved = self.kv.insert(seq.req.prefix_hashes[len(seq.pinned):] if seq.pinned else
                                                seq.req.prefix_hashes, seq.req.input_tokens - seq.shared_tokens,
                                                seq.blocks)
                if created:
                    seq.blocks -= moved
                    seq.pinned = seq.pinned + created
                    seq.shared_tokens += moved * self.kv.block_size
            seq.generated += 1
            self.outstanding_tokens -= 1
            if seq.first_token_s < 0:
                seq.first_token_s = now
            if seq.generated >= seq.target:
                finished.append(seq)
            elif self.role == "prefill":
                handoff.append(seq)
            else:
                joining.append(seq)
        for seq in finished:
            self._retire(seq, t + 1)
        for seq in handoff:
            self._retire(seq, t + 1)
        for seq in joining:
            self.decoding.join(seq, self.dticks)
        return finished, handoff

    def _accepted(self) -> int:
        """Draft tokens accepted before the first rejection (per-position rates, engine/speculative.py)."""
        return sample_accepted(self.rng, self.acceptance)

    def adopt(self, seq: Seq) -> bool:
        """A decode replica takes over a sequence whose KV arrived from a prefill replica."""
        if len(self.running) >= self.max_seqs or not self._grow(seq, seq.ctx):
            return False
        self._admit(seq)
        # It decodes from the next step this replica plans (the one running now does not hold it).
        self.decoding.join(seq, self.dticks)
        self.outstanding_tokens += seq.target - seq.generated
        return True
