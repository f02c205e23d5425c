"""Conservation: every request the simulator is given finishes, is dropped with a reason, or is
reported in flight; no run ends with work queued and nothing left to wake it.

A hypothesis property over random serving setups (overload, tiny KV caches, large blocks,
prefix caching, speculation, disaggregation, several replicas, both reservation policies),
on a cheap stand-in step model so hundreds of setups cost seconds; plus the hand-made cases
the property was written after (waiting requests pinning the prefix cache they wait for).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jalapeno.engine.fast_step import StepEstimate
from jalapeno.engine.predict import make_setup
from jalapeno.hardware.catalog import make_system
from jalapeno.models.config import load_model
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.simulator import Simulator
from jalapeno.workloads.request import Request

# The suite runs a fixed 500 (deterministic); JALAPENO_PROPERTY_EXAMPLES=5000 explores fresh setups.
EXAMPLES = int(os.environ.get("JALAPENO_PROPERTY_EXAMPLES", "500"))
DERANDOMIZE = "JALAPENO_PROPERTY_EXAMPLES" not in os.environ
REASONS = {"kv_cache", "token_budget", "context_window", "decode_kv_cache"}  # "stalled" would be a bug


class TinyStep:
    max_tokens = 100_000
    max_seqs = 10_000

    def step(self, decode_seqs, decode_context_sum, prefill_chunks=(), decode_tokens_per_seq=1):
        t = 0.05 + 0.001 * decode_seqs + 1e-6 * decode_context_sum + sum(2e-4 * c for c, _ in prefill_chunks)
        return StepEstimate(t, t)


@functools.cache
def _setup(window: int = 0):
    s = make_setup(load_model("llama-3.1-8b"), make_system("h100-sxm", 1), None, "bf16")
    if window:
        s = dataclasses.replace(s, model=dataclasses.replace(s.model, max_context=window))
    return s


def _requests(rows) -> list[Request]:
    out, t = [], 0.0
    for i, (gap, inp, out_tokens, family, shared) in enumerate(rows):
        t += gap
        # Families share their first `shared` 512-token blocks, as Mooncake conversations do.
        hashes = tuple(family * 1000 + b if b < shared else 10**6 + i * 100 + b for b in range(inp // 512 + 1))
        out.append(Request(i, t, inp, out_tokens, prefix_hashes=hashes if family else ()))
    return out


def check_conservation(res) -> dict:
    s = res.summary()
    m = res.metrics
    assert s["requests"] == s["finished"] + s["dropped"] + s["in_flight"], s
    assert s["in_flight"] == 0
    assert s["dropped"] == sum(s["dropped_reasons"].values())
    assert set(s["dropped_reasons"]) <= REASONS, s["dropped_reasons"]
    assert set(s["dropped_details"]) == set(s["dropped_reasons"])
    assert all(r.in_flight == 0 for r in res.replicas)
    assert all(r.kv.private == 0 for r in res.replicas), "finished sequences left private blocks held"
    assert m.ttft.n == s["finished"]
    return s


rows = st.lists(st.tuples(st.sampled_from([0.0, 0.001, 0.05, 0.5, 3.0]), st.integers(1, 3000),
                          st.integers(1, 80), st.integers(0, 3), st.integers(0, 6)), min_size=1, max_size=40)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows, blocks=st.integers(2, 600), block_size=st.sampled_from([1, 4, 16, 64, 256, 1024]),
       reservation=st.sampled_from(["on_demand", "full"]), prefix=st.booleans(), replicas=st.integers(1, 3),
       disagg=st.booleans(), max_seqs=st.integers(1, 16), budget=st.sampled_from([8, 64, 512, 4096]),
       mixed=st.booleans(), chunked=st.booleans(), max_new=st.sampled_from([None, 16, 500]),
       spec=st.sampled_from([None, 0.0, 0.6, 1.0]), spec_k=st.integers(1, 4),
       router=st.sampled_from(["round_robin", "least_outstanding", "prefix_affinity"]),
       window=st.sampled_from([0, 1024, 4096]))
def test_every_request_is_accounted_for(rows, blocks, block_size, reservation, prefix, replicas, disagg,
                                        max_seqs, budget, mixed, chunked, max_new, spec, spec_k, router, window):
    cfg = ServingConfig.model_validate({
        "replicas": replicas, "router": router,
        "scheduler": {"max_num_seqs": max_seqs, "max_num_batched_tokens": budget, "block_size": block_size,
                      "kv_reservation": reservation, "prefix_caching": prefix, "mixed_batches": mixed,
                      "chunked_prefill": chunked, "max_new_tokens": max_new},
        "speculative": ({"method": "ngram", "acceptance_rate": spec, "num_tokens": spec_k} if spec is not None
                        else {}),
        "disaggregation": {"enabled": disagg, "prefill_replicas": 1, "decode_replicas": replicas},
    })
    reqs = _requests(rows)
    res = Simulator(_setup(window), cfg, step_model=TinyStep(), kv_blocks_override=blocks).run(reqs)
    s = check_conservation(res)
    assert s["requests"] == len(reqs)


def _stuck_by_pins(**sched):
    """80 conversations of two families over a 200-block cache: waiting requests match cached
    prefix blocks and preempted ones queue ahead of them. Before waiting requests stopped pinning
    what they matched, 1 of these 80 finished, 1 was dropped and 78 waited forever (exit 0)."""
    rnd = random.Random(1)
    cfg = ServingConfig.model_validate({"scheduler": {"max_num_seqs": 64, "max_num_batched_tokens": 512,
                                                      "block_size": 16, "kv_reservation": "on_demand", **sched}})
    reqs = [Request(i, 0.01 * i, rnd.randint(600, 3000), rnd.randint(10, 300),
                    prefix_hashes=tuple(range(i % 2 * 10, i % 2 * 10 + 6))) for i in range(80)]
    return Simulator(_setup(), cfg, step_model=TinyStep(), kv_blocks_override=200).run(reqs)


def test_waiting_requests_do_not_pin_the_cache_they_wait_for():
    s = check_conservation(_stuck_by_pins())
    assert s["finished"] + s["dropped"] == 80
    assert s["finished"] >= 75 and s["preemptions"] > 0


def test_full_reservation_with_a_large_declared_output_finishes_or_drops_with_a_reason():
    s = check_conservation(_stuck_by_pins(kv_reservation="full", max_new_tokens=100_000))
    assert s["finished"] + s["dropped"] == 80


def test_preempted_prompt_over_the_budget_without_chunking_is_dropped_not_stuck():
    # Two requests grow past a 12-block cache; the preempted one must recompute 40 + generated
    # tokens, more than the 48-token budget once it has generated 9: without chunking it can never run.
    cfg = ServingConfig.model_validate({"scheduler": {"max_num_seqs": 4, "max_num_batched_tokens": 48,
                                                      "block_size": 4, "chunked_prefill": False,
                                                      "kv_reservation": "on_demand"}})
    reqs = [Request(0, 0.0, 40, 30), Request(1, 0.0, 8, 30)]
    s = check_conservation(Simulator(_setup(), cfg, step_model=TinyStep(), kv_blocks_override=20).run(reqs))
    assert s["finished"] + s["dropped"] == 2


def test_context_window_drops_with_its_reason():
    cfg = ServingConfig()
    reqs = [Request(0, 0.0, 900, 200), Request(1, 0.0, 500, 10)]
    s = check_conservation(Simulator(_setup(1024), cfg, step_model=TinyStep(), kv_blocks_override=500).run(reqs))
    assert s["dropped_reasons"] == {"context_window": 1} and s["finished"] == 1
    assert "1024" in s["dropped_details"]["context_window"]
