"""Persistence: SQLAlchemy schema, Alembic migrations and the :class:`Store` repository.

SQLite file by default (``./crampwatch.db`` or ``$CRAMPWATCH_DATABASE_URL``), PostgreSQL by URL
(``postgresql+psycopg://user@host/db``).
"""

from crampwatch.store.engine import DEFAULT_DATABASE_URL, create_store_engine, resolve_url
from crampwatch.store.records import (
    AuditRecord,
    PatientRecord,
    PatientSummary,
    ReportRecord,
    SessionRecord,
    SessionSummary,
    UserRecord,
)
from crampwatch.store.repository import Store

__all__ = [
    "DEFAULT_DATABASE_URL",
    "AuditRecord",
    "PatientRecord",
    "PatientSummary",
    "ReportRecord",
    "SessionRecord",
    "SessionSummary",
    "Store",
    "UserRecord",
    "create_store_engine",
    "resolve_url",
]
