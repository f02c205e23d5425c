"""Reading a study back: the Pareto front of feasible designs, parameter importance, and a
design exported as a chip file that `predict`, `compare` and `plan` accept.
"""

from __future__ import annotations

import warnings
from typing import Any

import yaml

from jalapeno.errors import JalapenoError
from jalapeno.explore.evaluate import Evaluator
from jalapeno.explore.space import Space
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.spec import ChipSpec


def feasible_trials(study) -> list[Any]:
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if not t.user_attrs.get("rejected_by")]


def dominates(a: list[float], b: list[float], senses: list[str]) -> bool:
    """a is at least as good as b on every objective and better on one."""
    better = False
    for x, y, s in zip(a, b, senses, strict=True):
        if s == "minimize":
            x, y = -x, -y
        if x < y:
            return False
        if x > y:
            better = True
    return better


def pareto_front(trials: list[Any], senses: list[str]) -> list[Any]:
    """The non-dominated trials (duplicates of one objective vector: the earliest kept)."""
    front, seen = [], set()
    for t in trials:
        key = tuple(t.values)
        if key in seen or any(dominates(o.values, t.values, senses) for o in trials):
            continue
        seen.add(key)
        front.append(t)
    return sorted(front, key=lambda t: [-v if s == "maximize" else v for v, s in zip(t.values, senses, strict=True)])


def importances(study, space: Space) -> dict[str, dict[str, float]]:
    """optuna's parameter importance per objective, over feasible trials only (infeasible ones
    carry penalty values that would say only which parameters break constraints)."""
    import optuna

    trials = feasible_trials(study)
    varied = [n for n, p in space.parameters.items() if not (p.choices is not None and len(p.choices) == 1)]
    if len(trials) < 4 or len(varied) < 2:
        return {}
    sub = optuna.create_study(directions=list(space.directions))  # type: ignore[arg-type]
    sub.add_trials(trials)
    out = {}
    for i, o in enumerate(space.objectives):
        # PED-ANOVA (optuna's default from v5, no scikit-learn needed) scores what leads to low
        # target values: a maximized objective is negated.
        sign = -1.0 if o.sense == "maximize" else 1.0
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[o.name] = optuna.importance.get_param_importances(
                    sub, evaluator=evaluator, params=varied, target=_target(i, sign))
        except (RuntimeError, ValueError):  # too few distinct values for the evaluator
            continue
    return out


def _target(i: int, sign: float) -> Any:
    def value(t: Any) -> float:
        return sign * t.values[i]

    return value


def trial_by_number(study, number: int):
    for t in study.get_trials(deepcopy=False):
        if t.number == number:
            return t
    raise JalapenoError(f"--trial {number}: study '{study.study_name}' has no trial {number} "
                        f"(it has {len(study.trials)})")


def design_chip(space: Space, params: dict[str, Any], chip_id: str) -> ChipSpec:
    ev = Evaluator(space)
    return ev.chip({**params, "_id": chip_id})


def chip_yaml(space: Space, params: dict[str, Any], chip_id: str, origin: str) -> str:
    """A complete chip file: every figure of the design with its source (the base chip's where the
    design keeps the base's figure, the design search's where it derives a new one)."""
    chip = design_chip(space, params, chip_id)
    base = load_chip(space.base)
    base_plain = base.model_dump(exclude={"sources"})
    sources = base.sources
    given = ", ".join(f"{k}={v}" for k, v in params.items())
    derived = f"Design search: {origin} ({given}); derived by jalapeno explore from {base.id}'s primitives"

    def attach(value: Any, base_value: Any, path: str) -> Any:
        if isinstance(value, dict):
            bv = base_value if isinstance(base_value, dict) else {}
            return {k: attach(v, bv.get(k), f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            bl = list(base_value) if isinstance(base_value, list | tuple) else []
            return [attach(v, bl[i] if i < len(bl) else None, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, int | float) and not isinstance(value, bool) and path != "year":
            if value == base_value and _source(sources, path):
                return {"value": value, "source": _source(sources, path)}
            return {"value": _round(value), "source": derived}
        return value

    data = attach(chip.model_dump(exclude={"sources"}), base_plain, "")
    data["assumptions"] = [*base.assumptions, f"Design point from {origin}: {given}."]
    header = f"# {chip_id}: exported by `jalapeno explore export` from {origin}; base chip {base.id}.\n"
    return header + yaml.safe_dump(data, sort_keys=False, width=120)


def _source(sources: dict[str, str], path: str) -> str | None:
    """The source covering a dotted path, or one of its parents'."""
    p = path
    while p:
        if p in sources:
            return sources[p]
        cut = max(p.rfind("."), p.rfind("["))
        p = p[:cut] if cut > 0 else ""
    return None


def _round(v: float) -> float:
    return float(f"{v:.6g}") if isinstance(v, float) else v
