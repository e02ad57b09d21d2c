"""Plain, immutable records returned by :class:`crampwatch.store.Store` (no database objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crampwatch.model import Labs, Patient, Prescription, Scenario, parse_scenario
from crampwatch.trace import Trace


@dataclass(frozen=True)
class PatientRecord:
    id: str
    name: str | None
    patient: Patient
    created_at: datetime
    recurring_cause: str | None = None


@dataclass(frozen=True)
class PatientSummary:
    id: str
    name: str | None
    n_sessions: int
    n_cramp_sessions: int
    recurring_cause: str | None
    last_session_at: datetime | None


@dataclass(frozen=True)
class SessionRecord:
    id: str
    patient_id: str
    started_at: datetime
    prescription: Prescription
    trace: Trace
    pre_weight_kg: float | None
    post_weight_kg: float | None
    labs: Labs | None
    assessment: dict[str, Any] | None
    assessment_model_version: str | None = None
    created_at: datetime | None = None
    #: Row id of the stored assessment (a new assessment gets a new id).
    assessment_id: int | None = None


@dataclass(frozen=True)
class SessionViewVersion:
    """What a rendered view of a stored session depends on, without the trace itself: the session's stored
    version (``created_at``, trace size, post-dialysis weight) and its events, its latest assessment, the
    patient record, the patient's newest twin and the active unit model. Equal versions show the same."""

    session_id: str
    patient_id: str
    created_at: datetime
    trace_bytes: int
    post_weight_kg: float | None
    #: ``(id, t_min, kind, severity, note)`` of each event, in stored order.
    events: tuple[tuple[Any, ...], ...]
    assessment_id: int | None
    assessment_model_version: str | None
    patient_name: str | None
    recurring_cause: str | None
    #: The patient record's data as canonical JSON text.
    patient_data: str
    twin_version: int | None
    #: ``(id, created_at)`` of the active unit model, or ``None``.
    unit_model: tuple[int, datetime] | None


@dataclass(frozen=True)
class SessionSummary:
    id: str
    started_at: datetime
    had_cramp: bool
    top_cause: str | None
    overall_risk: float | None


@dataclass(frozen=True)
class ReportRecord:
    id: int
    patient_id: str
    session_id: str | None
    reported_at: datetime
    muscle: str
    severity: int
    note: str
    created_at: datetime
    t_min: float | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    role: str
    patient_id: str | None
    created_at: datetime
    #: Failed logins of the account before this login session began, not yet shown to the user.
    notice_failed_logins: int = 0
    notice_last_failed_at: datetime | None = None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    username: str | None
    action: str
    patient_id: str | None
    detail: str
    #: How many events the entry stands for (anonymous refusals are counted per client and minute).
    count: int = 1
    #: The patients a list view showed.
    patient_ids: tuple[str, ...] = ()


def session_scenario(patient: Patient, session: Any) -> Scenario:
    """The scenario of one stored session: the patient as on that day (weight, labs) + its prescription."""
    update: dict[str, Any] = {}
    if session.pre_weight_kg is not None:
        update["pre_weight_kg"] = float(session.pre_weight_kg)
    labs = session.labs
    if labs:
        update["labs"] = labs if isinstance(labs, Labs) else Labs.model_validate(labs)
    data = patient.model_dump(mode="json")
    data.update({k: (v.model_dump(mode="json") if isinstance(v, Labs) else v) for k, v in update.items()})
    prescription = session.prescription
    if isinstance(prescription, Prescription):
        prescription = prescription.model_dump(mode="json")
    return parse_scenario({"patient": data, "prescription": prescription})
