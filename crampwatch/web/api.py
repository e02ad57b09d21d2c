"""JSON API under ``/api``: patients, sessions, analyses and cramp reports (OpenAPI at ``/api/openapi.json``).

Authentication and accounts are in :mod:`crampwatch.web.api_accounts`. Without a session every endpoint
answers 401 JSON; a role or patient that may not see a resource gets 403. Access rules and the audit trail
are those of :mod:`crampwatch.web.access`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from crampwatch.web import access, heavy, services
from crampwatch.web.api_models import (
    AssessmentOut,
    OptimizationOut,
    PatientOut,
    PatientSummaryOut,
    ReportIn,
    ReportOut,
    SessionOut,
    SessionSummaryOut,
    WhatIfIn,
    WhatIfOut,
    assessment_out,
    patient_summary_out,
    report_out,
    session_out,
)
from crampwatch.web.auth import ClinicianUser, CurrentUser, check_csrf, current_user, get_store

router = APIRouter(prefix="/api", dependencies=[Depends(current_user), Depends(check_csrf)])


@router.get("/patients", response_model=list[PatientSummaryOut], tags=["patients"])
def api_patients(request: Request, user: ClinicianUser) -> Any:
    return [patient_summary_out(s) for s in access.list_patients(get_store(request), user)]


@router.get("/patients/{patient_id}", response_model=PatientOut, tags=["patients"])
def api_patient(request: Request, patient_id: str, user: CurrentUser) -> Any:
    store = get_store(request)
    rec = access.load_patient(store, user, patient_id, "view_patient", request.url.path)
    summary = access.patient_summary(store, patient_id)
    base = (
        patient_summary_out(summary).model_dump()
        if summary
        else {"id": rec.id, "name": rec.name, "n_sessions": 0, "n_cramp_sessions": 0}
    )
    return PatientOut(**base, created_at=rec.created_at, patient=rec.patient.model_dump(mode="json"))


@router.get("/patients/{patient_id}/sessions", response_model=list[SessionSummaryOut], tags=["sessions"])
def api_patient_sessions(request: Request, patient_id: str, user: CurrentUser) -> Any:
    store = get_store(request)
    access.load_patient(store, user, patient_id, "view_sessions", request.url.path)
    return [
        SessionSummaryOut.model_validate(s, from_attributes=True) for s in store.list_sessions(patient_id)
    ]


@router.get("/sessions/{session_id}", response_model=SessionOut, tags=["sessions"])
def api_session(request: Request, session_id: str, user: CurrentUser) -> Any:
    rec, _ = access.load_session(get_store(request), user, session_id, "view_session", request.url.path)
    return session_out(rec)


@router.get("/sessions/{session_id}/assessment", response_model=AssessmentOut, tags=["sessions"])
def api_assessment(request: Request, session_id: str, user: CurrentUser) -> Any:
    """Ranked causes with evidence (the Assessment JSON); computed and stored on first request."""
    store = get_store(request)
    rec, patient = access.load_session(store, user, session_id, "view_assessment", request.url.path)
    return assessment_out(services.assessment_for(store, rec, patient.patient))


@router.post("/sessions/{session_id}/whatif", response_model=WhatIfOut, tags=["sessions"])
def api_whatif(request: Request, session_id: str, body: WhatIfIn, user: ClinicianUser) -> Any:
    """Re-simulate the session with a changed prescription; both runs are simulated and assessed alike."""
    store = get_store(request)
    rec, patient = access.load_session(store, user, session_id, "whatif", request.url.path)
    twin, _ = services.patient_twin(store, patient.id)
    result = services.what_if(patient.patient, rec, body.model_dump(exclude_none=True), twin=twin)
    return WhatIfOut(
        changes=result.changes,
        change_descriptions=result.change_text,
        prescription_before=result.before_scenario.prescription.model_dump(mode="json"),
        prescription_after=result.after_scenario.prescription.model_dump(mode="json"),
        before=assessment_out(result.before),
        after=assessment_out(result.after),
    )


@router.post(
    "/sessions/{session_id}/optimize", response_model=OptimizationOut, tags=["sessions"], responses={429: {}}
)
async def api_optimize(request: Request, session_id: str, user: ClinicianUser) -> Any:
    """Prescription search for this session (the Optimization result JSON), run as a bounded job: 429 with
    ``Retry-After`` while this server process has its share of heavy work."""
    return await heavy.optimize(request, user, session_id)


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
    record, created = access.create_report(get_store(request), user, **body.model_dump())
    if not created:
        response.status_code = 200
    return report_out(record, created)


@router.get("/reports", response_model=list[ReportOut], tags=["reports"])
def api_reports(request: Request, user: CurrentUser, patient_id: str | None = None) -> Any:
    """Reports of one patient (patients: their own; ``patient_id`` defaults to it)."""
    return [
        report_out(r) for r in access.list_reports(get_store(request), user, patient_id, request.url.path)
    ]
