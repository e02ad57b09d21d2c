"""The patient twin in the clinic app: the twin panel of the patient page, refitting, and its JSON API.

* ``GET /patients/{id}/twin`` -- the panel (htmx partial): fitted parameters against the population value
  with intervals, observed vs twin-simulated RBV and systolic BP per session, personal cramp thresholds,
  the number of sessions and the date of the fit; opened outside htmx it redirects to the patient page;
* ``POST /patients/{id}/twin`` -- refit on all stored sessions (clinicians; CSRF-checked), then the panel;
* ``GET``/``POST /api/patients/{id}/twin`` -- the stored twin JSON / refit (HTTP 422 for bad input).

Assessments and the optimizer of the app use the newest stored twin (:func:`stored_twin`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from crampwatch.errors import InputError
from crampwatch.signals import RBV_PCT, SBP_MMHG, T_MIN
from crampwatch.signals import signal as signal_spec
from crampwatch.store.twins import StoredTwin, latest_twin
from crampwatch.twin.priors import CI_LEVEL
from crampwatch.web import access, charts, heavy
from crampwatch.web.auth import ClinicianUser, check_csrf, current_user, get_store
from crampwatch.web.display import iso_time
from crampwatch.web.errors import NotFound
from crampwatch.web.pages import render

router = APIRouter(dependencies=[Depends(current_user), Depends(check_csrf)])

#: Colours of successive sessions in the fit chart (cycled).
SESSION_COLOURS = ("#1f6fb2", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#2c3e50")


def stored_twin(store: Any, patient_id: str) -> StoredTwin | None:
    """The patient's newest stored twin (None when none was fitted)."""
    return latest_twin(store, patient_id)


def _load_patient(request: Request, user: Any, patient_id: str, action: str) -> None:
    """Access check and audit entry for a twin view or refit."""
    access.load_patient(get_store(request), user, patient_id, action, request.url.path)


def fit_figure(store: Any, stored: StoredTwin, height_px: int = 640) -> dict[str, Any]:
    """Observed (markers) and twin-simulated (lines) RBV and systolic BP of every fitted session."""
    twin = stored.twin
    data: list[dict[str, Any]] = []
    panels = ((RBV_PCT, "y", "RBV"), (SBP_MMHG, "y2", "systolic BP"))
    for k, sid in enumerate(twin.fit.get("sessions", [])):
        curve = twin.fit.get("curves", {}).get(sid)
        rec = store.get_session(sid)
        colour = SESSION_COLOURS[k % len(SESSION_COLOURS)]
        label = rec.started_at.strftime("%Y-%m-%d") if rec is not None else sid
        # static/app.js puts the session's date in the viewer's zone in place of ``label`` (a UTC date)
        when = {"meta": {"datetime": iso_time(rec.started_at), "label": label}} if rec is not None else {}
        for signal, axis, name in panels:
            common = {"legendgroup": sid, "xaxis": "x" if axis == "y" else "x2", "yaxis": axis, **when}
            if rec is not None and rec.trace.has(signal):
                t = rec.trace.t_min
                v = rec.trace.signal(signal)
                ok = [i for i in range(len(t)) if v[i] == v[i]]
                data.append(
                    {
                        "type": "scatter",
                        "mode": "markers",
                        "x": [float(t[i]) for i in ok],
                        "y": [float(v[i]) for i in ok],
                        "marker": {"color": colour, "size": 5},
                        "name": f"{label} measured",
                        "showlegend": signal == RBV_PCT or not rec.trace.has(RBV_PCT),
                        "hovertemplate": f"{label} measured {name} %{{y:.1f}} at %{{x}} min<extra></extra>",
                        **common,
                    }
                )
            if curve is not None:
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": curve[T_MIN],
                        "y": curve[signal],
                        "line": {"color": colour, "width": 1.5},
                        "name": f"{label} twin",
                        "showlegend": False,
                        "hovertemplate": f"{label} twin {name} %{{y:.1f}} at %{{x}} min<extra></extra>",
                        **common,
                    }
                )
    layout = {
        "height": height_px,
        "margin": {"l": 60, "r": 10, "t": 30, "b": 150},
        "template": charts.TEMPLATE,
        "grid": {"rows": 2, "columns": 1, "pattern": "independent"},
        "xaxis": {"matches": "x2", "showticklabels": False},
        "xaxis2": {"title": {"text": "time, min"}},
        "yaxis": {"title": {"text": "relative blood volume, %"}},
        "yaxis2": {"title": {"text": "systolic BP, mmHg"}},
        # under the time axis: above the panels it covered the first samples and the chart's tool bar
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.14, "x": 0},
    }
    return {"data": data, "layout": layout}


def fit_errors(rmse: dict[str, float]) -> list[tuple[str, float, str]]:
    """The fit's root-mean-square error per signal as (clinical label, value, unit), label and unit read
    from the signal registry; a percentage signal's error is in percentage points."""
    out = []
    for name, value in rmse.items():
        spec = signal_spec(name)
        unit = "%-points" if spec.unit == "%" else spec.unit
        out.append((spec.label[:1].lower() + spec.label[1:], value, unit))
    return out


def _panel(
    request: Request, patient_id: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    store = get_store(request)
    stored = stored_twin(store, patient_id)
    label = "Measured and twin-simulated relative blood volume and systolic BP per session"
    chart = charts.embed(fit_figure(store, stored), label) if stored is not None else ""
    return render(
        request,
        "twin_panel.html",
        status_code=status_code,
        patient_id=patient_id,
        stored=stored,
        twin=None if stored is None else stored.twin,
        chart=chart,
        fit_errors=[] if stored is None else fit_errors(stored.twin.fit["rmse"]),
        ci_pct=round(100 * CI_LEVEL),
        error=error,
    )


@router.get("/patients/{patient_id}/twin", include_in_schema=False)
def twin_panel(request: Request, patient_id: str, user: ClinicianUser) -> Response:
    """The twin panel for the patient page's htmx request; opened directly (a bookmark, a pasted link), the
    patient page with the panel in place."""
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(f"/patients/{quote(patient_id, safe='')}#twin", status_code=303)
    _load_patient(request, user, patient_id, "view_twin")
    return _panel(request, patient_id)


@router.post("/patients/{patient_id}/twin", include_in_schema=False)
async def twin_refit(request: Request, patient_id: str, user: ClinicianUser) -> Response:
    """Refit as a bounded job (429 with ``Retry-After`` while busy or while this patient's refit runs)."""
    try:
        await heavy.refit_twin(request, user, patient_id)
    except InputError as exc:
        return await run_in_threadpool(_panel, request, patient_id, error=exc.message, status_code=422)
    return await run_in_threadpool(_panel, request, patient_id)


def _twin_json(stored: StoredTwin) -> dict[str, Any]:
    return {**stored.twin.to_dict(), "version": stored.version, "fitted_by": stored.fitted_by}


@router.get("/api/patients/{patient_id}/twin", tags=["twin"])
def api_twin(request: Request, patient_id: str, user: ClinicianUser) -> dict[str, Any]:
    """The patient's newest twin (docs/formats.md "Patient twin") with its version."""
    _load_patient(request, user, patient_id, "view_twin")
    stored = stored_twin(get_store(request), patient_id)
    if stored is None:
        raise NotFound("twin")
    return _twin_json(stored)


@router.post("/api/patients/{patient_id}/twin", tags=["twin"], responses={429: {}})
async def api_twin_refit(request: Request, patient_id: str, user: ClinicianUser) -> Response:
    """Refit the patient's twin on all stored sessions and store it as the next version (a bounded job:
    429 with ``Retry-After`` while the server is busy or this patient's refit runs)."""
    stored = await heavy.refit_twin(request, user, patient_id)
    return JSONResponse(_twin_json(stored))
