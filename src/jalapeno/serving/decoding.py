"""Which sequences of a replica are decoding, how long their contexts are, and when they end.

This is the simulator's hot path: a replica steps millions of times and each step may carry
hundreds of decoding sequences. Touching each of them on every step made a million-request run
cost ~100 s, so ordinary decoding is tracked by counters instead (`LockstepDecodes`): every
decoding sequence adds exactly one token per step, so a sequence that joined at step t0 with
context c0 has context c0 + (t - t0) at step t, the batch's context sum is one running sum plus
n * t, a sequence finishes at a step known when it joins (a heap keyed by that step), and it
needs a new KV block only every `block_size` steps (a calendar keyed by that step). A sequence's
own fields are brought up to date only when it leaves (finishes or is preempted).

Speculative decoding adds a random number of tokens per sequence per step, so it keeps the
explicit per-sequence bookkeeping (`ExplicitDecodes`). Both classes have the same interface and
give identical results when every step adds one token (tests/test_serving_decoding.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jalapeno.serving.replica import Seq


def _order(seq: Seq) -> int:
    return seq.order


class _Decodes:
    """What both trackers share: the members in the order they joined, and the join itself."""

    def __init__(self, block_size: int):
        self.block = block_size
        self.members: dict[Seq, None] = {}

    def __len__(self) -> int:
        return len(self.members)

    def join(self, seq: Seq, t: int) -> None:
        """`seq` (its fields current as of step t's start) decodes from step t on."""
        seq.epoch += 1
        seq.t0 = t
        self.members[seq] = None


class LockstepDecodes(_Decodes):
    """Decoding sequences that each add one token per step, tracked by counters."""

    def __init__(self, block_size: int):
        super().__init__(block_size)
        self._ctx_base = 0  # sum over members of (context at join - join step)
        self._ends: list[tuple[int, int, int, Seq]] = []  # (last step, order, epoch, seq)
        self._due: dict[int, list[tuple[int, Seq]]] = {}  # step -> [(epoch, seq)] needing a block then

    def join(self, seq: Seq, t: int) -> None:
        super().join(seq, t)
        self._ctx_base += seq.ctx - t
        heapq.heappush(self._ends, (t + seq.target - seq.generated - 1, seq.order, seq.epoch, seq))
        self._schedule(seq, t)

    def leave(self, seq: Seq, t: int) -> None:
        """Stop tracking `seq`, bringing its context and token count up to step t's start."""
        del self.members[seq]
        self._ctx_base -= seq.ctx - seq.t0
        n = t - seq.t0
        seq.ctx += n
        seq.generated += n
        seq.t0 = -1

    def ctx(self, seq: Seq, t: int) -> int:
        return seq.ctx + t - seq.t0

    def context_sum(self, t: int) -> int:
        return self._ctx_base + len(self.members) * t

    def _schedule(self, seq: Seq, t: int) -> None:
        # First step s >= t at which ctx(s) + 1 no longer fits the sequence's private blocks.
        s = max(t, seq.blocks * self.block + seq.shared_tokens - seq.ctx + seq.t0)
        if s <= seq.t0 + seq.target - seq.generated - 1:  # only if it is still decoding then
            entry = (seq.epoch, seq)
            lst = self._due.get(s)
            if lst is None:
                self._due[s] = [entry]
            else:
                lst.append(entry)

    def needing_blocks(self, t: int, per_seq: int) -> list[Seq]:
        """Members whose blocks cannot take step t's token, in admission order."""
        due = self._due.pop(t, None)
        if not due:
            return []
        live = [s for e, s in due if s.epoch == e and s.t0 >= 0]
        if len(live) > 1:
            live.sort(key=_order)
        return live

    def grown(self, seq: Seq, t: int) -> None:
        self._schedule(seq, t + 1)

    def advance(self, t: int, n: int, accepted: Callable[[], int] | None = None) -> tuple[list[Seq], int]:
        """Step t, which held `n` decoding sequences, ran: the members whose last token it was (in
        admission order; still members, the caller lets them leave at t + 1) and the tokens it
        emitted. (Members that joined while it ran start at t + 1 and are not part of it.)"""
        ends = self._ends
        done = []
        while ends and ends[0][0] <= t:
            _, _, epoch, seq = heapq.heappop(ends)
            if seq.epoch == epoch and seq.t0 >= 0:
                done.append(seq)
        return done, n


class ExplicitDecodes(_Decodes):
    """Decoding sequences with their own context and token counts updated every step (needed when
    a step can add several tokens per sequence, as speculative decoding does)."""

    def leave(self, seq: Seq, t: int) -> None:
        del self.members[seq]
        seq.t0 = -1

    def ctx(self, seq: Seq, t: int) -> int:
        return seq.ctx

    def context_sum(self, t: int) -> int:
        return sum([s.ctx for s in self.members])

    def needing_blocks(self, t: int, per_seq: int) -> list[Seq]:
        block = self.block
        return sorted([s for s in self.members if s.ctx + per_seq - s.shared_tokens > s.blocks * block], key=_order)

    def grown(self, seq: Seq, t: int) -> None:
        pass

    def advance(self, t: int, n: int, accepted: Callable[[], int] | None = None) -> tuple[list[Seq], int]:
        done = []
        emitted = 0
        for seq in self.members:
            if seq.t0 > t:
                continue  # joined while step t ran
            k = 1 if accepted is None else min(1 + accepted(), seq.target - seq.generated)
            seq.generated += k
            seq.ctx += k
            emitted += k
            if seq.generated >= seq.target:
                done.append(seq)
        done.sort(key=_order)
        return done, emitted
