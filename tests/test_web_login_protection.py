"""Login protection that cannot be turned against the account's owner, and an audit log that anonymous
clients cannot flood."""

from __future__ import annotations

import types

import pytest
from fastapi.testclient import TestClient
from test_web_helpers import PASSWORDS, form_csrf

from crampwatch.web import auth
from crampwatch.web.audit_counts import AnonymousAudit
from crampwatch.web.ratelimit import MAX_FAILURES_ACCOUNT, MAX_FAILURES_ACCOUNT_CLIENT

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures


def _client(app, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 50000))


def _login(client: TestClient, username: str, password: str):
    return client.post("/api/login", json={"username": username, "password": password})


@pytest.fixture()
def sleeps(monkeypatch):
    """The slow-downs the login applied (seconds), recorded instead of slept."""
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(auth, "asyncio", types.SimpleNamespace(sleep=record))
    return slept


def _guess_from_two_clients(app) -> list[TestClient]:
    """Two attacking clients, each with as many wrong passwords for ``clin`` as it may try."""
    attackers = [_client(app, "198.51.100.1"), _client(app, "198.51.100.2")]
    for attacker in attackers:
        for _ in range(MAX_FAILURES_ACCOUNT_CLIENT):
            assert _login(attacker, "clin", "wrong-guess-1").status_code == 401
    return attackers


def test_guessing_from_two_clients_cannot_lock_out_the_owner(app, sleeps):
    attackers = _guess_from_two_clients(app)
    assert 2 * MAX_FAILURES_ACCOUNT_CLIENT >= MAX_FAILURES_ACCOUNT  # the account-wide count is reached
    # the attackers are refused for this account ...
    for attacker in attackers:
        r = _login(attacker, "clin", PASSWORDS["clin"])
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # ... the owner, from a client the account never used, is slowed but logged in
    owner = _client(app, "203.0.113.20")
    r = _login(owner, "clin", PASSWORDS["clin"])
    assert r.status_code == 200, r.text
    assert sleeps == [auth.ACCOUNT_SLOWDOWN_S]
    # ... and told of the failed attempts, in the login answer and once on the next page
    assert r.json()["failed_logins_before"] == 2 * MAX_FAILURES_ACCOUNT_CLIENT
    assert r.json()["last_failed_login_at"]
    assert 'id="login-notice"' not in owner.get("/patients").text  # the API answer already told it
    owner.post("/api/logout", headers={"X-CSRF-Token": r.json()["csrf_token"]})
    _login(attackers[0], "clin", "wrong-guess-2")  # refused (429): no longer counted as a guess
    _login(_client(app, "198.51.100.3"), "clin", "wrong-guess-3")  # a third client's guess counts
    page = _client(app, "203.0.113.20")
    token = form_csrf(page.get("/login").text)
    form = {"username": "clin", "password": PASSWORDS["clin"], "csrf_token": token}
    assert page.post("/login", data=form, follow_redirects=False).status_code == 303
    first = page.get("/patients").text
    assert 'id="login-notice"' in first and "1 failed login attempt on this account" in first
    assert 'id="login-notice"' not in page.get("/patients").text


def test_owner_on_a_client_it_logged_in_from_is_not_slowed(app, sleeps):
    owner = _client(app, "203.0.113.21")
    r = _login(owner, "clin", PASSWORDS["clin"])
    owner.post("/api/logout", headers={"X-CSRF-Token": r.json()["csrf_token"]})
    _guess_from_two_clients(app)
    assert _login(owner, "clin", PASSWORDS["clin"]).status_code == 200
    assert sleeps == []
    # a new client is slowed, and a wrong password from it still fails
    assert _login(_client(app, "203.0.113.22"), "clin", "wrong-guess-4").status_code == 401
    assert sleeps == [auth.ACCOUNT_SLOWDOWN_S]


def _counts(rows) -> dict[tuple[str, str], int]:
    """Events per (action, detail), summed over minutes (a slow run may cross a minute)."""
    totals: dict[tuple[str, str], int] = {}
    for a in rows:
        totals[(a.action, a.detail)] = totals.get((a.action, a.detail), 0) + a.count
    return totals


def test_failed_logins_are_audited_for_the_account(app, db):
    _guess_from_two_clients(app)
    app.state.anonymous_audit.flush(db.store)
    rows = [a for a in db.store.list_audit(limit=50) if a.action == "login_failed"]
    assert _counts(rows) == {
        ("login_failed", "ip=198.51.100.1; accounts: clin"): 5,
        ("login_failed", "ip=198.51.100.2; accounts: clin"): 5,
    }


FLOOD = 200
SPRAYING_CLIENTS = 40


def test_anonymous_floods_add_a_bounded_number_of_audit_rows(app, db):
    app.state.anonymous_audit = AnonymousAudit(max_clients=10)  # the overflow row within seconds
    before = len(db.store.list_audit(limit=100_000))
    attacker = _client(app, "198.51.100.9")
    for _ in range(FLOOD):
        assert _login(attacker, "clin", "wrong-guess-5").status_code in (401, 429)
    for _ in range(FLOOD):  # the login form without its CSRF token
        assert attacker.post("/login", data={"username": "clin", "password": "x"}).status_code == 403
    for i in range(SPRAYING_CLIENTS):  # many clients, one refusal each
        assert _client(app, f"10.9.0.{i}").post("/login", data={}).status_code == 403
    app.state.anonymous_audit.flush(db.store)
    rows = db.store.list_audit(limit=100_000)
    new = rows[: len(rows) - before]
    # one row per kind, client and minute; beyond 10 clients a minute the rest share one row
    minutes = {a.at.replace(second=0, microsecond=0) for a in new}
    assert len(new) <= len(minutes) * (2 + 10 + 1) < 3 * FLOOD
    totals = _counts(new)
    assert totals[("login_failed", "ip=198.51.100.9; accounts: clin")] == MAX_FAILURES_ACCOUNT_CLIENT
    assert totals[("login_limited", "ip=198.51.100.9")] == FLOOD - MAX_FAILURES_ACCOUNT_CLIENT
    refused = {k[1]: v for k, v in totals.items() if k[0] == "csrf_refused"}
    assert sum(refused.values()) == FLOOD + SPRAYING_CLIENTS and refused.get("ip=other", 0) > 0
