"""The :class:`Store`: every read and write of the clinic database, one part per job.

Each public method opens its own SQLAlchemy session and runs in exactly one transaction, so a Store is safe
to share between threads and no method leaves a half-written record (see :mod:`crampwatch.store.base`).
"""

from __future__ import annotations

from crampwatch.store.accounts import AccountStore
from crampwatch.store.audit import AuditStore
from crampwatch.store.live import LiveStore
from crampwatch.store.patients import PatientStore
from crampwatch.store.reports import ReportStore
from crampwatch.store.sessions import SessionStore


class Store(PatientStore, SessionStore, ReportStore, AccountStore, AuditStore, LiveStore):
    """Repository over the crampwatch database (SQLite file or PostgreSQL)."""

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Store:
        """Connect to ``url`` (``None``: ``$CRAMPWATCH_DATABASE_URL``, else ``./crampwatch.db``), migrate."""
        return super().open(url, migrate=migrate)

    def __enter__(self) -> Store:
        return self


__all__ = ["Store"]
