"""``crampwatch worker``: an engine worker of the scale-out path (Redis Streams)."""

from __future__ import annotations

import os
import signal
import socket
import threading
from typing import Annotated

import typer

from crampwatch.cli.app import app, handle_input_errors


@app.command("worker")
@handle_input_errors
def worker(
    redis_url: Annotated[str, typer.Option("--redis-url", help="Redis server of the live streams")],
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="SQLAlchemy URL of the clinic database")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="unique worker name (default host:pid)")] = None,
) -> None:
    """Apply the early-warning engine to the running sessions' messages from Redis Streams.

    Start the clinic application with CRAMPWATCH_REDIS_URL set to the same server, then any number of
    workers on any machines that reach the database and Redis. A worker stops on SIGTERM or Ctrl-C.
    """
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.chairside.engines import store_engine_factory
    from crampwatch.chairside.runtime import freeze_startup_heap
    from crampwatch.chairside.settings import PARTITIONS
    from crampwatch.chairside.streams import EngineWorker
    from crampwatch.store import Store

    store = Store.open(url=database_url)
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    engine_worker = EngineWorker(store, redis_url, name, store_engine_factory(store), partitions=PARTITIONS)
    typer.echo(f"crampwatch worker {name}: {store.url}, {redis_url}")
    freeze_startup_heap()
    try:
        engine_worker.run(stop)
    finally:
        store.close()
    typer.echo(f"crampwatch worker {name}: stopped after {engine_worker.processed} messages")
