"""Server-side login sessions: the cookie is only a token; logout, password change, an administrator and
idle or absolute expiry end a session at once, for pages, reads and writes alike."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from test_web_helpers import PASSWORDS, api_login, form_csrf, page_login

from crampwatch.store.schema import LoginSessionRow, utcnow
from crampwatch.web.security import SESSION_COOKIE

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures


def _report(client: TestClient, headers: dict[str, str]):
    body = {"muscle": "calf", "severity": 4, "idempotency_key": uuid.uuid4().hex}
    return client.post("/api/reports", json=body, headers=headers)


def _thief(app, cookie: str) -> TestClient:
    """A second client holding a copy of a cookie (a stolen or saved session)."""
    thief = TestClient(app)
    thief.cookies.set(SESSION_COOKIE, cookie)
    return thief


def test_cookie_is_only_a_random_token(app, db):
    client = TestClient(app)
    page_login(client, "pat1")
    token = client.cookies[SESSION_COOKIE]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert "pat1" not in token
    # the database keeps only a hash of it
    with db.store.engine.connect() as conn:
        hashes = [
            row[0]
            for row in conn.execute(
                LoginSessionRow.__table__.select().with_only_columns(LoginSessionRow.token_hash)
            )
        ]
    assert token not in hashes and len(hashes) == 1 and len(hashes[0]) == 64


def test_login_issues_a_new_token(app):
    client = TestClient(app)
    client.get("/login")
    anonymous = client.cookies[SESSION_COOKIE]
    page_login(client, "clin")
    assert client.cookies[SESSION_COOKIE] != anonymous  # no session fixation
    # a logged-in answer does not renew the cookie (no endless lifetime)
    assert "set-cookie" not in client.get("/api/me").headers


def test_saved_cookie_stops_working_after_logout(app, db):
    client = TestClient(app)
    headers = api_login(client, "pat1")
    saved = client.cookies[SESSION_COOKIE]
    thief = _thief(app, saved)
    assert thief.get("/api/me").status_code == 200
    assert client.post("/api/logout", headers=headers).status_code == 204
    assert thief.get("/api/me").status_code == 401
    assert _report(thief, headers).status_code == 401  # the CSRF token of the old session does not help
    assert thief.get("/me", follow_redirects=False).status_code == 303
    assert db.store.list_reports(db.p1) == []


def test_page_logout_ends_the_session(app):
    client = TestClient(app)
    page_login(client, "clin")
    saved = client.cookies[SESSION_COOKIE]
    token = form_csrf(client.get("/patients").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert _thief(app, saved).get("/api/patients").status_code == 401


def test_password_change_ends_every_session(app, db):
    laptop, phone = TestClient(app), TestClient(app)
    headers = api_login(laptop, "pat1")
    phone_headers = api_login(phone, "pat1")
    saved = laptop.cookies[SESSION_COOKIE]
    new = "a-brand-new-password"
    r = laptop.post(
        "/api/me/password", json={"current_password": PASSWORDS["pat1"], "new_password": new}, headers=headers
    )
    assert r.status_code == 200, r.text
    new_headers = {"X-CSRF-Token": r.json()["csrf_token"]}
    # the old cookie (this browser's and the other device's) no longer reads or writes
    assert _thief(app, saved).get("/api/me").status_code == 401
    assert phone.get("/api/me").status_code == 401
    assert _report(phone, phone_headers).status_code == 401
    # this browser continues in a new session; the new password logs in, the old does not
    assert laptop.get("/api/me").status_code == 200
    assert _report(laptop, new_headers).status_code == 201
    assert TestClient(app).post("/api/login", json={"username": "pat1", "password": new}).status_code == 200
    old = TestClient(app).post("/api/login", json={"username": "pat1", "password": PASSWORDS["pat1"]})
    assert old.status_code == 401
    assert "password_changed" in {a.action for a in db.store.list_audit()}


def test_password_change_needs_the_current_password(app):
    client = TestClient(app)
    headers = api_login(client, "clin")
    r = client.post(
        "/api/me/password",
        json={"current_password": "wrong-one", "new_password": "whatever-new-1"},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "current_password"
    r = client.post(
        "/api/me/password",
        json={"current_password": PASSWORDS["clin"], "new_password": "short"},
        headers=headers,
    )
    assert r.status_code == 422
    assert client.get("/api/me").status_code == 200  # failed attempts leave the session alone


def test_password_page_for_every_role(app):
    for name in ("clin", "pat1", "adm"):
        client = TestClient(app)
        page_login(client, name)
        saved = client.cookies[SESSION_COOKIE]
        page = client.get("/password")
        assert page.status_code == 200 and 'name="current_password"' in page.text
        new = f"{name}-new-password-9"
        form = {"csrf_token": form_csrf(page.text), "current_password": PASSWORDS[name]}
        mismatch = client.post(
            "/password", data={**form, "new_password": new, "new_password_again": new + "x"}
        )
        assert mismatch.status_code == 422 and "differ" in mismatch.text
        done = client.post("/password", data={**form, "new_password": new, "new_password_again": new})
        assert done.status_code == 200 and "Password changed" in done.text
        assert _thief(app, saved).get("/api/me").status_code == 401
        assert client.get("/api/me").json()["username"] == name


def test_admin_ends_a_users_sessions(app, db):
    victim = TestClient(app)
    victim_headers = api_login(victim, "clin")
    admin = TestClient(app)
    admin_headers = api_login(admin, "adm")
    r = admin.post("/api/users/clin/end-sessions", headers=admin_headers)
    assert r.status_code == 200 and r.json() == {"username": "clin", "ended": 1}
    assert victim.get("/api/me").status_code == 401
    assert victim.post("/api/sessions/x/optimize", headers=victim_headers).status_code == 401
    assert admin.post("/api/users/nobody/end-sessions", headers=admin_headers).status_code == 404
    # not for other roles; the refusal is audited
    pat = TestClient(app)
    assert pat.post("/api/users/adm/end-sessions", headers=api_login(pat, "pat1")).status_code == 403
    # the page button does the same
    page_login(victim, "clin")
    token = form_csrf(admin.get("/admin").text)
    r = admin.post("/admin/users/clin/end-sessions", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and victim.get("/api/me").status_code == 401
    actions = [a.action for a in db.store.list_audit(limit=50)]
    assert actions.count("end_sessions") == 2 and "access_denied" in actions


def _age_sessions(db, **values) -> None:
    with db.store.engine.begin() as conn:
        conn.execute(update(LoginSessionRow).values(**values))


def test_idle_session_expires(app, db):
    client = TestClient(app)
    headers = api_login(client, "pat1")
    idle = app.state.settings.session_idle_s
    _age_sessions(db, last_seen_at=utcnow() - timedelta(seconds=idle - 120))
    assert client.get("/api/me").status_code == 200  # still within the idle limit; marks it as seen
    _age_sessions(db, last_seen_at=utcnow() - timedelta(seconds=idle + 1))
    assert client.get("/api/me").status_code == 401
    assert _report(client, headers).status_code == 401


def test_absolute_lifetime_is_not_extended_by_use(app, db):
    client = TestClient(app)
    api_login(client, "clin")
    with db.store.engine.connect() as conn:
        ((created, expires),) = conn.execute(
            LoginSessionRow.__table__.select().with_only_columns(
                LoginSessionRow.created_at, LoginSessionRow.expires_at
            )
        ).all()
    assert (expires - created).total_seconds() == app.state.settings.session_absolute_s
    for _ in range(3):
        assert client.get("/api/me").status_code == 200
    _age_sessions(db, expires_at=utcnow() - timedelta(seconds=1))
    assert client.get("/api/me").status_code == 401
    assert client.get("/patients", follow_redirects=False).status_code == 303
