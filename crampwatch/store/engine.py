"""Database URLs and engines: SQLite file by default, PostgreSQL (psycopg 3) by URL.

SQLite is configured for a small clinic server with concurrent readers and writers
(https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html):

* ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers;
* ``synchronous=FULL``: a committed transaction is on disk before ``COMMIT`` returns, so a patient report
  acknowledged by the server survives a kill -9 or a power loss (WAL with NORMAL may lose the last commits);
* ``busy_timeout``: a writer waits for the lock instead of failing at once;
* ``foreign_keys=ON``: SQLite does not enforce foreign keys otherwise;
* write transactions start with ``BEGIN IMMEDIATE`` (see :func:`write_options`), so two writers queue on
  the lock at the start instead of one failing when it upgrades a read snapshot (``SQLITE_BUSY``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from crampwatch.errors import InputError

#: Used when neither an explicit URL nor ``CRAMPWATCH_DATABASE_URL`` is given (relative to the CWD).
DEFAULT_DATABASE_URL = "sqlite:///crampwatch.db"
ENV_VAR = "CRAMPWATCH_DATABASE_URL"

#: Milliseconds a SQLite writer waits for the lock (modelling choice: long enough for any single write).
SQLITE_BUSY_TIMEOUT_MS = 30_000

_IMMEDIATE = "crampwatch_sqlite_immediate"
_RELAXED = "crampwatch_sqlite_relaxed"


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: ``url``, else ``$CRAMPWATCH_DATABASE_URL``, else :data:`DEFAULT_DATABASE_URL`.

    A bare file path is taken as a SQLite file, and ``postgresql://`` / ``postgres://`` select psycopg 3.
    """
    chosen = url or os.environ.get(ENV_VAR) or DEFAULT_DATABASE_URL
    chosen = chosen.strip()
    if "://" not in chosen:
        return f"sqlite:///{Path(chosen).expanduser()}"
    for prefix in ("postgresql://", "postgres://"):
        if chosen.startswith(prefix):
            return "postgresql+psycopg://" + chosen[len(prefix) :]
    return chosen


def create_store_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`resolve_url`) with the SQLite settings described above."""
    resolved = resolve_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError:
        raise InputError(f"database_url: {resolved!r} is not a valid database URL", "database_url") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    raise InputError(
        f"database_url: backend {backend!r} is not supported (allowed sqlite, postgresql)", "database_url"
    )


def _sqlite_engine(parsed: Any, **kwargs: Any) -> Engine:
    database = parsed.database
    in_memory = database in (None, "", ":memory:") or str(database).startswith("file::memory:")
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if in_memory:
        # One shared connection, otherwise each pooled connection would see its own empty database.
        kwargs.setdefault("poolclass", StaticPool)
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, emit BEGIN (SQLAlchemy docs, "Serializable isolation /
        # Savepoints / Transactional DDL" for pysqlite).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        relaxed = bool(options.get(_RELAXED, False))
        if relaxed != connection.info.get(_RELAXED, False):
            connection.exec_driver_sql(f"PRAGMA synchronous={'NORMAL' if relaxed else 'FULL'}")
            connection.info[_RELAXED] = relaxed
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_IMMEDIATE, False) else "BEGIN")

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch the database file to WAL (persistent in the file, so usually already done).

    Switching needs an exclusive lock and SQLite answers "database is locked" at once, without its busy
    handler, when several processes open a new database together; retry until the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def write_options(durable: bool = True) -> dict[str, Any]:
    """Execution options for a write transaction (``BEGIN IMMEDIATE`` on SQLite; ignored elsewhere).

    ``durable=False`` commits on SQLite without waiting for the disk (``synchronous=NORMAL`` in WAL mode:
    the transaction is atomic and survives a crash of the process, but the last ones may be lost on power
    failure), for data that can be recomputed from durable data (the engine's updates of live sessions)."""
    return {_IMMEDIATE: True} if durable else {_IMMEDIATE: True, _RELAXED: True}


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
