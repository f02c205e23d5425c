"""A design space as a file: parameters, constraints, a workload and objectives.

The space is declarative, apart from the search that explores it (Timeloop's split): which
primitives vary and over what (`parameters`, each a `range` or `choices`), what a design must
satisfy (`constraints`), what it must serve (`workload`: models, a length profile, per-user speed
targets, TTFT and p99 TPOT SLOs) and what makes it good (`objectives`). `robust` names the
uncertain assumptions and their ranges. Bad spaces get one error naming the field.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError, model_validator

from jalapeno.errors import JalapenoError, SpecError, pydantic_problems
from jalapeno.explore.design import PARAMETERS

# Objective name -> (default direction, what it is).
OBJECTIVES: dict[str, tuple[str, str]] = {
    "tokens_per_joule": ("maximize", "output tokens per joule of chip + host power at the SLO point"),
    "tokens_per_s_per_chip": ("maximize", "output tokens/s per chip at the SLO point"),
    "usd_per_mtoken": ("minimize", "dollars per million output tokens (jalapeno.economics)"),
    "tokens_per_s_per_user": ("maximize", "the fastest output tokens/s one user gets (batch 1, best layout)"),
}
CONSTRAINTS = ("die_area_mm2", "tdp_w", "hbm_shoreline", "unit_cost_usd", "memory_fits")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """A range `[low, high]` (with optional `step` and `log`) or a list of `choices`."""

    range: tuple[float, float] | None = None
    step: PositiveFloat | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Parameter:
        if (self.range is None) == (self.choices is None):
            raise ValueError("give either range: [low, high] or choices: [...]")
        if self.choices is not None and not self.choices:
            raise ValueError("choices is empty")
        if self.range is not None:
            lo, hi = self.range
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise ValueError(f"empty range [{lo:g}, {hi:g}] (low must not exceed high)")
            if self.log and lo <= 0:
                raise ValueError("a log range needs low > 0")
        return self


class Bound(_Strict):
    max: PositiveFloat


class Constraints(_Strict):
    die_area_mm2: Bound | None = None  # estimated die area (jalapeno.economics) <= max
    tdp_w: Bound | None = None
    hbm_shoreline: bool = False  # stacks x edge per stack <= the die's usable perimeter
    unit_cost_usd: Bound | None = None  # jalapeno.economics unit cost <= max
    memory_fits: bool = True  # weights + one full sequence fit at some layout (always checked by the planner)


class Lengths(_Strict):
    input_tokens: PositiveInt
    output_tokens: PositiveInt
    weight: PositiveFloat = 1.0


class ModelRef(_Strict):
    """A model with its own precision (`{id: qwen3-coder-480b-a35b, precision: fp8}`)."""

    id: str
    precision: str | None = None


class WorkloadSpec(_Strict):
    # Model ids or config.json paths, or {id, precision}; `precision` is the default for all.
    models: tuple[str | ModelRef, ...] = Field(min_length=1)
    precision: str | None = None
    lengths: tuple[Lengths, ...] = (Lengths(input_tokens=2048, output_tokens=256),)
    min_tokens_per_s_per_user: tuple[PositiveFloat, ...] = (100.0,)
    slo_ttft_s: PositiveFloat | None = None
    slo_tpot_p99_s: PositiveFloat | None = None
    max_pp: PositiveInt = 1
    # Speculative decoding the planner may use: "auto" (what the stack and model run), "none", or
    # one method; a planner without speculative decoding runs plain decoding only.
    speculative: str = "auto"


class Objective(_Strict):
    name: str
    direction: Literal["maximize", "minimize"] | None = None

    @property
    def sense(self) -> str:
        return self.direction or OBJECTIVES[self.name][0]


class Assumption(_Strict):
    """An uncertain figure. `stack.<field>`: the stack parameter's value (absolute); `chip.<path>`:
    a factor on the design's own figure at that dotted path. Without `range`, the stated range of
    the base chip's file or of the stack profile."""

    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Assumption:
        if self.range is not None and (self.range[0] > self.range[1] or self.range[0] < 0):
            raise ValueError(f"range {list(self.range)} must be non-negative with low <= high")
        return self


class Robust(_Strict):
    """`stated: true` adds every stated range of the stack profile and the base chip's energy and
    power figures (robust.py, STATED_CHIP)."""

    assumptions: dict[str, Assumption] = Field(default_factory=dict)
    stated: bool = False
    samples: Literal["corners"] | PositiveInt = 16
    quantile: float = Field(default=0.1, gt=0, lt=1)
    seed: int = 0


class Space(_Strict):
    name: str
    description: str = ""
    base: str = "jalapeno-ref"
    parameters: dict[str, Parameter] = Field(min_length=1)
    constraints: Constraints = Constraints()
    workload: WorkloadSpec
    objectives: tuple[Objective, ...] = Field(min_length=1)
    robust: Robust = Robust()
    path: str = ""

    def model_precisions(self) -> list[tuple[str, str | None]]:
        """(model id or path, precision or None for its native format) per workload model."""
        w = self.workload
        return [(m, w.precision) if isinstance(m, str) else (m.id, m.precision or w.precision) for m in w.models]

    @property
    def directions(self) -> list[str]:
        return [o.sense for o in self.objectives]


def load_space(path: str | Path) -> Space:
    """Read and check a space file; every problem names the file and the field."""
    return parse_space(_read(Path(path), ()), str(path))


def _read(p: Path, seen: tuple[str, ...]) -> dict:
    """A space file's mapping; `extends: other.yaml` (relative to the file) starts from another
    space, and the file's own mappings merge over it key by key (lists and values replace)."""
    if not p.exists():
        raise SpecError(str(p), [("(file)", "no such file")])
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(str(p), [("(file)", f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise SpecError(str(p), [("(file)", "expected a mapping with parameters, constraints, workload, objectives")])
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise SpecError(str(p), [("extends", f"expected a space file path, got {parent!r}")])
    if str(p.resolve()) in seen:
        raise SpecError(str(p), [("extends", "space files extend each other in a loop")])
    return _merge(_read(p.parent / parent, (*seen, str(p.resolve()))), raw)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_space(raw: dict, where: str = "<space>") -> Space:
    for name in raw.get("parameters") or {}:
        if name not in PARAMETERS:
            close = difflib.get_close_matches(str(name), list(PARAMETERS), n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise SpecError(where, [(f"parameters.{name}", f"unknown parameter{hint}; known: {', '.join(PARAMETERS)}")])
    for i, o in enumerate(raw.get("objectives") or []):
        name = o.get("name") if isinstance(o, dict) else o
        if name not in OBJECTIVES:
            raise SpecError(where, [(f"objectives[{i}].name", f"unknown objective '{name}'; known: "
                                     f"{', '.join(OBJECTIVES)}")])
    objectives = [o if isinstance(o, dict) else {"name": o} for o in raw.get("objectives") or []]
    try:
        space = Space.model_validate({**raw, "objectives": objectives, "path": where})
    except ValidationError as exc:
        raise SpecError(where, pydantic_problems(exc)) from None
    _check_parameters(space, where)
    _check_workload(space, where)
    return space


def _check_parameters(space: Space, where: str) -> None:
    for name, prm in space.parameters.items():
        kind = PARAMETERS[name][0]
        if prm.choices is not None:
            for c in prm.choices:
                ok = isinstance(c, str) if kind is str else isinstance(c, int | float) and not isinstance(c, bool)
                if not ok:
                    raise SpecError(where, [(f"parameters.{name}.choices", f"{c!r} is not a {kind.__name__}")])
                if kind is not str and c <= 0 and name != "memory_stacks":
                    raise SpecError(where, [(f"parameters.{name}.choices", f"{c!r} must be positive")])
        elif kind is str:
            raise SpecError(where, [(f"parameters.{name}", "a text parameter takes choices, not a range")])
        else:
            lo, hi = prm.range  # type: ignore[misc]
            if lo <= 0 and name != "memory_stacks":
                raise SpecError(where, [(f"parameters.{name}.range", f"low {lo:g} must be positive")])
            if kind is int and math.floor(hi) < math.ceil(lo):
                raise SpecError(where, [(f"parameters.{name}.range", f"no integer in [{lo:g}, {hi:g}]")])
    if "memory_technology" in space.parameters:
        from jalapeno.explore.design import memory_technologies

        known = memory_technologies()
        for c in space.parameters["memory_technology"].choices or ():
            if c not in known:
                raise SpecError(where, [("parameters.memory_technology.choices",
                                         f"unknown technology '{c}'; known: {', '.join(known)}")])


def _check_workload(space: Space, where: str) -> None:
    from jalapeno.models.config import load_model

    for i, m in enumerate(space.workload.models):
        try:
            load_model(m if isinstance(m, str) else m.id)
        except JalapenoError as exc:
            raise SpecError(where, [(f"workload.models[{i}]", str(exc))]) from None
