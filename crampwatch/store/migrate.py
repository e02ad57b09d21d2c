"""Schema migrations with Alembic, driven from code: the scripts ship inside the package."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from crampwatch.store.engine import write_options

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: Key of the PostgreSQL advisory lock that serialises concurrent upgrades (modelling choice: any constant).
_PG_LOCK_KEY = 0x43_52_41_4D  # "CRAM"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic :class:`Config` pointing at the packaged migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database behind ``engine`` down to ``revision`` (``"base"``: drop every table)."""
    _run(engine, command.downgrade, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``.

    Safe when several processes start at once: SQLite takes the write lock first (``BEGIN IMMEDIATE``),
    PostgreSQL a transaction-scoped advisory lock.
    """
    current = current_revision(engine)
    if current == head_revision() and revision == "head":
        return
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise RuntimeError(
            f"database schema revision {current!r} is newer than this crampwatch knows (head "
            f"{head_revision()!r}); upgrade crampwatch"
        )
    _run(engine, command.upgrade, revision)


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command inside one transaction that holds the schema lock from its first statement."""
    cfg = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(**write_options())
        with conn.begin():  # BEGIN IMMEDIATE on SQLite: one migrator at a time
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            cfg.attributes["connection"] = conn
            step(cfg, revision)
