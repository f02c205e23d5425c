"""The search: an optuna study over a space, on an RDB storage, resumable, in processes or on Ray.

One process asks optuna for batches of `batch` trials, has them evaluated (inline, in a local
process pool, or on Ray actors; the next batch is handed out before the current one is told)
and tells the results in trial order on a fixed schedule. The sampler therefore sees the same
history whatever the number of workers: a study is deterministic for a seed and a batch size.
Each finished trial is committed to the storage as it is told, and nothing else is written, so
a run killed at any moment (SIGKILL included) loses only the trials in flight; `resume`
rebuilds the sampler's study from the stored trials and carries on, trial numbers continuing.
`trials` is the number of finished trials the study should hold.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jalapeno.errors import JalapenoError
from jalapeno.explore.evaluate import Evaluation, Evaluator
from jalapeno.explore.space import Space
from jalapeno.explore.storage import write_trials

CONSTRAINT_KEYS = ("design", "tdp_w", "die_area_mm2", "hbm_shoreline", "unit_cost_usd", "memory_fits", "slo")
DEFAULT_STORAGE = "sqlite:///study.db"
try:
    from optuna.trial import Trial as _Trial

    _NATIVE_CONSTRAINTS = hasattr(_Trial, "set_constraint")
except ImportError:
    _NATIVE_CONSTRAINTS = False


def _optuna():
    try:
        import optuna
    except ImportError:
        raise JalapenoError("explore needs optuna: pip install 'jalapeno[explore]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def constraints_of(trial) -> list[float]:
    return list(trial.user_attrs.get("constraints", [0.0] * len(CONSTRAINT_KEYS)))


def make_sampler(name: str, seed: int):
    optuna = _optuna()
    # optuna >= 5 reads constraints the trial sets (`set_constraint`); older ones take a function.
    kw = {} if _NATIVE_CONSTRAINTS else {"constraints_func": constraints_of}
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, **kw)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=10, **kw)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise JalapenoError(f"--sampler must be nsga2, tpe or random, got '{name}'")


def suggest(trial, space: Space) -> dict[str, Any]:
    from jalapeno.explore.design import PARAMETERS

    point: dict[str, Any] = {}
    for name, p in space.parameters.items():
        kind = PARAMETERS[name][0]
        if p.choices is not None:
            point[name] = trial.suggest_categorical(name, list(p.choices))
        elif kind is int:
            lo, hi = p.range  # type: ignore[misc]
            point[name] = trial.suggest_int(name, int(-(-lo // 1)), int(hi // 1), step=int(p.step or 1), log=p.log)
        else:
            lo, hi = p.range  # type: ignore[misc]
            point[name] = trial.suggest_float(name, lo, hi, step=p.step, log=p.log if not p.step else False)
    return point


@dataclass
class Study:
    """The sampler's in-memory study and its durable copy on the RDB storage.

    The sampler works in memory (an RDB round trip per suggested parameter would cost more than
    evaluating the design); every finished trial is written to the storage in one transaction
    when it is told, and a resumed study is rebuilt from the storage's finished trials."""

    memory: Any
    durable: Any
    space: Space

    @property
    def name(self) -> str:
        return self.durable.study_name


def open_study(space: Space, storage: str, study_name: str | None, sampler: str, seed: int,
               resume: bool) -> Study:
    """Create the study (or load it with `resume`); the space travels with the study."""
    optuna = _optuna()
    name = study_name or space.name
    existing = _existing(storage)
    if name in existing and not resume:
        raise JalapenoError(f"--storage {storage}: study '{name}' exists with {existing[name]} trials; "
                            "use --resume to continue it or --study-name for a new one")
    if name not in existing and resume:
        raise JalapenoError(f"--resume: no study '{name}' in {storage}")
    rdb = _storage(storage)
    if resume:
        durable = optuna.load_study(study_name=name, storage=rdb)
        stored = durable.user_attrs.get("space")
        if stored != _space_attr(space):
            raise JalapenoError(f"--resume: the space file differs from the one study '{name}' was started with")
        sampler = durable.user_attrs.get("sampler", sampler)
        seed = durable.user_attrs.get("seed", seed)
    else:
        durable = optuna.create_study(study_name=name, storage=rdb, directions=space.directions)
        durable.set_user_attr("space", _space_attr(space))
        durable.set_user_attr("sampler", sampler)
        durable.set_user_attr("seed", seed)
    memory = optuna.create_study(directions=space.directions, sampler=make_sampler(sampler, seed))
    done = durable.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    memory.add_trials(done)
    return Study(memory, durable, space)


def _storage(url: str):
    optuna = _optuna()
    try:
        storage = optuna.storages.RDBStorage(url, heartbeat_interval=None)
    except Exception as exc:  # SQLAlchemy raises many kinds for a bad URL or an unreachable server
        raise JalapenoError(f"--storage {url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    if url.startswith("sqlite"):
        _sqlite_wal(storage.engine)
    return storage


def _sqlite_wal(engine) -> None:
    """SQLite in write-ahead-log mode with normal sync: a commit is durable once the call returns
    against any death of the process (SIGKILL included: the log is in the OS's hands), and costs
    no fsync (only a power loss can take the last commits, which a killed run cannot)."""
    from sqlalchemy import event

    def pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    event.listen(engine, "connect", pragmas)
    engine.dispose()  # connections opened before the listener close; new ones get the pragmas


def _existing(url: str) -> dict[str, int]:
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return {}
    optuna = _optuna()
    return {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(_storage(url))}


def load(storage: str, study_name: str | None):
    """A finished or running study from its storage (the only one there when no name is given)."""
    optuna = _optuna()
    existing = _existing(storage)
    if not existing:
        raise JalapenoError(f"--storage {storage}: no study there")
    if study_name is None:
        if len(existing) > 1:
            raise JalapenoError(f"--storage {storage} holds studies {', '.join(existing)}: name one")
        study_name = next(iter(existing))
    if study_name not in existing:
        raise JalapenoError(f"no study '{study_name}' in {storage} (it holds {', '.join(existing)})")
    return optuna.load_study(study_name=study_name, storage=_storage(storage))


def _space_attr(space: Space) -> dict:
    return space.model_dump(mode="json", exclude={"path"})


def space_of(study) -> Space:
    raw = study.user_attrs.get("space")
    if raw is None:
        raise JalapenoError(f"study '{study.study_name}' was not made by jalapeno explore (no space stored)")
    return Space.model_validate(raw)


def finished(study) -> int:
    optuna = _optuna()
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


# -- evaluation backends ------------------------------------------------------------------------
_WORKER: Evaluator | None = None


def _init_worker(space_raw: dict) -> None:
    global _WORKER
    _WORKER = Evaluator(Space.model_validate(space_raw))


def _evaluate_in_worker(point: dict) -> Evaluation:
    assert _WORKER is not None
    return _WORKER(point)


class Backend:
    """Maps a batch of points to evaluations, inline, in local processes or as Ray tasks.

    Ray tasks are scheduled dynamically on whichever worker is free (designs differ a hundredfold
    in cost: a rejected one takes a millisecond, a 64-chip one a second); each worker process
    builds the space's evaluator once."""

    def __init__(self, space: Space, workers: int = 1, ray_address: str | None = None):
        self.space = space
        self.pool: ProcessPoolExecutor | None = None
        self.task: Any = None
        raw = space.model_dump(mode="json")
        if ray_address:
            ray = _ray()
            if not ray.is_initialized():
                try:
                    ray.init(address=None if ray_address == "local" else ray_address,
                             num_cpus=workers if ray_address == "local" else None,
                             include_dashboard=False, log_to_driver=False, configure_logging=False)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise JalapenoError(f"--ray-address {ray_address}: cannot join a Ray cluster "
                                        f"({str(exc).splitlines()[0]}); use local for a local one") from None
            self.space_ref = ray.put(raw)
            self.task = ray.remote(num_cpus=1)(_evaluate_on_ray)
        elif workers > 1:
            self.pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(raw,))
        else:
            self.inline = Evaluator(space)

    def map(self, points: list[dict]) -> Iterator[Evaluation]:
        """Evaluations in the order of `points` (all handed out at once), each as it is needed."""
        if self.task is not None:
            ray = _ray()
            refs = [self.task.remote(self.space_ref, p) for p in points]
            return (ray.get(r) for r in refs)
        if self.pool:
            return self.pool.map(_evaluate_in_worker, points)
        return (self.inline(p) for p in points)

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown()


_RAY_EVALUATOR: tuple[str, Evaluator] | None = None


def _evaluate_on_ray(space_raw: dict, point: dict) -> Evaluation:
    global _RAY_EVALUATOR
    key = json.dumps(space_raw, sort_keys=True)
    if _RAY_EVALUATOR is None or _RAY_EVALUATOR[0] != key:
        _RAY_EVALUATOR = (key, Evaluator(Space.model_validate(space_raw)))
    return _RAY_EVALUATOR[1](point)


def _ray():
    try:
        import ray
    except ImportError:
        raise JalapenoError("--ray-address needs ray: pip install 'jalapeno[distributed]'") from None
    return ray


# -- the loop -----------------------------------------------------------------------------------
def run(study: Study, trials: int, backend: Backend, batch: int = 8,
        on_batch: Callable[[list[Any]], None] | None = None) -> int:
    """Ask, evaluate and tell until the study holds `trials` finished trials; returns how many ran.

    Two batches are in flight: batch k+1 is asked (and handed to the workers) before batch k is
    told, so workers never wait for the sampler. The schedule is fixed (ask k+1, tell k), so what
    the sampler has seen at each ask does not depend on timing or on the number of workers."""
    ran = 0
    flight: deque[tuple[list, Iterator[Evaluation]]] = deque()

    def launch() -> None:
        left = trials - finished(study.memory) - sum(len(a) for a, _ in flight)
        if left > 0:
            asked = [study.memory.ask() for _ in range(min(batch, left))]
            flight.append((asked, backend.map([suggest(t, study.space) for t in asked])))

    launch()
    while flight:
        launch()
        asked, evals = flight.popleft()
        told = [record(study, t, e) for t, e in zip(asked, evals, strict=True)]
        ran += len(asked)
        if on_batch:
            on_batch(told)
    return ran


def record(study: Study, trial, e: Evaluation) -> Any:
    """Tell one trial and commit it to the storage; returns the finished (frozen) trial."""
    values = [float(e.violations.get(k, 0.0)) for k in CONSTRAINT_KEYS]
    if _NATIVE_CONSTRAINTS:
        for k, v in zip(CONSTRAINT_KEYS, values, strict=True):
            trial.set_constraint(k, v)
    trial.set_user_attr("constraints", values)
    trial.set_user_attr("rejected_by", e.rejected_by)
    trial.set_user_attr("metrics", _jsonable(e.metrics))
    frozen = study.memory.tell(trial, [e.objectives[o.name] for o in study.space.objectives])
    write_trials(study.durable, [frozen])  # committed before the next one is told
    return frozen


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o)))


def rejection_counts(study) -> dict[str, int]:
    """How many finished trials each constraint rejected first."""
    optuna = _optuna()
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        by = t.user_attrs.get("rejected_by")
        if by:
            counts[by] = counts.get(by, 0) + 1
    return counts


def infeasible_message(study) -> str | None:
    """When no finished trial is feasible: which constraint rejected most of them."""
    counts = rejection_counts(study)
    total = finished(study)
    if not total or sum(counts.values()) < total:
        return None
    top = max(counts, key=counts.get)  # type: ignore[arg-type]
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    return (f"every one of the {total} trials of study '{study.study_name}' is infeasible; "
            f"constraint '{top}' rejected most ({counts[top]} of {total}; {detail})")
