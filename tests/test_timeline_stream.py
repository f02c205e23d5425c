"""The streamed --trace-out timeline is the same document the in-memory spans would give."""

from __future__ import annotations

import json

from test_serving_conservation import TinyStep, _requests, _setup

from jalapeno.serving.config import ServingConfig
from jalapeno.serving.simulator import Simulator
from jalapeno.serving.timeline import TimelineWriter


def test_streamed_timeline_matches_the_in_memory_one(tmp_path):
    rows = [(0.05 * (i % 3), 100 + 37 * i, 5 + i % 9, i % 3, 1) for i in range(40)]
    sim = Simulator(_setup(), ServingConfig(replicas=2), keep_requests=True, timeline=True, step_model=TinyStep(),
                    kv_blocks_override=400)
    out = tmp_path / "t.json"
    writer = TimelineWriter(out)
    sim.metrics.timeline_writer = writer
    res = sim.run(_requests(rows))
    writer.close()
    streamed = json.loads(out.read_text())
    kept = json.loads(res.metrics.chrome_trace())
    # The same events; the stream writes them as they happen (chronologically), the kept trace by kind.
    def key(e):
        return json.dumps(e, sort_keys=True)

    assert sorted(map(key, streamed["traceEvents"])) == sorted(map(key, kept["traceEvents"]))
    assert sum(e["ph"] == "X" for e in kept["traceEvents"]) == res.summary()["steps"]
    assert sum(e["ph"] == "b" for e in streamed["traceEvents"]) == res.summary()["finished"]
