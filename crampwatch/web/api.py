"""JSON API under ``/api`` (OpenAPI at ``/api/openapi.json`` for logged-in users).

Authentication: the same signed session cookie as the pages. Log in with ``POST /api/login`` (JSON body);
the answer carries ``csrf_token``, to be sent as the ``X-CSRF-Token`` header on every POST. Without a
session every endpoint answers 401 JSON; a role or patient that may not see a resource gets 403.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from crampwatch.errors import InputError
from crampwatch.web import services
from crampwatch.web.auth import (
    AdminUser,
    ClinicianUser,
    CurrentUser,
    Forbidden,
    attempt_login,
    check_csrf,
    current_user,
    ensure_patient_access,
    get_store,
    logout,
)
from crampwatch.web.security import csrf_token


class NotFound(Exception):
    """A resource that does not exist (or is hidden from this user): 404."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Unavailable(Exception):
    """An analysis layer that is not installed: 503 with the reason."""


# ------------------------------------------------------------------------------------------- models


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=256)


class MeOut(BaseModel):
    username: str
    role: str
    patient_id: str | None = None
    csrf_token: str


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


ProfilePoints = Annotated[list[tuple[float, float]], Field(min_length=1, max_length=48)]


class WhatIfIn(BaseModel):
    """Changes to the session's prescription; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    duration_min: float | None = Field(None, ge=30, le=600)
    uf_volume_l: float | None = Field(None, ge=0, le=10)
    uf_profile: Literal["constant", "linear_decreasing", "step"] | ProfilePoints | None = Field(
        None, description="a named profile or [[t_min, fraction_of_mean_rate], ...]"
    )
    dialysate_na_profile: ProfilePoints | None = Field(None, description="[[t_min, na_mmol_l], ...]")
    dialysate_na_mmol_l: float | None = Field(None, ge=120, le=160)
    dialysate_ca_mmol_l: float | None = Field(None, ge=0.5, le=2.5)
    dialysate_mg_mmol_l: float | None = Field(None, ge=0.0, le=2.0)
    dialysate_temp_c: float | None = Field(None, ge=33.0, le=39.0)
    qb_ml_min: float | None = Field(None, ge=50, le=600)


class WhatIfOut(BaseModel):
    changes: list[str]
    prescription_before: dict[str, Any]
    prescription_after: dict[str, Any]
    before: AssessmentOut
    after: AssessmentOut


class OptimizedPrescriptionOut(_Out):
    prescription: dict[str, Any]
    risk: float
    risk_range: list[float] | None = None
    changes: list[str] = []
    addresses: list[str] = []
    rationale: str = ""
    whatif: dict[str, Any] = Field({}, description="body for POST /api/sessions/{id}/whatif")


class OptimizationOut(_Out):
    """contracts.md "Optimization result"."""

    current: dict[str, Any]
    recommendations: list[OptimizedPrescriptionOut]
    infeasible: str | None = None


class ReportIn(BaseModel):
    """A cramp report. Patients may omit ``patient_id`` (it is theirs); clinicians must give it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    patient_id: str | None = Field(None, max_length=64)
    session_id: str | None = Field(None, max_length=64)
    reported_at: datetime | None = Field(None, description="when the cramp happened; default now (UTC)")
    t_min: float | None = Field(None, ge=0, le=720, description="minutes from session start")
    muscle: str = Field(..., min_length=1, max_length=64)
    severity: int = Field(..., ge=0, le=10)
    note: str = Field("", max_length=2000)
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
    password: str = Field(..., min_length=10, max_length=256)
    role: Literal["clinician", "admin", "patient"]
    patient_id: str | None = Field(None, max_length=64)


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


class Availability(BaseModel):
    simulate: str | None
    causes: str | None
    optimize: str | None


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
        cramp_frequency=services.cramp_frequency(s.n_sessions, s.n_cramp_sessions),
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
                t_min=float(row["t_min"]),
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
    signals = {c: [_num(v) for v in data[c].to_numpy()] for c in ["t_min", *rec.trace.signals]}
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


# --------------------------------------------------------------------------------------- shared logic


def load_patient(request: Request, user: Any, patient_id: str, action: str) -> Any:
    """The patient record if this user may see it (403 otherwise); the view is written to the audit log."""
    ensure_patient_access(user, patient_id)
    store = get_store(request)
    rec = store.get_patient(patient_id)
    if rec is None:
        raise NotFound("patient")
    store.audit(username=user.username, action=action, patient_id=patient_id, detail=request.url.path)
    return rec


def load_session(request: Request, user: Any, session_id: str, action: str) -> tuple[Any, Any]:
    """(session, patient record) if this user may see the session's patient; audited."""
    store = get_store(request)
    rec = store.get_session(session_id)
    if rec is None:
        if user.role not in ("clinician", "patient"):
            raise Forbidden("you may not see patient sessions")
        raise NotFound("session")
    patient = load_patient(request, user, rec.patient_id, action)
    return rec, patient


def patient_summary(store: Any, patient_id: str) -> Any | None:
    return next(iter(store.list_patients(patient_id)), None)


def create_report(request: Request, user: Any, body: ReportIn) -> tuple[Any, bool]:
    """Store a cramp report for the user's own record (patient) or any patient (clinician)."""
    store = get_store(request)
    if user.role == "patient":
        if body.patient_id not in (None, user.patient_id):
            raise Forbidden("patients can only report their own cramps")
        patient_id = user.patient_id
    elif user.role == "clinician":
        if not body.patient_id:
            raise InputError("patient_id: required when a clinician reports for a patient", "patient_id")
        patient_id = body.patient_id
    else:
        raise Forbidden("requires role clinician or patient")
    if patient_id is None or store.get_patient(patient_id) is None:
        raise NotFound("patient")
    if body.session_id is not None:
        session = store.get_session(body.session_id)
        if session is None or session.patient_id != patient_id:
            raise InputError("session_id: no session of this patient has that id", "session_id")
    reported_at = body.reported_at or datetime.now(UTC)
    if reported_at.tzinfo is None:
        reported_at = reported_at.replace(tzinfo=UTC)
    record, created = store.add_report(
        patient_id=patient_id,
        reported_at=reported_at,
        muscle=body.muscle.strip(),
        severity=body.severity,
        note=body.note,
        session_id=body.session_id,
        t_min=body.t_min,
        idempotency_key=f"{user.username}:{body.idempotency_key}",
    )
    if record.patient_id != patient_id:  # same key used for another patient: never leak that report
        raise InputError("idempotency_key: already used for another report", "idempotency_key")
    if created:
        store.audit(
            username=user.username, action="report_cramp", patient_id=patient_id, detail=str(record.id)
        )
    return record, created


# --------------------------------------------------------------------------------------------- routes

public_router = APIRouter(prefix="/api", tags=["auth"])
router = APIRouter(prefix="/api", dependencies=[Depends(current_user), Depends(check_csrf)])


@public_router.post("/login", response_model=MeOut, responses={401: {}, 429: {}})
def api_login(request: Request, body: LoginIn) -> Any:
    """Log in; sets the session cookie and returns the CSRF token for later unsafe requests."""
    user = attempt_login(request, body.username, body.password)
    if user is None:
        return JSONResponse({"detail": "wrong username or password"}, status_code=401)
    return MeOut(
        username=user.username,
        role=user.role,
        patient_id=user.patient_id,
        csrf_token=csrf_token(request.session),
    )


@router.post("/logout", tags=["auth"], status_code=204)
def api_logout(request: Request) -> Response:
    logout(request)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, tags=["auth"])
def api_me(request: Request, user: CurrentUser) -> Any:
    return MeOut(
        username=user.username,
        role=user.role,
        patient_id=user.patient_id,
        csrf_token=csrf_token(request.session),
    )


@router.get("/availability", response_model=Availability, tags=["meta"])
def api_availability() -> Any:
    """Which analysis layers (simulator, cause analyzer, optimizer) this server can use."""
    return Availability(**services.availability())


@router.get("/patients", response_model=list[PatientSummaryOut], tags=["patients"])
def api_patients(request: Request, user: ClinicianUser) -> Any:
    store = get_store(request)
    store.audit(username=user.username, action="list_patients")
    return [patient_summary_out(s) for s in store.list_patients()]


@router.get("/patients/{patient_id}", response_model=PatientOut, tags=["patients"])
def api_patient(request: Request, patient_id: str, user: CurrentUser) -> Any:
    rec = load_patient(request, user, patient_id, "view_patient")
    summary = patient_summary(get_store(request), patient_id)
    base = (
        patient_summary_out(summary).model_dump()
        if summary
        else {"id": rec.id, "name": rec.name, "n_sessions": 0, "n_cramp_sessions": 0}
    )
    return PatientOut(**base, created_at=rec.created_at, patient=rec.patient.model_dump(mode="json"))


@router.get("/patients/{patient_id}/sessions", response_model=list[SessionSummaryOut], tags=["sessions"])
def api_patient_sessions(request: Request, patient_id: str, user: CurrentUser) -> Any:
    load_patient(request, user, patient_id, "view_sessions")
    return [
        SessionSummaryOut.model_validate(s, from_attributes=True)
        for s in get_store(request).list_sessions(patient_id)
    ]


@router.get("/sessions/{session_id}", response_model=SessionOut, tags=["sessions"])
def api_session(request: Request, session_id: str, user: CurrentUser) -> Any:
    rec, _ = load_session(request, user, session_id, "view_session")
    return session_out(rec)


@router.get(
    "/sessions/{session_id}/assessment", response_model=AssessmentOut, responses={503: {}}, tags=["sessions"]
)
def api_assessment(request: Request, session_id: str, user: CurrentUser) -> Any:
    """Ranked causes with evidence (contracts.md "Assessment"); computed and stored on first request."""
    rec, patient = load_session(request, user, session_id, "view_assessment")
    result, reason = services.assessment_for(get_store(request), rec, patient.patient)
    if result is None:
        raise Unavailable(reason)
    return assessment_out(result)


@router.post(
    "/sessions/{session_id}/whatif", response_model=WhatIfOut, responses={503: {}}, tags=["sessions"]
)
def api_whatif(request: Request, session_id: str, body: WhatIfIn, user: ClinicianUser) -> Any:
    """Re-simulate the session with a changed prescription; both runs are simulated and assessed alike."""
    rec, patient = load_session(request, user, session_id, "whatif")
    try:
        result = services.what_if(patient.patient, rec, body.model_dump(exclude_none=True))
    except RuntimeError as exc:
        raise Unavailable(str(exc)) from None
    return WhatIfOut(
        changes=result.changes,
        prescription_before=result.before_scenario.prescription.model_dump(mode="json"),
        prescription_after=result.after_scenario.prescription.model_dump(mode="json"),
        before=assessment_out(result.before),
        after=assessment_out(result.after),
    )


@router.post(
    "/sessions/{session_id}/optimize", response_model=OptimizationOut, responses={503: {}}, tags=["sessions"]
)
def api_optimize(request: Request, session_id: str, user: ClinicianUser) -> Any:
    """Prescription search for this session (contracts.md "Optimization result"), when available."""
    rec, patient = load_session(request, user, session_id, "optimize")
    try:
        return services.optimize_session(patient.patient, rec)
    except RuntimeError as exc:
        raise Unavailable(str(exc)) from None


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=201,
    responses={200: {"model": ReportOut}},
    tags=["reports"],
)
def api_create_report(request: Request, response: Response, body: ReportIn, user: CurrentUser) -> Any:
    """Store a cramp report; 201 when stored now, 200 when this idempotency key was already stored.

    The report is committed to the database before the answer is sent.
    """
    record, created = create_report(request, user, body)
    if not created:
        response.status_code = 200
    return report_out(record, created)


@router.get("/reports", response_model=list[ReportOut], tags=["reports"])
def api_reports(request: Request, user: CurrentUser, patient_id: str | None = None) -> Any:
    """Reports of one patient (patients: their own; ``patient_id`` defaults to it)."""
    if patient_id is None:
        if user.role != "patient":
            raise InputError("patient_id: required (query parameter)", "patient_id")
        patient_id = user.patient_id
    load_patient(request, user, patient_id, "view_reports")
    return [report_out(r) for r in get_store(request).list_reports(patient_id)]


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def api_users(request: Request, user: AdminUser) -> Any:
    return [
        UserOut(username=u.username, role=u.role, patient_id=u.patient_id)
        for u in get_store(request).list_users()
    ]


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"])
def api_create_user(request: Request, body: UserIn, user: AdminUser) -> Any:
    store = get_store(request)
    if body.role == "patient" and (not body.patient_id or store.get_patient(body.patient_id) is None):
        raise InputError("patient_id: a patient user needs the id of an existing patient", "patient_id")
    if body.role != "patient" and body.patient_id:
        raise InputError("patient_id: only patient users are linked to a patient", "patient_id")
    if store.get_user(body.username) is not None:
        raise InputError(f"username: {body.username!r} already exists", "username")
    created = store.add_user(body.username, body.password, body.role, patient_id=body.patient_id)
    store.audit(username=user.username, action="add_user", detail=f"{created.username} ({created.role})")
    return UserOut(username=created.username, role=created.role, patient_id=created.patient_id)


@router.get("/audit", response_model=list[AuditOut], tags=["admin"])
def api_audit(request: Request, user: AdminUser, limit: int = 100, patient_id: str | None = None) -> Any:
    limit = max(1, min(limit, 1000))
    return [
        AuditOut.model_validate(a, from_attributes=True)
        for a in get_store(request).list_audit(limit=limit, patient_id=patient_id)
    ]
