"""The chairside view: the running sessions as tiles (``/chairs``, ``GET /api/chairs``), live over
server-sent events (``GET /api/chairs/stream``), alerts acknowledged with a reason
(``POST /api/chairs/{session_id}/acknowledge``), a running session's live timeline (``/chairs/{session_id}``),
and the gateway inputs ``POST /api/live/observations`` (JSON) and ``POST /api/live/fhir`` (FHIR R4).

Every input goes to the application's :class:`crampwatch.chairside.service.LiveService` (the same path as
HL7 v2 over MLLP); refusals are answered 422 with the reason and audited.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from crampwatch.chairside.hub import MEASURED
from crampwatch.chairside.mllp import MllpListener
from crampwatch.chairside.streams import RedisStreams
from crampwatch.io.machine import gateway
from crampwatch.io.machine.messages import Refusal
from crampwatch.roles import CHAIRSIDE_ROLES
from crampwatch.signals import T_MIN
from crampwatch.web import wording
from crampwatch.web.auth import check_csrf, current_user, get_store, require_role
from crampwatch.web.errors import NotFound
from crampwatch.web.pages import render

ChairsUser = Annotated[Any, Depends(require_role(*CHAIRSIDE_ROLES))]
GatewayUser = Annotated[Any, Depends(require_role(*CHAIRSIDE_ROLES))]
#: Seconds between keep-alive comments on the event stream (proxies close silent connections).
PING_S = 15
#: Events of a batch encoded for a screen between two turns of the event loop (modelling choice).
ENCODE_CHUNK = 50
#: Reasons offered on the tile for acknowledging an alert (the second tap); snooze minutes with each.
ACK_REASONS = (
    ("Seen, acting on it", 0.0),
    ("Seen, no action needed", 0.0),
    ("Snooze 15 min", 15.0),
)

router = APIRouter(dependencies=[Depends(current_user), Depends(check_csrf)])


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: str | None = Field(None, max_length=64, description="signal registry name (e.g. rbv_pct)")
    system: str | None = Field(None, max_length=16, description="MDC, LN or 99CW when code is given")
    code: str | None = Field(None, max_length=80)
    value: float = Field(..., description="in unit")
    unit: str = Field("", max_length=20, description="UCUM; empty: the signal's registry unit")
    observed_at: datetime = Field(..., description="ISO 8601 with offset (no offset: UTC)")


class LiveMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(
        ..., min_length=1, max_length=120, description="unique per gateway: resent = same"
    )
    patient_id: str = Field(..., min_length=1, max_length=64)
    observations: list[ObservationIn] = Field(default_factory=list, max_length=10_000)
    end_of_treatment: bool = False


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(..., min_length=2, max_length=200)
    snooze_min: float = Field(0.0, ge=0, le=120, description="minutes without a new alert for this chair")


@asynccontextmanager
async def live_lifespan(app: Any) -> AsyncIterator[None]:
    """Start the live service with the application (and the HL7 listener when a port is set; Redis
    Streams when a URL is set); stop both with it. The bound MLLP port is ``app.state.mllp_port``."""
    live = app.state.live
    settings = live.settings
    streams = RedisStreams(settings.redis_url, settings.partitions) if settings.redis_url else None
    await live.start(streams)
    listener = None
    if settings.mllp_port is not None:
        listener = MllpListener(live)
        app.state.mllp_port = await listener.start()
    try:
        yield
    finally:
        if listener is not None:
            await listener.stop()
        await live.stop()
        if streams is not None:
            streams.close()


def _live(request: Request) -> Any:
    return request.app.state.live


def tile(update: dict[str, Any] | None, session: Any, name: str | None) -> dict[str, Any]:
    """One chair as ``GET /api/chairs`` and the event stream give it: the engine's latest update plus who
    and since when (``t_min``: minutes since the session's first observation)."""
    data = dict(update or {})
    cause = data.get("cause")
    data.update(
        patient_id=session.patient_id,
        patient_name=name,
        session_id=session.id,
        opened_at=session.opened_at.isoformat(),
        t_min=float(data.get("message_t_min", data.get(T_MIN, 0.0)) or 0.0),
        cramp_risk_30min=data.get("cramp_risk_30min"),
        level=data.get("level") or "none",
        cause=cause,
        cause_label=wording.cause_label(cause) if cause else None,
        latest=data.get("latest") or {},
    )
    data.pop("live_session_id", None)
    return data


def measured_tile(data: dict[str, Any], session: Any, name: str | None) -> dict[str, Any]:
    """A message's measured values as the event stream gives them, before the engine's update:
    ``values``: signal -> [t_min, value]; ``t_min``: the message's minutes since the first observation."""
    return {
        "patient_id": session.patient_id,
        "patient_name": name,
        "session_id": session.id,
        "seq": data.get("seq"),
        T_MIN: float(data.get("message_t_min") or 0.0),
        "values": data.get("values") or {},
    }


def _chairs(store: Any) -> list[dict[str, Any]]:
    sessions = store.open_live_sessions()
    latest = store.latest_live_updates([s.id for s in sessions])
    names = {p.id: p.name for p in store.list_patients()} if sessions else {}
    return [tile(latest.get(s.id), s, names.get(s.patient_id)) for s in sessions]


@router.get("/api/chairs", tags=["chairside"])
def chairs_api(request: Request, user: ChairsUser) -> list[dict[str, Any]]:
    """The running sessions with the engine's latest update each (clinician, nurse); audited."""
    store = get_store(request)
    store.audit(username=user.username, action="view_chairs", detail="api")
    return _chairs(store)


@router.get("/chairs", include_in_schema=False)
def chairs_page(request: Request, user: ChairsUser) -> HTMLResponse:
    store = get_store(request)
    store.audit(username=user.username, action="view_chairs", detail="page")
    return render(request, "chairs.html", chairs=_chairs(store), reasons=ACK_REASONS)


@router.get("/chairs/{session_id}", include_in_schema=False)
def chair_timeline_page(request: Request, session_id: str, user: ChairsUser) -> HTMLResponse:
    """A running session's live timeline (every engine update so far, then live)."""
    store = get_store(request)
    session = store.get_live_session(session_id)
    if session is None:
        raise NotFound("running session")
    patient = store.get_patient(session.patient_id)
    store.audit(username=user.username, action="view_live_session", patient_id=session.patient_id)
    name = patient.name if patient else None
    updates = [tile(u, session, name) for u in store.live_updates(session_id)]
    return render(request, "chair_timeline.html", session=session, patient_name=name, updates=updates)


@router.get("/api/chairs/stream", include_in_schema=False)
async def chairs_stream(request: Request, user: ChairsUser) -> EventSourceResponse:
    """Server-sent events: ``measured`` (a chair's measured values, JSON) as soon as a message is stored,
    ``update`` (one chair's tile with the engine's forecast and risk) after the engine has taken the message
    in, ``closed`` when a session ends."""
    store = get_store(request)
    await run_in_threadpool(store.audit, username=user.username, action="view_chairs", detail="stream")
    return EventSourceResponse(_events(request), ping=PING_S)


async def _events(request: Request) -> AsyncIterator[bytes]:
    """The hub's events as server-sent events; whatever has gathered is sent in one write."""
    store = get_store(request)
    sessions: dict[str, tuple[Any, str | None]] = {}
    async for batch in _live(request).hub.subscribe_batches():
        out = []
        for k, data in enumerate(batch, start=1):
            if k % ENCODE_CHUNK == 0:
                await asyncio.sleep(0)  # a burst of engine updates does not hold up the HL7 ACKs
            live_id = str(data.get("live_session_id"))
            if data.get("closed") or data.get("ended"):
                sessions.pop(live_id, None)
                out.append(ServerSentEvent(json.dumps({"session_id": live_id}), event="closed"))
                continue
            if live_id not in sessions:
                session = await run_in_threadpool(store.get_live_session, live_id)
                if session is None:
                    continue
                patient = await run_in_threadpool(store.get_patient, session.patient_id)
                sessions[live_id] = (session, patient.name if patient else None)
            session, name = sessions[live_id]
            if data.get("event") == MEASURED:
                out.append(ServerSentEvent(json.dumps(measured_tile(data, session, name)), event="measured"))
            else:
                out.append(ServerSentEvent(json.dumps(tile(data, session, name)), event="update"))
        if out:
            yield b"".join(e.encode() for e in out)


@router.post("/api/chairs/{session_id}/acknowledge", tags=["chairside"])
async def acknowledge(
    request: Request, session_id: str, body: AcknowledgeIn, user: ChairsUser
) -> JSONResponse:
    """Acknowledge (or snooze) a running session's alert with a reason; audited. The engine's new state
    follows on the event stream."""
    store = get_store(request)
    try:
        outcome = await _live(request).acknowledge(
            session_id, reason=body.reason, snooze_min=body.snooze_min, username=user.username
        )
    except Refusal as refusal:
        return JSONResponse({"detail": refusal.reason, "field": "session_id"}, status_code=404)
    await run_in_threadpool(
        store.audit,
        username=user.username,
        action="live_alert_acknowledged",
        patient_id=outcome.patient_id,
        detail=f"session {session_id}: {body.reason} (snooze {body.snooze_min:g} min)",
    )
    return JSONResponse({"session_id": session_id, "seq": outcome.message.seq}, status_code=201)


async def _submit(request: Request, user: Any, channel: str, build: Any) -> JSONResponse:
    live = _live(request)
    who = f"{channel}:{user.username}"
    try:
        message = build()
        outcome = await live.submit(message)
    except Refusal as refusal:
        await live.audit_refusal(refusal, who, channel)
        return JSONResponse({"detail": refusal.reason, "ack": refusal.code}, status_code=422)
    body = {"ack": "AA", "session_id": outcome.message.live_session_id, "seq": outcome.message.seq,
            "duplicate": outcome.duplicate, "closed": outcome.closed}  # fmt: skip
    return JSONResponse(body, status_code=200 if outcome.duplicate else 201)


@router.post("/api/live/observations", tags=["chairside"])
async def live_observations(request: Request, body: LiveMessageIn, user: GatewayUser) -> JSONResponse:
    """Observations of one chair from a gateway (JSON); stored like an HL7 ORU^R01 (``ack`` AA), or 422
    with the reason. A resent ``message_id`` is stored once (200, ``duplicate``)."""
    data = body.model_dump(mode="python")
    return await _submit(request, user, "json", lambda: gateway.from_json(data, user.username))


@router.post("/api/live/fhir", tags=["chairside"])
async def live_fhir(request: Request, user: GatewayUser) -> JSONResponse:
    """FHIR R4 Observation, or Bundle of Observations of one patient, from a gateway."""
    try:
        resource = await request.json()
    except ValueError:
        resource = None
    return await _submit(request, user, "fhir", lambda: gateway.from_fhir(resource, user.username))
