"""The one reader of YAML and JSON data files: bounded, strict, and clear when it refuses.

Chip, system, model, scenario, stack and validation files all come through here, so every one
gets the same limits: a file larger than `MAX_FILE_BYTES`, nesting deeper than `MAX_DEPTH`, or
YAML with more than `MAX_ALIASES` alias references (the "billion laughs" that grows a few
lines into gigabytes) is refused before any work is done on it. A mapping that gives the same
key twice is an error, not last-one-wins, and JSON's non-standard `NaN` / `Infinity` are
refused. Every error is a `SpecError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from jalapeno.errors import SpecError

MAX_FILE_BYTES = 16 * 2**20
MAX_DEPTH = 64
MAX_ALIASES = 256


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 4x faster


def _scan(text: str, where: str) -> None:
    """Count alias references and nesting depth from the parser's events, before composing."""
    aliases = depth = 0
    for ev in yaml.parse(text, Loader=_LOADER):
        if isinstance(ev, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise SpecError(where, [("(file)", f"more than {MAX_ALIASES} YAML alias references "
                                                   "(a file that expands without bound?)")])
        elif isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise SpecError(where, [("(file)", f"nested deeper than {MAX_DEPTH} levels")])
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1


class _NoDuplicates(_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, refusing a mapping that gives a key twice."""

    where = "<yaml>"

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                dup = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if dup:
                line = key_node.start_mark.line + 1
                raise SpecError(self.where, [(str(key), f"given twice (line {line}); give each key once")])
            seen.add(key)
        return super().construct_mapping(node, deep)


def _read(path: Path, what: str) -> str:
    if not path.exists():
        raise SpecError(str(path), [("(file)", "no such file")])
    if path.is_dir():
        raise SpecError(str(path), [("(file)", f"is a folder, not a {what} file")])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SpecError(str(path), [("(file)", f"{size:,} bytes is larger than the {MAX_FILE_BYTES:,}-byte limit "
                                               f"for a {what} file")])
    try:
        return path.read_text()
    except UnicodeDecodeError:
        raise SpecError(str(path), [("(file)", "not UTF-8 text")]) from None
    except OSError as exc:
        raise SpecError(str(path), [("(file)", f"cannot be read: {exc.strerror or exc}")]) from None


def parse_yaml(text: str, where: str) -> Any:
    """YAML text to plain Python values, within the limits; errors name `where`."""
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(where, [("(file)", f"larger than the {MAX_FILE_BYTES:,}-byte limit")])
    loader = None
    try:
        _scan(text, where)
        loader = _NoDuplicates(text)
        loader.where = where
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise SpecError(where, [("(file)", f"not valid YAML: {' '.join(str(exc).split())}")]) from None
    except RecursionError:
        raise SpecError(where, [("(file)", f"nested deeper than {MAX_DEPTH} levels")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: Path | str, what: str = "data") -> Any:
    """A YAML file's contents (see the module docstring for the limits)."""
    p = Path(path)
    return parse_yaml(_read(p, what), str(p))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(where: str):
    def hook(pairs):
        out = {}
        for k, v in pairs:
            if k in out:
                raise SpecError(where, [(k, "given twice; give each key once")])
            out[k] = v
        return out
    return hook


def _depth(x: Any, limit: int) -> int:
    stack = [(x, 1)]
    deepest = 0
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > limit:
            return d
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def parse_json(text: str, where: str) -> Any:
    """JSON text to plain Python values, within the limits; errors name `where`."""
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(where, [("(file)", f"larger than the {MAX_FILE_BYTES:,}-byte limit")])
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates(where), parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise SpecError(where, [("(file)", f"not valid JSON: {exc}")]) from None
    except RecursionError:
        raise SpecError(where, [("(file)", f"nested deeper than {MAX_DEPTH} levels")]) from None
    except ValueError as exc:  # NaN / Infinity
        raise SpecError(where, [("(file)", f"not valid JSON: {exc}")]) from None
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise SpecError(where, [("(file)", f"nested deeper than {MAX_DEPTH} levels")])
    return data


def read_json(path: Path | str, what: str = "data") -> Any:
    """A JSON file's contents (see the module docstring for the limits)."""
    p = Path(path)
    return parse_json(_read(p, what), str(p))
