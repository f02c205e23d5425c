"""The chip catalog: YAML files shipped in `hardware/data/chips`, or any path a user gives."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from jalapeno.errors import JalapenoError, SpecError, pydantic_problems
from jalapeno.hardware.design import DERIVED_FROM, DERIVES, strip_derived
from jalapeno.hardware.spec import ChipSpec, SystemSpec
from jalapeno.sourced import catalog_ids, catalog_path, read_sourced_yaml

_DATA = resources.files("jalapeno.hardware") / "data" / "chips"
_NOT_FIGURES = {"year"}  # numbers that are labels, not measured figures


def chip_ids() -> list[str]:
    return catalog_ids(_DATA)


def chip_path(ref: str) -> Path:
    """The YAML file behind a catalog id or a user path."""
    return catalog_path("chip", ref, _DATA)


def _named(items) -> bool:
    return isinstance(items, list) and all(isinstance(x, dict) and "name" in x for x in items)


def _merge_named(base: list, over: list, path: str, replaced: list[str] | None) -> list:
    """Lists of named entries (memory levels) merge entry by entry: an entry of `over` with a base
    entry's name changes only the fields it gives; a new name is appended."""
    out = [dict(x) for x in base]
    names = [x["name"] for x in out]
    for entry in over:
        if entry["name"] in names:
            i = names.index(entry["name"])
            out[i] = _merge(out[i], entry, f"{path}[{i}]", replaced)
        else:
            out.append(entry)
    return out


def _drop_stale(base: dict, over: dict) -> dict:
    """The base block less what `over` makes stale: totals of primitives it changes, primitives of
    totals it gives."""
    base = dict(base)
    for key in over:
        for total in DERIVES.get(key, ()):
            if total not in over:
                base.pop(total, None)
        for prim in DERIVED_FROM.get(key, ()):
            if prim not in over and prim != "clock_ghz":
                base.pop(prim, None)
    return base


def _merge(base: dict, over: dict, path: str = "", replaced: list[str] | None = None) -> dict:
    """`base` with `over`'s fields on top; mappings merge field by field, lists of named entries
    entry by entry, anything else (a value, another list) replaces. The dotted paths replaced are
    appended to `replaced`."""
    out = _drop_stale(base, over)
    for k, v in over.items():
        key = f"{path}.{k}" if path else k
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v, key, replaced)
        elif _named(v) and _named(out.get(k)):
            out[k] = _merge_named(out[k], v, key, replaced)
        else:
            out[k] = v
            if replaced is not None:
                replaced.append(key)
    return out


def _read_chip(path: Path, seen: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """(plain fields, sources) of a chip file. A file may start from another chip (`base: <id or
    path>`) and give only what differs, e.g. a board variant's links or a design-space variant of
    a catalog chip."""
    plain, sources = read_sourced_yaml(path, "chip", frozenset(_NOT_FIGURES))
    base = plain.pop("base", None)
    if base is None:
        return plain, sources
    if not isinstance(base, str):
        raise SpecError(str(path), [("base", f"expected a chip id or path, got {base!r}")])
    if str(path) in seen:
        raise SpecError(str(path), [("base", "chips name each other as base in a loop: " + " -> ".join(seen))])
    try:
        base_path = chip_path(base)
    except JalapenoError as exc:
        raise SpecError(str(path), [("base", str(exc))]) from None
    base_plain, base_sources = _read_chip(base_path, (*seen, str(path)))
    replaced: list[str] = []
    # A new unit count or clock moves every total derived from the primitives: the base's totals go
    # and derive again from the merged primitives (block-level changes are handled in `_merge`).
    if "clock_ghz" in plain or "units" in (plain.get("matrix") or {}):
        base_plain = strip_derived(base_plain)
    merged = _merge(base_plain, plain, replaced=replaced)
    # The base's sources and ranges stay only for what the file did not replace.
    def stays(p: str) -> bool:
        return not any(p == r or p.startswith((f"{r}.", f"{r}[")) for r in replaced)

    kept = {p: src for p, src in base_sources.items() if stays(p)}
    merged["ranges"] = {**{p: r for p, r in base_plain.get("ranges", {}).items() if stays(p)},
                        **plain.get("ranges", {})}
    return merged, {**kept, **sources}


@lru_cache(maxsize=256)
def load_chip(ref: str) -> ChipSpec:
    """Load a chip by catalog id or path; every numeric figure must carry a source."""
    path = chip_path(ref)
    plain, sources = _read_chip(path)
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
