"""The bad-input catalogue, command-line flags and layouts: meaningless numbers (zero where zero
means nothing, negative, infinite, NaN, absurd), wrong types, conflicting flags and unwritable
output paths are refused before any work, with exit 2 and one line naming the flag."""

from __future__ import annotations

import pytest
from bad_inputs import refused

M = ("--model", "llama-3.1-8b")
P = ("predict", *M, "--chip", "h100-sxm")
S = ("simulate", "--num-requests", "3")
C = ("capacity", "--generator", "poisson", "--input-tokens", "100", "--output-tokens", "10")
PLAN = ("plan", *M, "--chip", "h100-sxm")

CASES = [
    # predict: counts
    *[((*P, flag, v), flag) for flag in ("--tp", "--pp", "--ep", "--chips", "--input-tokens", "--output-tokens",
                                         "--concurrency") for v in ("0", "-1")],
    *[((*P, flag, v), flag) for flag in ("--tp", "--chips", "--input-tokens") for v in ("abc", "1.5", "inf")],
    ((*P, "--chips", "10000000"), "--chips"),
    ((*P, "--input-tokens", "1000000"), "context window"),
    ((*P, "--input-tokens", "130000", "--output-tokens", "2000"), "context window"),
    # predict: conflicts and layouts
    ((*P, "--layout", "tp=2", "--tp", "4"), "--layout and --tp"),
    ((*P, "--layout", "tp=2", "--pp", "1"), "--layout and --pp"),
    ((*P, "--layout", "tp=2", "--ep", "1"), "--layout and --ep"),
    ((*P, "--system", "dgx-h100"), "--chip and --system"),
    *[((*P, "--layout", lay), "--layout") for lay in ("tp=0", "pp=0", "ep=0", "dp=0", "tp=-1", "tp=2,tp=4", "tp=x",
                                                     "xp=2", "tp=2;pp=2", "tp", "tp=99999999", "tp=1.5")],
    (("predict", *M), "--chip"),
    (("predict", *M, "--chip", "no-such-chip"), "no-such-chip"),
    (("predict", "--model", "no-such-model", "--chip", "h100-sxm"), "no-such-model"),
    (("predict", *M, "--system", "no-such-system"), "no-such-system"),
    (("predict", *M, "--system", "dgx-h100", "--chips", "0"), "--chips"),
    ((*P, "--precision", "fp3"), "fp3"),
    ((*P, "--bogus", "1"), "--bogus"),
    # compare and plan
    (("compare", "--chips", "0"), "--chips"),
    (("compare", "--input-tokens", "0"), "--input-tokens"),
    *[(("compare", "--tokens-per-s-per-user", v), "--tokens-per-s-per-user")
      for v in ("-5", "abc", "0", ",", "nan", "inf")],
    (("compare", "--input-tokens", "500000"), "context window"),
    ((*PLAN, "--system", "dgx-h100"), "--chip and --system"),
    ((*PLAN, "--chips", "0"), "--chips"),
    ((*PLAN, "--slo-ttft-ms", "0"), "--slo-ttft-ms"),
    ((*PLAN, "--slo-tpot-ms", "-1"), "--slo-tpot-ms"),
    ((*PLAN, "--slo-tpot-ms", "inf"), "--slo-tpot-ms"),
    ((*PLAN, "--chip-hour-usd", "-2", "--objective", "cost"), "--chip-hour-usd"),
    ((*PLAN, "--usd-per-kwh", "-0.1"), "--usd-per-kwh"),
    ((*PLAN, "--usd-per-kwh", "inf"), "--usd-per-kwh"),
    ((*PLAN, "--objective", "fastest"), "--objective"),
    ((*PLAN, "--cost-basis", "nonsense"), "nonsense"),
    # simulate: numbers
    *[((*S, flag, v), flag) for flag in ("--tp", "--pp", "--ep", "--replicas", "--max-num-seqs", "--max-batched-tokens",
                                         "--max-new-tokens", "--spec-tokens") for v in ("0", "-3")],
    *[(("simulate", "--num-requests", v), "--num-requests") for v in ("0", "-1", "1000000000000")],
    *[((*S, flag, v), flag) for flag in ("--rate", "--duration", "--slo-ttft-ms", "--slo-tpot-ms", "--input-tokens",
                                         "--output-tokens") for v in ("0", "-1", "inf", "nan")],
    (("simulate", "--duration", "1e12"), "--duration"),
    ((*S, "--spec-acceptance", "1.5"), "--spec-acceptance"),
    ((*S, "--spec-acceptance", "-0.1"), "--spec-acceptance"),
    ((*S, "--spec-tokens", "99"), "--spec-tokens"),
    ((*S, "--max-num-seqs", "100000000"), "--max-num-seqs"),
    ((*S, "--max-batched-tokens", "1000000000"), "--max-batched-tokens"),
    ((*S, "--replicas", "1000000"), "--replicas"),
    (("simulate", "--generator", "poisson", "--rate", "1e6", "--duration", "1e6"), "limit"),
    # simulate: choices, conflicts and formats
    ((*S, "--layout", "tp=2", "--tp", "2"), "--layout and --tp"),
    ((*S, "--layout", "tp=1,dp=2", "--replicas", "3"), "--replicas"),
    ((*S, "--layout", "dp=0"), "--layout"),
    ((*S, "--trace", "azure-code", "--generator", "poisson"), "--trace and --generator"),
    ((*S, "--router", "random"), "router"),
    ((*S, "--kv-reservation", "sometimes"), "kv_reservation"),
    ((*S, "--spec", "magic"), "method"),
    ((*S, "--spec", "draft"), "draft_model"),
    ((*S, "--generator", "uniform"), "generator"),
    ((*S, "--generator", "poisson"), "rate_per_s"),
    ((*S, "--trace", "no-such-trace"), "no-such-trace"),
    ((*S, "--disaggregate", "0:1"), "--disaggregate"),
    ((*S, "--disaggregate", "1:0"), "--disaggregate"),
    ((*S, "--disaggregate", "x"), "--disaggregate"),
    ((*S, "--disaggregate", "-1:2"), "--disaggregate"),
    ((*S, "--chip", "no-such-chip"), "no-such-chip"),
    ((*S, "--model", "no-such-model"), "no-such-model"),
    # capacity
    ((*C, "--duration", "0"), "--duration"),
    ((*C, "--duration", "inf"), "--duration"),
    ((*C, "--duration", "-5"), "--duration"),
    ((*C, "--slo-ttft-ms", "0"), "--slo-ttft-ms"),
    ((*C, "--slo-tpot-ms", "nan"), "--slo-tpot-ms"),
    ((*C, "--layout", "tp=1", "--tp", "1"), "--layout and --tp"),
    # prices (negative prices never give negative $/Mtoken)
    *[((*P, f"--cost-basis={v}"), "--cost-basis") for v in ("-5", "0", "inf", "nan", "cloud:never")],
    *[(("cost", "--chip", "h100-sxm", flag, v), flag.split("-")[-1]) for flag, v in (
        ("--usd-per-kwh", "-1"), ("--usd-per-kwh", "inf"), ("--life-years", "0"), ("--life-years", "nan"),
        ("--pue", "0.5"), ("--cost-of-capital", "-2"))],
    # kernels
    (("kernel", "gemm", "--chip", "h100-sxm", "--m", "0", "--n", "1", "--k", "1"), "--m"),
    (("kernel", "gemm", "--chip", "h100-sxm", "--m", "x", "--n", "1", "--k", "1"), "--m"),
    (("kernel", "allreduce", "--chip", "h100-sxm", "--chips", "0", "--bytes", "1"), "--chips"),
    (("kernel", "attention", "--chip", "h100-sxm", "--phase", "decode", "--heads", "0"), "--heads"),
]


@pytest.mark.parametrize("args, name", CASES, ids=[" ".join(a[1:]) for a, _ in CASES])
def test_bad_flag(args, name):
    refused(*args, names=(name,))


@pytest.mark.parametrize("where", ["missing/x.json", "file/x.json", "folder"])
def test_bad_trace_out_fails_before_the_run(tmp_path, where):
    (tmp_path / "file").write_text("")
    (tmp_path / "folder").mkdir()
    target = tmp_path / where
    refused("simulate", "--num-requests", "100000", "--trace-out", target, names=("--trace-out", str(target)))
