"""Reading data files whose figures carry their public sources.

Catalog YAML lets every figure be written either bare or as `{value: X, source: "..."}`; a
mapping may also carry a `source:` that covers every bare figure inside it. `split_sources`
turns such a tree into plain values (for pydantic) plus a `{dotted.path: source}` map, and
reports any number that ends up with no source at all. Kept separate from the spec classes so
chips, models and stack profiles all share one convention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jalapeno.errors import SpecError, UnknownIdError
from jalapeno.safeload import read_yaml


def split_sources(tree: Any, inherited: str | None = None, path: str = "") -> tuple[Any, dict[str, str], list[str]]:
    """Return (plain tree, sources by dotted path, dotted paths of numbers without a source)."""
    sources: dict[str, str] = {}
    unsourced: list[str] = []
    if isinstance(tree, dict):
        if set(tree) == {"value", "source"} or (set(tree) <= {"value", "source", "note", "range"} and "value" in tree):
            src = tree.get("source") if "source" in tree else inherited
            if not _is_source(src):
                src = None  # a number, a blank or a list is not a source
            value = tree["value"]
            if src:
                sources[path] = str(src)
            elif _is_figure(value):
                unsourced.append(path)
            return value, sources, unsourced
        local = tree.get("source", inherited)
        if "source" in tree and not _is_source(local):
            local = None
        if isinstance(local, str) and "source" in tree and path:
            sources[path] = local
        plain: dict[str, Any] = {}
        for key, val in tree.items():
            if key == "source" and isinstance(val, str):
                continue
            sub = f"{path}.{key}" if path else str(key)
            p, s, u = split_sources(val, local if isinstance(local, str) else None, sub)
            plain[key] = p
            sources.update(s)
            unsourced.extend(u)
        return plain, sources, unsourced
    if isinstance(tree, list):
        out = []
        for i, val in enumerate(tree):
            p, s, u = split_sources(val, inherited, f"{path}[{i}]")
            out.append(p)
            sources.update(s)
            unsourced.extend(u)
        return out, sources, unsourced
    if _is_figure(tree) and not inherited:
        unsourced.append(path)
    elif _is_figure(tree) and inherited:
        sources[path] = inherited
    return tree, sources, unsourced


def collect_ranges(tree: Any, path: str = "") -> tuple[dict[str, tuple[float, float]], list[tuple[str, str]]]:
    """(ranges by dotted path, problems) of the figures written `{value: X, range: [lo, hi], source: ...}`:
    the span an assumption is uncertain over, which `jalapeno sensitivity` explores."""
    ranges: dict[str, tuple[float, float]] = {}
    problems: list[tuple[str, str]] = []
    if isinstance(tree, dict):
        if "value" in tree and "range" in tree and set(tree) <= {"value", "source", "note", "range"}:
            r, v = tree["range"], tree["value"]
            if (not isinstance(r, list) or len(r) != 2 or not all(_is_figure(x) for x in r)
                    or not _is_figure(v)):
                problems.append((path, f"range must be [low, high] around a number, got {r!r}"))
            elif not (r[0] <= v <= r[1]) or r[0] == r[1]:
                problems.append((path, f"range [{r[0]}, {r[1]}] must span the value {v} (low <= value <= high)"))
            else:
                ranges[path] = (float(r[0]), float(r[1]))
            return ranges, problems
        for key, val in tree.items():
            r, p = collect_ranges(val, f"{path}.{key}" if path else str(key))
            ranges.update(r)
            problems.extend(p)
    elif isinstance(tree, list):
        for i, val in enumerate(tree):
            r, p = collect_ranges(val, f"{path}[{i}]")
            ranges.update(r)
            problems.extend(p)
    return ranges, problems


def _is_source(src: Any) -> bool:
    """A source is text that says where a figure comes from (not a number, not blank)."""
    return isinstance(src, str) and any(ch.isalpha() for ch in src)


def _is_figure(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def catalog_ids(folder) -> list[str]:
    """Ids of the YAML files in a catalog folder (file names without `.yaml`)."""
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def catalog_path(kind: str, ref: str, folder) -> Path:
    """The YAML file behind a catalog id, or a user's path (anything with a slash or .yaml)."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        return Path(ref)
    path = Path(str(folder / f"{ref}.yaml"))
    if not path.exists():
        raise UnknownIdError(kind, ref, catalog_ids(folder))
    return path


def read_sourced_yaml(path: Path, kind: str, not_figures: frozenset[str] = frozenset()) -> tuple[dict, dict]:
    """(plain mapping, sources) of a catalog YAML; errors name the file and the field."""
    raw = read_yaml(path, kind)
    if not isinstance(raw, dict):
        raise SpecError(str(path), [("(file)", f"expected a mapping of {kind} fields")])
    plain, sources, unsourced = split_sources(raw)
    unsourced = [p for p in unsourced if p not in not_figures]
    if unsourced:
        raise SpecError(str(path), [(p, "a figure without a source (write {value: ..., source: ...})")
                                    for p in unsourced])
    ranges, problems = collect_ranges(raw)
    if problems:
        raise SpecError(str(path), problems)
    if ranges:
        plain = {**plain, "ranges": ranges}
    return plain, sources
