"""``crampwatch serve`` (a real database) and ``crampwatch demo`` (build a demo database and serve it)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from crampwatch import optional
from crampwatch.chairside.settings import redis_url_from_env
from crampwatch.cli.app import app, handle_input_errors
from crampwatch.errors import InputError

HostOpt = Annotated[str, typer.Option("--host", help="interface to bind (default loopback only)")]
PortOpt = Annotated[int, typer.Option("--port", help="TCP port")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (default ./crampwatch.db)")]
MllpOpt = Annotated[
    int | None,
    typer.Option("--mllp-port", help="also listen for HL7 v2 ORU^R01 over MLLP on this port (same host)"),
]


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise InputError(f"port: {port} is out of range (allowed 1–65535)", "port")


def _ensure_port_free(host: str, port: int) -> None:
    """InputError when another program already listens on ``host:port`` (checked before any work)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError(f"host: {host!r} cannot be resolved ({exc.strerror})", "host") from None
    family, _type, _proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(
                    f"port: {port} is already in use on {host} (allowed a free port, e.g. --port {port + 1})",
                    "port",
                ) from None
            raise InputError(f"host: cannot listen on {host}:{port} ({exc.strerror})", "host") from None


def _web_app(store: object, host: str, mllp_port: int | None) -> object:
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.chairside.settings import live_settings_from_env
    from crampwatch.web.app import create_app

    if mllp_port is not None:
        typer.echo(f"crampwatch: HL7 v2 (MLLP) listener at {host}:{mllp_port}")
    return create_app(store, live_settings=live_settings_from_env(mllp_host=host, mllp_port=mllp_port))


def _run(web_app: object, host: str, port: int, workers: int = 1) -> None:
    with optional.extra_imports():
        import uvicorn
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.chairside.runtime import freeze_startup_heap
    from crampwatch.web.app import uvicorn_options

    # Forwarded headers are applied by the application, from CRAMPWATCH_TRUSTED_PROXIES only.
    if workers > 1:  # each worker process builds the app from the environment (CRAMPWATCH_DATABASE_URL)
        options = {"factory": True, "workers": workers, **uvicorn_options()}
        uvicorn.run(FACTORY, host=host, port=port, log_level="info", **options)
    else:
        freeze_startup_heap()
        uvicorn.run(web_app, host=host, port=port, log_level="info", **uvicorn_options())


#: The application factory every worker process of a multi-process server imports.
FACTORY = "crampwatch.cli.web_cmd:served_app"


def served_app() -> object:
    """The application of one process of ``serve --workers N`` (from the environment), its start-up heap
    frozen out of the garbage collector's scans (:mod:`crampwatch.chairside.runtime`)."""
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.chairside.runtime import freeze_startup_heap
    from crampwatch.web.app import app_from_env

    web_app = app_from_env()
    freeze_startup_heap()
    return web_app


#: Default number of server processes: pages stay responsive while another process renders or computes
#: (modelling choice: the two cores of a small clinic server).
DEFAULT_WORKERS = 2
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="server processes (1-32; default 2, 1 with --mllp-port; several with --mllp-port need "
        "CRAMPWATCH_REDIS_URL)",
    ),
]
AllowDemoOpt = Annotated[
    bool,
    typer.Option(
        "--allow-demo-accounts", help="serve even though demo accounts with their published passwords exist"
    ),
]


def _check_workers(workers: int | None, store: object, mllp_port: int | None) -> int:
    """The number of server processes: ``workers``, else 2 (1 with the HL7 listener); several with the HL7
    listener only with Redis (each process listens on the port, the kernel spreads the connections)."""
    if workers is None:
        workers = 1 if mllp_port is not None else DEFAULT_WORKERS
    if not 1 <= workers <= 32:
        raise InputError(f"workers: {workers} is out of range (allowed 1–32)", "workers")
    if workers > 1 and mllp_port is not None and not redis_url_from_env():
        raise InputError(
            "workers: several server processes share the HL7 listener (--mllp-port) only through Redis "
            "(allowed --workers 1, or set CRAMPWATCH_REDIS_URL)",
            "workers",
        )
    if workers > 1 and getattr(store, "in_memory", False):
        raise InputError(
            "workers: an in-memory database cannot be shared by several processes (allowed 1 worker, or a "
            "database file or server)",
            "workers",
        )
    return workers


def _refuse_demo_accounts(store: object) -> None:
    """InputError when accounts of the demo still log in with the passwords the demo prints."""
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.demo import demo_accounts_in_use

    names = sorted(demo_accounts_in_use(store))
    if names:
        raise InputError(
            "database: accounts with the demo's published passwords exist ("
            + ", ".join(names)
            + "); change their passwords with `crampwatch user passwd NAME` (allowed with "
            "--allow-demo-accounts)",
            "database",
        )


def _secret_key_source(store: object) -> str:
    """Where the CSRF key comes from, shared by every worker: the environment or the database."""

    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store.kept import shared_secret_key

    if os.environ.get("CRAMPWATCH_SECRET_KEY"):
        return "CRAMPWATCH_SECRET_KEY"
    shared_secret_key(store)  # made and kept now, before the workers start
    return "kept in the database (generated once, shared by every worker)"


@app.command("serve")
@handle_input_errors
def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    database_url: DbOpt = None,
    mllp_port: MllpOpt = None,
    workers: WorkersOpt = None,
    allow_demo_accounts: AllowDemoOpt = False,
) -> None:
    """Serve the web application on a real database with --workers processes (default 2; 1 with the HL7
    listener, which runs in one process).

    Behind a TLS reverse proxy set CRAMPWATCH_TRUSTED_PROXIES to its address (e.g. 127.0.0.1): only then are
    its X-Forwarded-For/-Proto believed. The CSRF key is CRAMPWATCH_SECRET_KEY, else a key generated once
    and kept in the database. A database that still has the demo's accounts with their published passwords
    is refused unless --allow-demo-accounts.
    """

    _check_port(port)
    _ensure_port_free(host, port)
    if mllp_port is not None:
        _check_port(mllp_port)
        _ensure_port_free(host, mllp_port)
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store import Store

    store = Store.open(url=database_url)
    try:
        workers = _check_workers(workers, store, mllp_port)
        if not allow_demo_accounts:
            _refuse_demo_accounts(store)
        source = _secret_key_source(store)
    except InputError:
        store.close()
        raise
    typer.echo(f"crampwatch: serving {store.url} at http://{host}:{port}/ with {workers} worker(s)")
    typer.echo(f"crampwatch: CSRF key {source}")
    if workers > 1 and not redis_url_from_env():
        typer.echo(
            "crampwatch: live chair data (POST /api/live/...) reach the screens of the process that "
            "received them; set CRAMPWATCH_REDIS_URL (docs/chairside.md) or --workers 1 for every screen "
            "to show every chair"
        )
    if workers > 1:
        os.environ["CRAMPWATCH_DATABASE_URL"] = store.engine.url.render_as_string(hide_password=False)
        if mllp_port is not None:  # every process listens on the port (SO_REUSEPORT)
            typer.echo(f"crampwatch: HL7 v2 (MLLP) listener at {host}:{mllp_port} in each process")
            os.environ.update(CRAMPWATCH_MLLP_PORT=str(mllp_port), CRAMPWATCH_MLLP_HOST=host)
        store.close()
        _run(None, host, port, workers)
    else:
        _run(_web_app(store, host, mllp_port), host, port)


@app.command("demo")
@handle_input_errors
def demo(
    port: PortOpt = 8000,
    host: HostOpt = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="do not open a web browser")] = False,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="demo database (default: a new file in a temp dir)")
    ] = None,
    patients: Annotated[int, typer.Option("--patients", help="number of virtual patients")] = 10,
    weeks: Annotated[int, typer.Option("--weeks", help="weeks of sessions per patient")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 2024,
    mllp_port: MllpOpt = None,
) -> None:
    """Build a demo database (virtual patients, simulated sessions, cramps, reports) and serve it.

    Without --database-url the database lives in a new temporary directory, removed when the demo exits.
    """
    _check_port(port)
    _ensure_port_free(host, port)
    if mllp_port is not None:
        _check_port(mllp_port)
        _ensure_port_free(host, mllp_port)
    temp_dir = None
    if database_url is None:
        temp_dir = Path(tempfile.mkdtemp(prefix="crampwatch-demo-"))
        database_url = f"sqlite:///{temp_dir / 'demo.db'}"
    # SIGTERM (a service manager, `kill`) ends the demo like Ctrl-C: the server stops, then the temporary
    # database (password hashes, audit log) is removed. uvicorn re-raises the signal after its shutdown.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _demo(database_url, host, port, no_browser, patients, weeks, seed, mllp_port)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _demo(
    database_url: str,
    host: str,
    port: int,
    no_browser: bool,
    patients: int,
    weeks: int,
    seed: int,
    mllp_port: int | None = None,
) -> None:
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.demo import build_demo, demo_credentials
    from crampwatch.store import Store

    store = Store.open(url=database_url)
    try:
        if store.list_patients():
            typer.echo(f"crampwatch demo: reusing {store.url}")
            credentials = demo_credentials(len(store.list_patients()))
        else:
            started = time.perf_counter()
            typer.echo(f"crampwatch demo: building {store.url} ({patients} patients, {weeks} weeks)...")
            info = build_demo(store, n_patients=patients, weeks=weeks, seed=seed)
            typer.echo(
                f"  {info.n_sessions} sessions, {info.n_cramp_sessions} with cramps, {info.n_reports} "
                f"patient reports in {time.perf_counter() - started:.1f} s"
            )
            credentials = info.credentials
        url = f"http://{host}:{port}/"
        typer.echo(f"crampwatch demo: open {url}")
        typer.echo("demo credentials (role: username / password):")
        for role, username, password in credentials:
            typer.echo(f"  {role:9s} {username} / {password}")
        if not no_browser:
            threading.Timer(1.5, webbrowser.open, args=(url + "login",)).start()
        _run(_web_app(store, host, mllp_port), host, port)
    finally:
        store.close()
