"""Routing requests across replicas: round-robin, least outstanding work, prefix affinity.

Prefix affinity sends a request to the replica that last served the same leading prefix blocks
(its first `AFFINITY_DEPTH`, or all if fewer; so the cached prefix is there), unless that replica
has more than twice the least-loaded one's outstanding work plus 4096 tokens; requests without
prefix ids go to the least-loaded replica.
"""

from __future__ import annotations

from jalapeno.workloads.request import Request

AFFINITY_DEPTH = 4  # prefix blocks (of 512 tokens) that identify a conversation or session


class Router:
    def __init__(self, policy: str, replicas: list):
        self.policy = policy
        self.replicas = replicas
        self._next = 0
        self._home: dict[int, int] = {}

    def _least(self):
        return min(self.replicas, key=lambda r: (r.outstanding_tokens, r.index))

    def pick(self, req: Request):
        reps = self.replicas
        if len(reps) == 1:
            return reps[0]
        if self.policy == "round_robin":
            rep = reps[self._next % len(reps)]
            self._next += 1
            return rep
        if self.policy == "prefix_affinity" and req.prefix_hashes:
            key = req.prefix_hashes[min(AFFINITY_DEPTH, len(req.prefix_hashes)) - 1]
            least = self._least()
            home = self._home.get(key)
            if home is not None:
                rep = reps[home]
                if rep.outstanding_tokens <= 2 * least.outstanding_tokens + 4096:
                    return rep
            self._home[key] = reps.index(least)
            return least
        return self._least()
