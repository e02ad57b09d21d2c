"""The :class:`Store`: every read and write of the clinic database.

Each public method opens its own SQLAlchemy session and runs in exactly one transaction, so a Store is safe
to share between threads (one engine, a connection pool) and no method leaves a half-written record.
Invalid input raises :class:`crampwatch.errors.InputError` before anything is written.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from crampwatch.errors import InputError, require_range
from crampwatch.model import Event, Labs, Patient, Prescription
from crampwatch.store import codec, security
from crampwatch.store.cache import LRUCache
from crampwatch.store.engine import create_store_engine, is_sqlite, write_options
from crampwatch.store.migrate import upgrade
from crampwatch.store.records import (
    AuditRecord,
    PatientRecord,
    PatientSummary,
    ReportRecord,
    SessionRecord,
    SessionSummary,
    UserRecord,
)
from crampwatch.store.schema import (
    ID_LENGTH,
    ROLES,
    AssessmentRow,
    AuditRow,
    EventRow,
    PatientRow,
    ReportRow,
    SessionRow,
    UserRow,
    UTCDateTime,
)
from crampwatch.store.validation import (
    optional_text,
    require_datetime,
    require_id,
    require_text,
    require_username,
    validate_model,
)
from crampwatch.trace import Trace

Role = Literal["clinician", "admin", "patient"]

#: Limits on free text (modelling choices): a muscle-group name, a note, an audit detail.
MAX_MUSCLE_CHARS = 64
MAX_NOTE_CHARS = 2000
MAX_AUDIT_DETAIL_CHARS = 4000
MAX_KEY_CHARS = 128

#: Decoded traces kept in memory: ~80 kB each for a 4-h, 1-min, 40-column trace (modelling choice).
TRACE_CACHE_SIZE = 128

_UTC = UTCDateTime()


class Store:
    """Repository over the crampwatch database (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine, *, trace_cache_size: int = TRACE_CACHE_SIZE) -> None:
        self._engine = engine
        self._traces: LRUCache[Trace] = LRUCache(trace_cache_size)
        # SQLite has one writer at a time and its busy handler polls with sleeps of up to 100 ms, so the
        # threads of one process wait on a lock instead; other processes still wait on SQLite's lock
        # (busy_timeout). PostgreSQL writers run concurrently.
        self._write_lock: AbstractContextManager[Any] = (
            threading.RLock() if is_sqlite(engine) else nullcontext()
        )

    # ----------------------------------------------------------------------------------------- lifecycle

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Store:
        """Connect to ``url`` (``None``: ``$CRAMPWATCH_DATABASE_URL``, else ``./crampwatch.db``), migrate."""
        engine = create_store_engine(url)
        try:
            if migrate:
                upgrade(engine)
        except Exception:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One write transaction; committed (durably) on success, rolled back on any error."""
        with self._write_lock, Session(self._engine, expire_on_commit=False) as session:
            session.connection(execution_options=write_options())  # BEGIN IMMEDIATE on SQLite
            try:
                yield session
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise InputError(
                    f"database: the record conflicts with stored data ({_first_line(exc)})", "database"
                ) from None
            except BaseException:
                session.rollback()
                raise

    # ------------------------------------------------------------------------------------------ patients

    def add_patient(self, patient: Patient, *, name: str | None = None) -> str:
        """Store a new patient; returns its id (``patient.id``). A duplicate id raises InputError."""
        patient = validate_model(patient, Patient, "patient")
        name = optional_text(name, "name", 200)
        with self._write() as s:
            if s.get(PatientRow, patient.id) is not None:
                raise InputError(
                    f"patient.id: {patient.id!r} already exists (allowed a new id)", "patient.id"
                )
            s.add(PatientRow(id=patient.id, name=name, data=patient.model_dump(mode="json")))
        return patient.id

    def update_patient(self, patient: Patient, *, name: str | None = None) -> None:
        """Replace the stored data (and, when given, the name) of an existing patient."""
        patient = validate_model(patient, Patient, "patient")
        name = optional_text(name, "name", 200)
        with self._write() as s:
            row = _require_patient(s, patient.id)
            row.data = patient.model_dump(mode="json")
            if name is not None:
                row.name = name

    def get_patient(self, patient_id: str) -> PatientRecord | None:
        with self._read() as s:
            row = s.get(PatientRow, patient_id)
            return None if row is None else _patient_record(row)

    def list_patients(self, patient_id: str | None = None) -> list[PatientSummary]:
        """Every patient (or only ``patient_id``) with session counts, sorted by id.

        A cramp session has a cramp event or a cramp report.
        """
        patients_query = select(PatientRow).order_by(PatientRow.id)
        stats_query = select(
            SessionRow.patient_id, func.count(SessionRow.id), func.max(SessionRow.started_at)
        ).group_by(SessionRow.patient_id)
        if patient_id is not None:
            patients_query = patients_query.where(PatientRow.id == patient_id)
            stats_query = stats_query.where(SessionRow.patient_id == patient_id)
        with self._read() as s:
            patients = s.scalars(patients_query).all()
            stats = {pid: (n, last) for pid, n, last in s.execute(stats_query)}
            cramp_by_patient: dict[str, int] = {}
            for pid, _sid in s.execute(_cramp_sessions_query(patient_id)).all():
                cramp_by_patient[pid] = cramp_by_patient.get(pid, 0) + 1
        out = []
        for row in patients:
            n, last = stats.get(row.id, (0, None))
            out.append(
                PatientSummary(
                    id=row.id,
                    name=row.name,
                    n_sessions=int(n),
                    n_cramp_sessions=cramp_by_patient.get(row.id, 0),
                    recurring_cause=row.recurring_cause,
                    last_session_at=_as_utc(last),
                )
            )
        return out

    def update_patient_summary(self, patient_id: str, recurring_cause: str | None) -> None:
        """Record the cause that recurs across the patient's sessions (``None`` clears it)."""
        recurring_cause = optional_text(recurring_cause, "recurring_cause", 64)
        with self._write() as s:
            _require_patient(s, patient_id).recurring_cause = recurring_cause

    # ------------------------------------------------------------------------------------------ sessions

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
    ) -> str:
        """Store a session (prescription, trace, its events, weights, labs) atomically; returns its id."""
        prescription = validate_model(prescription, Prescription, "prescription")
        labs = None if labs is None else validate_model(labs, Labs, "labs")
        require_datetime(started_at, "started_at")
        session_id = _new_id() if session_id is None else require_id(session_id, "session_id")
        pre = None if pre_weight_kg is None else require_range("pre_weight_kg", pre_weight_kg, 25, 250, "kg")
        post = (
            None if post_weight_kg is None else require_range("post_weight_kg", post_weight_kg, 25, 250, "kg")
        )
        blob = codec.trace_to_parquet(trace)
        events = codec.events_from_frame(trace.events)
        sources = {str(k): str(v) for k, v in trace.sources.items()}
        with self._write() as s:
            _require_patient(s, patient_id)
            if s.get(SessionRow, session_id) is not None:
                raise InputError(
                    f"session_id: {session_id!r} already exists (allowed a new id)", "session_id"
                )
            s.add(
                SessionRow(
                    id=session_id,
                    patient_id=patient_id,
                    started_at=started_at,
                    prescription=prescription.model_dump(mode="json"),
                    pre_weight_kg=pre,
                    post_weight_kg=post,
                    labs=None if labs is None else labs.model_dump(mode="json", exclude_none=True),
                    trace_parquet=blob,
                    trace_sources=sources,
                )
            )
            s.flush()
            self._insert_events(s, session_id, events)
        return session_id

    def _insert_events(self, s: Session, session_id: str, events: list[Event]) -> None:
        s.add_all(
            EventRow(session_id=session_id, t_min=e.t_min, kind=e.kind, severity=e.severity, note=e.note)
            for e in events
        )
        s.flush()

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
            started_at=_as_utc(row.started_at),
            prescription=Prescription.model_validate(row.prescription),
            trace=trace,
            pre_weight_kg=row.pre_weight_kg,
            post_weight_kg=row.post_weight_kg,
            labs=None if row.labs is None else Labs.model_validate(row.labs),
            assessment=None if assessment is None else assessment.data,
            assessment_model_version=None if assessment is None else assessment.model_version,
            created_at=_as_utc(row.created_at),
        )

    def list_sessions(self, patient_id: str) -> list[SessionSummary]:
        """The patient's sessions, oldest first (``had_cramp``: a cramp event or a linked cramp report)."""
        with self._read() as s:
            rows = s.execute(
                select(SessionRow.id, SessionRow.started_at)
                .where(SessionRow.patient_id == patient_id)
                .order_by(SessionRow.started_at, SessionRow.id)
            ).all()
            cramp = {sid for _pid, sid in s.execute(_cramp_sessions_query(patient_id)).all()}
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
                started_at=_as_utc(started),
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
            _require_session(s, session_id)
            self._insert_events(s, session_id, valid)

    def save_assessment(self, session_id: str, assessment: dict[str, Any], model_version: str) -> None:
        """Store an assessment (contracts.md JSON) of a session; ``get_session`` shows the latest one."""
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
            _require_session(s, session_id)
            s.add(
                AssessmentRow(
                    session_id=session_id,
                    model_version=model_version,
                    overall_risk=risk,
                    top_cause=top,
                    data=data,
                )
            )

    # ------------------------------------------------------------------------------------ patient reports

    def add_report(
        self,
        *,
        patient_id: str,
        reported_at: datetime,
        muscle: str,
        severity: int,
        note: str,
        session_id: str | None = None,
        t_min: float | None = None,
        idempotency_key: str,
    ) -> tuple[ReportRecord, bool]:
        """Store a cramp report durably (committed before returning); ``created`` is False for a repeated key.

        A key already used for a different patient raises InputError.
        """
        require_datetime(reported_at, "reported_at")
        muscle = require_text(muscle, "muscle", MAX_MUSCLE_CHARS)
        if (
            isinstance(severity, bool)
            or not isinstance(severity, int | float)
            or float(severity) != int(severity)
        ):
            raise InputError(f"severity: {severity!r} is not a whole number (allowed 0–10)", "severity")
        severity = int(require_range("severity", severity, 0, 10))
        note = optional_text(note, "note", MAX_NOTE_CHARS) or ""
        if t_min is not None:
            t_min = require_range("t_min", t_min, 0, 720, "min")
        key = require_text(idempotency_key, "idempotency_key", MAX_KEY_CHARS)
        try:
            with self._write() as s:
                existing = s.scalars(select(ReportRow).where(ReportRow.idempotency_key == key)).first()
                if existing is not None:
                    return _existing_report(existing, patient_id), False
                _require_patient(s, patient_id)
                if session_id is not None:
                    sess = _require_session(s, session_id)
                    if sess.patient_id != patient_id:
                        raise InputError(
                            f"session_id: {session_id!r} belongs to another patient (allowed a session of "
                            f"{patient_id!r})",
                            "session_id",
                        )
                row = ReportRow(
                    idempotency_key=key,
                    patient_id=patient_id,
                    session_id=session_id,
                    reported_at=reported_at,
                    t_min=t_min,
                    muscle=muscle,
                    severity=severity,
                    note=note,
                )
                s.add(row)
                s.flush()
                record = _report_record(row)
        except InputError:
            # A concurrent request with the same key won the race (unique constraint): return its report.
            with self._read() as s:
                existing = s.scalars(select(ReportRow).where(ReportRow.idempotency_key == key)).first()
            if existing is None:
                raise
            return _existing_report(existing, patient_id), False
        return record, True

    def list_reports(self, patient_id: str) -> list[ReportRecord]:
        """The patient's cramp reports, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(ReportRow)
                .where(ReportRow.patient_id == patient_id)
                .order_by(ReportRow.reported_at, ReportRow.id)
            ).all()
        return [_report_record(r) for r in rows]

    def count_reports(self) -> int:
        with self._read() as s:
            return int(s.scalar(select(func.count(ReportRow.id))) or 0)

    # --------------------------------------------------------------------------------------------- users

    def add_user(self, username: str, password: str, role: Role, patient_id: str | None = None) -> UserRecord:
        """Create a user; ``patient`` users must name their patient, other roles must not."""
        username = require_username(username)
        if role not in ROLES:
            raise InputError(f"role: {role!r} is not a role (allowed {', '.join(ROLES)})", "role")
        if role == "patient" and not patient_id:
            raise InputError("patient_id: required for role 'patient'", "patient_id")
        if role != "patient" and patient_id:
            raise InputError(f"patient_id: only for role 'patient' (role is {role!r})", "patient_id")
        password_hash = security.hash_password(password)  # slow on purpose: outside the transaction
        with self._write() as s:
            if s.scalars(select(UserRow).where(UserRow.username == username)).first() is not None:
                raise InputError(
                    f"username: {username!r} already exists (allowed a new username)", "username"
                )
            if patient_id is not None:
                _require_patient(s, patient_id)
            row = UserRow(username=username, password_hash=password_hash, role=role, patient_id=patient_id)
            s.add(row)
            s.flush()
            return _user_record(row)

    def set_password(self, username: str, password: str) -> None:
        password_hash = security.hash_password(password)
        with self._write() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
            if row is None:
                raise InputError(f"username: {username!r} does not exist", "username")
            row.password_hash = password_hash

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The user if ``password`` is right, else ``None`` (unknown users cost the same Argon2 time)."""
        if not isinstance(username, str) or not isinstance(password, str):
            return None
        with self._read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
        if not security.verify_password(None if row is None else row.password_hash, password):
            return None
        assert row is not None
        if security.needs_rehash(row.password_hash):
            self.set_password(username, password)
        return _user_record(row)

    def get_user(self, username: str) -> UserRecord | None:
        with self._read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
            return None if row is None else _user_record(row)

    def list_users(self) -> list[UserRecord]:
        with self._read() as s:
            return [_user_record(r) for r in s.scalars(select(UserRow).order_by(UserRow.username))]

    # --------------------------------------------------------------------------------------------- audit

    def audit(
        self, *, username: str | None, action: str, patient_id: str | None = None, detail: str = ""
    ) -> None:
        """Append an audit entry (who did what to which patient's data)."""
        action = require_text(action, "action", 64)
        detail = str(detail or "")[:MAX_AUDIT_DETAIL_CHARS]
        with self._write() as s:
            s.add(
                AuditRow(
                    username=None if username is None else str(username)[:64],
                    action=action,
                    patient_id=None if patient_id is None else str(patient_id)[:ID_LENGTH],
                    detail=detail,
                )
            )

    def list_audit(self, limit: int = 100, patient_id: str | None = None) -> list[AuditRecord]:
        """The latest audit entries, newest first."""
        limit = int(require_range("limit", limit, 1, 100_000))
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if patient_id is not None:
            query = query.where(AuditRow.patient_id == patient_id)
        with self._read() as s:
            return [
                AuditRecord(
                    id=r.id,
                    at=_as_utc(r.at),
                    username=r.username,
                    action=r.action,
                    patient_id=r.patient_id,
                    detail=r.detail,
                )
                for r in s.scalars(query)
            ]


# ----------------------------------------------------------------------------------------------- helpers


def _cramp_sessions_query(patient_id: str | None = None) -> Any:
    """(patient_id, session_id) of sessions with a cramp event or a cramp report linked to them."""
    by_event = (
        select(SessionRow.patient_id, SessionRow.id)
        .join(EventRow, EventRow.session_id == SessionRow.id)
        .where(EventRow.kind == "cramp")
    )
    by_report = select(SessionRow.patient_id, SessionRow.id).join(
        ReportRow, ReportRow.session_id == SessionRow.id
    )
    if patient_id is not None:
        by_event = by_event.where(SessionRow.patient_id == patient_id)
        by_report = by_report.where(SessionRow.patient_id == patient_id)
    return by_event.union(by_report)


def _require_patient(s: Session, patient_id: str) -> PatientRow:
    row = s.get(PatientRow, patient_id) if isinstance(patient_id, str) else None
    if row is None:
        raise InputError(f"patient_id: {patient_id!r} is not a known patient", "patient_id")
    return row


def _require_session(s: Session, session_id: str) -> SessionRow:
    row = s.get(SessionRow, session_id) if isinstance(session_id, str) else None
    if row is None:
        raise InputError(f"session_id: {session_id!r} is not a known session", "session_id")
    return row


def _new_id() -> str:
    return uuid.uuid4().hex


def _as_utc(value: datetime | None) -> datetime | None:
    return _UTC.process_result_value(value, None)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc)) or type(exc).__name__
    return text.splitlines()[0][:200]


def _decode_trace(s: Session, row: SessionRow) -> Trace:
    """The stored trace of ``row`` without events (its Parquet column is loaded only here)."""
    blob = s.scalar(select(SessionRow.trace_parquet).where(SessionRow.id == row.id))
    return Trace(data=codec.parquet_to_frame(blob), sources=dict(row.trace_sources or {}), session_id=row.id)


def _trace_copy(decoded: Trace, events: pd.DataFrame) -> Trace:
    """A caller-owned copy of a cached trace with ``events`` (no re-validation: ``decoded`` was checked)."""
    trace = copy.copy(decoded)
    trace.data = decoded.data.copy()
    trace.sources = dict(decoded.sources)
    trace.events = events
    return trace


def _event_model(row: EventRow) -> Event:
    return Event(t_min=row.t_min, kind=row.kind, severity=row.severity, note=row.note or "")  # type: ignore[arg-type]


def _patient_record(row: PatientRow) -> PatientRecord:
    return PatientRecord(
        id=row.id,
        name=row.name,
        patient=Patient.model_validate(row.data),
        created_at=_as_utc(row.created_at),
        recurring_cause=row.recurring_cause,
    )


def _report_record(row: ReportRow) -> ReportRecord:
    return ReportRecord(
        id=row.id,
        patient_id=row.patient_id,
        session_id=row.session_id,
        reported_at=_as_utc(row.reported_at),
        muscle=row.muscle,
        severity=row.severity,
        note=row.note,
        created_at=_as_utc(row.created_at),
        t_min=row.t_min,
        idempotency_key=row.idempotency_key,
    )


def _existing_report(row: ReportRow, patient_id: str) -> ReportRecord:
    if row.patient_id != patient_id:
        raise InputError(
            "idempotency_key: already used for another patient's report (allowed a new key)",
            "idempotency_key",
        )
    return _report_record(row)


def _user_record(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        role=row.role,
        patient_id=row.patient_id,
        created_at=_as_utc(row.created_at),
    )
