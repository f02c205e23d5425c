"""Committing finished trials to an optuna RDB storage, a batch per transaction.

`Study.add_trial` on an RDB storage issues a query per parameter and attribute (about 100 ms
per trial on SQLite on a loaded 2-core machine: more than evaluating the design). The design
search writes each batch of finished trials with one session instead, into optuna's own
tables (`optuna.storages._rdb.models`), so the result is an ordinary optuna study that
`optuna.load_study`, optuna-dashboard and `jalapeno explore show` read. The row layout
mirrors `RDBStorage._get_prepared_new_trial`; if optuna's models change shape the write falls
back to `add_trial`, which is slower but always right.
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
    rdb = _rdb_of(study)
    session = rdb.scoped_session()
    try:
        study_id = study._study_id
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        first = session.query(models.TrialModel).filter(models.TrialModel.study_id == study_id).count()
        for i, t in enumerate(trials):
            row = models.TrialModel(study_id=study_id, number=first + i, state=t.state,
                                    datetime_start=t.datetime_start, datetime_complete=t.datetime_complete)
            session.add(row)
            session.flush()
            tid = row.trial_id
            values = t.values or []
            for k, v in enumerate(values):
                stored, kind = models.TrialValueModel.value_to_stored_repr(float(v))
                session.add(models.TrialValueModel(trial_id=tid, objective=k, value=stored, value_type=kind))
            for name, value in t.params.items():
                dist = t.distributions[name]
                session.add(models.TrialParamModel(trial_id=tid, param_name=name,
                                                   param_value=dist.to_internal_repr(value),
                                                   distribution_json=distribution_to_json(dist)))
            for key, value in t.user_attrs.items():
                session.add(models.TrialUserAttributeModel(trial_id=tid, key=key, value_json=json.dumps(value)))
            for key, value in t.system_attrs.items():
                session.add(models.TrialSystemAttributeModel(trial_id=tid, key=key, value_json=json.dumps(value)))
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
