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
    """(plain mapping, {dotted path: source}) of economics/data/<name>.yaml, checked."""
    path = Path(str(_DATA / f"{name}.yaml"))
    plain, sources = read_sourced_yaml(path, name)
    problems = check_data(name, plain)
    if problems:
        raise SpecError(str(path), problems)
    return plain, sources


# Fields that must lie in a range (dotted path suffix -> (low, high, inclusive-low, what)).
_RANGES = {
    "pue": (1.0, 10.0, True, "a power usage effectiveness is at least 1"),
    "cost_of_capital": (0.0, 1.0, True, "an annual rate as a fraction (0.10 = 10%), 0 <= r < 1"),
    "maintenance_fraction_per_year": (0.0, 1.0, True, "a fraction of capex per year, 0 <= f < 1"),
    "sram_repair_fraction": (0.0, 1.0, True, "a fraction, 0 <= f <= 1"),
    "assembly_yield": (0.0, 1.0, False, "a yield, 0 < y <= 1"),
    "blended_input_share": (0.0, 1.0, True, "a share, 0 <= s <= 1"),
}


def check_data(name: str, tree, path: str = "") -> list[tuple[str, str]]:
    """Problems of an economics data tree: every figure is a price, area, rate or count, so none
    may be negative (or NaN); fractions and PUE must lie in their ranges; the yield model must be
    one the cost model knows."""
    out: list[tuple[str, str]] = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += check_data(name, v, f"{path}.{k}" if path else str(k))
        if name == "parts" and path == "yield" and tree.get("model") not in ("negative-binomial", "murphy",
                                                                             "poisson"):
            out.append(("yield.model", f"must be negative-binomial, murphy or poisson (got {tree.get('model')!r})"))
        return out
    if isinstance(tree, list):
        for i, v in enumerate(tree):
            out += check_data(name, v, f"{path}[{i}]")
        return out
    if isinstance(tree, bool) or not isinstance(tree, int | float):
        return out
    leaf = path.rsplit(".", 1)[-1]
    if tree != tree or tree < 0:
        out.append((path, f"must be a number of at least 0 (got {tree!r})"))
    elif leaf in _RANGES:
        lo, hi, inclusive, what = _RANGES[leaf]
        below = tree < lo if inclusive else tree <= lo
        above = tree > hi if leaf in ("sram_repair_fraction", "assembly_yield", "blended_input_share", "pue") \
            else tree >= hi
        if below or above:
            out.append((path, f"{what} (got {tree!r})"))
    elif leaf in ("cluster_alpha", "life_years", "facility_life_years", "wafer_usd", "sram_bitcell_um2",
                  "logic_mtr_per_mm2", "rack_it_kw", "diameter_mm") and tree == 0:
        out.append((path, "must be above 0"))
    return out


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
