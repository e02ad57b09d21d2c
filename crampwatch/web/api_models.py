"""Request and answer models of the JSON API (pydantic), and converters from store records."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StrictInt

from crampwatch.errors import InputError
from crampwatch.prescription_settings import SettingChanges
from crampwatch.signals import MAX_T_MIN, T_MIN
from crampwatch.store.security import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from crampwatch.store.validation import require_plain_text
from crampwatch.web.services import cramp_frequency


def _plain_text(value: str) -> str:
    try:
        require_plain_text(value, "text")
    except InputError as exc:
        raise ValueError(exc.message.removeprefix("text: ")) from None
    return value


#: A number in a request: an int or a float, never ``true``/``false`` or text (pydantic's lax mode would
#: read ``true`` as 1 and ``"5"`` as 5).
StrictFloat = Annotated[float, Strict()]
_INTEGER_TEXT = re.compile(r"^[+-]?[0-9]{1,18}$")


def form_numbers(data: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``data`` with the form fields ``names`` read as numbers (an int for integer text, else a float when
    the text is one); other text stays text, so that strict validation refuses it naming the field."""
    out = dict(data)
    for name in names:
        value = out.get(name)
        if not isinstance(value, str):
            continue
        text = value.strip()
        if _INTEGER_TEXT.match(text):
            out[name] = int(text)
            continue
        with contextlib.suppress(ValueError):
            out[name] = float(text)
    return out


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=MAX_PASSWORD_LENGTH)


class MeOut(BaseModel):
    username: str
    role: str
    patient_id: str | None = None
    csrf_token: str
    failed_logins_before: int = Field(
        0, description="failed logins of the account between its previous login and this one (login answer)"
    )
    last_failed_login_at: datetime | None = Field(None, description="the latest of them (UTC)")


class PatientSummaryOut(BaseModel):
    id: str
    name: str | None = None
    n_sessions: int
    n_cramp_sessions: int
    cramp_frequency: float | None = Field(None, description="fraction of sessions with a cramp")
    recurring_cause: str | None = None
    last_session_at: datetime | None = None


class PatientOut(PatientSummaryOut):
    created_at: datetime | None = None
    patient: dict[str, Any]


class SessionSummaryOut(BaseModel):
    id: str
    started_at: datetime
    had_cramp: bool
    top_cause: str | None = None
    overall_risk: float | None = None


class EventOut(BaseModel):
    t_min: float
    kind: str
    severity: float | None = None
    note: str = ""


class SessionOut(BaseModel):
    id: str
    patient_id: str
    started_at: datetime
    prescription: dict[str, Any]
    pre_weight_kg: float | None = None
    post_weight_kg: float | None = None
    labs: dict[str, Any] | None = None
    signals: dict[str, list[float | None]] = Field(..., description="t_min and each signal, aligned")
    sources: dict[str, str]
    events: list[EventOut]
    has_assessment: bool


class EvidenceOut(_Out):
    signal: str | None = None
    value: Any = None
    t_min: float | None = None
    threshold: Any = None
    source: str | None = None
    direction: Literal["supports", "against", "context"] | None = Field(
        None, description="whether the item supports the cause, argues against it, or is context"
    )


class CauseOut(_Out):
    cause: str
    score: float
    confidence: str | None = None
    evidence: list[EvidenceOut] = []
    explanation: str = ""
    recommendations: list[dict[str, Any]] = []


class AssessmentOut(_Out):
    session_id: str | None = None
    overall_risk: float
    causes: list[CauseOut]
    metrics: dict[str, Any] = {}


class WhatIfIn(SettingChanges):
    """Changes to the session's prescription by setting name; omitted fields keep their value."""


class WhatIfOut(BaseModel):
    changes: list[str]
    change_descriptions: list[str] = []
    prescription_before: dict[str, Any]
    prescription_after: dict[str, Any]
    before: AssessmentOut
    after: AssessmentOut


class OptimizedPrescriptionOut(_Out):
    prescription: dict[str, Any]
    risk: float
    risk_range: list[float] | None = None
    changes: list[str] = []
    change_descriptions: list[str] = []
    addresses: list[str] = []
    rationale: str = ""
    whatif: dict[str, Any] = Field({}, description="body for POST /api/sessions/{id}/whatif")


class OptimizationOut(_Out):
    """docs/formats.md "Optimization result"."""

    current: dict[str, Any]
    recommendations: list[OptimizedPrescriptionOut]
    infeasible: str | None = None


#: Muscle groups a cramp report names (the groups where dialysis cramps occur: legs and feet most often,
#: then hands, arms and back; Kobrin & Berns 2007, Semin Dial 20:396).
MUSCLE_GROUPS = ("calf", "foot", "thigh", "hamstring", "hand", "arm", "back", "other")
#: A report describes a cramp of the past year, at most a day ahead of the server's clock (a wrong time
#: zone); anything else is a typing or clock error (modelling choice).
REPORT_MAX_AGE = timedelta(days=366)
REPORT_MAX_AHEAD = timedelta(days=1)


def plausible_report_time(value: datetime | None) -> datetime | None:
    """``value`` in UTC when it lies in the report window (naive values are UTC), else ValueError."""
    if value is None:
        return None
    try:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise ValueError("not a date and time that exists in UTC") from None
    now = datetime.now(UTC)
    if not now - REPORT_MAX_AGE <= utc <= now + REPORT_MAX_AHEAD:
        raise ValueError("must lie within the past 366 days and at most 1 day ahead")
    return utc


class ReportIn(BaseModel):
    """A cramp report. Patients may omit ``patient_id`` (it is theirs); clinicians must give it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    patient_id: str | None = Field(None, max_length=64)
    session_id: str | None = Field(None, max_length=64)
    reported_at: Annotated[datetime | None, AfterValidator(plausible_report_time)] = Field(
        None, description="when the cramp happened (within the past 366 days); default now (UTC)"
    )
    t_min: StrictFloat | None = Field(None, ge=0, le=MAX_T_MIN, description="minutes from session start")
    muscle: Literal[MUSCLE_GROUPS] = Field(..., description="muscle group")  # type: ignore[valid-type]
    severity: StrictInt = Field(..., ge=0, le=10, description="0 (none) to 10 (worst)")
    note: Annotated[str, AfterValidator(_plain_text)] = Field("", max_length=2000)
    idempotency_key: str = Field(
        ..., min_length=8, max_length=128, description="one per report; retries reuse it"
    )


class ReportOut(BaseModel):
    id: int
    patient_id: str
    session_id: str | None = None
    reported_at: datetime
    muscle: str
    severity: int
    t_min: float | None = None
    note: str
    created_at: datetime | None = None
    created: bool = Field(True, description="false when this idempotency key had already been stored")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(..., min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(..., min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    role: Literal["clinician", "admin", "patient", "nurse"]
    patient_id: str | None = Field(None, max_length=64)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(..., min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(..., min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class EndedSessionsOut(BaseModel):
    username: str
    ended: int = Field(..., description="login sessions that were live and are now ended")


class UserOut(BaseModel):
    username: str
    role: str
    patient_id: str | None = None


class AuditOut(_Out):
    id: int
    username: str | None = None
    action: str
    patient_id: str | None = None
    detail: str = ""
    at: datetime | None = None
    count: int = Field(1, description="events the entry stands for (anonymous: per client and minute)")
    patient_ids: list[str] = Field([], description="the patients a list view showed")


# --------------------------------------------------------------------------------------- converters


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def patient_summary_out(s: Any) -> PatientSummaryOut:
    return PatientSummaryOut(
        id=s.id,
        name=s.name,
        n_sessions=s.n_sessions,
        n_cramp_sessions=s.n_cramp_sessions,
        cramp_frequency=cramp_frequency(s.n_sessions, s.n_cramp_sessions),
        recurring_cause=s.recurring_cause,
        last_session_at=s.last_session_at,
    )


def events_out(events: pd.DataFrame | None) -> list[EventOut]:
    if events is None or events.empty:
        return []
    out = []
    for row in events.to_dict("records"):
        note = row.get("note")
        out.append(
            EventOut(
                t_min=float(row[T_MIN]),
                kind=str(row["kind"]),
                severity=_num(row.get("severity")),
                note="" if note is None or (isinstance(note, float) and math.isnan(note)) else str(note),
            )
        )
    return out


def _dump(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return dict(value)


def session_out(rec: Any) -> SessionOut:
    data = rec.trace.data
    signals = {c: [_num(v) for v in data[c].to_numpy()] for c in [T_MIN, *rec.trace.signals]}
    return SessionOut(
        id=rec.id,
        patient_id=rec.patient_id,
        started_at=rec.started_at,
        prescription=_dump(rec.prescription) or {},
        pre_weight_kg=_num(rec.pre_weight_kg),
        post_weight_kg=_num(rec.post_weight_kg),
        labs=_dump(rec.labs),
        signals=signals,
        sources=dict(rec.trace.sources),
        events=events_out(rec.trace.events),
        has_assessment=bool(rec.assessment),
    )


def report_out(r: Any, created: bool = True) -> ReportOut:
    """A stored ``ReportRecord`` as the API shows it (the idempotency key is left out)."""
    return ReportOut.model_validate({**dataclasses.asdict(r), "created": created})


def assessment_out(a: dict[str, Any]) -> AssessmentOut:
    return AssessmentOut.model_validate(a)
