"""Patient twins in the store: versioned per patient (1, 2, ...) with the model version that fitted them.

``fit_and_store_twin(store, patient_id)`` reads the patient's stored sessions, fits the twin
(:func:`crampwatch.twin.fit_twin`) and stores it as the next version; ``latest_twin`` returns the newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from crampwatch.errors import InputError
from crampwatch.store.codec import to_jsonable
from crampwatch.store.records import session_scenario
from crampwatch.store.repository import Store
from crampwatch.store.schema import PatientRow, TwinRow
from crampwatch.store.validation import require_text
from crampwatch.twin import PatientTwin, SessionRecord, fit_twin


@dataclass(frozen=True)
class StoredTwin:
    """One stored twin version."""

    patient_id: str
    version: int
    model_version: str
    n_sessions: int
    fitted_by: str | None
    created_at: datetime
    twin: PatientTwin


def session_records(store: Store, patient_id: str) -> list[SessionRecord]:
    """The patient's stored sessions as twin inputs (the patient as on each day + that prescription)."""
    patient = store.get_patient(patient_id)
    if patient is None:
        raise InputError(f"patient: {patient_id!r} is not in the database", "patient")
    out = []
    for summary in store.list_sessions(patient_id):
        rec = store.get_session(summary.id)
        if rec is None:
            continue
        out.append(
            SessionRecord(
                scenario=session_scenario(patient.patient, rec),
                trace=rec.trace,
                events=rec.trace.events,
                session_id=rec.id,
            )
        )
    if not out:
        raise InputError(f"patient: {patient_id!r} has no stored sessions to fit a twin to", "patient")
    return out


def save_twin(store: Store, twin: PatientTwin, fitted_by: str | None = None) -> int:
    """Store ``twin`` as the patient's next version; returns the version number."""
    data = to_jsonable(twin.to_dict())
    model_version = require_text(twin.model_version, "model_version", 64)
    with store._write() as s:
        row = s.execute(select(PatientRow).where(PatientRow.id == twin.patient_id).with_for_update()).scalar()
        if row is None:
            raise InputError(f"patient: {twin.patient_id!r} is not in the database", "patient")
        last = s.scalar(select(func.max(TwinRow.version)).where(TwinRow.patient_id == twin.patient_id))
        version = int(last or 0) + 1
        s.add(
            TwinRow(
                patient_id=twin.patient_id,
                version=version,
                model_version=model_version,
                n_sessions=twin.n_sessions,
                fitted_by=fitted_by,
                data=data,
            )
        )
    return version


def _stored(row: TwinRow) -> StoredTwin:
    return StoredTwin(
        patient_id=row.patient_id,
        version=row.version,
        model_version=row.model_version,
        n_sessions=row.n_sessions,
        fitted_by=row.fitted_by,
        created_at=row.created_at,
        twin=PatientTwin.from_dict(row.data, name="stored twin"),
    )


def latest_twin(store: Store, patient_id: str) -> StoredTwin | None:
    """The patient's newest twin, or None."""
    with store._read() as s:
        row = s.scalars(
            select(TwinRow).where(TwinRow.patient_id == patient_id).order_by(TwinRow.version.desc()).limit(1)
        ).first()
        return None if row is None else _stored(row)


def list_twins(store: Store, patient_id: str) -> list[dict[str, Any]]:
    """Every stored version of the patient's twin (newest first): version, model version, sessions, date."""
    with store._read() as s:
        rows = s.execute(
            select(
                TwinRow.version,
                TwinRow.model_version,
                TwinRow.n_sessions,
                TwinRow.fitted_by,
                TwinRow.created_at,
            )
            .where(TwinRow.patient_id == patient_id)
            .order_by(TwinRow.version.desc())
        ).all()
    return [
        {"version": v, "model_version": m, "n_sessions": n, "fitted_by": f, "created_at": c}
        for v, m, n, f, c in rows
    ]


def fit_and_store_twin(store: Store, patient_id: str, fitted_by: str | None = None) -> StoredTwin:
    """Fit the patient's twin to all of their stored sessions and store it as the next version."""
    twin = fit_twin(session_records(store, patient_id))
    version = save_twin(store, twin, fitted_by)
    found = latest_twin(store, patient_id)
    if found is None or found.version != version:
        found = StoredTwin(
            patient_id, version, twin.model_version, twin.n_sessions, fitted_by, datetime.now(), twin
        )
    return found
