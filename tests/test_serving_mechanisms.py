"""Serving mechanisms on small exact cases: every step takes a fixed time, so timelines are
computable by hand."""

from __future__ import annotations

import pytest

from jalapeno.engine.fast_step import StepEstimate
from jalapeno.engine.predict import make_setup
from jalapeno.hardware.catalog import make_system
from jalapeno.models.config import load_model
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.simulator import Simulator
from jalapeno.workloads.request import Request


class UnitStep:
    """Every step takes 1 s (plus `per_token` s per token), 1 J."""

    max_tokens = 100_000
    max_seqs = 10_000

    def __init__(self, per_token: float = 0.0):
        self.per_token = per_token
        self.calls = []

    def step(self, decode_seqs, decode_context_sum, prefill_chunks=(), decode_tokens_per_seq=1):
        self.calls.append((decode_seqs, tuple(c for c, _ in prefill_chunks), decode_tokens_per_seq))
        tokens = decode_seqs * decode_tokens_per_seq + sum(c for c, _ in prefill_chunks)
        return StepEstimate(1.0 + self.per_token * tokens, 1.0)


@pytest.fixture(scope="module")
def setup():
    return make_setup(load_model("llama-3.1-8b"), make_system("h100-sxm", 1), None, "bf16")


def cfg(**kw) -> ServingConfig:
    sched = kw.pop("scheduler", {})
    base = {"scheduler": {"max_num_seqs": 8, "max_num_batched_tokens": 4, "block_size": 4, **sched}}
    return ServingConfig.model_validate({**base, **kw})


def run(setup, config, requests, blocks=1000, step=None):
    step = step or UnitStep()
    sim = Simulator(setup, config, keep_requests=True, timeline=True, step_model=step, kv_blocks_override=blocks)
    res = sim.run(requests)
    return res, {r.id: r for r in res.metrics.records}, step


def test_chunked_prefill_timeline(setup):
    # 10 prompt tokens with a 4-token budget: chunks 4, 4, 2; the third step emits the first token.
    res, rec, step = run(setup, cfg(), [Request(0, 0.0, 10, 3)])
    assert [c[1] for c in step.calls] == [(4,), (4,), (2,), (), ()]
    assert rec[0].first_token_s == 3.0 and rec[0].finish_s == 5.0
    assert rec[0].ttft_s == 3.0 and rec[0].tpot_s == 1.0


def test_without_chunking_a_long_prompt_waits_for_a_big_enough_budget(setup):
    c = cfg(scheduler={"chunked_prefill": False, "max_num_batched_tokens": 16})
    _, rec, step = run(setup, c, [Request(0, 0.0, 10, 2)])
    assert step.calls[0] == (0, (10,), 1)
    assert rec[0].first_token_s == 1.0


def test_decodes_share_the_budget_with_prefill(setup):
    # Request 1 arrives while 0 decodes: each step = 1 decode token + 3 prefill tokens.
    _, rec, step = run(setup, cfg(), [Request(0, 0.0, 2, 4), Request(1, 0.5, 6, 2)])
    assert step.calls[1] == (1, (3,), 1)
    assert step.calls[2] == (1, (3,), 1)
    assert rec[1].first_token_s == 3.0


def test_preemption_on_kv_exhaustion_recomputes(setup):
    # 4 blocks of 4 tokens. Two 4-token prompts fill 2 blocks; decoding needs a new block each
    # at 5 tokens; at 9 tokens the pool is exhausted and the later request is preempted.
    c = cfg(scheduler={"max_num_batched_tokens": 8, "kv_reservation": "on_demand"})
    res, rec, _ = run(setup, c, [Request(0, 0.0, 4, 6), Request(1, 0.0, 4, 6)], blocks=4)
    s = res.summary()
    assert s["preemptions"] >= 1
    assert s["finished"] == 2 and s["dropped"] == 0
    assert rec[1].finish_s > rec[0].finish_s


def test_full_reservation_admits_only_what_can_finish(setup):
    # Reserving prompt + output (4 + 6 tokens = 3 blocks) lets one request in at a time: no preemption.
    c = cfg(scheduler={"max_num_batched_tokens": 8, "kv_reservation": "full"})
    res, rec, _ = run(setup, c, [Request(0, 0.0, 4, 6), Request(1, 0.0, 4, 6)], blocks=4)
    assert res.summary()["preemptions"] == 0
    assert rec[1].first_token_s >= rec[0].finish_s


def test_full_reservation_holds_the_declared_output_limit(setup):
    # Requests declare max_new_tokens 10: each reserves 4 + 10 tokens (4 of the 4 blocks), so the
    # second waits for the first although both would fit at their real lengths (4 + 3, 4 + 2 tokens).
    reqs = [Request(0, 0.0, 4, 3), Request(1, 0.5, 4, 2)]
    full = {"max_num_batched_tokens": 8, "kv_reservation": "full"}
    _, rec, _ = run(setup, cfg(scheduler=full), reqs, blocks=4)
    assert rec[1].first_token_s == 2.0  # admitted beside request 0's first decode
    _, rec, _ = run(setup, cfg(scheduler={**full, "max_new_tokens": 10}), reqs, blocks=4)
    assert rec[0].finish_s == 3.0 and rec[1].first_token_s == 4.0


def test_prefill_first_steps_stall_decodes(setup):
    # vLLM's default scheduler without chunked prefill: request 1's prompt runs alone while
    # request 0 waits for its next token.
    sched = {"max_num_batched_tokens": 8, "chunked_prefill": False, "mixed_batches": False}
    reqs = [Request(0, 0.0, 2, 4), Request(1, 0.5, 6, 2)]
    _, rec, step = run(setup, cfg(scheduler=sched), reqs)
    assert step.calls == [(0, (2,), 1), (0, (6,), 1), (2, (), 1), (1, (), 1), (1, (), 1)]
    assert rec[1].first_token_s == 2.0 and rec[1].finish_s == 3.0
    assert rec[0].finish_s == 5.0
    _, rec, _ = run(setup, cfg(scheduler={**sched, "mixed_batches": True}), reqs)
    assert rec[0].finish_s == 4.0  # mixed: its decode rides along with the prompt


def test_request_longer_than_the_cache_is_reported_not_lost(setup):
    res, _, _ = run(setup, cfg(), [Request(0, 0.0, 100, 10), Request(1, 0.0, 4, 2)], blocks=8)
    s = res.summary()
    assert s["dropped"] == 1 and s["finished"] == 1
    assert s["dropped_reasons"] == {"kv_cache": 1} and s["in_flight"] == 0
    assert "longer than the KV cache" in s["dropped_details"]["kv_cache"]


def test_prefix_hit_skips_cached_blocks(setup):
    # 1100-token prompts sharing two 512-token prefix blocks; the second arrives later.
    c = cfg(scheduler={"max_num_batched_tokens": 2048, "block_size": 16})
    reqs = [Request(0, 0.0, 1100, 2, prefix_hashes=(11, 12, 13)), Request(1, 10.0, 1100, 2, prefix_hashes=(11, 12, 14))]
    res, rec, step = run(setup, c, reqs)
    assert step.calls[0][1] == (1100,)
    assert step.calls[2][1] == (1100 - 1024,)
    assert res.summary()["prefix_hit_rate"] == pytest.approx(1024 / 2200)


def test_prefix_caching_off_has_no_hits(setup):
    c = cfg(scheduler={"max_num_batched_tokens": 2048, "block_size": 16, "prefix_caching": False})
    reqs = [Request(0, 0.0, 1100, 2, prefix_hashes=(11, 12)), Request(1, 10.0, 1100, 2, prefix_hashes=(11, 12))]
    res, _, step = run(setup, c, reqs)
    assert step.calls[2][1] == (1100,)
    assert res.summary()["prefix_hit_rate"] == 0


@pytest.mark.parametrize("rate,tokens_per_step", [(1.0, 4), (0.0, 1)])
def test_speculative_acceptance(setup, rate, tokens_per_step):
    c = cfg(speculative={"method": "ngram", "num_tokens": 3, "acceptance_rate": rate},
            scheduler={"max_num_batched_tokens": 16})
    _, rec, step = run(setup, c, [Request(0, 0.0, 4, 9)])
    # First token from the prefill step, then verify steps of 4 tokens per sequence.
    assert step.calls[1][2] == 4
    decode_steps = len(step.calls) - 1
    assert decode_steps == -(-8 // tokens_per_step)


def test_disaggregated_kv_transfer(setup):
    c = cfg(disaggregation={"enabled": True, "prefill_replicas": 1, "decode_replicas": 1, "latency_s": 0.25,
                            "link": "network", "network_gb_s": 1.0},
            scheduler={"max_num_batched_tokens": 16})
    sim = Simulator(setup, c, keep_requests=True, step_model=UnitStep(), kv_blocks_override=1000)
    per_token = sim._kv_token_bytes
    res = sim.run([Request(0, 0.0, 8, 3)])
    rec = res.metrics.records[0]
    transfer = 0.25 + 8 * per_token / 1e9  # the 8 prompt tokens' KV (the first token's is written by decode)
    assert rec.first_token_s == 1.0
    assert rec.finish_s == pytest.approx(1.0 + transfer + 2.0)
    assert rec.replica == 1  # finished on the decode replica


def test_routing_policies(setup):
    reqs = [Request(i, 0.0, 4, 2) for i in range(4)]
    _, rec, _ = run(setup, cfg(replicas=2, router="round_robin"), reqs)
    assert [rec[i].replica for i in range(4)] == [0, 1, 0, 1]
    heavy = [Request(0, 0.0, 400, 50), Request(1, 0.1, 4, 2), Request(2, 0.2, 4, 2)]
    _, rec, _ = run(setup, cfg(replicas=2, router="least_outstanding"), heavy)
    assert rec[1].replica == 1 and rec[2].replica == 1
    # Same first four 512-token blocks (a shared system prompt and conversation), different tail.
    pre = [Request(0, 0.0, 2600, 2, prefix_hashes=(7, 8, 9, 10, 11, 12)), Request(1, 0.0, 4, 2),
           Request(2, 5.0, 2600, 2, prefix_hashes=(7, 8, 9, 10, 13, 14))]
    _, rec, _ = run(setup, cfg(replicas=2, router="prefix_affinity"), pre)
    assert rec[2].replica == rec[0].replica


def test_conservation_and_determinism(setup):
    import random

    rnd = random.Random(3)
    reqs = []
    t = 0.0
    for i in range(300):
        t += rnd.expovariate(2.0)
        reqs.append(Request(i, t, rnd.randint(1, 60), rnd.randint(1, 20)))
    reqs.append(Request(300, t + 1, 5000, 10))  # cannot fit
    c = cfg(replicas=2, scheduler={"max_num_batched_tokens": 32}, speculative={"method": "ngram", "num_tokens": 2})
    a, rec, _ = run(setup, c, reqs, blocks=64, step=UnitStep(per_token=0.01))
    s = a.summary()
    assert s["finished"] + s["dropped"] == s["requests"] == 301
    assert s["dropped"] == 1
    assert s["output_tokens"] == sum(r.output_tokens for r in reqs[:300])
    assert all(rec[r.id].output_tokens == r.output_tokens for r in reqs[:300])
    b, _, _ = run(setup, c, reqs, blocks=64, step=UnitStep(per_token=0.01))
    assert b.summary()["ttft_s_p99"] == s["ttft_s_p99"] and b.summary()["steps"] == s["steps"]


def test_chrome_trace_has_one_event_per_step(setup):
    import json

    res, _, step = run(setup, cfg(), [Request(0, 0.0, 10, 3)])
    trace = json.loads(res.metrics.chrome_trace())
    steps = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(steps) == len(step.calls)
    assert {e["name"] for e in steps} <= {"prefill", "decode", "mixed"}
