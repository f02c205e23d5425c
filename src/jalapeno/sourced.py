"""Reading data files whose figures carry their public sources.

Catalog YAML lets every figure be written either bare or as `{value: X, source: "..."}`; a
mapping may also carry a `source:` that covers every bare figure inside it. `split_sources`
turns such a tree into plain values (for pydantic) plus a `{dotted.path: source}` map, and
reports any number that ends up with no source at all. Kept separate from the spec classes so
chips, models and stack profiles all share one convention.
"""

from __future__ import annotations

from typing import Any


def split_sources(tree: Any, inherited: str | None = None, path: str = "") -> tuple[Any, dict[str, str], list[str]]:
    """Return (plain tree, sources by dotted path, dotted paths of numbers without a source)."""
    sources: dict[str, str] = {}
    unsourced: list[str] = []
    if isinstance(tree, dict):
        if set(tree) == {"value", "source"} or (set(tree) <= {"value", "source", "note"} and "value" in tree):
            src = tree.get("source") or inherited
            value = tree["value"]
            if src:
                sources[path] = str(src)
            elif _is_figure(value):
                unsourced.append(path)
            return value, sources, unsourced
        local = tree.get("source", inherited)
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


def _is_figure(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
