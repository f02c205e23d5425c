"""The counter-based decode tracker (serving/decoding.py) against per-sequence bookkeeping: on
random workloads, with KV pressure, preemption, prefix caching, full reservation,
disaggregation and several replicas, both give exactly the same results."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from jalapeno.engine.fast_step import StepEstimate
from jalapeno.engine.predict import make_setup
from jalapeno.hardware.catalog import make_system
from jalapeno.models.config import load_model
from jalapeno.serving.config import ServingConfig
from jalapeno.serving.simulator import Simulator
from jalapeno.workloads.request import Request


class ContextStep:
    """A step time that depends on every input the tracker feeds it (decode count, context sum,
    chunks), so any difference in bookkeeping shows up in the timeline."""

    max_tokens = 100_000
    max_seqs = 10_000

    def step(self, decode_seqs, decode_context_sum, prefill_chunks=(), decode_tokens_per_seq=1):
        t = 1.0 + 0.01 * decode_seqs + 1e-4 * decode_context_sum
        t += sum(0.003 * c + 1e-5 * p for c, p in prefill_chunks)
        return StepEstimate(t, t * 100.0)


@functools.cache
def _setup():
    return make_setup(load_model("llama-3.1-8b"), make_system("h100-sxm", 1), None, "bf16")


request_lists = st.lists(
    st.tuples(st.floats(0.0, 3.0), st.integers(1, 700), st.integers(1, 60), st.integers(0, 3)),
    min_size=1, max_size=60)


def _requests(rows) -> list[Request]:
    out, t = [], 0.0
    for i, (gap, inp, out_tokens, family) in enumerate(rows):
        t += gap
        hashes = tuple(range(family * 100, family * 100 + inp // 512 + 1)) if family else ()
        out.append(Request(i, t, inp, out_tokens, prefix_hashes=hashes))
    return out


def _run(cfg, reqs, blocks, explicit):
    sim = Simulator(_setup(), cfg, keep_requests=True, timeline=True, step_model=ContextStep(),
                    kv_blocks_override=blocks, explicit_decodes=explicit)
    res = sim.run(reqs)
    summary = res.summary()
    summary.pop("wall_s")
    return repr((summary, res.metrics.records, res.metrics.spans))  # repr: NaN percentiles compare equal


@settings(max_examples=60, deadline=None)
@given(rows=request_lists, blocks=st.integers(48, 400), block_size=st.sampled_from([4, 16, 32]),
       reservation=st.sampled_from(["on_demand", "full"]), prefix=st.booleans(), replicas=st.integers(1, 3),
       disagg=st.booleans(), max_seqs=st.integers(1, 12), budget=st.sampled_from([16, 64, 512]),
       mixed=st.booleans(), chunked=st.booleans(), max_new=st.sampled_from([None, 40, 200]))
def test_lockstep_counters_match_per_sequence_bookkeeping(rows, blocks, block_size, reservation, prefix,
                                                          replicas, disagg, max_seqs, budget, mixed, chunked,
                                                          max_new):
    cfg = ServingConfig.model_validate({
        "replicas": replicas,
        "scheduler": {"max_num_seqs": max_seqs, "max_num_batched_tokens": budget, "block_size": block_size,
                      "kv_reservation": reservation, "prefix_caching": prefix, "mixed_batches": mixed,
                      "chunked_prefill": chunked, "max_new_tokens": max_new},
        "disaggregation": {"enabled": disagg, "prefill_replicas": 1, "decode_replicas": replicas},
    })
    reqs = _requests(rows)
    assert _run(cfg, reqs, blocks, explicit=False) == _run(cfg, reqs, blocks, explicit=True)


def test_tracker_sees_preemption():
    """The comparison above is only meaningful if preemption happens in it: check one case."""
    reqs = [Request(i, 0.1 * i, 200, 60) for i in range(12)]
    cfg = ServingConfig.model_validate({"scheduler": {"max_num_seqs": 12, "max_num_batched_tokens": 512,
                                                      "kv_reservation": "on_demand"}})
    fast = _run(cfg, reqs, 60, explicit=False)
    assert "'preemptions': 0," not in fast
    assert fast == _run(cfg, reqs, 60, explicit=True)
