"""SQLAlchemy 2 declarative schema of the clinic database (design.md "Storage sketch").

Design choices (recorded in docs/architecture.md):

* A session's signals are stored as **one Parquet blob per session** (``sessions.trace_parquet``, written
  with pyarrow) with the per-signal sources in ``sessions.trace_sources`` (JSON). Traces are read and
  written whole (analysis, plots), never queried point by point, so one blob of a few kB replaces
  thousands of ``trace_points`` rows and keeps float64 values and column order exactly.
* Events are rows of ``events`` (queryable: "sessions with a cramp"), not part of the blob.
* The prescription and the labs of a session are JSON documents validated by the pydantic models of
  :mod:`crampwatch.model` on the way in and out; the schema does not duplicate their ~20 fields.
* Every timestamp is stored in UTC (``UTCDateTime``) and returned timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Deterministic constraint names, identical on SQLite and PostgreSQL (needed by Alembic migrations).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; naive values are taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no offset
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PatientRow(Base):
    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, doc="crampwatch.model.Patient as JSON")
    recurring_cause: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prescription: Mapped[dict[str, Any]] = mapped_column(JSON, doc="crampwatch.model.Prescription")
    pre_weight_kg: Mapped[float | None] = mapped_column(Float)
    post_weight_kg: Mapped[float | None] = mapped_column(Float)
    labs: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="crampwatch.model.Labs")
    trace_parquet: Mapped[bytes] = mapped_column(LargeBinary, doc="Trace.data as one Parquet file")
    trace_sources: Mapped[dict[str, str]] = mapped_column(JSON, doc="signal -> measured|simulated|estimated")
    content_hash: Mapped[str | None] = mapped_column(
        String(64), unique=True, doc="SHA-256 of patient, start and trace content: a re-import is recognised"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    t_min: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")


class AssessmentRow(Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    overall_risk: Mapped[float | None] = mapped_column(Float)
    top_cause: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, doc="the Assessment JSON (docs/formats.md)")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportRow(Base):
    __tablename__ = "patient_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    t_min: Mapped[float | None] = mapped_column(Float)
    muscle: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_logins: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="failed logins since the last successful one"
    )
    last_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """Append-only audit log; ``patient_id`` is plain text so entries outlive deleted patients.

    ``count`` > 1: one row standing for that many anonymous refusals of one kind from one client within
    one minute (``at`` is the minute's first one).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    patient_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AuditPatientRow(Base):
    """The patients shown by one audited view of a list (patient list, unit overview)."""

    __tablename__ = "audit_patients"

    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id", ondelete="CASCADE"), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, index=True)


class AppSettingRow(Base):
    """Settings the application generates once and keeps (the secret key shared by every server process)."""

    __tablename__ = "app_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobRow(Base):
    """Heavy work that runs one at a time per subject (training per unit, a twin refit per patient).

    ``active_key`` is ``kind:subject`` while the job is queued or running and NULL afterwards; its unique
    constraint lets at most one job per subject be active, across every server process.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(ID_LENGTH))
    active_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(16), doc="running, done or failed")
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")


Index("ix_sessions_patient_started", SessionRow.patient_id, SessionRow.started_at)


class LoginSessionRow(Base):
    """A server-side login session: the cookie carries only ``token`` (random); revoking the row ends it."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True, doc="SHA-256 hex of the token")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, doc="absolute end of the session")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(200), default="", doc="client address and agent, for audit")
    notice_failed_logins: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="failed logins before this login, not yet shown"
    )
    notice_last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TwinRow(Base):
    """A fitted patient twin (twin JSON of the contracts), versioned per patient."""

    __tablename__ = "twins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, doc="1, 2, ... per patient")
    model_version: Mapped[str] = mapped_column(String(64))
    n_sessions: Mapped[int] = mapped_column(Integer)
    fitted_by: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, doc="the twin JSON")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnitModelRow(Base):
    """A unit's learned cramp-risk model (model-file JSON); at most one is active."""

    __tablename__ = "unit_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    trained_by: Mapped[str | None] = mapped_column(String(64))
    n_sessions: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, doc="the model file JSON")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveSessionRow(Base):
    """A treatment in progress, fed by machine messages; on close it becomes the session of the same id."""

    __tablename__ = "live_sessions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(200), doc="the sender of the first message")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, doc="time of the first observation (t_min 0)")
    prescription: Mapped[dict[str, Any]] = mapped_column(JSON, doc="the stored prescription used")
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, doc="when the last message arrived")
    last_seq: Mapped[int | None] = mapped_column(Integer, doc="seq of the session's latest message")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    close_reason: Mapped[str | None] = mapped_column(String(32), doc="end_of_treatment | timeout | empty")


class LiveMessageRow(Base):
    """One stored machine message (its observations) or acknowledgement, in arrival order (``seq``)."""

    __tablename__ = "live_messages"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, doc="sender + control id: duplicates")
    live_session_id: Mapped[str] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), doc="observations | acknowledgement")
    t_min: Mapped[float] = mapped_column(Float, doc="minutes since the session's first observation")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    username: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveUpdateRow(Base):
    """The engine's update after one stored message; one row per message (applied once)."""

    __tablename__ = "live_updates"

    seq: Mapped[int] = mapped_column(ForeignKey("live_messages.seq", ondelete="CASCADE"), primary_key=True)
    live_session_id: Mapped[str] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    t_min: Mapped[float] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, doc="LiveUpdate.to_dict()")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
