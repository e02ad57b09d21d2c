"""Patients: add, update, read and list with their session counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from crampwatch.errors import InputError
from crampwatch.model import Patient
from crampwatch.store.base import StoreBase, as_utc, require_patient
from crampwatch.store.records import PatientRecord, PatientSummary
from crampwatch.store.schema import EventRow, PatientRow, ReportRow, SessionRow
from crampwatch.store.validation import optional_text, validate_model


class PatientStore(StoreBase):
    """The patients of the clinic."""

    def add_patient(self, patient: Patient, *, name: str | None = None) -> str:
        """Store a new patient; returns its id (``patient.id``). A duplicate id raises InputError."""
        patient = validate_model(patient, Patient, "patient")
        name = optional_text(name, "name", 200)
        with self._write() as s:
            if s.get(PatientRow, patient.id) is not None:
                raise InputError(
                    f"patient.id: {patient.id!r} already exists (allowed a new id)", "patient.id"
                )
            s.add(PatientRow(id=patient.id, name=name, data=patient.model_dump(mode="json")))
        return patient.id

    def update_patient(self, patient: Patient, *, name: str | None = None) -> None:
        """Replace the stored data (and, when given, the name) of an existing patient."""
        patient = validate_model(patient, Patient, "patient")
        name = optional_text(name, "name", 200)
        with self._write() as s:
            row = require_patient(s, patient.id)
            row.data = patient.model_dump(mode="json")
            if name is not None:
                row.name = name

    def get_patient(self, patient_id: str) -> PatientRecord | None:
        with self._read() as s:
            row = s.get(PatientRow, patient_id)
            return None if row is None else _patient_record(row)

    def list_patients(self, patient_id: str | None = None) -> list[PatientSummary]:
        """Every patient (or only ``patient_id``) with session counts, sorted by id.

        A cramp session has a cramp event or a cramp report.
        """
        patients_query = select(PatientRow).order_by(PatientRow.id)
        stats_query = select(
            SessionRow.patient_id, func.count(SessionRow.id), func.max(SessionRow.started_at)
        ).group_by(SessionRow.patient_id)
        if patient_id is not None:
            patients_query = patients_query.where(PatientRow.id == patient_id)
            stats_query = stats_query.where(SessionRow.patient_id == patient_id)
        with self._read() as s:
            patients = s.scalars(patients_query).all()
            stats = {pid: (n, last) for pid, n, last in s.execute(stats_query)}
            cramp_by_patient: dict[str, int] = {}
            for pid, _sid in s.execute(cramp_sessions_query(patient_id)).all():
                cramp_by_patient[pid] = cramp_by_patient.get(pid, 0) + 1
        out = []
        for row in patients:
            n, last = stats.get(row.id, (0, None))
            out.append(
                PatientSummary(
                    id=row.id,
                    name=row.name,
                    n_sessions=int(n),
                    n_cramp_sessions=cramp_by_patient.get(row.id, 0),
                    recurring_cause=row.recurring_cause,
                    last_session_at=as_utc(last),
                )
            )
        return out

    def update_patient_summary(self, patient_id: str, recurring_cause: str | None) -> None:
        """Record the cause that recurs across the patient's sessions (``None`` clears it)."""
        recurring_cause = optional_text(recurring_cause, "recurring_cause", 64)
        with self._write() as s:
            require_patient(s, patient_id).recurring_cause = recurring_cause


def cramp_sessions_query(patient_id: str | None = None) -> Any:
    """(patient_id, session_id) of sessions with a cramp event or a cramp report linked to them."""
    by_event = (
        select(SessionRow.patient_id, SessionRow.id)
        .join(EventRow, EventRow.session_id == SessionRow.id)
        .where(EventRow.kind == "cramp")
    )
    by_report = select(SessionRow.patient_id, SessionRow.id).join(
        ReportRow, ReportRow.session_id == SessionRow.id
    )
    if patient_id is not None:
        by_event = by_event.where(SessionRow.patient_id == patient_id)
        by_report = by_report.where(SessionRow.patient_id == patient_id)
    return by_event.union(by_report)


def _patient_record(row: PatientRow) -> PatientRecord:
    return PatientRecord(
        id=row.id,
        name=row.name,
        patient=Patient.model_validate(row.data),
        created_at=as_utc(row.created_at),
        recurring_cause=row.recurring_cause,
    )
