"""Robust designs: the front re-evaluated across the ranges of uncertain assumptions.

An assumption is a stack parameter (`stack.<field>`: an achievable fraction of peak or a fixed
cost, set to a value in its range) or a chip figure (`chip.<dotted path>`: a factor on the
design's own figure, e.g. `chip.power.datapath_energy_scale`, `chip.memory.hbm.energy_pj_per_byte`).
Ranges come from the space file or, without one, from what the stack profile and the base chip's
file state ("Chips as designs": `{value, range, source}`); a chip range becomes a factor on the
design's figure (the base's relative uncertainty carried over to the design). `stated: true`
takes every stated stack range and the base chip's energy and power ranges (`STATED_CHIP`).

Each design keeps the layouts the planner chose for it and is re-swept at the assumption's
values (so the batch size re-fits the SLO). Samples: the corners of the ranges (2^k) or N
seeded uniform draws. Designs rank by a quantile of the primary objective over the samples
(pessimistic: the q-quantile of a maximized objective, the (1-q)-quantile of a minimized one);
a design that is the best of the front under exactly one sample is flagged: it wins only under
that assumption.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from jalapeno.errors import JalapenoError
from jalapeno.explore.design import _derive
from jalapeno.explore.evaluate import Evaluator
from jalapeno.explore.space import Space
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.spec import ChipSpec
from jalapeno.stacks import StackProfile, load_stack

# Chip figures whose stated ranges are uncertainties of the silicon, not design choices.
STATED_CHIP = re.compile(r"^(power\.(datapath_energy_scale|active_w|idle_w)|memory\[\d+\]\.energy_pj_per_byte"
                         r"|links\.(energy_pj_per_byte|latency_us))$")
MAX_CORNERS = 64


@dataclass
class RobustRow:
    trial: int
    nominal: float
    quantile: float
    values: list[float]
    wins: int
    feasible: int = 0  # samples under which the design still meets every SLO and constraint
    flag: str = ""


def _path(p: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", p)


def _walk(chip: ChipSpec, dotted: str) -> tuple[float, str]:
    """(the figure at a dotted path, the path with list entries as indices: memory.hbm -> memory.0)."""
    node: Any = chip.model_dump()
    canon = []
    for part in _path(dotted).split("."):
        if isinstance(node, list | tuple):
            idx = [i for i, x in enumerate(node) if x.get("name") == part or x.get("kind") == part]
            i = int(part) if part.isdigit() else (idx[0] if len(idx) == 1 else -1)
            node = node[i] if 0 <= i < len(node) else None
            canon.append(str(i))
        elif isinstance(node, dict):
            node = node.get(part)
            canon.append(part)
        if node is None:
            raise JalapenoError(f"robust.assumptions.chip.{dotted}: the design has no figure there")
    if not isinstance(node, int | float):
        raise JalapenoError(f"robust.assumptions.chip.{dotted}: not a number")
    return float(node), ".".join(canon)


def _get(chip: ChipSpec, dotted: str) -> float:
    return _walk(chip, dotted)[0]


def assumption_ranges(space: Space) -> dict[str, tuple[float, float]]:
    """name -> range (absolute for stack.*, a factor for chip.*), explicit and stated."""
    base = load_chip(space.base)
    stack = load_stack(base.software_stack)
    out: dict[str, tuple[float, float]] = {}
    if space.robust.stated:
        out.update({f"stack.{k}": v for k, v in stack.ranges.items()})
        for p, (lo, hi) in base.ranges.items():
            if STATED_CHIP.match(p):
                v = _get(base, p)
                if v > 0:
                    out[f"chip.{_path(p)}"] = (lo / v, hi / v)
    fields = set(StackProfile.model_fields) - {"id", "description", "notes", "ranges", "fit_params"}
    for name, a in space.robust.assumptions.items():
        where = f"{space.path or space.name}: field 'robust.assumptions.{name}'"
        if name.startswith("stack."):
            f = name.removeprefix("stack.")
            if f not in fields:
                raise JalapenoError(f"{where}: unknown stack parameter; known: {', '.join(sorted(fields))}")
            rng = a.range or stack.ranges.get(f)
            if rng is None:
                raise JalapenoError(f"{where}: give a range (stack {stack.id} states none for {f})")
            out[name] = tuple(rng)  # type: ignore[assignment]
        elif name.startswith("chip."):
            p = name.removeprefix("chip.")
            v, canon = _walk(base, p)
            stated = {_path(k): r for k, r in base.ranges.items()}.get(canon)
            if a.range is not None:
                out[name] = tuple(a.range)  # type: ignore[assignment]
            elif stated and v > 0:
                out[name] = (stated[0] / v, stated[1] / v)
            else:
                raise JalapenoError(f"{where}: give a range (a factor); {base.id} states none for {p}")
        else:
            raise JalapenoError(f"{where}: unknown assumption; use stack.<parameter> or chip.<dotted path>")
    return out


def samples(space: Space, ranges: dict[str, tuple[float, float]]) -> list[dict[str, float]]:
    r = space.robust
    names = list(ranges)
    if not names:
        return [{}]
    if r.samples == "corners":
        if 2 ** len(names) > MAX_CORNERS:
            raise JalapenoError(f"{space.path}: field 'robust.samples': {len(names)} assumptions have "
                                f"{2 ** len(names)} corners; give samples: N instead")
        return [dict(zip(names, c, strict=True)) for c in itertools.product(*[ranges[n] for n in names])]
    rng = random.Random(r.seed)
    return [{n: rng.uniform(*ranges[n]) for n in names} for _ in range(int(r.samples))]


def apply(chip: ChipSpec, sample: dict[str, float]) -> tuple[ChipSpec, StackProfile]:
    """The design and its stack under one sample of the assumptions."""
    upd = {k.removeprefix("stack."): v for k, v in sample.items() if k.startswith("stack.")}
    stack = load_stack(chip.software_stack)
    if upd:
        stack = StackProfile.model_validate({**stack.model_dump(exclude={"ranges"}), **upd})
    over = {_path(k.removeprefix("chip.")): _get(chip, k.removeprefix("chip.")) * f
            for k, f in sample.items() if k.startswith("chip.")}
    if over:
        try:
            chip = _derive(chip, over)
        except JalapenoError as exc:
            raise JalapenoError(f"robust sample {sample}: {exc}") from None
    return chip, stack


def robust_ranking(space: Space, front: list[Any], objective: str | None = None) -> list[RobustRow]:
    """Rank front trials by the space's quantile of `objective` (default: the first) over the samples."""
    names = [o.name for o in space.objectives]
    obj = objective or names[0]
    if obj not in names:
        raise JalapenoError(f"--rank-by must be one of the space's objectives ({', '.join(names)}), got '{obj}'")
    sense = space.objectives[names.index(obj)].sense
    ranges = assumption_ranges(space)
    if not ranges:
        raise JalapenoError(f"{space.path}: field 'robust': no assumptions (give robust.assumptions or "
                            "robust.stated: true)")
    draws = samples(space, ranges)
    ev = Evaluator(space)
    rows = []
    for t in front:
        chip = ev.chip(dict(t.params))
        vals, ok = [], 0
        for s in draws:
            c, stack = apply(chip, s)
            e = ev(dict(t.params), stack=stack, chip=c)
            ok += e.feasible
            vals.append(e.objectives[obj] if e.feasible else (0.0 if sense == "maximize" else float("inf")))
        q = space.robust.quantile if sense == "maximize" else 1 - space.robust.quantile
        rows.append(RobustRow(t.number, t.values[names.index(obj)], float(np.quantile(vals, q)), vals, 0, ok))
    if not rows:
        return rows
    table = np.array([r.values for r in rows])
    winners = (np.argmax if sense == "maximize" else np.argmin)(table, axis=0)
    for i, r in enumerate(rows):
        won = [j for j, w in enumerate(winners) if w == i and np.isfinite(table[i, j]) and table[i, j] > 0]
        r.wins = len(won)
        if len(draws) > 1 and len(won) == 1:
            r.flag = "wins only under " + ", ".join(f"{k}={v:.3g}" for k, v in draws[won[0]].items())
    rows.sort(key=lambda r: -r.quantile if sense == "maximize" else r.quantile)
    return rows
