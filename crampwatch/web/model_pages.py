"""The unit model in the clinic app: the model card, training from the store (admin), choosing the active
model (admin). Clinicians and admins read the card; it shows only unit-level figures, no patient data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from crampwatch.learn.inputs import FEATURE_LABELS
from crampwatch.store.unit_models import get_unit_model, list_unit_models, set_active_unit_model
from crampwatch.web import charts, heavy, model_service
from crampwatch.web.auth import AdminUser, check_csrf, current_user, get_store, require_role
from crampwatch.web.pages import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(current_user), Depends(check_csrf)])
#: Who may read the model card: clinicians and admins.
CardUser = Annotated[Any, Depends(require_role("clinician", "admin"))]


def reliability_figure(training: dict[str, Any]) -> dict[str, Any]:
    """Observed cramp rate against predicted risk, per bin, for the unit model (CV) and the analyzer."""
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": [0, 1],
            "y": [0, 1],
            "mode": "lines",
            "name": "perfect calibration",
            "line": {"dash": "dot", "color": "#999"},
        }
    ]
    curves = [("analyzer risk (prior)", training.get("prior") or {})]
    if training.get("cv_model"):
        curves.insert(0, ("unit model (held-out patients)", training["cv_model"]))
    for name, block in curves:
        bins = block.get("reliability") or []
        data.append(
            {
                "type": "scatter",
                "x": [b["predicted"] for b in bins],
                "y": [b["observed"] for b in bins],
                "mode": "lines+markers",
                "name": name,
                "text": [f"{b['sessions']} sessions" for b in bins],
            }
        )
    points = [max(b["predicted"], b["observed"]) for _, bl in curves for b in bl.get("reliability") or []]
    axis = {"range": [0, min(1.0, 1.1 * max([0.05, *points]))], "tickformat": ".0%"}
    layout = {
        "height": 360,
        "margin": {"l": 55, "r": 10, "t": 10, "b": 45},
        "template": charts.TEMPLATE,
        "xaxis": {"title": {"text": "predicted cramp risk"}, **axis},
        "yaxis": {"title": {"text": "observed share of sessions with cramps"}, **axis},
        "legend": {"orientation": "h", "y": -0.25},
    }
    return {"data": data, "layout": layout}


def reliability_rows(training: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The reliability bins as table rows (the chart's text alternative)."""
    rows = []
    for name, key in (("unit model", "cv_model"), ("analyzer", "prior")):
        for b in (training.get(key) or {}).get("reliability") or []:
            rows.append((name, b))
    return rows


def _card(request: Request, record: Any, *, error: str | None = None, status_code: int = 200) -> Response:
    store = get_store(request)
    active = model_service.active_model(store)
    data = record.data if record is not None else None
    return render(
        request,
        "model.html",
        status_code=status_code,
        record=record,
        model=data,
        active=active,
        models=list_unit_models(store),
        reliability=(
            charts.embed(
                reliability_figure(data["training"]), "Reliability: predicted risk against observed cramps"
            )
            if data
            else ""
        ),
        reliability_rows=reliability_rows(data["training"]) if data else [],
        labels=FEATURE_LABELS,
        trainings=heavy.training_jobs(store),
        error=error,
    )


@router.get("/model")
def model_card(request: Request, user: CardUser) -> Response:
    get_store(request).audit(username=user.username, action="view_unit_model", detail=request.url.path)
    active = model_service.active_model(get_store(request))
    records = list_unit_models(get_store(request))
    shown = active.record if active is not None else (records[0] if records else None)
    return _card(request, shown)


@router.get("/model/{model_id}")
def model_card_of(request: Request, model_id: int, user: CardUser) -> Response:
    get_store(request).audit(username=user.username, action="view_unit_model", detail=request.url.path)
    record = get_unit_model(get_store(request), model_id)
    if record is None:
        return render(request, "error.html", status_code=404, status=404, message="No such unit model.")
    return _card(request, record)


@router.post("/model/train")
def model_train(request: Request, user: AdminUser) -> Response:
    """Start training in the background (one training per unit at a time; 429 while one runs). The new
    model is stored inactive: the card lists it with "Make active"."""
    heavy.start_training(request, user)
    return RedirectResponse("/model", status_code=303)


@router.post("/model/{model_id}/activate")
def model_activate(request: Request, model_id: int, user: AdminUser) -> Response:
    store = get_store(request)
    set_active_unit_model(store, model_id)
    store.audit(username=user.username, action="activate_unit_model", detail=f"unit model {model_id}")
    return RedirectResponse(f"/model/{model_id}", status_code=303)


@router.post("/model/deactivate")
def model_deactivate(request: Request, user: AdminUser) -> Response:
    store = get_store(request)
    set_active_unit_model(store, None)
    store.audit(username=user.username, action="deactivate_unit_model")
    return RedirectResponse("/model", status_code=303)
