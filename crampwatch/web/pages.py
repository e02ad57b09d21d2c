"""Server-rendered pages (Jinja2 with autoescaping; htmx for the what-if and optimizer panels)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from crampwatch.clinical_labels import display_label
from crampwatch.errors import InputError
from crampwatch.prescription_settings import change_error_text
from crampwatch.signals import DIALYSATE_NA_MMOL_L, DIALYSATE_TEMP_C, QB_ML_MIN
from crampwatch.store.audit import audit_action_label
from crampwatch.web import access, charts, heavy, services, session_cache, wording
from crampwatch.web.api_models import MUSCLE_GROUPS, ReportIn, WhatIfIn, form_numbers
from crampwatch.web.auth import (
    ClinicianUser,
    CurrentUser,
    PatientUser,
    check_csrf,
    csrf_token,
    current_user,
    get_store,
    session_user,
)
from crampwatch.web.display import format_number, iso_time, local_time, time_text
from crampwatch.web.errors import Forbidden
from crampwatch.web.security import session_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.auto_reload = False  # templates ship with the package: no file-time check on every render


TEMPLATES.env.filters["num"] = format_number
TEMPLATES.env.filters["when"] = local_time
TEMPLATES.env.filters["iso"] = iso_time
TEMPLATES.env.filters["when_text"] = time_text
TEMPLATES.env.globals.update(
    cause_label=wording.cause_label,
    evidence_text=wording.evidence_text,
    evidence_groups=wording.evidence_groups,
    audit_label=audit_action_label,
    direction_headings=wording.DIRECTION_HEADINGS,
    overlap_text=wording.overlap_text,
    support_text=wording.support_text,
)
HOME = {"clinician": "/patients", "admin": "/admin", "patient": "/me", "nurse": "/chairs"}
#: Time zones span UTC-12 to UTC+14.
MAX_TZ_OFFSET_MIN = 14 * 60

router = APIRouter(include_in_schema=False)
protected = APIRouter(include_in_schema=False, dependencies=[Depends(current_user), Depends(check_csrf)])


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None) or session_user(request)
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf_token": csrf_token(request),
            "plain_cause": services.plain_cause,
            "login_notice": _login_notice(request, user),
            **context,
        },
        status_code=status_code,
    )


def _login_notice(request: Request, user: Any) -> dict[str, Any] | None:
    """Failed logins of the account before this login session, shown once (then cleared)."""
    count = getattr(user, "notice_failed_logins", 0) if user is not None else 0
    if not count:
        return None
    get_store(request).clear_login_notice(session_token(request))
    return {"count": count, "last_at": user.notice_last_failed_at}


# ----------------------------------------------------------------------------------------- clinician


@protected.get("/patients")
def patients_page(request: Request, user: ClinicianUser) -> Response:
    patients = access.list_patients(get_store(request), user)
    rows = [(p, services.cramp_frequency(p.n_sessions, p.n_cramp_sessions)) for p in patients]
    return render(request, "patients.html", rows=rows)


@protected.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: str, user: CurrentUser) -> Response:
    if user.role == "patient" and user.patient_id == patient_id:
        return RedirectResponse("/me", status_code=303)
    store = get_store(request)
    rec = access.load_patient(store, user, patient_id, "view_patient", request.url.path)
    summary = access.patient_summary(store, patient_id)
    sessions = store.list_sessions(patient_id)
    return render(
        request,
        "patient.html",
        record=rec,
        summary=summary,
        history_chart=(
            charts.embed(charts.history_figure(sessions), "Assessed cramp risk per session; red: a cramp")
            if sessions
            else ""
        ),
        frequency=(
            services.cramp_frequency(summary.n_sessions, summary.n_cramp_sessions) if summary else None
        ),
        sessions=sessions,
        reports=store.list_reports(patient_id),
    )


#: Step of each what-if input (the smallest change a clinician sets on a machine; modelling choice).
WHATIF_STEPS = {
    "duration_min": 1,
    "uf_volume_l": 0.01,
    DIALYSATE_NA_MMOL_L: 0.5,
    "dialysate_ca_mmol_l": 0.025,
    "dialysate_mg_mmol_l": 0.025,
    DIALYSATE_TEMP_C: 0.1,
    QB_ML_MIN: 1,
    "dialysate_k_mmol_l": 0.5,
    "dialysate_hco3_mmol_l": 1,
    "qd_ml_min": 1,
    "dialyzer_koa_ml_min": 1,
    "sessions_per_week": 1,
}


def whatif_inputs() -> dict[str, dict[str, float]]:
    """min/max/step of each numeric what-if input: the registry's valid range and the input step."""
    out: dict[str, dict[str, float]] = {}
    for name, setting in services.WHATIF_FIELDS.items():
        if setting.valid_range is not None:
            low, high = setting.valid_range
            out[name] = {
                "min": low,
                "max": high,
                "step": WHATIF_STEPS.get(name, 1 if setting.kind == "integer" else 0.01),
            }
    return out


def session_weight_kg(session: Any, patient: Any) -> float | None:
    """The weight UF rate is indexed to: post-dialysis weight, else the dry weight (Flythe 2011)."""
    return session.post_weight_kg or getattr(patient.patient, "dry_weight_kg", None)


def _session_chart(request: Request, rec: Any, weight_kg: float | None) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        label = (
            "Session timelines: relative blood volume, blood pressure, UF rate, plasma Na, osmolality, "
            "ionized Ca"
        )
        return {
            "html": charts.embed(charts.session_figure(rec.trace, weight_kg=weight_kg), label),
            "text": charts.chart_text(rec.trace, weight_kg),
        }

    key = (*charts.session_chart_key(rec), weight_kg)
    return request.app.state.chart_cache.get_or_create(key, build)


@protected.get("/sessions/{session_id}")
def session_page(request: Request, session_id: str, user: CurrentUser) -> Response:
    store = get_store(request)
    version = store.session_view_version(session_id)
    if version is None and store.get_live_session(session_id) is not None:
        return RedirectResponse(f"/chairs/{session_id}", status_code=303)  # running: its live timeline
    cache = request.app.state.session_pages
    key = None
    if user.role != "patient" and not getattr(user, "notice_failed_logins", 0):
        key = session_cache.page_key(version, user.role)
    page = None if key is None else cache.get(key)
    if page is not None:  # rendered for this version of what it shows: only the access check and audit
        access.record_view(store, user, version.patient_id, "view_session", request.url.path)
        return _personalized(request, user, page)
    rec, patient = access.load_session(store, user, session_id, "view_session", request.url.path)
    assessment = services.assessment_for(store, rec, patient.patient)
    events = rec.trace.events
    cramps = [] if events.empty else events[events["kind"] == "cramp"].to_dict("records")
    if user.role == "patient":
        return _patient_session_page(request, store, rec, patient, assessment, cramps)
    context = {"session": rec, "patient": patient, "assessment": assessment, "cramps": cramps}
    if key is None or assessment is not rec.assessment:  # a fresh assessment: cached from the next view on
        return render(request, "session.html", **_session_context(request, **context))

    def render_page() -> str:
        full = {
            "request": request,
            "user": session_cache.placeholder_user(user.role),
            "csrf_token": session_cache.CSRF_PLACEHOLDER,
            "plain_cause": services.plain_cause,
            "login_notice": None,
            **_session_context(request, **context),
        }
        return TEMPLATES.get_template("session.html").render(full)

    page = cache.get_or_create(key, lambda: session_cache.split_page(render_page()))
    return _personalized(request, user, page)


def _personalized(request: Request, user: Any, page: session_cache.RenderedPage) -> Response:
    """A cached session page with this viewer's name and CSRF token, compressed when the client takes it."""
    return session_cache.page_response(
        page,
        username=user.username,
        csrf=csrf_token(request),
        accept_encoding=request.headers.get("accept-encoding", ""),
    )


def _patient_session_page(
    request: Request, store: Any, rec: Any, patient: Any, assessment: Any, cramps: list[dict[str, Any]]
) -> Response:
    """The patient's own view of a session: whether they cramped, the likely cause in plain words."""
    top = assessment["causes"][0]["cause"] if assessment and assessment.get("causes") else None
    if assessment and assessment["causes"][0]["score"] < wording.SUPPORTED_SCORE:
        top = None
    reported = any(r.session_id == rec.id for r in store.list_reports(patient.id))
    return render(
        request,
        "session_patient.html",
        session=rec,
        cramps=cramps,
        had_cramp=bool(cramps) or reported,
        top_cause=top,
        relief=services.RELIEF_TEXT,
    )


def _session_context(request: Request, *, session: Any, patient: Any, **shown: Any) -> dict[str, Any]:
    """What the clinician's session page shows besides the assessment and cramps."""
    presc = session.prescription
    current = services.whatif_settings(presc.model_dump(mode="json"))
    current["uf_volume_l"] = presc.resolved_uf_volume_l(
        services.session_scenario(patient.patient, session).patient
    )
    current["uf_profile"] = presc.uf_profile if isinstance(presc.uf_profile, str) else "custom"
    weight = session_weight_kg(session, patient)
    return {
        "session": session,
        "patient": patient,
        "chart": _session_chart(request, session, weight),
        "current": current,
        "fields": services.WHATIF_FIELDS,
        "inputs": whatif_inputs(),
        "uf_profiles": services.UF_PROFILES,
        **shown,
    }


def _whatif_changes(form: dict[str, Any]) -> dict[str, Any]:
    """Validated what-if changes from form fields (profiles arrive as JSON text from optimizer buttons)."""
    data = {k: v for k, v in form.items() if k in services.ALL_FIELDS and v not in ("", None, "custom")}
    for name in ("uf_profile", "dialysate_na_profile"):
        value = data.get(name)
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                data[name] = json.loads(value)
            except ValueError:
                raise InputError(f"{name}: not a list of [t_min, value] points", name) from None
    numeric = [n for n, s in services.ALL_FIELDS.items() if s.kind in ("number", "integer")]
    try:
        return WhatIfIn.model_validate(form_numbers(data, numeric)).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise InputError(change_error_text(exc), None) from None


#: Metrics compared in the what-if table: (metric, clinical label with unit from the quantity registry).
WHATIF_METRICS = tuple(
    (name, display_label(name))
    for name in (
        "uf_rate_ml_kg_h",
        "sp_ktv",
        "urr_pct",
        "na_gradient_mmol_l",
        "sbp_nadir_mmhg",
        "rbv_min_pct",
    )
)


@protected.post("/sessions/{session_id}/whatif")
async def whatif_panel(request: Request, session_id: str, user: ClinicianUser) -> Response:
    form = dict(await request.form())

    def work() -> Response:
        store = get_store(request)
        rec, patient = access.load_session(store, user, session_id, "whatif", request.url.path)
        try:
            changes = _whatif_changes(form)
            twin, _ = services.patient_twin(store, patient.id)
            result = services.what_if(patient.patient, rec, changes, twin=twin)
        except InputError as exc:
            return render(request, "whatif_result.html", status_code=422, error=exc.message)
        weight = session_weight_kg(rec, patient)
        return render(
            request,
            "whatif_result.html",
            result=result,
            chart=charts.embed(
                charts.session_figure(result.before_trace, weight_kg=weight, compare=result.after_trace),
                "Simulated timelines: current prescription dashed, what-if solid",
            ),
            risk_chart=charts.embed(
                charts.risk_figure(result.before["overall_risk"], result.after["overall_risk"]),
                f"Cramp risk: current {result.before['overall_risk']:.0%}, "
                f"what-if {result.after['overall_risk']:.0%}",
            ),
            metric_labels=WHATIF_METRICS,
        )

    return await run_in_threadpool(work)


@protected.post("/sessions/{session_id}/optimize")
async def optimize_panel(request: Request, session_id: str, user: ClinicianUser) -> Response:
    try:
        result = await heavy.optimize(request, user, session_id)
    except InputError as exc:
        return render(request, "optimize_result.html", status_code=422, error=exc.message)
    return render(
        request,
        "optimize_result.html",
        result=result,
        session_id=session_id,
    )


# ------------------------------------------------------------------------------------------- patient


@protected.get("/me")
def me_page(request: Request, user: PatientUser, received: int | None = None) -> Response:
    return _render_me(request, user, received=received)


def _render_me(
    request: Request,
    user: Any,
    *,
    received: int | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    if user.patient_id is None:
        raise Forbidden("this account is not linked to a patient record")
    store = get_store(request)
    rec = access.load_patient(store, user, user.patient_id, "view_own_record", request.url.path)
    reports = store.list_reports(user.patient_id)
    sessions = store.list_sessions(user.patient_id)
    received_report = next((r for r in reports if r.id == received), None) if received is not None else None
    return render(
        request,
        "me.html",
        status_code=status_code,
        record=rec,
        summary=access.patient_summary(store, user.patient_id),
        reports=reports,
        sessions=sessions,
        recent_sessions=sorted(sessions, key=lambda s: s.started_at, reverse=True)[:5],
        received=received_report,
        error=error,
        muscles=MUSCLE_GROUPS,
        idempotency_key=uuid.uuid4().hex,
        relief=services.RELIEF_TEXT,
    )


#: What the patient reads when a report field is refused, by field (plain words, no field names).
REPORT_PROBLEMS = {
    "severity": "How bad: choose a number from 0 (hardly) to 10 (worst ever).",
    "muscle": "Which muscle: choose one of the muscles listed.",
    "reported_at": "When: enter a date and time within the past year, not in the future.",
    "note": "Anything else: the note is too long or holds characters that cannot be stored.",
    "session_id": "During a session: choose one of your sessions, or 'No / not sure'.",
    "": "The report could not be read. Reload the page and send it again.",
}


@protected.post("/me/reports")
def me_report_submit(
    request: Request,
    user: PatientUser,
    idempotency_key: Annotated[str, Form(max_length=128)],
    muscle: Annotated[str, Form(max_length=64)],
    severity: Annotated[str, Form(max_length=8)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    reported_at: Annotated[str, Form(max_length=40)] = "",
    tz_offset_min: Annotated[str, Form(max_length=8)] = "",
    session_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    when = None
    try:
        if reported_at:
            local = datetime.fromisoformat(reported_at)
            offset = int(tz_offset_min) if tz_offset_min.strip().lstrip("-").isdigit() else 0
            offset = offset if abs(offset) <= MAX_TZ_OFFSET_MIN else 0
            # JavaScript getTimezoneOffset(): minutes to add to local time to get UTC.
            when = (local + timedelta(minutes=offset)).replace(tzinfo=UTC) if local.tzinfo is None else local
        fields = {
            "idempotency_key": idempotency_key,
            "muscle": muscle,
            "severity": severity,
            "note": note,
            "reported_at": when,
            "session_id": session_id or None,
        }
        body = ReportIn.model_validate(form_numbers(fields, ["severity"]))
    except (ValueError, OverflowError) as exc:  # includes pydantic's ValidationError
        field = (
            str((exc.errors()[0].get("loc") or ("",))[0])
            if isinstance(exc, ValidationError)
            else "reported_at"
        )
        return _me_error(request, user, REPORT_PROBLEMS.get(field, REPORT_PROBLEMS[""]))
    try:
        record, _created = access.create_report(get_store(request), user, **body.model_dump())
    except InputError as exc:
        return _me_error(request, user, REPORT_PROBLEMS.get(str(exc.field or ""), REPORT_PROBLEMS[""]))
    return RedirectResponse(f"/me?received={record.id}", status_code=303)


def _me_error(request: Request, user: Any, message: str) -> Response:
    return _render_me(request, user, error=message, status_code=422)


__all__ = ["router", "protected"]
