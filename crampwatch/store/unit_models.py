"""The unit's learned cramp-risk models (``unit_models`` table) and the labels the store holds.

Models are stored whole as their model-file JSON, numbered by id; at most one is active (the one
assessments and the optimizer use). Labels: a session is "cramp" when it has a cramp event or a patient's
cramp report linked to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from crampwatch.errors import InputError, require_range
from crampwatch.learn import UnitModel, train_unit_model
from crampwatch.learn.sources import labelled
from crampwatch.store import codec
from crampwatch.store.base import StoreBase, as_utc
from crampwatch.store.patients import cramp_sessions_query
from crampwatch.store.records import session_scenario
from crampwatch.store.schema import SessionRow, UnitModelRow
from crampwatch.store.validation import require_text


@dataclass(frozen=True)
class UnitModelRecord:
    id: int
    model_version: str
    active: bool
    trained_by: str | None
    n_sessions: int
    data: dict[str, Any]
    created_at: datetime


def _record(row: UnitModelRow) -> UnitModelRecord:
    return UnitModelRecord(
        id=row.id,
        model_version=row.model_version,
        active=bool(row.active),
        trained_by=row.trained_by,
        n_sessions=int(row.n_sessions),
        data=dict(row.data),
        created_at=as_utc(row.created_at),
    )


def save_unit_model(
    store: StoreBase, data: dict[str, Any], *, trained_by: str | None, activate: bool = True
) -> int:
    """Store a model file's JSON; with ``activate`` it becomes the only active model. Returns its id."""
    payload = codec.to_jsonable(data)
    if not isinstance(payload, dict):
        raise InputError("unit model: expected a JSON object", "unit_model")
    version = require_text(f"{payload.get('format')}-{payload.get('format_version')}", "model_version", 64)
    n = int(require_range("training.sessions", (payload.get("training") or {}).get("sessions", 0), 0, 10**9))
    with store._write() as s:
        if activate:
            s.execute(update(UnitModelRow).values(active=False))
        row = UnitModelRow(
            model_version=version,
            active=activate,
            trained_by=None if trained_by is None else str(trained_by)[:64],
            n_sessions=n,
            data=payload,
        )
        s.add(row)
        s.flush()
        return int(row.id)


def active_unit_model(store: StoreBase) -> UnitModelRecord | None:
    """The active model, or None (the analyzer's own risk is used)."""
    with store._read() as s:
        row = s.scalars(
            select(UnitModelRow).where(UnitModelRow.active.is_(True)).order_by(UnitModelRow.id.desc())
        ).first()
        return None if row is None else _record(row)


def get_unit_model(store: StoreBase, model_id: int) -> UnitModelRecord | None:
    with store._read() as s:
        row = s.get(UnitModelRow, model_id)
        return None if row is None else _record(row)


def list_unit_models(store: StoreBase) -> list[UnitModelRecord]:
    """Every stored model, newest first."""
    with store._read() as s:
        return [_record(r) for r in s.scalars(select(UnitModelRow).order_by(UnitModelRow.id.desc()))]


def set_active_unit_model(store: StoreBase, model_id: int | None) -> None:
    """Make ``model_id`` the only active model; ``None`` deactivates all (the analyzer's risk is used)."""
    with store._write() as s:
        if model_id is not None and s.get(UnitModelRow, model_id) is None:
            raise InputError(f"unit model: {model_id!r} is not a stored model", "model_id")
        s.execute(update(UnitModelRow).values(active=False))
        if model_id is not None:
            s.execute(update(UnitModelRow).where(UnitModelRow.id == model_id).values(active=True))


def session_labels(store: StoreBase) -> list[tuple[str, str, bool]]:
    """``(session_id, patient_id, cramp)`` of every stored session, oldest first."""
    with store._read() as s:
        rows = s.execute(
            select(SessionRow.id, SessionRow.patient_id).order_by(SessionRow.started_at, SessionRow.id)
        ).all()
        cramp = {sid for _pid, sid in s.execute(cramp_sessions_query()).all()}
    return [(sid, pid, sid in cramp) for sid, pid in rows]


def train_from_store(store: Any) -> UnitModel:
    """Train on every stored session (labels: cramp events and patient reports linked to the session)."""
    labels = session_labels(store)
    if not labels:
        raise InputError("sessions: the database has no sessions to train on (allowed ≥ 1)", "sessions")
    patients: dict[str, Any] = {}
    traces, scenarios, cramp, ids, groups = [], [], [], [], []
    for session_id, patient_id, had_cramp in labels:
        record = store.get_session(session_id)
        if patient_id not in patients:
            patients[patient_id] = store.get_patient(patient_id).patient
        scenarios.append(session_scenario(patients[patient_id], record))
        traces.append(record.trace)
        cramp.append(had_cramp)
        ids.append(session_id)
        groups.append(patient_id)
    data = labelled(traces, scenarios, cramp, ids)
    return train_unit_model(data.table, data.cramp, groups, source="clinic database")
