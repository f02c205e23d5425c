"""One model replica: continuous batching over a paged KV cache.

Each step the scheduler (vLLM-style, chunked prefill):
1. gives every decoding sequence its next token slot (k+1 slots when verifying speculative
   drafts), preempting the most recently admitted sequence (recompute) when blocks run out;
2. continues unfinished prefills, then admits waiting requests, within the step's token budget
   and the cap on running sequences; a request whose prompt starts with cached prefix blocks
   skips their compute;
3. asks the engine's FastStep for the step's time and energy.
When the step ends, decodes emit tokens and finished prefills emit their first token.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from jalapeno.engine.fast_step import FastStep
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.kv_cache import KVCache
from jalapeno.workloads.request import BLOCK_TOKENS, Request


class Seq:
    __slots__ = ("req", "target", "to_prefill", "prefilled", "ctx", "generated", "blocks", "shared_tokens",
                 "pinned", "first_token_s", "preemptions", "matched")

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


class StepPlan:
    __slots__ = ("decodes", "chunks", "time_s", "energy_j", "tokens_per_seq")

    def __init__(self, decodes, chunks, time_s, energy_j, tokens_per_seq):
        self.decodes = decodes
        self.chunks = chunks
        self.time_s = time_s
        self.energy_j = energy_j
        self.tokens_per_seq = tokens_per_seq


class Replica:
    def __init__(self, index: int, fast: FastStep, kv_blocks: int, cfg: ServingConfig, role: str = "mixed",
                 draft: FastStep | None = None, rng: np.random.Generator | None = None):
        self.index = index
        self.fast = fast
        self.cfg = cfg
        sc = cfg.scheduler
        self.kv = KVCache(kv_blocks, sc.block_size, sc.prefix_caching)
        self.role = role  # mixed | prefill | decode
        self.draft = draft
        self.rng = rng or np.random.default_rng(cfg.seed + index)
        self.waiting: deque[Seq] = deque()
        self.running: list[Seq] = []
        self.busy = False
        self.busy_s = 0.0
        self.energy_j = 0.0
        self.steps = 0
        self.preemptions = 0
        self.outstanding_tokens = 0
        self.kv_block_seconds = 0.0
        spec = cfg.speculative
        self.spec_k = spec.num_tokens if spec.method != "none" else 0
        self.max_tokens = min(sc.max_num_batched_tokens, fast.max_tokens)
        self.reserve_full = sc.kv_reservation == "full"

    # --- admission -------------------------------------------------------------------------
    def fits_ever(self, req: Request) -> bool:
        return self.kv.blocks_for(req.input_tokens + max(req.output_tokens, 1)) <= self.kv.num_blocks

    def enqueue(self, seq: Seq) -> None:
        self.waiting.append(seq)
        self.outstanding_tokens += seq.to_prefill - seq.prefilled + seq.target - seq.generated

    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

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

    def _preempt(self, victim: Seq) -> None:
        self.running.remove(victim)
        self._free(victim)
        victim.to_prefill = victim.req.input_tokens + victim.generated
        victim.prefilled = 0
        victim.ctx = 0
        victim.matched = False
        victim.preemptions += 1
        self.preemptions += 1
        self.waiting.appendleft(victim)

    # --- one step --------------------------------------------------------------------------
    def plan_step(self) -> StepPlan | None:
        sc = self.cfg.scheduler
        budget = self.max_tokens
        per_seq = 1 + self.spec_k
        decodes: list[Seq] = []
        preempted: set[int] = set()
        block = self.kv.block_size
        for seq in list(self.running):
            if seq.prefilled < seq.to_prefill or budget < per_seq or (preempted and id(seq) in preempted):
                continue
            if seq.ctx + per_seq - seq.shared_tokens <= seq.blocks * block:  # fits its blocks: no allocation
                decodes.append(seq)
                budget -= per_seq
                continue
            while not self._grow(seq, seq.ctx + per_seq):
                victim = self.running[-1]
                if victim is seq:
                    break
                preempted.add(id(victim))
                self._preempt(victim)
            else:
                decodes.append(seq)
                budget -= per_seq
                continue
            preempted.add(id(seq))
            self._preempt(seq)  # no room even alone: wait for memory
        chunks: list[tuple[Seq, int]] = []
        for seq in self.running:
            if budget <= 0:
                break
            if seq.prefilled < seq.to_prefill:
                c = self._chunk(seq, budget, sc.chunked_prefill)
                if c and self._grow(seq, seq.ctx + c):
                    chunks.append((seq, c))
                    budget -= c
        # (On a decode replica the queue holds only preempted sequences, recomputed here.)
        while self.waiting and budget > 0 and len(self.running) < sc.max_num_seqs:
            seq = self.waiting[0]
            if not seq.matched:
                self._match_prefix(seq)
            c = self._chunk(seq, budget, sc.chunked_prefill)
            reserve = seq.to_prefill + seq.target - seq.generated if self.reserve_full else seq.ctx + c
            if not c or not self._grow(seq, max(reserve, seq.ctx + c)):
                break
            self.waiting.popleft()
            self.running.append(seq)
            chunks.append((seq, c))
            budget -= c
        if not decodes and not chunks:
            return None
        ctx_sum = float(sum([s.ctx for s in decodes]))
        est = self.fast.step(len(decodes), ctx_sum, [(c, s.ctx) for s, c in chunks], per_seq)
        time_s, energy = est.time_s, est.energy_j
        if self.spec_k and decodes and self.draft is not None:
            for i in range(self.spec_k):
                d = self.draft.step(len(decodes), ctx_sum + i * len(decodes), [], 1)
                time_s += d.time_s
                energy += d.energy_j
        return StepPlan(decodes, chunks, time_s, energy, per_seq)

    def _chunk(self, seq: Seq, budget: int, chunked: bool) -> int:
        remaining = seq.to_prefill - seq.prefilled
        if remaining <= budget:
            return remaining
        return budget if chunked else 0

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
        self.steps += 1
        self.busy_s += plan.time_s
        self.energy_j += plan.energy_j
        self.kv_block_seconds += (self.kv.private + self.kv.cached) * plan.time_s
        finished: list[Seq] = []
        handoff: list[Seq] = []
        k = self.spec_k
        if k:
            for seq in plan.decodes:
                n = min(1 + self._accepted(k), seq.target - seq.generated)
                seq.generated += n
                seq.ctx += n
                self.outstanding_tokens -= n
                if seq.generated >= seq.target:
                    finished.append(seq)
        else:  # the common case, kept lean: it runs for every token of every sequence
            for seq in plan.decodes:
                seq.generated += 1
                seq.ctx += 1
                if seq.generated >= seq.target:
                    finished.append(seq)
            self.outstanding_tokens -= len(plan.decodes)
        for seq, c in plan.chunks:
            seq.prefilled += c
            seq.ctx += c
            self.outstanding_tokens -= c
            if seq.prefilled < seq.to_prefill:
                continue
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
        for seq in finished + handoff:
            self.running.remove(seq)
            self._free(seq)
        return finished, handoff

    def _accepted(self, k: int) -> int:
        """Draft tokens accepted before the first rejection (each with the configured rate)."""
        a = self.cfg.speculative.acceptance_rate
        n = 0
        while n < k and self.rng.random() < a:
            n += 1
        return n

    def adopt(self, seq: Seq) -> bool:
        """A decode replica takes over a sequence whose KV arrived from a prefill replica."""
        if len(self.running) >= self.cfg.scheduler.max_num_seqs or not self._grow(seq, seq.ctx):
            return False
        self.running.append(seq)
        self.outstanding_tokens += seq.target - seq.generated
        return True
