"""Clinician pages across sessions: a patient's trend (``/patients/{id}/trend``) and the unit overview."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from crampwatch.signals import SIGNAL_SPECS
from crampwatch.store.cache import LRUCache
from crampwatch.web import access, trends
from crampwatch.web.auth import ClinicianUser, check_csrf, current_user, get_store
from crampwatch.web.charts import th
from crampwatch.web.pages import render

#: Cached trend pages (rows and chart of one patient, a few kB each; modelling choice).
TREND_CACHE_SIZE = 256

_STATE_LOCK = threading.Lock()
router = APIRouter(include_in_schema=False, dependencies=[Depends(current_user), Depends(check_csrf)])


def _state(request: Request) -> tuple[LRUCache, trends.UnitOverview]:
    """This app's trend cache and unit overview (created on first use)."""
    state = request.app.state
    with _STATE_LOCK:
        if not hasattr(state, "trend_cache"):
            state.trend_cache = LRUCache(TREND_CACHE_SIZE)
            state.unit_overview = trends.UnitOverview()
    return state.trend_cache, state.unit_overview


@router.get("/patients/{patient_id}/trend")
def trend_page(request: Request, patient_id: str, user: ClinicianUser) -> Response:
    rec = access.load_patient(get_store(request), user, patient_id, "view_trend", request.url.path)
    cache, _ = _state(request)
    trend = trends.patient_trend(get_store(request), patient_id, rec.patient, cache)
    return render(
        request,
        "trend.html",
        record=rec,
        rows=trend["rows"],
        chart=trend["chart"],
        solutes=[(name, SIGNAL_SPECS[name], th(trends.SOLUTE_LIMITS[name])) for name in trend["solutes"]],
        flat=trends.RBV_FLAT_PCT_H,
        steep=trends.RBV_STEEP_PCT_H,
        marks={
            "idwg": th("idwg_kg"),
            "ufr10": th("ufr_10_ml_kg_h"),
            "ufr13": th("ufr_13_ml_kg_h"),
            "sbp": th("idh_nadir_sbp_mmhg"),
            "rbv": th("rbv_critical_pct"),
        },
    )


@router.get("/unit")
def unit_page(request: Request, user: ClinicianUser) -> Response:
    store = get_store(request)
    access.require_role(user, "clinician")
    _, overview = _state(request)
    computed_at, rows = overview.get(store)
    store.audit(username=user.username, action="unit_overview", patient_ids=[p.id for p in rows])
    return render(request, "unit.html", rows=rows, computed_at=computed_at, recent=trends.RECENT_SESSIONS)
