"""Re-deriving a stack profile's fitted parameters from the measured rows (`validate --refit`).

Minimizes the mean absolute log error of every measured row the stack serves (end-to-end rows,
plus the H100 kernel tables for TensorRT-LLM) over the few parameters in `stack.FITTED`, with
Nelder-Mead on a bounded reparametrization. Needs scipy (`pip install jalapeno[fit]`); the
shipped profile already holds the result, so ordinary runs never fit anything.
"""

from __future__ import annotations

import numpy as np

from jalapeno.errors import JalapenoError
from jalapeno.stacks import StackProfile, load_stack
from jalapeno.validation.e2e_rows import mlperf_cases, predict_case, trtllm_cases
from jalapeno.validation.kernel_rows import kernel_rows

_BOUNDS = {"kernel_overhead_s": (1e-7, 2e-5), "attention_block_latency_s": (1e-7, 5e-5),
           "host_step_s": (1e-5, 2e-2)}


def _bounds(name: str) -> tuple[float, float]:
    return _BOUNDS.get(name, (0.05, 1.0))


def fit_stack(stack_id: str, max_evals: int = 300) -> tuple[StackProfile, float, float]:
    """(fitted profile, loss before, loss after)."""
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise JalapenoError("--refit needs scipy: pip install 'jalapeno[fit]'") from None
    base = load_stack(stack_id)
    cases = [c for c in trtllm_cases() + mlperf_cases("Offline")[0] if c.stack_id == stack_id]
    if not cases:
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
        errs = [np.log(max(predict_case(c, st), 1e-9) / c.measured) for c in cases]
        total = float(np.mean(np.abs(errs)))
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
