"""Multi-turn coding-agent sessions: prompts that grow turn by turn and share prefixes.

An agent (a coding assistant running tools) re-sends its whole context each turn: the system
prompt, every earlier prompt and reply, plus what the last tool call added. So turn k+1's prompt
is turn k's prompt + turn k's output + new tokens, and its prefix-block ids (request.BLOCK_TOKENS,
Mooncake's chained-hash convention) start with every *full* block of turn k's prompt; turn k's last,
partial block gets a new id, because its content changes once tokens are appended. The system
prompt's full blocks have the same ids (0, 1, ...) in every session, so sessions share them too.
Blocks of generated output get ids only once a later prompt contains them.

Timing. Really the next turn is sent a think time (tool execution) after the previous reply
*finishes*, which only the serving simulator knows: that is a closed loop. Two ways in:

* `agent_session_plans` yields `AgentSession`s in order of start time; each one's `turns()`
  yields its `PlannedTurn`s lazily (prompt, output, think time, prefix ids; no arrival times), so
  a simulator can close the loop itself: send turn k+1 at turn k's completion + its think_s.
* `agent_sessions` is the open-loop approximation: turn k+1 arrives at turn k's arrival +
  an estimated service time (est_ttft_s + est_tpot_s * (output_tokens - 1)) + think time, and all
  sessions are merged into one Request stream in arrival order. It ignores queueing, so under load
  it sends turns sooner than a real agent would.

Each session's draws (turn count, tokens added, outputs, think times) are taken when the session
starts, and its block ids live in a per-session range ((session + 1) * 2**32 + n), so a session's
content is the same whatever order a simulator consumes turns in. A session stops early when its
next prompt would exceed `max_context_tokens` (where a real agent would compact or stop).

The default figures are illustrative assumptions for a tool-using coding agent (a large system
prompt with tool definitions, about 20 tool-call turns adding file contents and command output,
short replies), not measurements: pass your own.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from jalapeno.errors import JalapenoError
from jalapeno.workloads.distributions import Distribution, Draws, Exponential, LogNormal
from jalapeno.workloads.request import BLOCK_TOKENS, Request, num_blocks

SESSION_ID_STRIDE = 2**32
"""Block ids of session s are (s + 1) * SESSION_ID_STRIDE + n; ids below it are the shared system prompt's."""

DEFAULT_TURNS = LogNormal(20, 0.8, max_value=200)
DEFAULT_SYSTEM_PROMPT_TOKENS = 8000
DEFAULT_TOKENS_ADDED_PER_TURN = LogNormal(1000, 1.0, max_value=32000)
DEFAULT_OUTPUT_TOKENS = LogNormal(200, 0.8, max_value=4096)
DEFAULT_THINK_TIME_S = LogNormal(2.0, 1.0, max_value=120.0, min_value=0.0)


@dataclass(frozen=True, slots=True)
class PlannedTurn:
    """One turn of a session: what it sends, what it gets back, and how long until the next turn."""

    input_tokens: int
    output_tokens: int
    think_s: float  # after this turn's reply has finished, until the next turn is sent
    prefix_hashes: tuple[int, ...]


class AgentSession:
    """A session that starts at `start_s`; `turns()` yields its turns lazily (holding only the last prompt's ids)."""

    __slots__ = ("session", "start_s", "_added", "_outputs", "_thinks", "_system", "_max_context")

    def __init__(self, session: int, start_s: float, added: list[int], outputs: list[int], thinks: list[float],
                 system_tokens: int, max_context_tokens: int):
        self.session = session
        self.start_s = start_s
        self._added, self._outputs, self._thinks = added, outputs, thinks
        self._system = system_tokens
        self._max_context = max_context_tokens

    @property
    def max_turns(self) -> int:
        """Turns drawn for the session (fewer are produced if the context limit is reached)."""
        return len(self._added)

    def turns(self) -> Iterator[PlannedTurn]:
        """A fresh iterator over the session's turns (the same turns every time)."""
        base = (self.session + 1) * SESSION_ID_STRIDE
        fresh = base
        prev_tokens = self._system
        prev_ids: tuple[int, ...] = tuple(range(self._system // BLOCK_TOKENS))
        prev_output = 0
        for added, output, think in zip(self._added, self._outputs, self._thinks, strict=True):
            tokens = prev_tokens + prev_output + added
            if tokens > self._max_context:
                return
            keep = prev_ids[: prev_tokens // BLOCK_TOKENS]
            n_new = num_blocks(tokens) - len(keep)
            ids = keep + tuple(range(fresh, fresh + n_new))
            fresh += n_new
            yield PlannedTurn(tokens, output, think, ids)
            prev_tokens, prev_ids, prev_output = tokens, ids, output


def _tokens(values: list[float]) -> list[int]:
    return [max(1, int(round(v))) for v in values]


def agent_session_plans(
    num_sessions: int,
    turns: Distribution = DEFAULT_TURNS,
    system_prompt_tokens: int = DEFAULT_SYSTEM_PROMPT_TOKENS,
    tokens_added_per_turn: Distribution = DEFAULT_TOKENS_ADDED_PER_TURN,
    output_tokens: Distribution = DEFAULT_OUTPUT_TOKENS,
    think_time_s: Distribution = DEFAULT_THINK_TIME_S,
    session_rate_per_s: float = 0.1,
    seed: int = 0,
    max_context_tokens: int = 131072,
) -> Iterator[AgentSession]:
    """Sessions in order of start (Poisson starts at `session_rate_per_s`), for closed-loop simulation."""
    if num_sessions < 0:
        raise JalapenoError(f"num_sessions must be >= 0, got {num_sessions}")
    if not (session_rate_per_s > 0 and math.isfinite(session_rate_per_s)):
        raise JalapenoError(f"session_rate_per_s must be a positive number, got {session_rate_per_s}")
    if system_prompt_tokens < 0 or max_context_tokens < 1:
        raise JalapenoError("system_prompt_tokens must be >= 0 and max_context_tokens >= 1")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    starts = Draws(Exponential(1.0 / session_rate_per_s), rngs[0])
    n_turns = Draws(turns, rngs[1])
    added = Draws(tokens_added_per_turn, rngs[2])
    outputs = Draws(output_tokens, rngs[3])
    thinks = Draws(think_time_s, rngs[4])
    t = 0.0
    for s in range(num_sessions):
        t += starts.next()
        k = max(1, int(round(n_turns.next())))
        yield AgentSession(s, t, _tokens(added.take(k)), _tokens(outputs.take(k)),
                           [max(0.0, v) for v in thinks.take(k)], system_prompt_tokens, max_context_tokens)


def agent_sessions(
    num_sessions: int,
    turns: Distribution = DEFAULT_TURNS,
    system_prompt_tokens: int = DEFAULT_SYSTEM_PROMPT_TOKENS,
    tokens_added_per_turn: Distribution = DEFAULT_TOKENS_ADDED_PER_TURN,
    output_tokens: Distribution = DEFAULT_OUTPUT_TOKENS,
    think_time_s: Distribution = DEFAULT_THINK_TIME_S,
    session_rate_per_s: float = 0.1,
    seed: int = 0,
    max_context_tokens: int = 131072,
    est_ttft_s: float = 0.5,
    est_tpot_s: float = 0.03,
) -> Iterator[Request]:
    """Open-loop agent traffic: every session's turns as Requests (session = its id), in arrival order.

    Turn k+1 arrives at turn k's arrival + est_ttft_s + est_tpot_s * (output_tokens - 1) + think time.
    """
    if est_ttft_s < 0 or est_tpot_s < 0:
        raise JalapenoError("est_ttft_s and est_tpot_s must be >= 0")
    plans = agent_session_plans(num_sessions, turns, system_prompt_tokens, tokens_added_per_turn, output_tokens,
                                think_time_s, session_rate_per_s, seed, max_context_tokens)
    # heap of (arrival_s, session, turn, turn iterator); sessions join when the clock reaches their start
    heap: list[tuple[float, int, PlannedTurn, Iterator[PlannedTurn]]] = []
    pending = next(plans, None)
    rid = 0
    while heap or pending is not None:
        if pending is not None and (not heap or pending.start_s <= heap[0][0]):
            it = pending.turns()
            first = next(it, None)
            if first is not None:
                heapq.heappush(heap, (pending.start_s, pending.session, first, it))
            pending = next(plans, None)
            continue
        arrival_s, session, turn, it = heapq.heappop(heap)
        yield Request(rid, arrival_s, turn.input_tokens, turn.output_tokens, turn.prefix_hashes, session)
        rid += 1
        nxt = next(it, None)
        if nxt is not None:
            service_s = est_ttft_s + est_tpot_s * (turn.output_tokens - 1)
            heapq.heappush(heap, (arrival_s + service_s + turn.think_s, session, nxt, it))
