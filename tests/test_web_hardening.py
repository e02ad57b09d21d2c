"""Hostile input and hostile networks: body limit, strict JSON, dates, text, forwarded headers, the
trailing-slash redirect, login limits, security headers on every answer, and the audit of refusals."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from test_web_helpers import PASSWORDS, api_login, form_csrf, page_login

from crampwatch.web.app import create_app
from crampwatch.web.settings import WebSettings

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

KEY = "k" * 32
HEADER_NAMES = ("content-security-policy", "permissions-policy", "x-content-type-options", "x-frame-options")


def _report_body(**fields) -> dict:
    return {"muscle": "calf", "severity": 4, "idempotency_key": uuid.uuid4().hex, **fields}


@pytest.fixture()
def pat(app):
    client = TestClient(app)
    client.headers.update(api_login(client, "pat1"))
    return client


# ------------------------------------------------------------------------------------------ body limit


def test_oversized_body_is_refused_before_parsing(app):
    client = TestClient(app)
    big = b'{"username": "' + b"x" * (2 * 1024 * 1024) + b'", "password": "p"}'
    r = client.post("/api/login", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and len(r.content) < 1000
    for name in HEADER_NAMES:
        assert name in r.headers
    # a page form too
    r = client.post(
        "/login",
        content=b"username=" + b"a" * (2 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


def _asgi_post(app, path: str, total_bytes: int, chunk: int = 64 * 1024, content_length: bool = False):
    """POST ``total_bytes`` in chunks straight into the ASGI app; returns (status, bytes read, headers)."""
    consumed = 0
    sent: list[dict] = []
    headers = [(b"content-type", b"application/json"), (b"host", b"testserver")]
    if content_length:
        headers.append((b"content-length", str(total_bytes).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict:
        nonlocal consumed
        if consumed >= total_bytes:
            await asyncio.sleep(3600)  # a client that keeps the connection open
        consumed += chunk
        return {"type": "http.request", "body": b"[" * chunk, "more_body": consumed < total_bytes}

    async def send(message: dict) -> None:
        sent.append(message)

    async def run() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=120)

    asyncio.run(run())
    return sent[0]["status"], consumed, dict(sent[0]["headers"])


def test_50_mb_chunked_body_stops_at_the_limit(app):
    """Without Content-Length (chunked) the app stops reading just past the limit instead of 50 MB."""
    limit = app.state.settings.max_body_bytes
    status, consumed, headers = _asgi_post(app, "/api/login", 50 * 1024 * 1024)
    assert status == 413
    assert consumed <= limit + 64 * 1024
    assert b"content-security-policy" in headers
    status, consumed, _ = _asgi_post(app, "/api/reports", 50 * 1024 * 1024, content_length=True)
    assert status == 413 and consumed == 0  # refused from the header alone


# ------------------------------------------------------------------------------------------ strict JSON

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 40]


@pytest.mark.parametrize("number", NON_FINITE)
def test_non_finite_numbers_are_422_never_500(app, db, number):
    client = TestClient(app)
    raw = f'{{"username": {number}, "password": "x"}}'
    r = client.post("/api/login", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    headers = api_login(client, "clin")
    key = uuid.uuid4().hex
    raw = f'{{"muscle": "calf", "severity": {number}, "idempotency_key": "{key}", "patient_id": "{db.p1}"}}'
    r = client.post("/api/reports", content=raw, headers={**headers, "content-type": "application/json"})
    assert r.status_code == 422, r.text
    r = client.post(
        f"/api/sessions/{db.s1}/whatif",
        content=f'{{"duration_min": {number}}}',
        headers={**headers, "content-type": "application/json"},
    )
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("text", ["\\ud800", "ok\\udfffok", "\\u0000"])
def test_lone_surrogates_and_nul_in_json_are_422(app, text):
    client = TestClient(app)
    raw = f'{{"username": "{text}", "password": "{text}"}}'
    r = client.post("/api/login", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    headers = api_login(client, "pat1")
    raw = json.dumps(_report_body())[:-1] + f', "note": "{text}"}}'
    r = client.post("/api/reports", content=raw, headers={**headers, "content-type": "application/json"})
    assert r.status_code == 422, r.text


def test_validation_errors_do_not_echo_the_input(app):
    client = TestClient(app)
    huge = "y" * 200_000
    r = client.post("/api/login", json={"username": huge, "password": "x"})
    assert r.status_code == 422 and huge[:100] not in r.text and len(r.content) < 2000
    assert "input" not in r.json()["errors"][0]


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1900-01-01T00:00:00Z",
        "2199-01-01T00:00:00Z",
    ],
)
def test_extreme_report_times_are_422(pat, db, when):
    r = pat.post("/api/reports", json=_report_body(reported_at=when))
    assert r.status_code == 422, r.text
    assert "reported_at" in r.json()["detail"]
    assert db.store.list_reports(db.p1) == []


def test_muscle_must_be_a_muscle_group_and_notes_plain_text(pat, db):
    assert pat.post("/api/reports", json=_report_body(muscle="<script>")).status_code == 422
    assert pat.post("/api/reports", json=_report_body(note="bad\x00note")).status_code == 422
    assert pat.post("/api/reports", json=_report_body(note="bad\x07bell")).status_code == 422
    ok = pat.post("/api/reports", json=_report_body(muscle="thigh", note="line one\nline two"))
    assert ok.status_code == 201
    assert [r.muscle for r in db.store.list_reports(db.p1)] == ["thigh"]


def test_nul_in_url_and_form_is_422(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    assert client.get("/api/patients/P%00X").status_code == 422
    assert client.get("/api/reports?patient_id=a%00b").status_code == 422
    token = form_csrf(client.get("/patients").text)
    r = client.post(
        "/logout",
        content=f"csrf_token={token}&x=%00",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422


# ------------------------------------------------------------------------------------------ headers


def _assert_security_headers(r) -> None:
    for name in HEADER_NAMES:
        assert name in r.headers, (r.status_code, name)
    csp = r.headers["content-security-policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "server" not in r.headers


def test_security_headers_on_every_answer(db):
    app = create_app(db.store, secret_key=KEY)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    client = TestClient(app, raise_server_exceptions=False)
    answers = [
        client.get("/boom"),  # 500
        client.get("/no-such-page"),  # 404 page
        client.get("/api/no-such-thing"),  # 404 JSON
        client.post("/api/login", json={"username": 1}),  # 422
        client.post(
            "/api/login", content=b"x" * (2 << 20), headers={"content-type": "application/json"}
        ),  # 413
        client.get("/api/me"),  # 401
        client.get("/login"),  # 200
    ]
    assert [r.status_code for r in answers] == [500, 404, 404, 422, 413, 401, 200]
    for r in answers:
        _assert_security_headers(r)
    assert "unexpected" not in answers[0].text
    assert "strict-transport-security" not in answers[-1].headers
    https = TestClient(app, base_url="https://testserver")
    assert https.get("/login").headers["strict-transport-security"].startswith("max-age=")


def test_pages_have_no_inline_scripts(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    for path in ("/patients", f"/patients/{db.p1}", f"/sessions/{db.s1}", "/password"):
        html = client.get(path).text
        assert "<script>" not in html and " onclick=" not in html and " oninput=" not in html, path
        for tag in html.split("<script")[1:]:
            assert 'src="/static/' in tag.split(">")[0] or 'type="application/json"' in tag.split(">")[0], (
                path
            )
    page_login(client, "pat1")
    me = client.get("/me").text
    assert "<script>" not in me and "oninput" not in me and 'src="/static/app.js"' in me


def test_trailing_slash_redirect_never_names_another_host(app):
    client = TestClient(app)
    page_login(client, "clin")
    r = client.get("/patients/", headers={"host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/patients"
    assert "evil" not in r.headers["location"]
    for path in ("/api/patients/", "/login/", "/static/"):
        r = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
        assert "evil" not in r.headers.get("location", ""), path


# ------------------------------------------------------------------------------------------ login limits


def _fail_login(client, username: str, headers: dict | None = None):
    return client.post(
        "/api/login", json={"username": username, "password": "wrong-pass"}, headers=headers or {}
    )


def test_forwarded_for_is_ignored_without_a_trusted_proxy(app, db):
    client = TestClient(app)
    for i in range(5):
        assert _fail_login(client, "clin", {"X-Forwarded-For": f"198.51.100.{i}"}).status_code == 401
    r = client.post(
        "/api/login",
        json={"username": "clin", "password": PASSWORDS["clin"]},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 429
    app.state.anonymous_audit.flush(db.store)
    failed = [a for a in db.store.list_audit(limit=20) if a.action == "login_failed"]
    assert {a.detail for a in failed} == {"ip=testclient; accounts: clin"}  # one row per minute
    assert sum(a.count for a in failed) == 5
    limited = [a for a in db.store.list_audit(limit=20) if a.action == "login_limited"]
    assert [(a.detail, a.count) for a in limited] == [("ip=testclient", 1)]


def test_many_usernames_from_one_client_are_limited(app):
    client = TestClient(app)
    for i in range(20):
        assert _fail_login(client, f"user{i}").status_code == 401
    assert _fail_login(client, "user20").status_code == 429
    r = client.post("/api/login", json={"username": "adm", "password": PASSWORDS["adm"]})
    assert r.status_code == 429  # the whole client waits
    assert (
        TestClient(app, client=("192.0.2.50", 1234))
        .post("/api/login", json={"username": "adm", "password": PASSWORDS["adm"]})
        .status_code
        == 200
    )


def test_trusted_proxy_gives_the_forwarded_client(db):
    app = create_app(db.store, settings=WebSettings(secret_key=KEY, trusted_proxies=("testclient",)))
    client = TestClient(app)
    r = client.get("/login", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["set-cookie"] and "strict-transport-security" in r.headers
    _fail_login(client, "clin", {"X-Forwarded-For": "203.0.113.7"})
    app.state.anonymous_audit.flush(db.store)
    assert db.store.list_audit(limit=1)[0].detail == "ip=203.0.113.7; accounts: clin"
    # one account from many forwarded clients: each client is counted apart, none is refused
    for i in range(10):
        assert _fail_login(client, "clin", {"X-Forwarded-For": f"198.51.100.{i}"}).status_code == 401
    assert _fail_login(client, "clin", {"X-Forwarded-For": "198.51.100.99"}).status_code == 401
    # an untrusted peer's header is ignored
    other = TestClient(app, client=("192.0.2.1", 999))
    _fail_login(other, "adm", {"X-Forwarded-For": "203.0.113.8"})
    app.state.anonymous_audit.flush(db.store)
    assert db.store.list_audit(limit=1)[0].detail == "ip=192.0.2.1; accounts: adm"


# ------------------------------------------------------------------------------------------ audit


def test_refusals_and_admin_views_are_audited(app, db):
    client = TestClient(app)
    api_login(client, "pat1")
    assert client.get(f"/api/patients/{db.p2}").status_code == 403
    assert client.get(f"/sessions/{db.s2}").status_code == 403
    assert client.get("/api/users").status_code == 403
    assert client.post("/api/reports", json=_report_body()).status_code == 403  # no CSRF token
    denied = [a for a in db.store.list_audit(limit=10) if a.action in ("access_denied", "csrf_refused")]
    assert len(denied) == 4 and all(a.username == "pat1" for a in denied)
    assert {a.patient_id for a in denied if a.action == "access_denied"} >= {db.p2}
    assert any(a.action == "csrf_refused" for a in denied)

    admin = TestClient(app)
    api_login(admin, "adm")
    admin.get("/admin")
    admin.get("/api/users")
    admin.get("/api/audit")
    actions = [a.action for a in db.store.list_audit(limit=3)]
    assert actions == ["view_audit", "list_users", "view_admin"]


# ------------------------------------------------------------------------------------------ live server


def _rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status", encoding="ascii"):  # noqa: SIM115
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send_huge_body(port: int, chunked: bool, total: int = 50 * 1024 * 1024) -> tuple[bytes, int]:
    """POST a 50 MB JSON body to /api/login over a raw socket; returns (answer, bytes sent before it)."""
    import select
    import socket

    head = "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
    chunk = b"[" * 65536
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode())
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(framed)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer:
            part = sock.recv(65536)
            if not part:
                break
            answer += part
    return answer, sent


@pytest.mark.slow  # starts a uvicorn server
def test_live_server_refuses_50_mb_bodies_early_and_names_no_server(tmp_path):
    from test_web_helpers import LiveServer, make_db

    db = make_db(tmp_path)
    db.store.close()
    with LiveServer(db.url) as live:
        r = httpx.get(live.url + "/login", timeout=30)
        assert "server" not in r.headers and "permissions-policy" in r.headers
        before = _rss_kb(live.proc.pid)
        for chunked in (True, False):
            answer, sent = _send_huge_body(live.port, chunked)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert b"content-security-policy" in answer.lower() and b"server:" not in answer.lower()
            assert sent < 20 * 1024 * 1024  # the server answered long before the 50 MB were sent
        assert _rss_kb(live.proc.pid) - before < 30 * 1024  # memory did not grow with the body


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "-Infinity"])
def test_whatif_page_refuses_non_finite_values(app, db, value):
    client = TestClient(app)
    page_login(client, "clin")
    token = form_csrf(client.get(f"/sessions/{db.s1}").text)
    r = client.post(f"/sessions/{db.s1}/whatif", data={"csrf_token": token, "duration_min": value})
    assert r.status_code == 422 and "finite" in r.text
