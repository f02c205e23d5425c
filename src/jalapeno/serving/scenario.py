"""Scenario files: the deployment, the traffic and the server settings of one simulation.

A scenario YAML names a model, a chip and a layout, a workload (a trace by name or path, or a
generator), and the serving configuration. Flags on the command line override its fields.
Errors name the file and the key.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jalapeno.errors import JalapenoError, JalapenoWarning, SpecError, pydantic_problems
from jalapeno.safeload import read_yaml
from jalapeno.serving.config import ServingConfig
from jalapeno.workloads.distributions import Empirical
from jalapeno.workloads.paths import ENV_VAR
from jalapeno.workloads.request import Request

MAX_REQUESTS = 100_000_000  # a billion-request run would take hours; 1M takes about half a minute
MAX_DURATION_S = 365 * 86_400.0
MAX_TOKENS = 100_000_000


class WorkloadSpec(BaseModel):
    """Where requests come from. With `trace`, `rate_per_s` time-scales the trace to that mean
    rate; `duration_s` / `num_requests` cut it. With `generator`: `profile` draws from a built-in
    fit to a shared trace (works without the trace files), `poisson` / `gamma` draw lengths with
    the given means: from `input_quantiles` / `output_quantiles` where given (the shape of a
    measured length distribution as quantiles, 'p0' ... 'p100', scaled to the mean), else
    log-normal with `length_sigma` (0: every request has the mean length). `max_*_tokens` cap
    the draws. `fallback: profile` lets a scenario that names a shared trace run where the trace
    files are absent: it then draws from the built-in profile fitted to that trace (same rate,
    burstiness and length distributions), with a warning; the default `error` refuses."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    trace: str | None = None
    generator: Literal["profile", "poisson", "gamma"] | None = None
    profile: str = "azure-code"
    rate_per_s: float | None = Field(default=None, gt=0, le=1e6)
    cv: float = Field(default=1.0, ge=0, le=100)
    duration_s: float | None = Field(default=None, gt=0, le=MAX_DURATION_S)
    num_requests: int | None = Field(default=None, ge=1, le=MAX_REQUESTS)
    input_tokens: float = Field(default=2048, ge=1, le=MAX_TOKENS)
    output_tokens: float = Field(default=256, ge=1, le=MAX_TOKENS)
    length_sigma: float = Field(default=0.0, ge=0, le=10)
    input_quantiles: dict[str, float] | None = None
    output_quantiles: dict[str, float] | None = None
    max_input_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    max_output_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    seed: int = 0
    fallback: Literal["error", "profile"] = "error"

    @model_validator(mode="after")
    def _one_source(self) -> WorkloadSpec:
        if self.trace and self.generator:
            raise ValueError("give either trace or generator, not both")
        if self.generator in ("poisson", "gamma") and not self.rate_per_s:
            raise ValueError(f"generator '{self.generator}' needs rate_per_s")
        if (self.generator or not self.trace) and not (self.duration_s or self.num_requests):
            raise ValueError("a generator needs duration_s or num_requests")
        if self.generator in ("poisson", "gamma") and self.duration_s and self.rate_per_s and not self.num_requests \
                and self.rate_per_s * self.duration_s > MAX_REQUESTS:
            raise ValueError(f"rate_per_s x duration_s is {self.rate_per_s * self.duration_s:,.0f} requests, above "
                             f"the limit of {MAX_REQUESTS:,}; give fewer seconds or a lower rate")
        for name in ("input_quantiles", "output_quantiles"):
            q = getattr(self, name)
            if q is not None:
                try:
                    Empirical(q)
                except JalapenoError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        return self

    def requests(self) -> Iterator[Request]:
        from jalapeno.workloads import generators, scaling, traces
        from jalapeno.workloads.distributions import Fixed, LogNormal

        if self.trace:
            fallback = self._fallback_stream()
            if fallback is not None:
                return fallback
            trace = traces.load_trace(self.trace)
            reqs: Iterator[Request] = scaling.scale_to_rate(trace, self.rate_per_s) if self.rate_per_s else iter(trace)
            if self.duration_s or self.num_requests:
                reqs = scaling.take(reqs, num=self.num_requests, duration_s=self.duration_s)
            return reqs
        if self.generator in (None, "profile"):
            return generators.from_profile(self.profile, self.rate_per_s, self.duration_s, self.num_requests,
                                           seed=self.seed)

        def dist(mean: float, cap: int | None, quantiles: dict[str, float] | None):
            if quantiles:
                return Empirical(quantiles).with_mean(mean, cap)
            return LogNormal(mean, self.length_sigma, cap) if self.length_sigma else Fixed(int(round(mean)))

        lengths = (dist(self.input_tokens, self.max_input_tokens, self.input_quantiles),
                   dist(self.output_tokens, self.max_output_tokens, self.output_quantiles))
        rate = self.rate_per_s
        assert rate is not None  # _one_source requires a rate for poisson and gamma
        if self.generator == "poisson":
            return generators.poisson(rate, self.duration_s, self.num_requests, *lengths, seed=self.seed)
        return generators.gamma_bursty(rate, self.cv, self.duration_s, self.num_requests, *lengths,
                                       seed=self.seed)


    def _fallback_stream(self) -> Iterator[Request] | None:
        """The fitted-profile stream standing in for a missing shared trace, or None (use the trace)."""
        from jalapeno.workloads import generators
        from jalapeno.workloads.paths import TRACE_FILES, resolve_trace
        from jalapeno.workloads.profiles import load_profiles

        if self.fallback != "profile" or self.trace not in TRACE_FILES or self.trace not in load_profiles():
            return None
        try:
            resolve_trace(self.trace)
            return None
        except JalapenoError as exc:
            missing = str(exc)
        profile = load_profiles()[self.trace]
        num = self.num_requests if (self.num_requests or self.duration_s) else profile.requests
        warnings.warn(f"{missing.split(' Looked in')[0].rstrip('.')}; drawing from the profile fitted to it instead "
                      f"(--generator profile --profile {self.trace}). To use the real trace, set {ENV_VAR} "
                      f"to a directory holding {TRACE_FILES[self.trace]} (see the README's Data credits).",
                      JalapenoWarning, stacklevel=3)
        return generators.from_profile(self.trace, self.rate_per_s, self.duration_s, num, seed=self.seed)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str = "llama-3.1-8b"
    chip: str = "h100-sxm"
    tp: int = Field(default=1, ge=1, le=100_000)
    pp: int = Field(default=1, ge=1, le=100_000)
    ep: int = Field(default=1, ge=1, le=100_000)
    precision: str | None = None
    stack: str | None = None  # software-stack profile id; None: the chip's own
    workload: WorkloadSpec = WorkloadSpec(duration_s=600)
    serving: ServingConfig = ServingConfig()


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    raw = read_yaml(p, "scenario")
    raw = {} if raw is None else raw  # an empty file: every default
    if not isinstance(raw, dict):
        raise SpecError(str(p), [("(file)", "expected a mapping of scenario keys")])
    return parse_scenario(raw, str(p))


def parse_scenario(raw: dict, where: str = "<scenario>") -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(where, pydantic_problems(exc)) from None


def merge(base: dict, overrides: dict) -> dict:
    """Deep-merge flag overrides (None means: not given) into a scenario mapping."""
    out = dict(base)
    for k, v in overrides.items():
        if v is None:
            continue
        if isinstance(v, dict):
            out[k] = merge(out.get(k) or {}, v)
        else:
            out[k] = v
    return out
