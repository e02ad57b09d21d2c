"""``crampwatch serve --workers N`` and ``crampwatch demo`` as processes: one CSRF key for every worker,
``Secure`` ``__Host-`` cookies under HSTS, the demo's database removed on SIGTERM, and a database with the
demo's published passwords refused."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import free_port
from test_web_helpers import PASSWORDS, ROOT, api_login, make_db, page_login
from typer.testing import CliRunner

import crampwatch.cli.web_cmd  # noqa: F401  (registers the commands)
from crampwatch.cli.app import app as cli_app
from crampwatch.demo import ADMIN, CLINICIAN
from crampwatch.store import Store
from crampwatch.web.app import app_from_env, create_app
from crampwatch.web.security import SECURE_SESSION_COOKIE, SESSION_COOKIE
from crampwatch.web.settings import WebSettings, unshared_key_warning

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("CRAMPWATCH_SECRET_KEY", None)


def _crampwatch(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "crampwatch", *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until_served(proc: subprocess.Popen, port: int, timeout_s: float = 120) -> str:
    """The process's output up to the moment /healthz answers."""
    output = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(output + proc.stdout.read())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return output
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"not served: {output}")


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.slow  # starts a 2-process server
def test_serve_with_two_workers_accepts_every_post(tmp_path):
    db = make_db(tmp_path)
    db.store.close()
    port = free_port()
    proc = _crampwatch("serve", "--workers", "2", "--port", str(port), "--database-url", db.url)
    try:
        _wait_until_served(proc, port, timeout_s=300)  # two processes import everything at once
        base = f"http://127.0.0.1:{port}"
        login = httpx.post(base + "/api/login", json={"username": "pat1", "password": PASSWORDS["pat1"]})
        assert login.status_code == 200
        cookies, token = dict(login.cookies), login.json()["csrf_token"]
        statuses = []
        headers = {"X-CSRF-Token": token}
        for _ in range(30):  # a new connection each time: the two workers share the requests
            with httpx.Client(base_url=base, cookies=cookies, timeout=30) as c:
                body = {"muscle": "calf", "severity": 2, "idempotency_key": uuid.uuid4().hex}
                statuses.append(c.post("/api/reports", json=body, headers=headers).status_code)
        assert statuses == [201] * 30
    finally:
        out = _stop(proc)
    assert "with 2 worker(s)" in out and "CSRF key kept in the database" in out
    pids = set(re.findall(r"Started server process \[(\d+)\]", out))
    assert len(pids) == 2, out


def test_every_app_on_a_database_shares_its_kept_key(db):
    one = create_app(db.store, settings=WebSettings())
    two = create_app(db.store, settings=WebSettings())
    assert one.state.settings.secret_key == two.state.settings.secret_key
    assert len(one.state.settings.secret_key) >= 43
    client = TestClient(one)
    headers = api_login(client, "pat1")
    other = TestClient(two, cookies=dict(client.cookies))
    body = {"muscle": "calf", "severity": 2, "idempotency_key": uuid.uuid4().hex}
    assert other.post("/api/reports", json=body, headers=headers).status_code == 201


def test_several_processes_without_a_shared_key_are_warned(monkeypatch, caplog):
    assert unshared_key_warning(key_configured=False, database_in_memory=True, processes_several=True)
    assert not unshared_key_warning(key_configured=True, database_in_memory=True, processes_several=True)
    assert not unshared_key_warning(key_configured=False, database_in_memory=False, processes_several=True)
    assert not unshared_key_warning(key_configured=False, database_in_memory=True, processes_several=False)
    monkeypatch.setenv("CRAMPWATCH_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.delenv("CRAMPWATCH_SECRET_KEY", raising=False)
    with caplog.at_level(logging.WARNING, logger="crampwatch.web"):
        app_from_env()
    assert any("CRAMPWATCH_SECRET_KEY" in r.getMessage() for r in caplog.records)


@pytest.fixture()
def served(monkeypatch) -> list[tuple]:
    """``crampwatch serve`` in this process with the server start recorded instead of run."""
    import crampwatch.cli.web_cmd as web_cmd

    calls: list[tuple] = []
    monkeypatch.setattr(web_cmd, "_run", lambda *args: calls.append(args))
    monkeypatch.delenv("CRAMPWATCH_SECRET_KEY", raising=False)
    return calls


def _serve(*args: str):
    return CliRunner().invoke(cli_app, ["serve", "--port", str(free_port()), *args])


def test_serve_refuses_an_in_memory_database_for_several_workers(served):
    result = _serve("--workers", "2", "--database-url", "sqlite://")
    assert result.exit_code == 2 and "in-memory" in result.output and served == []
    assert _serve("--workers", "0", "--database-url", "sqlite://").exit_code == 2
    assert _serve("--workers", "1", "--database-url", "sqlite://").exit_code == 0 and len(served) == 1


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_cookie_is_secure_and_host_prefixed_under_hsts(db, scheme):
    app = create_app(db.store, settings=WebSettings(secret_key="k" * 32, hsts=True))
    client = TestClient(app, base_url=f"{scheme}://testserver")
    cookie = client.get("/login").headers["set-cookie"]
    assert cookie.startswith(f"{SECURE_SESSION_COOKIE}=") and "; Secure" in cookie and "Domain" not in cookie
    assert "Path=/" in cookie and "HttpOnly" in cookie
    if scheme == "https":  # a browser keeps a Secure cookie only from a secure origin
        assert page_login(client, "clin").status_code == 303
        assert client.get("/api/me").json()["username"] == "clin"
        assert SESSION_COOKIE not in client.cookies


def test_https_request_gets_the_secure_cookie_without_hsts(app):
    cookie = TestClient(app, base_url="https://testserver").get("/login").headers["set-cookie"]
    assert cookie.startswith(f"{SECURE_SESSION_COOKIE}=") and "; Secure" in cookie
    plain = TestClient(app).get("/login").headers["set-cookie"]
    assert plain.startswith(f"{SESSION_COOKIE}=") and "Secure" not in plain


def test_serve_refuses_a_database_with_demo_passwords(tmp_path, served):
    url = f"sqlite:///{tmp_path / 'demo-left.db'}"
    store = Store.open(url=url)
    store.add_user(*CLINICIAN, "clinician")
    store.add_user(*ADMIN, "admin")
    result = _serve("--workers", "1", "--database-url", url)
    assert result.exit_code == 2 and served == [], result.output
    assert "admin, clinician" in result.output and "--allow-demo-accounts" in result.output
    assert "demo-admin-pass" not in result.output
    assert _serve("--workers", "1", "--database-url", url, "--allow-demo-accounts").exit_code == 0
    # once the passwords are changed the database is served
    store.set_password("clinician", "a-new-clinic-pass")
    store.set_password("admin", "a-new-admin-pass")
    store.close()
    result = _serve("--workers", "1", "--database-url", url)
    assert result.exit_code == 0 and len(served) == 2, result.output
    assert "CSRF key kept in the database" in result.output


@pytest.mark.slow  # builds a small demo and serves it
def test_demo_removes_its_database_on_sigterm():
    port = free_port()
    proc = _crampwatch("demo", "--no-browser", "--port", str(port), "--patients", "1", "--weeks", "1")
    try:
        _wait_until_served(proc, port, timeout_s=180)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        _stop(proc)
    match = re.search(r"building sqlite:///(\S+)/demo\.db", out)
    assert match, out
    assert not Path(match.group(1)).exists(), out
