"""Alembic environment. Run through :func:`crampwatch.store.migrate.upgrade` (no alembic.ini needed).

The caller passes an open connection in ``config.attributes["connection"]``; otherwise the URL in the
``sqlalchemy.url`` option (or ``$CRAMPWATCH_DATABASE_URL``) is used.
"""

from __future__ import annotations

from alembic import context

from crampwatch.store.engine import create_store_engine
from crampwatch.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_store_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
