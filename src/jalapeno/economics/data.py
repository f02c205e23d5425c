"""Loading economics/data/*.yaml: every figure `{value, source}`, an unsourced number is an error.

The files are read once and validated into plain dicts (with their source maps); bad values in them
(a negative price, a PUE below 1, a yield parameter outside its range) raise a `SpecError` naming
the file and the field, like every other catalog file.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from jalapeno.errors import JalapenoError, SpecError
from jalapeno.sourced import read_sourced_yaml

_DATA = resources.files("jalapeno.economics") / "data"


@lru_cache(maxsize=16)
def load(name: str) -> tuple[dict, dict]:
    """(plain mapping, {dotted path: source}) of economics/data/<name>.yaml."""
    return read_sourced_yaml(Path(str(_DATA / f"{name}.yaml")), name)


def source_of(sources: dict, path: str) -> str:
    """The source of a dotted path, or of the nearest enclosing mapping that has one."""
    while path:
        if path in sources:
            return sources[path]
        path = path.rsplit(".", 1)[0] if "." in path else ""
    return ""


def node_entry(nm_or_name: float | str) -> tuple[str, dict]:
    """(name, entry) of the process node with this name (N5) or feature size in nm (5)."""
    nodes = load("nodes")[0]["nodes"]
    if isinstance(nm_or_name, str) and nm_or_name in nodes:
        return nm_or_name, nodes[nm_or_name]
    try:
        nm = float(nm_or_name)
    except (TypeError, ValueError):
        raise JalapenoError(f"unknown process node '{nm_or_name}'; known: {', '.join(nodes)}") from None
    for name, e in nodes.items():
        if nm in (e["nm"], e.get("also_nm")):
            return name, e
    raise JalapenoError(f"no process node of {nm:g} nm in economics/data/nodes.yaml "
                        f"(known: {', '.join(n + ' (' + format(e['nm'], 'g') + ' nm)' for n, e in nodes.items())})")


def check_positive(where: str, field: str, value: float, allow_zero: bool = False) -> float:
    """`value` if it is a finite number above zero (or zero when allowed), else a one-line error."""
    ok = isinstance(value, int | float) and value == value and value != float("inf")
    if ok and (value > 0 or (allow_zero and value == 0)):
        return float(value)
    what = "at least 0" if allow_zero else "above 0"
    raise SpecError(where, [(field, f"must be {what} (got {value!r})")])
