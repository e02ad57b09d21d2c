"""Values the application generates once and keeps in the database (``app_settings``), and the ledger of
heavy jobs that run one at a time per subject (``jobs``).

The secret key of the CSRF tokens is such a value: every server process on the same database reads the
same key, however it was started. A copy of the database gives no advantage from it: a CSRF token is an
HMAC of the session token, which the database never holds.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from crampwatch.errors import InputError
from crampwatch.store.base import StoreBase, as_utc
from crampwatch.store.schema import AppSettingRow, JobRow, utcnow

SECRET_KEY = "secret_key"
#: A running job whose process has not written a heartbeat for this long has died (modelling choice:
#: four heartbeats).
JOB_STALE_AFTER = timedelta(seconds=120)
JOB_HEARTBEAT_S = 30.0
#: The error of a running job found without a heartbeat.
JOB_STOPPED = "the server process stopped"


def kept_value(store: StoreBase, name: str, make: Callable[[], str]) -> str:
    """The value kept under ``name``; made by ``make()`` and kept when there is none (race-safe: when two
    processes make one at once, both return the one that was stored first)."""
    with store._read() as s:
        row = s.get(AppSettingRow, name)
        if row is not None:
            return row.value
    try:
        with store._write() as s:
            if s.get(AppSettingRow, name) is None:
                s.add(AppSettingRow(name=name, value=make()))
    except InputError:  # another process stored it first (primary key)
        pass
    with store._read() as s:
        row = s.get(AppSettingRow, name)
        if row is None:
            raise InputError(f"{name}: could not be kept in the database", name)
        return row.value


def shared_secret_key(store: StoreBase) -> str:
    """The secret key kept in the database (a new random 256-bit key the first time)."""
    return kept_value(store, SECRET_KEY, lambda: secrets.token_urlsafe(32))


@dataclass(frozen=True)
class JobRecord:
    id: int
    kind: str
    subject: str
    state: str
    submitted_by: str | None
    submitted_at: datetime
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str


def _job(row: JobRow) -> JobRecord:
    return JobRecord(
        id=row.id,
        kind=row.kind,
        subject=row.subject,
        state=row.state,
        submitted_by=row.submitted_by,
        submitted_at=as_utc(row.submitted_at),
        finished_at=as_utc(row.finished_at),
        result=None if row.result is None else dict(row.result),
        error=row.error or "",
    )


def start_job(store: StoreBase, kind: str, subject: str, submitted_by: str | None) -> JobRecord | None:
    """Record a running job; ``None`` while another job of this kind and subject runs (in any process).

    A running job whose heartbeat is older than :data:`JOB_STALE_AFTER` is marked failed first.
    """
    key = f"{kind}:{subject}"
    now = utcnow()
    try:
        with store._write() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.active_key == key, JobRow.heartbeat_at < now - JOB_STALE_AFTER)
                .values(state="failed", active_key=None, finished_at=now, error=JOB_STOPPED)
            )
            if s.scalars(select(JobRow.id).where(JobRow.active_key == key)).first() is not None:
                return None
            row = JobRow(
                kind=kind,
                subject=subject,
                active_key=key,
                state="running",
                submitted_by=submitted_by,
                submitted_at=now,
                heartbeat_at=now,
                error="",
            )
            s.add(row)
            s.flush()
            return _job(row)
    except InputError:  # another process started one at the same moment (unique active_key)
        return None


def finish_job(
    store: StoreBase, job_id: int, *, result: dict[str, Any] | None = None, error: str = ""
) -> None:
    """Mark a job done (with ``result``) or failed (with ``error``)."""
    with store._write() as s:
        s.execute(
            update(JobRow)
            .where(JobRow.id == job_id)
            .values(
                state="failed" if error else "done",
                active_key=None,
                finished_at=utcnow(),
                result=result,
                error=error[:2000],
            )
        )


def beat_jobs(store: StoreBase, job_ids: list[int]) -> None:
    """Heartbeat of the running jobs of this process."""
    if job_ids:
        with store._write() as s:
            s.execute(update(JobRow).where(JobRow.id.in_(job_ids)).values(heartbeat_at=utcnow()))


def latest_jobs(store: StoreBase, kind: str, subject: str | None = None, limit: int = 5) -> list[JobRecord]:
    """The newest jobs of a kind (and subject), newest first; running ones whose process died show as
    failed."""
    query = select(JobRow).where(JobRow.kind == kind).order_by(JobRow.id.desc()).limit(limit)
    if subject is not None:
        query = query.where(JobRow.subject == subject)
    stale = utcnow() - JOB_STALE_AFTER
    with store._read() as s:
        rows = list(s.scalars(query))
    out = []
    for row in rows:
        rec = _job(row)
        if rec.state == "running" and as_utc(row.heartbeat_at) < stale:
            rec = replace(rec, state="failed", error=JOB_STOPPED)
        out.append(rec)
    return out


__all__ = [
    "JobRecord",
    "beat_jobs",
    "finish_job",
    "kept_value",
    "latest_jobs",
    "shared_secret_key",
    "start_job",
]
