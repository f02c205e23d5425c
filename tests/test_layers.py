"""The house's rule: layers import downward only (DESIGN.md section 2).

Walks every module's imports with `ast` and fails on any import of a package ranked above the
importer. Same-rank siblings may not import each other either, except where listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jalapeno

# Lower number = lower layer. A module may import packages of a strictly lower rank (or its own).
RANK = {
    "errors": 0, "formats": 0.5, "safeload": 0.4, "ranges": 0.4, "sourced": 0.5,
    "hardware": 1, "workloads": 1,
    "models": 2, "stacks": 2,
    "kernels": 3,
    "network": 3.5,  # collectives are costed with the kernels' cost record
    "engine": 4,
    "economics": 5,
    "serving": 6,
    "validation": 7, "fleet": 7,
    "explore": 8,
    "report": 9,
    "api": 9.5,  # the Python API: __init__ re-exports it, so it sits just below
    "cli": 10, "__init__": 10, "__main__": 10,
}

ROOT = Path(jalapeno.__file__).parent


def _package_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _imported_packages(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "jalapeno":
                if len(parts) > 1:
                    found.add(parts[1])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "jalapeno" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_every_package_has_a_rank():
    packages = {_package_of(p) for p in ROOT.rglob("*.py")}
    assert packages <= set(RANK), f"unranked packages: {sorted(packages - set(RANK))}"


def test_no_upward_imports():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        own = _package_of(path)
        for target in _imported_packages(ast.parse(path.read_text(), str(path))):
            if target == own or target not in RANK:
                continue
            if RANK[target] >= RANK[own]:
                upward.append(f"{path.relative_to(ROOT)} imports jalapeno.{target}")
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)
