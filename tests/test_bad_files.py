"""The bad-input catalogue, scenario files and traces: bad values, unknown keys, duplicate keys,
hostile YAML (alias bombs, deep nesting, huge files) in scenarios, and malformed trace rows, are
refused with exit 2 (or a JalapenoError from the loader) and one line naming the file and the key
or column. Scenarios fail at their parse, traces at the bad row: no simulation runs."""

from __future__ import annotations

import gzip

import pytest
from bad_inputs import refused

from jalapeno.errors import JalapenoError
from jalapeno.workloads.traces import load_trace

SCENARIO_VALUES = {
    "tp": ["0", "-1", "1.5", "abc", "1000000000"],
    "pp": ["0", "-2"],
    "ep": ["0", ".inf"],
    "workload.rate_per_s": ["0", "-1", ".inf", ".nan", "1.0e9"],
    "workload.duration_s": ["0", "-5", ".inf", ".nan", "1.0e12"],
    "workload.num_requests": ["0", "-1", "2.5", "1.0e12"],
    "workload.input_tokens": ["0", "-1", ".inf", "1.0e12"],
    "workload.output_tokens": ["0", ".nan"],
    "workload.cv": ["-1", ".inf"],
    "workload.length_sigma": ["-0.5", "1000"],
    "workload.generator": ["uniform"],
    "serving.replicas": ["0", "-1", "100000"],
    "serving.router": ["random"],
    "serving.seed": ["abc"],
    "serving.scheduler.max_num_seqs": ["0", "1.0e9"],
    "serving.scheduler.max_num_batched_tokens": ["0", "1.0e12"],
    "serving.scheduler.block_size": ["0", "1.0e9"],
    "serving.scheduler.max_new_tokens": ["0", "-1"],
    "serving.scheduler.kv_reservation": ["maybe"],
    "serving.scheduler.prefix_caching": ["sometimes"],
    "serving.speculative.num_tokens": ["0", "99"],
    "serving.speculative.acceptance_rate": ["-0.1", "1.5", ".nan"],
    "serving.speculative.method": ["telepathy"],
    "serving.disaggregation.prefill_replicas": ["0"],
    "serving.disaggregation.network_gb_s": ["0", ".inf"],
    "serving.disaggregation.latency_s": ["-1", ".inf"],
    "serving.slo.ttft_s": ["0", "-1", ".inf", ".nan"],
    "serving.slo.tpot_s": ["0", ".inf"],
}
SCENARIO_CASES = [(k, v) for k, vals in SCENARIO_VALUES.items() for v in vals]


def _scenario_text(key: str, value: str) -> str:
    base = {"workload.generator": "poisson", "workload.rate_per_s": "1", "workload.duration_s": "10"}
    items = {**base, key: value}
    lines: list[str] = []
    tree: dict = {}
    for k, v in items.items():
        node = tree
        *parents, leaf = k.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v

    def emit(node: dict, depth: int) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                lines.append("  " * depth + f"{k}:")
                emit(v, depth + 1)
            else:
                lines.append("  " * depth + f"{k}: {v}")

    emit(tree, 0)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("key, value", SCENARIO_CASES, ids=[f"{k}={v}" for k, v in SCENARIO_CASES])
def test_bad_scenario_value(tmp_path, key, value):
    p = tmp_path / "scenario.yaml"
    p.write_text(_scenario_text(key, value))
    msg = refused("simulate", p, names=(str(p),))
    leaf = key.split(".")[-1]
    assert leaf in msg or (leaf in ("rate_per_s", "duration_s") and "limit" in msg), msg


SCENARIO_FILES = {
    "unknown top key": ("modle: llama-3.1-8b\n", "modle"),
    "unknown nested key": ("serving:\n  sheduler: {}\n", "sheduler"),
    "duplicate top key": ("tp: 1\ntp: 2\n", "tp"),
    "duplicate nested key": ("serving:\n  replicas: 1\n  replicas: 2\n", "replicas"),
    "not a mapping": ("- a\n- b\n", "(file)"),
    "a scalar": ("42\n", "(file)"),
    "invalid yaml": ("tp: [1\n", "(file)"),
    "tab indentation": ("serving:\n\treplicas: 2\n", "(file)"),
    "alias bomb": ("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 30)), "alias"),
    "deep nesting": ("tp: " + "[" * 500 + "]" * 500 + "\n", "nested"),
    "trace and generator": ("workload:\n  trace: azure-code\n  generator: poisson\n  rate_per_s: 1\n", "trace"),
    "generator without an end": ("workload:\n  generator: poisson\n  rate_per_s: 1\n", "duration_s"),
    "bad quantiles": ("workload:\n  generator: poisson\n  rate_per_s: 1\n  duration_s: 5\n"
                      "  output_quantiles: {p0: 10, p50: 5}\n", "output_quantiles"),
    "draft without a model": ("serving:\n  speculative: {method: draft}\n", "draft_model"),
    "python tag": ("tp: !!python/object/apply:os.system ['true']\n", "(file)"),
}


@pytest.mark.parametrize("name", list(SCENARIO_FILES))
def test_bad_scenario_file(tmp_path, name):
    text, key = SCENARIO_FILES[name]
    p = tmp_path / "scenario.yaml"
    p.write_text(text)
    refused("simulate", p, names=(str(p), key))


def test_huge_and_missing_scenarios(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (17 * 2**20) + "\n")
    refused("simulate", big, names=(str(big), "limit"))
    refused("simulate", tmp_path / "none.yaml", names=("none.yaml", "no such file"))


AZURE = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
T0 = "2023-11-16 18:17:03.9799600"
TRACES = {
    "azure negative": ("t.csv", AZURE + f"{T0},-5,10\n", "ContextTokens"),
    "azure text": ("t.csv", AZURE + f"{T0},abc,10\n", "ContextTokens"),
    "azure fraction": ("t.csv", AZURE + f"{T0},10,2.5\n", "GeneratedTokens"),
    "azure bad time": ("t.csv", AZURE + "yesterday,10,10\n", "TIMESTAMP"),
    "azure backwards": ("t.csv", AZURE + f"{T0},10,10\n2023-11-16 18:17:01.0000000,10,10\n", "TIMESTAMP"),
    "azure missing column": ("t.csv", "TIMESTAMP,ContextTokens\n" + f"{T0},10\n", "GeneratedTokens"),
    "azure short row": ("t.csv", AZURE + f"{T0},10\n", "fields"),
    "azure empty": ("t.csv", "", "empty"),
    "mooncake not json": ("t.jsonl", "{timestamp: 1}\n", "JSON"),
    "mooncake list": ("t.jsonl", "[1, 2]\n", "JSON object"),
    "mooncake missing": ("t.jsonl", '{"timestamp": 0, "input_length": 5}\n', "output_length"),
    "mooncake bad hashes": ("t.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 2, "hash_ids": [-1]}\n',
                            "hash_ids"),
    "mooncake text timestamp": ("t.jsonl", '{"timestamp": "x", "input_length": 5, "output_length": 2}\n',
                                "timestamp"),
    "mooncake infinite timestamp": ("t.jsonl", '{"timestamp": Infinity, "input_length": 5, "output_length": 2}\n',
                                    "timestamp"),
    "mooncake negative length": ("t.jsonl", '{"timestamp": 0, "input_length": -5, "output_length": 2}\n',
                                 "input_length"),
    "mooncake bool length": ("t.jsonl", '{"timestamp": 0, "input_length": true, "output_length": 2}\n',
                             "input_length"),
    "unknown format": ("t.trace", "hello\n", "trace format"),
    "binary": ("t.csv", None, "cannot be read"),
    "fake gz": ("t.csv.gz", "not gzip", "cannot be read"),
}


@pytest.mark.parametrize("name", list(TRACES))
def test_bad_trace(tmp_path, name):
    fname, text, column = TRACES[name]
    p = tmp_path / fname
    if text is None:
        p.write_bytes(b"\xff\xfe\x00\x01")
    else:
        p.write_text(text)
    with pytest.raises(JalapenoError) as err:
        list(load_trace(p))
    msg = str(err.value)
    assert str(p) in msg and column in msg and "\n" not in msg, msg


def test_truncated_gz_trace(tmp_path):
    p = tmp_path / "t.csv.gz"
    p.write_bytes(gzip.compress((AZURE + f"{T0},10,10\n" * 1000).encode())[:200])
    with pytest.raises(JalapenoError, match="cannot be read"):
        list(load_trace(p))


def test_bad_trace_from_the_command_line(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(AZURE + f"{T0},-5,10\n")
    refused("simulate", "--trace", p, names=(str(p), "ContextTokens"))
