"""Robust designs: the front re-evaluated across the ranges of uncertain assumptions.

An assumption is a stack figure (`stack.<field>`: an achievable fraction of peak or a fixed
cost, set to a value in its range) or an energy scale (`energy.memory`, `energy.links`,
`energy.idle`: a factor on the chip's pJ/byte of its memory levels, of its links, on its idle
power). Each design keeps the layouts the planner chose for it and is re-swept at the
assumption's values (so the batch size re-fits the SLO). Samples are the corners of the ranges
(2^k for k assumptions) or N seeded uniform draws. Designs rank by a quantile of their
primary objective over the samples (pessimistic: the q-quantile of a maximized objective, the
(1-q)-quantile of a minimized one); a design that is the best of the front under exactly one
sample, and under no other, is flagged: it wins only under that assumption.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jalapeno.errors import JalapenoError
from jalapeno.explore.design import _derive
from jalapeno.explore.evaluate import Evaluator
from jalapeno.explore.space import Space
from jalapeno.hardware.spec import ChipSpec
from jalapeno.stacks import StackProfile, load_stack

ENERGY = ("energy.memory", "energy.links", "energy.idle")


@dataclass
class RobustRow:
    trial: int
    nominal: float
    quantile: float
    values: list[float]
    wins: int
    flag: str = ""
    samples: list[dict[str, float]] = field(default_factory=list, repr=False)


def check_assumptions(space: Space) -> None:
    stack_fields = set(StackProfile.model_fields)
    for name in space.robust.assumptions:
        if name in ENERGY:
            continue
        if name.startswith("stack.") and name.removeprefix("stack.") in stack_fields:
            continue
        raise JalapenoError(f"{space.path}: field 'robust.assumptions.{name}': unknown assumption; use "
                            f"stack.<field> ({', '.join(sorted(stack_fields - {'id', 'description', 'notes'}))}) "
                            f"or {', '.join(ENERGY)}")


def samples(space: Space) -> list[dict[str, float]]:
    r = space.robust
    names = list(r.assumptions)
    if not names:
        return [{}]
    if r.samples == "corners":
        return [dict(zip(names, c, strict=True))
                for c in itertools.product(*[r.assumptions[n].range for n in names])]
    rng = random.Random(r.seed)
    return [{n: rng.uniform(*r.assumptions[n].range) for n in names} for _ in range(int(r.samples))]


def apply(chip: ChipSpec, sample: dict[str, float]) -> tuple[ChipSpec, StackProfile]:
    stack_upd = {k.removeprefix("stack."): v for k, v in sample.items() if k.startswith("stack.")}
    base_stack = load_stack(chip.software_stack)
    stack = StackProfile.model_validate({**base_stack.model_dump(), **stack_upd}) if stack_upd else base_stack
    over: dict[str, Any] = {}
    if "energy.memory" in sample:
        over.update({f"memory.{m.name}.energy_pj_per_byte": m.energy_pj_per_byte * sample["energy.memory"]
                     for m in chip.memory})
    if "energy.links" in sample:
        over["links.energy_pj_per_byte"] = chip.links.energy_pj_per_byte * sample["energy.links"]
    if "energy.idle" in sample:
        idle = chip.power.idle_w * sample["energy.idle"]
        if idle + chip.power.active_w >= chip.power.tdp_w:
            raise JalapenoError(f"energy.idle {sample['energy.idle']:g} puts idle power above the TDP of {chip.id}")
        over["power.idle_w"] = idle
    return (_derive(chip, over) if over else chip), stack


def robust_ranking(space: Space, front: list[Any], objective: str | None = None) -> list[RobustRow]:
    """Rank front trials by the space's quantile of `objective` (default: the first) over the samples."""
    check_assumptions(space)
    names = [o.name for o in space.objectives]
    obj = objective or names[0]
    if obj not in names:
        raise JalapenoError(f"--rank-by must be one of the space's objectives ({', '.join(names)}), got '{obj}'")
    sense = space.objectives[names.index(obj)].sense
    ev = Evaluator(space)
    draws = samples(space)
    rows = []
    for t in front:
        chip = ev.chip(dict(t.params))
        vals = []
        for s in draws:
            c, stack = apply(chip, s)
            e = ev(dict(t.params), stack=stack, chip=c)
            vals.append(e.objectives[obj] if e.feasible else (0.0 if sense == "maximize" else float("inf")))
        q = space.robust.quantile if sense == "maximize" else 1 - space.robust.quantile
        rows.append(RobustRow(t.number, t.values[names.index(obj)], float(np.quantile(vals, q)), vals, 0,
                              samples=draws))
    if not rows:
        return rows
    table = np.array([r.values for r in rows])
    winners = (np.argmax if sense == "maximize" else np.argmin)(table, axis=0)
    for w in winners:
        rows[w].wins += 1
    for i, r in enumerate(rows):
        won = [j for j, w in enumerate(winners) if w == i]
        if len(draws) > 1 and len(won) == 1:
            r.flag = "wins only under " + ", ".join(f"{k}={v:g}" for k, v in draws[won[0]].items())
    rows.sort(key=lambda r: -r.quantile if sense == "maximize" else r.quantile)
    return rows
