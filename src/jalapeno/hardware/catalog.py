"""The chip catalog: YAML files shipped in `hardware/data/chips`, or any path a user gives."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from jalapeno.errors import SpecError, UnknownIdError, pydantic_problems
from jalapeno.hardware.spec import ChipSpec, SystemSpec
from jalapeno.sourced import split_sources

_DATA = resources.files("jalapeno.hardware") / "data" / "chips"
_NOT_FIGURES = {"year"}  # numbers that are labels, not measured figures


def chip_ids() -> list[str]:
    return sorted(p.name[: -len(".yaml")] for p in _DATA.iterdir() if p.name.endswith(".yaml"))


def chip_path(ref: str) -> Path:
    """The YAML file behind a catalog id or a user path."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        return Path(ref)
    path = Path(str(_DATA / f"{ref}.yaml"))
    if not path.exists():
        raise UnknownIdError("chip", ref, chip_ids())
    return path


@lru_cache(maxsize=256)
def load_chip(ref: str) -> ChipSpec:
    """Load a chip by catalog id or path; every numeric figure must carry a source."""
    path = chip_path(ref)
    if not path.exists():
        raise SpecError(str(path), [("(file)", "no such file")])
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(str(path), [("(file)", f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise SpecError(str(path), [("(file)", "expected a mapping of chip fields")])
    plain, sources, unsourced = split_sources(raw)
    unsourced = [p for p in unsourced if p not in _NOT_FIGURES]
    if unsourced:
        raise SpecError(str(path), [(p, "a figure without a source (write {value: ..., source: ...})")
                                    for p in unsourced])
    plain["sources"] = sources
    try:
        return ChipSpec.model_validate(plain)
    except ValidationError as exc:
        raise SpecError(str(path), pydantic_problems(exc)) from None


def chip_yaml_text(ref: str) -> str:
    return chip_path(ref).read_text()


def make_system(chip: str | ChipSpec, num_chips: int) -> SystemSpec:
    spec = load_chip(chip) if isinstance(chip, str) else chip
    return SystemSpec(chip=spec, num_chips=num_chips)
