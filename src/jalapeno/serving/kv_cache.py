"""Paged KV cache with prefix caching.

Capacity is a number of fixed-size blocks (the memory model's KV budget over the block size).
Running sequences own private blocks. With prefix caching, finished prompt prefixes stay
resident as shared entries keyed by their prefix-block hash (the Mooncake 512-token block id
convention): a later prompt that starts with the same blocks reuses them without recomputing
or re-storing them. Entries in use are pinned by a reference count; unpinned ones are evicted
least-recently-used first when a sequence needs room. `OrderedDict` gives O(1) LRU order.
"""

from __future__ import annotations

from collections import OrderedDict

from jalapeno.workloads.request import BLOCK_TOKENS


class KVCache:
    def __init__(self, num_blocks: int, block_size: int, prefix_caching: bool = True):
        self.num_blocks = int(num_blocks)
        self.block_size = int(block_size)
        self.prefix_caching = prefix_caching
        self.blocks_per_hash = max(1, BLOCK_TOKENS // self.block_size)
        self.private = 0  # blocks owned by running sequences
        self.cached = 0  # blocks held by prefix entries (pinned or not)
        self._entries: OrderedDict[int, int] = OrderedDict()  # hash -> refcount (LRU order)
        self.hit_tokens = 0
        self.lookup_tokens = 0

    @property
    def free(self) -> int:
        return self.num_blocks - self.private - self.cached

    def blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_size)

    def _evict(self, need: int) -> bool:
        """Evict unpinned prefix entries (LRU first) until `need` blocks are free."""
        if self.free >= need:
            return True
        for h in list(self._entries):
            if self._entries[h] == 0:
                del self._entries[h]
                self.cached -= self.blocks_per_hash
                if self.free >= need:
                    return True
        return self.free >= need

    def allocate(self, blocks: int) -> bool:
        if blocks <= 0:
            return True
        if not self._evict(blocks):
            return False
        self.private += blocks
        return True

    def release(self, blocks: int) -> None:
        self.private -= blocks

    def match(self, hashes: tuple[int, ...], prompt_tokens: int) -> int:
        """Leading prefix blocks already cached: pins them and returns how many."""
        self.lookup_tokens += prompt_tokens
        if not self.prefix_caching:
            return 0
        n = 0
        for h in hashes:
            if h not in self._entries:
                break
            n += 1
        # Never count the prompt's last token as cached: it must run to produce the first token.
        while n and n * BLOCK_TOKENS >= prompt_tokens:
            n -= 1
        for h in hashes[:n]:
            self._entries[h] += 1
            self._entries.move_to_end(h)
        self.hit_tokens += n * BLOCK_TOKENS
        return n

    def unpin(self, hashes: tuple[int, ...]) -> None:
        for h in hashes:
            if h in self._entries and self._entries[h] > 0:
                self._entries[h] -= 1

    def insert(self, hashes: tuple[int, ...], prompt_tokens: int, owned_blocks: int) -> tuple[tuple[int, ...], int]:
        """Turn a finished prefill's full prefix blocks into shared entries. Returns the hashes
        created (pinned by the sequence while it runs) and the private blocks handed over."""
        if not self.prefix_caching:
            return (), 0
        created = []
        moved = 0
        full = min(len(hashes), prompt_tokens // BLOCK_TOKENS)
        for h in hashes[:full]:
            if h in self._entries:
                continue
            if moved + self.blocks_per_hash > owned_blocks:
                break
            self._entries[h] = 1
            created.append(h)
            moved += self.blocks_per_hash
        self.private -= moved
        self.cached += moved
        return tuple(created), moved
