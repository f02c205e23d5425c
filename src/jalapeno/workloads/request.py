"""The unit of work every other layer consumes: one inference request.

Kept in its own module so the serving simulator, the trace loaders and the generators share a
single, immutable record (and nothing else) from the workloads layer.
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCK_TOKENS = 512
"""Tokens per prefix block in `Request.prefix_hashes` (the Mooncake trace convention).

Block i of a prompt covers tokens [i*512, (i+1)*512); the last block may be partial. Ids follow
a hash chain: two prompts get the same id for block i only if their first (i+1)*512 tokens are
identical, so a shared id means a shared prefix up to the end of that block."""


@dataclass(frozen=True, slots=True)
class Request:
    """One request: when it arrives, how many tokens it sends and asks for, what prefix it shares."""

    id: int
    arrival_s: float
    input_tokens: int
    output_tokens: int
    prefix_hashes: tuple[int, ...] = ()  # ids of 512-token prompt blocks (Mooncake convention), for prefix caching
    session: int = -1  # agent session id, -1 if none


def num_blocks(tokens: int) -> int:
    """Number of `BLOCK_TOKENS` blocks a prompt of `tokens` tokens occupies (the last may be partial)."""
    return -(-tokens // BLOCK_TOKENS)
