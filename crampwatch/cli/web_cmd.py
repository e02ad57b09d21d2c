"""``crampwatch serve`` (a real database) and ``crampwatch demo`` (build a demo database and serve it)."""

from __future__ import annotations

import errno
import shutil
import socket
import tempfile
import threading
import time
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

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
    from crampwatch.chairside.settings import live_settings_from_env
    from crampwatch.web.app import create_app

    if mllp_port is not None:
        typer.echo(f"crampwatch: HL7 v2 (MLLP) listener at {host}:{mllp_port}")
    return create_app(store, live_settings=live_settings_from_env(mllp_host=host, mllp_port=mllp_port))


def _run(web_app: object, host: str, port: int) -> None:
    import uvicorn

    from crampwatch.web.app import uvicorn_options

    # Forwarded headers are applied by the application, from CRAMPWATCH_TRUSTED_PROXIES only.
    uvicorn.run(web_app, host=host, port=port, log_level="info", **uvicorn_options())


@app.command("serve")
@handle_input_errors
def serve(
    host: HostOpt = "127.0.0.1", port: PortOpt = 8000, database_url: DbOpt = None, mllp_port: MllpOpt = None
) -> None:
    """Serve the web application on a real database.

    Behind a TLS reverse proxy set CRAMPWATCH_TRUSTED_PROXIES to its address (e.g. 127.0.0.1): only then are
    its X-Forwarded-For/-Proto believed. Set CRAMPWATCH_SECRET_KEY to keep CSRF tokens valid across restarts.
    """
    _check_port(port)
    _ensure_port_free(host, port)
    if mllp_port is not None:
        _check_port(mllp_port)
        _ensure_port_free(host, mllp_port)
    from crampwatch.store import Store

    store = Store.open(url=database_url)
    typer.echo(f"crampwatch: serving {store.url} at http://{host}:{port}/")
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
    try:
        _demo(database_url, host, port, no_browser, patients, weeks, seed, mllp_port)
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


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
