"""The chip catalog: YAML files shipped in `hardware/data/chips`, or any path a user gives."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from jalapeno.errors import SpecError, pydantic_problems
from jalapeno.hardware.spec import ChipSpec, SystemSpec
from jalapeno.sourced import catalog_ids, catalog_path, read_sourced_yaml

_DATA = resources.files("jalapeno.hardware") / "data" / "chips"
_NOT_FIGURES = {"year"}  # numbers that are labels, not measured figures


def chip_ids() -> list[str]:
    return catalog_ids(_DATA)


def chip_path(ref: str) -> Path:
    """The YAML file behind a catalog id or a user path."""
    return catalog_path("chip", ref, _DATA)


@lru_cache(maxsize=256)
def load_chip(ref: str) -> ChipSpec:
    """Load a chip by catalog id or path; every numeric figure must carry a source."""
    path = chip_path(ref)
    plain, sources = read_sourced_yaml(path, "chip", _NOT_FIGURES)
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
