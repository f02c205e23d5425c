"""Committing finished trials to an optuna RDB storage, a batch per transaction.

`Study.add_trial` on an RDB storage issues a query per parameter and attribute (about 100 ms
per trial on SQLite on a loaded 2-core machine: more than evaluating the design). The design
search writes each batch of finished trials with one session instead, into optuna's own
tables (`optuna.storages._rdb.models`), so the result is an ordinary optuna study that
`optuna.load_study`, optuna-dashboard and `jalapeno explore show` read: one INSERT per trial
and one multi-row INSERT per table (SQLAlchemy Core, no ORM unit of work). The rows mirror
`RDBStorage._get_prepared_new_trial`; an optuna without those models gets `add_trial`, slower
but always right.
"""

from __future__ import annotations

import json
from typing import Any

from jalapeno.errors import JalapenoError


def write_trials(study: Any, trials: list[Any]) -> None:
    """Append finished (frozen) trials to `study` on its RDB storage in one transaction."""
    if not trials:
        return
    try:
        from optuna.distributions import distribution_to_json
        from optuna.storages._rdb import models
    except ImportError:  # an optuna without the RDB models we know: the slow, public path
        for t in trials:
            study.add_trial(t)
        return
    from sqlalchemy import func, insert, select

    rdb = _rdb_of(study)
    session = rdb.scoped_session()
    try:
        study_id = study._study_id
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        trial_t = models.TrialModel.__table__
        first = session.execute(select(func.count()).select_from(trial_t)
                                .where(trial_t.c.study_id == study_id)).scalar_one()
        values, params, user, system = [], [], [], []
        for i, t in enumerate(trials):
            res = session.execute(insert(trial_t).values(
                study_id=study_id, number=first + i, state=t.state, datetime_start=t.datetime_start,
                datetime_complete=t.datetime_complete))
            tid = res.inserted_primary_key[0]
            for k, v in enumerate(t.values or []):
                stored, kind = models.TrialValueModel.value_to_stored_repr(float(v))
                values.append({"trial_id": tid, "objective": k, "value": stored, "value_type": kind})
            for name, value in t.params.items():
                dist = t.distributions[name]
                params.append({"trial_id": tid, "param_name": name, "param_value": dist.to_internal_repr(value),
                               "distribution_json": distribution_to_json(dist)})
            user += [{"trial_id": tid, "key": k, "value_json": json.dumps(v)} for k, v in t.user_attrs.items()]
            system += [{"trial_id": tid, "key": k, "value_json": json.dumps(v)} for k, v in t.system_attrs.items()]
        for model, rows in ((models.TrialValueModel, values), (models.TrialParamModel, params),
                            (models.TrialUserAttributeModel, user), (models.TrialSystemAttributeModel, system)):
            if rows:
                session.execute(insert(model.__table__), rows)
        session.commit()
    except Exception as exc:
        session.rollback()
        raise JalapenoError(f"could not write trials to the study storage: {exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0]}") from None
    finally:
        session.close()


def _rdb_of(study: Any) -> Any:
    storage = study._storage
    return getattr(storage, "_backend", storage)  # optuna wraps an RDBStorage in a _CachedStorage
