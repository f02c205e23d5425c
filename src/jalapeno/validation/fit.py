"""Re-deriving a stack profile's fitted parameters from the measured rows (`validate --refit`).

Minimizes the mean absolute log error of every measured row the stack serves (end-to-end rows,
plus the H100 kernel tables for TensorRT-LLM; with `serving=True` also the InferenceX serving
points on the stack's chips, their tokens/s per GPU and per user at their public layouts) over
the few parameters in the profile's `fit_params`, with
Nelder-Mead on a bounded reparametrization. Needs scipy (`pip install jalapeno[fit]`); the
shipped profile already holds the result, so ordinary runs never fit anything.
"""

from __future__ import annotations

import numpy as np

from jalapeno.errors import JalapenoError
from jalapeno.stacks import StackProfile, load_stack
from jalapeno.validation.e2e_rows import mlperf_cases, predict_case, trtllm_cases
from jalapeno.validation.inferencex_rows import inferencex_rows, predict_row, stack_of
from jalapeno.validation.kernel_rows import kernel_rows

_BOUNDS = {"kernel_overhead_s": (1e-7, 2e-5), "attention_block_latency_s": (1e-7, 5e-5),
           "host_step_s": (1e-5, 2e-2)}


def _bounds(name: str) -> tuple[float, float]:
    return _BOUNDS.get(name, (0.05, 1.0))


def fit_stack(stack_id: str, max_evals: int = 300,
              serving: bool | None = None) -> tuple[StackProfile, float, float]:
    """(fitted profile, loss before, loss after). `serving` (default: the profile's
    `fit_serving_rows`) adds the InferenceX points of the stack's chips to the loss."""
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise JalapenoError("--refit needs scipy: pip install 'jalapeno[fit]'") from None
    base = load_stack(stack_id)
    cases = [c for c in trtllm_cases() + mlperf_cases("Offline")[0] if c.stack_id == stack_id]
    serving = base.fit_serving_rows if serving is None else serving
    ix = [r for r in inferencex_rows() if stack_of(r) == stack_id] if serving else []
    if not cases and not ix:
        raise JalapenoError(f"no measured rows use stack '{stack_id}'")
    with_kernels = stack_id == "trtllm"
    names = list(base.fit_params)
    lo = np.array([_bounds(n)[0] for n in names])
    hi = np.array([_bounds(n)[1] for n in names])

    def profile(x) -> StackProfile:
        v = lo + (hi - lo) / (1 + np.exp(-x))
        return base.model_copy(update=dict(zip(names, (float(a) for a in v), strict=True)))

    def loss(x) -> float:
        st = profile(x)
        errs = [abs(np.log(max(predict_case(c, st), 1e-9) / c.measured)) for c in cases]
        for r in ix:  # a serving point counts as one row: half throughput, half per-user speed
            predict_row(r, st)
            if np.isfinite(r.predicted_tok_s_per_gpu):
                errs.append(0.5 * abs(np.log(r.predicted_tok_s_per_gpu / r.measured_tok_s_per_gpu))
                            + 0.5 * abs(np.log(r.predicted_tok_s_per_user / r.measured_tok_s_per_user)))
        total = float(np.mean(errs))
        if with_kernels:
            ks = kernel_rows(st)
            total += 0.5 * float(np.mean([abs(np.log(r.predicted_s / r.measured_s)) for r in ks]))
        return total

    v0 = np.array([getattr(base, n) for n in names])
    p0 = np.clip((v0 - lo) / (hi - lo), 1e-3, 1 - 1e-3)
    x0 = np.log(p0 / (1 - p0))
    before = loss(x0)
    res = minimize(loss, x0, method="Nelder-Mead", options={"maxfev": max_evals, "xatol": 1e-3, "fatol": 1e-5})
    return profile(res.x), before, float(res.fun)
