"""Web security: login required everywhere, roles, CSRF, rate limit, XSS, cookies, audit."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from test_web_helpers import PASSWORDS, api_login, form_csrf, page_login, patient_report_form

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/api/login"),
    ("GET", "/healthz"),
    ("GET", "/static/plotly.min.js"),
}


def _all_routes(app) -> list:
    """Every route of the app, including those of included routers (FastAPI >= 0.13x includes lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def _routes(app, db) -> list[tuple[str, str]]:
    params = {"patient_id": db.p1, "session_id": db.s1, "model_id": "1", "username": "clin"}
    out = []
    for route in _all_routes(app):
        methods = getattr(route, "methods", None)
        if not methods:  # the /static mount (served without a session)
            assert route.path == "/static"
            continue
        path = re.sub(r"{(\w+)}", lambda m: params[m.group(1)], route.path)
        out += [(method, path) for method in sorted(set(methods) - {"HEAD"})]
    return out


def test_every_route_needs_login(app, db):
    routes = _routes(app, db)
    assert len(routes) > 25  # the enumeration really found the application
    client = TestClient(app)
    checked = 0
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        r = client.request(method, path, follow_redirects=False, json={} if method == "POST" else None)
        if path.startswith("/api"):
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json() == {"detail": "not logged in"}
        else:
            assert r.status_code == 303, (method, path, r.status_code)
            assert r.headers["location"].startswith("/login?next=")
        checked += 1
    assert checked == len(routes) - len(PUBLIC)


def test_login_redirects_back_but_never_off_site(app):
    client = TestClient(app)
    token = form_csrf(client.get("/login").text)
    r = client.post(
        "/login",
        data={
            "username": "clin",
            "password": PASSWORDS["clin"],
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/patients"


def test_session_cookie_flags(app):
    client = TestClient(app)
    r = page_login(client, "clin")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = TestClient(app, base_url="https://testserver")
    assert "Secure" in page_login(https, "clin").headers["set-cookie"]


def test_tampered_cookie_is_rejected(app):
    client = TestClient(app)
    page_login(client, "pat1")
    value = client.cookies["cw_session"]
    client.cookies.set("cw_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/api/me").status_code == 401


def test_csrf_required_on_forms_and_api(app, db):
    client = TestClient(app)
    # the login form itself
    r = client.post(
        "/login", data={"username": "clin", "password": PASSWORDS["clin"]}, follow_redirects=False
    )
    assert r.status_code == 403
    page_login(client, "pat1")
    data = {"idempotency_key": uuid.uuid4().hex, "muscle": "calf", "severity": "5", "note": "x"}
    assert client.post("/me/reports", data=data, follow_redirects=False).status_code == 403
    assert (
        client.post("/me/reports", data={**data, "csrf_token": "wrong"}, follow_redirects=False).status_code
        == 403
    )
    body = {"muscle": "calf", "severity": 5, "idempotency_key": uuid.uuid4().hex}
    assert client.post("/api/reports", json=body).status_code == 403
    assert client.post("/api/reports", json=body, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert db.store.list_reports(db.p1) == []
    token = form_csrf(client.get("/me").text)
    assert client.post("/api/reports", json=body, headers={"X-CSRF-Token": token}).status_code == 201


def test_login_rate_limit(app):
    client = TestClient(app)
    token = form_csrf(client.get("/login").text)
    for _ in range(5):
        r = client.post("/login", data={"username": "clin", "password": "wrong", "csrf_token": token})
        assert r.status_code == 401
    r = client.post("/login", data={"username": "clin", "password": PASSWORDS["clin"], "csrf_token": token})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert (
        client.post("/api/login", json={"username": "clin", "password": PASSWORDS["clin"]}).status_code == 429
    )
    # another username from the same client is not blocked
    assert (
        client.post("/api/login", json={"username": "adm", "password": PASSWORDS["adm"]}).status_code == 200
    )


def test_patient_cannot_see_other_patients(app, db):
    client = TestClient(app)
    api_login(client, "pat1")
    assert client.get(f"/patients/{db.p2}").status_code == 403
    assert client.get(f"/sessions/{db.s2}").status_code == 403
    assert client.get("/patients").status_code == 403
    for path in (
        f"/api/patients/{db.p2}",
        f"/api/patients/{db.p2}/sessions",
        f"/api/sessions/{db.s2}",
        f"/api/sessions/{db.s2}/assessment",
        f"/api/reports?patient_id={db.p2}",
        "/api/patients",
        "/api/users",
        "/api/audit",
    ):
        assert client.get(path).status_code == 403, path
    # own data is visible
    assert client.get(f"/api/patients/{db.p1}").status_code == 200
    assert client.get(f"/api/sessions/{db.s1}").json()["patient_id"] == db.p1
    assert client.get(f"/patients/{db.p1}", follow_redirects=False).headers["location"] == "/me"


def test_patient_cannot_report_for_another(app, db):
    client = TestClient(app)
    headers = api_login(client, "pat1")
    body = {"patient_id": db.p2, "muscle": "calf", "severity": 3, "idempotency_key": uuid.uuid4().hex}
    assert client.post("/api/reports", json=body, headers=headers).status_code == 403
    body = {"session_id": db.s2, "muscle": "calf", "severity": 3, "idempotency_key": uuid.uuid4().hex}
    assert client.post("/api/reports", json=body, headers=headers).status_code == 422
    assert db.store.list_reports(db.p2) == []


def test_admin_sees_users_not_clinical_data(app, db):
    client = TestClient(app)
    api_login(client, "adm")
    assert client.get("/api/patients").status_code == 403
    assert client.get(f"/api/sessions/{db.s1}").status_code == 403
    assert client.get(f"/patients/{db.p1}").status_code == 403
    assert {u["username"] for u in client.get("/api/users").json()} >= {"clin", "pat1", "adm"}
    assert client.get("/admin").status_code == 200


def test_no_stored_xss_from_report_note(app, db):
    payload = "<script>alert('xss')</script><img src=x onerror=alert(1)>"
    client = TestClient(app)
    data = patient_report_form(client, severity="7", note=payload)
    assert client.post("/me/reports", data=data, follow_redirects=False).status_code == 303
    assert db.store.list_reports(db.p1)[0].note == payload  # stored verbatim
    clin = TestClient(app)
    page_login(clin, "clin")
    for html in (client.get("/me").text, clin.get(f"/patients/{db.p1}").text):
        assert payload not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html


def test_patient_views_are_audited(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    before = len(db.store.list_audit(limit=1000, patient_id=db.p1))
    client.get(f"/patients/{db.p1}")
    client.get(f"/sessions/{db.s1}")
    client.get(f"/api/patients/{db.p1}")
    entries = db.store.list_audit(limit=1000, patient_id=db.p1)
    assert len(entries) == before + 3
    assert {e.action for e in entries[:3]} == {"view_patient", "view_session"}
    assert all(e.username == "clin" for e in entries[:3])


def test_security_headers(app):
    r = TestClient(app).get("/login")
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
