"""Sessions: the prescription, trace (one Parquet blob), events, weights, labs and assessments."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, defer

from crampwatch.errors import InputError, require_range
from crampwatch.model import Event, Labs, Prescription
from crampwatch.store import codec
from crampwatch.store.base import StoreBase, as_utc, new_id, require_patient, require_session
from crampwatch.store.patients import cramp_sessions_query
from crampwatch.store.records import SessionRecord, SessionSummary, SessionViewVersion
from crampwatch.store.schema import (
    AssessmentRow,
    EventRow,
    PatientRow,
    SessionRow,
    TwinRow,
    UnitModelRow,
)
from crampwatch.store.validation import require_datetime, require_id, require_text, validate_model
from crampwatch.trace import Trace


class SessionStore(StoreBase):
    """Dialysis sessions of the patients."""

    def add_session(
        self,
        patient_id: str,
        prescription: Prescription,
        trace: Trace,
        *,
        started_at: datetime,
        session_id: str | None = None,
        pre_weight_kg: float | None = None,
        post_weight_kg: float | None = None,
        labs: Labs | None = None,
        content_hash: str | None = None,
    ) -> str:
        """Store a session (prescription, trace, its events, weights, labs) atomically; returns its id.

        ``content_hash`` (unique, see :func:`crampwatch.store.transfer.session_content_hash`) lets an
        import recognise a session that is already stored.
        """
        prescription = validate_model(prescription, Prescription, "prescription")
        labs = None if labs is None else validate_model(labs, Labs, "labs")
        require_datetime(started_at, "started_at")
        session_id = new_id() if session_id is None else require_id(session_id, "session_id")
        pre = None if pre_weight_kg is None else require_range("pre_weight_kg", pre_weight_kg, 25, 250, "kg")
        post = (
            None if post_weight_kg is None else require_range("post_weight_kg", post_weight_kg, 25, 250, "kg")
        )
        blob = codec.trace_to_parquet(trace)
        events = codec.events_from_frame(trace.events)
        with self._write() as s:
            require_patient(s, patient_id)
            insert_session(
                s,
                SessionRow(
                    id=session_id,
                    patient_id=patient_id,
                    started_at=started_at,
                    prescription=prescription.model_dump(mode="json"),
                    pre_weight_kg=pre,
                    post_weight_kg=post,
                    labs=None if labs is None else labs.model_dump(mode="json", exclude_none=True),
                    trace_parquet=blob,
                    trace_sources={str(k): str(v) for k, v in trace.sources.items()},
                    content_hash=content_hash,
                ),
                events,
            )
        return session_id

    def session_id_by_content_hash(self, content_hash: str) -> str | None:
        """The id of the session stored with this content hash, if any."""
        with self._read() as s:
            return s.scalar(select(SessionRow.id).where(SessionRow.content_hash == content_hash))

    def get_session(self, session_id: str) -> SessionRecord | None:
        """The full session: prescription, trace with events and sources, labs and the latest assessment.

        The decoded trace signals are cached (a session's stored trace never changes); events and the
        assessment are read on every call. Each call returns its own copy of the trace.
        """
        with self._read() as s:
            found = s.execute(
                select(SessionRow, func.length(SessionRow.trace_parquet))
                .options(defer(SessionRow.trace_parquet))
                .where(SessionRow.id == session_id)
            ).first()
            if found is None:
                return None
            row, blob_bytes = found
            events = s.scalars(
                select(EventRow)
                .where(EventRow.session_id == session_id)
                .order_by(EventRow.t_min, EventRow.id)
            ).all()
            assessment = s.scalars(
                select(AssessmentRow)
                .where(AssessmentRow.session_id == session_id)
                .order_by(AssessmentRow.id.desc())
                .limit(1)
            ).first()
            decoded = self._traces.get_or_create(
                (row.id, row.created_at, blob_bytes), lambda: _decode_trace(s, row)
            )
        trace = _trace_copy(decoded, codec.events_to_frame(_event_model(e) for e in events))
        return SessionRecord(
            id=row.id,
            patient_id=row.patient_id,
            started_at=as_utc(row.started_at),
            prescription=Prescription.model_validate(row.prescription),
            trace=trace,
            pre_weight_kg=row.pre_weight_kg,
            post_weight_kg=row.post_weight_kg,
            labs=None if row.labs is None else Labs.model_validate(row.labs),
            assessment=None if assessment is None else assessment.data,
            assessment_model_version=None if assessment is None else assessment.model_version,
            created_at=as_utc(row.created_at),
            assessment_id=None if assessment is None else assessment.id,
        )

    def session_view_version(self, session_id: str) -> SessionViewVersion | None:
        """What a view of the session shows, as a small value read in one transaction (two indexed
        queries, no trace, no assessment JSON): a page rendered for one version is valid for every equal
        version. ``None`` when there is no such stored session."""
        with self._read() as s:
            found = s.execute(_VIEW_VERSION, {"session_id": session_id}).first()
            if found is None:
                return None
            events = s.execute(_VIEW_EVENTS, {"session_id": session_id}).all()
        pid, created, size, post_w, a_id, a_version, name, cause, data, twin_v, m_id, m_at = found
        return SessionViewVersion(
            session_id=session_id,
            patient_id=pid,
            created_at=as_utc(created),
            trace_bytes=int(size or 0),
            post_weight_kg=post_w,
            events=tuple(tuple(e) for e in events),
            assessment_id=a_id,
            assessment_model_version=a_version,
            patient_name=name,
            recurring_cause=cause,
            patient_data=json.dumps(data, sort_keys=True),
            twin_version=twin_v,
            unit_model=None if m_id is None else (m_id, m_at),
        )

    def list_sessions(self, patient_id: str) -> list[SessionSummary]:
        """The patient's sessions, oldest first (``had_cramp``: a cramp event or a linked cramp report)."""
        with self._read() as s:
            rows = s.execute(
                select(SessionRow.id, SessionRow.started_at)
                .where(SessionRow.patient_id == patient_id)
                .order_by(SessionRow.started_at, SessionRow.id)
            ).all()
            cramp = {sid for _pid, sid in s.execute(cramp_sessions_query(patient_id)).all()}
            latest: dict[str, tuple[float | None, str | None]] = {}
            for sid, risk, cause in s.execute(
                select(AssessmentRow.session_id, AssessmentRow.overall_risk, AssessmentRow.top_cause)
                .join(SessionRow, SessionRow.id == AssessmentRow.session_id)
                .where(SessionRow.patient_id == patient_id)
                .order_by(AssessmentRow.id)
            ):
                latest[sid] = (risk, cause)
        return [
            SessionSummary(
                id=sid,
                started_at=as_utc(started),
                had_cramp=sid in cramp,
                top_cause=latest.get(sid, (None, None))[1],
                overall_risk=latest.get(sid, (None, None))[0],
            )
            for sid, started in rows
        ]

    def add_events(self, session_id: str, events: list[Event] | pd.DataFrame) -> None:
        """Append events (``Event`` objects, mappings or an events table) to a stored session, all or none."""
        if isinstance(events, pd.DataFrame):
            valid = codec.events_from_frame(events, field="events")
        else:
            valid = [codec.validate_event(e, f"events[{i}]") for i, e in enumerate(events)]
        with self._write() as s:
            require_session(s, session_id)
            _insert_events(s, session_id, valid)

    def save_assessment(self, session_id: str, assessment: dict[str, Any], model_version: str) -> None:
        """Store an assessment of a session (docs/formats.md JSON); ``get_session`` shows the latest one."""
        model_version = require_text(model_version, "model_version", 64)
        data = codec.to_jsonable(assessment)
        if not isinstance(data, dict):
            raise InputError("assessment: expected a JSON object", "assessment")
        risk = data.get("overall_risk")
        if risk is not None:
            risk = require_range("assessment.overall_risk", risk, 0.0, 1.0)
        causes = data.get("causes") or []
        top = None
        if causes:
            if not isinstance(causes, list) or not all(isinstance(c, dict) for c in causes):
                raise InputError("assessment.causes: expected a list of objects", "assessment.causes")
            best = max(
                causes, key=lambda c: c.get("score") if isinstance(c.get("score"), int | float) else -1
            )
            top = best.get("cause")
            top = None if top is None else str(top)[:64]
        with self._write() as s:
            require_session(s, session_id)
            s.add(
                AssessmentRow(
                    session_id=session_id,
                    model_version=model_version,
                    overall_risk=risk,
                    top_cause=top,
                    data=data,
                )
            )


def _newest(*columns: Any, where: Any, order: Any) -> list[Any]:
    """Scalar subqueries for ``columns`` of the row with the highest ``order`` where ``where`` holds."""
    query = select(*columns).where(where).order_by(order.desc()).limit(1)
    return [query.with_only_columns(c).scalar_subquery() for c in columns]


#: The statements of :meth:`SessionStore.session_view_version`, built once (parameter ``session_id``).
_VIEW_VERSION = (
    select(
        SessionRow.patient_id,
        SessionRow.created_at,
        func.length(SessionRow.trace_parquet),
        SessionRow.post_weight_kg,
        *_newest(
            AssessmentRow.id,
            AssessmentRow.model_version,
            where=AssessmentRow.session_id == SessionRow.id,
            order=AssessmentRow.id,
        ),
        PatientRow.name,
        PatientRow.recurring_cause,
        PatientRow.data,
        select(func.max(TwinRow.version))
        .where(TwinRow.patient_id == SessionRow.patient_id)
        .scalar_subquery(),
        *_newest(
            UnitModelRow.id,
            UnitModelRow.created_at,
            where=UnitModelRow.active.is_(True),
            order=UnitModelRow.id,
        ),
    )
    .join(PatientRow, PatientRow.id == SessionRow.patient_id)
    .where(SessionRow.id == bindparam("session_id"))
)
_VIEW_EVENTS = (
    select(EventRow.id, EventRow.t_min, EventRow.kind, EventRow.severity, EventRow.note)
    .where(EventRow.session_id == bindparam("session_id"))
    .order_by(EventRow.t_min, EventRow.id)
)


def insert_session(s: Session, row: SessionRow, events: list[Event]) -> None:
    """Add a session row (new id, validated content) and its events inside the caller's transaction."""
    if s.get(SessionRow, row.id) is not None:
        raise InputError(f"session_id: {row.id!r} already exists (allowed a new id)", "session_id")
    s.add(row)
    s.flush()
    _insert_events(s, row.id, events)


def _insert_events(s: Session, session_id: str, events: list[Event]) -> None:
    s.add_all(
        EventRow(session_id=session_id, t_min=e.t_min, kind=e.kind, severity=e.severity, note=e.note)
        for e in events
    )
    s.flush()


def _decode_trace(s: Session, row: SessionRow) -> Trace:
    """The stored trace of ``row`` without events (its Parquet column is loaded only here)."""
    blob = s.scalar(select(SessionRow.trace_parquet).where(SessionRow.id == row.id))
    return Trace(data=codec.parquet_to_frame(blob), sources=dict(row.trace_sources or {}), session_id=row.id)


def _trace_copy(decoded: Trace, events: pd.DataFrame) -> Trace:
    """A caller-owned copy of a cached trace with ``events`` (no re-validation: ``decoded`` was checked, so
    the new trace is assembled field by field instead of through ``__init__``)."""
    trace = copy.copy(decoded)
    for name, value in (
        ("data", decoded.data.copy()),
        ("sources", dict(decoded.sources)),
        ("events", events),
    ):
        object.__setattr__(trace, name, value)
    return trace


def _event_model(row: EventRow) -> Event:
    return Event(t_min=row.t_min, kind=row.kind, severity=row.severity, note=row.note or "")  # type: ignore[arg-type]
