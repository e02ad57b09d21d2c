"""The store's foundation: engine, one-transaction read/write sessions, and helpers shared by its parts.

Each public method of :class:`crampwatch.store.Store` opens its own SQLAlchemy session and runs in exactly
one transaction, so a Store is safe to share between threads (one engine, a connection pool) and no method
leaves a half-written record. Invalid input raises :class:`crampwatch.errors.InputError` before anything is
written.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crampwatch.errors import InputError
from crampwatch.store.cache import LRUCache
from crampwatch.store.engine import create_store_engine, is_sqlite, write_options
from crampwatch.store.migrate import upgrade
from crampwatch.store.schema import PatientRow, SessionRow, UTCDateTime
from crampwatch.store.write_lock import WriteLock
from crampwatch.trace import Trace

#: Decoded traces kept in memory: ~80 kB each for a 4-h, 1-min, 40-column trace (modelling choice).
TRACE_CACHE_SIZE = 128

_UTC = UTCDateTime()


class StoreBase:
    """Engine, caches and transactions; the parts of :class:`Store` add the methods of one job each."""

    def __init__(self, engine: Engine, *, trace_cache_size: int = TRACE_CACHE_SIZE) -> None:
        self._engine = engine
        self._traces: LRUCache[Trace] = LRUCache(trace_cache_size)
        # SQLite has one writer at a time and its busy handler polls with sleeps of up to 100 ms, so the
        # writers of a file queue on a lock that hands over at once (threads and processes, see
        # crampwatch.store.write_lock); in-memory databases live in one process. PostgreSQL writers run
        # concurrently.
        self._write_lock: AbstractContextManager[Any] = nullcontext()
        if self.in_memory:
            self._write_lock = threading.RLock()
        elif is_sqlite(engine):
            self._write_lock = WriteLock(engine.url.database)

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Any:
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
    def in_memory(self) -> bool:
        """Whether the database lives in this process's memory only (SQLite ``:memory:``)."""
        database = self._engine.url.database
        return is_sqlite(self._engine) and (
            database in (None, "", ":memory:") or str(database).startswith("file::memory:")
        )

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self._engine.dispose()
        if isinstance(self._write_lock, WriteLock):
            self._write_lock.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _write(self, durable: bool = True) -> Iterator[Session]:
        """One write transaction; committed (durably, unless ``durable`` is False: see
        :func:`crampwatch.store.engine.write_options`) on success, rolled back on any error."""
        with self._write_lock, Session(self._engine, expire_on_commit=False) as session:
            session.connection(execution_options=write_options(durable))  # BEGIN IMMEDIATE on SQLite
            try:
                yield session
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise InputError(
                    f"database: the record conflicts with stored data ({first_line(exc)})", "database"
                ) from None
            except BaseException:
                session.rollback()
                raise


def require_patient(s: Session, patient_id: str) -> PatientRow:
    row = s.get(PatientRow, patient_id) if isinstance(patient_id, str) else None
    if row is None:
        raise InputError(f"patient_id: {patient_id!r} is not a known patient", "patient_id")
    return row


def require_session(s: Session, session_id: str) -> SessionRow:
    row = s.get(SessionRow, session_id) if isinstance(session_id, str) else None
    if row is None:
        raise InputError(f"session_id: {session_id!r} is not a known session", "session_id")
    return row


def new_id() -> str:
    return uuid.uuid4().hex


def as_utc(value: datetime | None) -> datetime | None:
    return _UTC.process_result_value(value, None)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc)) or type(exc).__name__
    return text.splitlines()[0][:200]
