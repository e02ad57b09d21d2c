"""The web application on a PostgreSQL store: the main clinician and patient flows end to end.

Each test runs in a fresh PostgreSQL schema (``tests/store_fixtures.py``): skipped when no server answers,
failed under ``CI``. The database content and the request helpers are the ones the SQLite web tests use.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_web_helpers import (
    Db,
    _build_db,
    api_login,
    form_csrf,
    page_login,
    patient_report_form,
    view_concurrently,
)

from crampwatch.store import Store
from crampwatch.web.app import create_app
from tests.store_fixtures import fresh_pg_schema_url, run_in_threads, use_cheap_argon2

pytestmark = pytest.mark.postgres

WHATIF_FORM = {
    "duration_min": "270",
    "uf_volume_l": "3.5",
    "uf_profile": "linear_decreasing",
    "dialysate_na_mmol_l": "138",
    "dialysate_ca_mmol_l": "1.25",
    "dialysate_mg_mmol_l": "0.5",
    "dialysate_temp_c": "36",
    "qb_ml_min": "300",
}


@dataclass
class PgWeb:
    db: Db
    app: FastAPI


@pytest.fixture()
def pg(monkeypatch: pytest.MonkeyPatch) -> Iterator[PgWeb]:
    """The small web-test database (two patients, one session each, one user per role) on PostgreSQL."""
    use_cheap_argon2(monkeypatch)
    with contextmanager(fresh_pg_schema_url)() as url:
        assert url.startswith("postgresql")
        db = _build_db(url)
        try:
            yield PgWeb(db, create_app(db.store, secret_key="k" * 32))
        finally:
            db.store.close()


def _audit(store: Store, username: str) -> list[tuple[str, str | None]]:
    """(action, patient_id) of this user's audit entries, oldest first."""
    return [
        (a.action, a.patient_id) for a in reversed(store.list_audit(limit=1000)) if a.username == username
    ]


def test_clinician_flow(pg: PgWeb) -> None:
    db = pg.db
    client = TestClient(pg.app)
    r = page_login(client, "clin")
    assert r.status_code == 303 and r.headers["location"] == "/patients"

    listing = client.get("/patients")
    assert listing.status_code == 200
    assert "Alma Berg" in listing.text and "Bruno Costa" in listing.text
    assert f'href="/patients/{db.p1}"' in listing.text
    patient = client.get(f"/patients/{db.p1}").text
    assert f'href="/sessions/{db.s1}"' in patient

    assert db.store.get_session(db.s1).assessment is None
    page = client.get(f"/sessions/{db.s1}")
    assert page.status_code == 200 and 'class="plot-figure"' in page.text
    shown = re.findall(r'class="cause cause-(\w+)"', page.text)
    assert shown  # ranked causes are rendered
    # The assessment was computed once and committed: a second connection to the server sees it.
    other = Store.open(db.url)
    try:
        stored = other.get_session(db.s1).assessment
        assert stored is not None and stored["session_id"] == db.s1 and 0 <= stored["overall_risk"] <= 1
        assert other.list_sessions(db.p1)[0].top_cause == stored["causes"][0]["cause"]
    finally:
        other.close()
    assert client.get(f"/api/sessions/{db.s1}/assessment").json()["overall_risk"] == stored["overall_risk"]

    token = form_csrf(page.text)
    whatif = client.post(
        f"/sessions/{db.s1}/whatif", data=WHATIF_FORM, headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert whatif.status_code == 200, whatif.text
    assert "What-if prescription" in whatif.text and "Session time 210 → 270 min" in whatif.text
    no_token = client.post(f"/sessions/{db.s1}/whatif", data=WHATIF_FORM)
    assert no_token.status_code == 403

    entries = _audit(db.store, "clin")
    for expected in (
        ("list_patients", None),
        ("view_patient", db.p1),
        ("view_session", db.p1),
        ("view_assessment", db.p1),
        ("whatif", db.p1),
    ):
        assert expected in entries
    assert entries.count(("whatif", db.p1)) == 1  # the request without a CSRF token did nothing
    assert all(p in (None, db.p1) for _, p in entries)


def test_patient_report_is_stored_once(pg: PgWeb) -> None:
    db = pg.db
    client = TestClient(pg.app)
    form = patient_report_form(client, severity="7", note="pg double submit", reported_at="2026-11-20T03:15")
    first = client.post("/me/reports", data=form, follow_redirects=False)
    second = client.post("/me/reports", data=form, follow_redirects=False)  # a double submit
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    reports = db.store.list_reports(db.p1)
    assert [(r.muscle, r.severity, r.note) for r in reports] == [("calf", 7, "pg double submit")]
    page = client.get(first.headers["location"]).text
    assert "Received" in page and "pg double submit" in page
    assert "pg double submit" in client.get("/me").text  # listed on a fresh render too

    missing_token = client.post("/me/reports", data={**form, "csrf_token": "", "idempotency_key": "x" * 16})
    assert missing_token.status_code == 403 and len(db.store.list_reports(db.p1)) == 1

    # The JSON API: the first request stores (201), a retry with the same key finds it (200).
    headers = {"X-CSRF-Token": client.get("/api/me").json()["csrf_token"]}
    body = {"idempotency_key": uuid.uuid4().hex, "muscle": "foot", "severity": 4}
    created = client.post("/api/reports", json=body, headers=headers)
    retried = client.post("/api/reports", json=body, headers=headers)
    assert (created.status_code, retried.status_code) == (201, 200), created.text
    assert created.json()["id"] == retried.json()["id"] and retried.json()["created"] is False
    listed = client.get("/api/reports").json()
    assert sorted(r["muscle"] for r in listed) == ["calf", "foot"]
    assert all(r["patient_id"] == db.p1 for r in listed)
    assert db.store.list_reports(db.p2) == []

    entries = _audit(db.store, "pat1")
    assert entries.count(("report_cramp", db.p1)) == 2  # one per stored report, none for the retries
    assert ("view_own_record", db.p1) in entries and ("view_reports", db.p1) in entries


def test_simultaneous_double_submit_is_stored_once(pg: PgWeb) -> None:
    """Two requests with one idempotency key racing on two connections: one report, both answered."""
    db = pg.db
    clients = [TestClient(pg.app) for _ in range(2)]
    for c in clients:
        c.headers.update(api_login(c, "pat1"))
    body = {"idempotency_key": uuid.uuid4().hex, "muscle": "thigh", "severity": 6}
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, int]] = []

    def submit(client: TestClient) -> None:
        barrier.wait()
        r = client.post("/api/reports", json=body)
        answers.append((r.status_code, r.json()["id"]))

    assert run_in_threads(submit, [(c,) for c in clients]) == []
    assert sorted(code for code, _ in answers) == [200, 201]
    assert len({report_id for _, report_id in answers}) == 1
    assert [r.muscle for r in db.store.list_reports(db.p1)] == ["thigh"]


def test_patient_cannot_see_another_patient(pg: PgWeb) -> None:
    db = pg.db
    client = TestClient(pg.app)
    client.headers.update(api_login(client, "pat1"))
    assert client.get(f"/sessions/{db.s1}").status_code == 200  # the own session is visible
    for path in (
        f"/patients/{db.p2}",
        f"/sessions/{db.s2}",
        f"/api/patients/{db.p2}",
        f"/api/patients/{db.p2}/sessions",
        f"/api/sessions/{db.s2}",
        f"/api/sessions/{db.s2}/assessment",
        f"/api/reports?patient_id={db.p2}",
        "/patients",
        "/api/patients",
    ):
        assert client.get(path).status_code == 403, path
    body = {"patient_id": db.p2, "idempotency_key": uuid.uuid4().hex, "muscle": "calf", "severity": 5}
    assert client.post("/api/reports", json=body).status_code == 403
    assert db.store.list_reports(db.p2) == []
    assert db.store.get_session(db.s2).assessment is None  # nothing was computed for the other patient
    entries = _audit(db.store, "pat1")
    assert ("view_session", db.p1) in entries
    # refused requests leave no view entry, only the record of the refusal
    assert all(p != db.p2 for action, p in entries if action != "access_denied")
    assert ("access_denied", db.p2) in entries


def test_concurrent_session_views_are_each_audited(pg: PgWeb) -> None:
    """Views of the cached session page from many threads: every answered view has its audit entry."""
    db = pg.db
    clients = [TestClient(pg.app) for _ in range(6)]
    for c in clients:
        c.headers.update(api_login(c, "clin"))
    before = _audit(db.store, "clin").count(("view_session", db.p1)) + 2  # with the two warm-up views
    assert view_concurrently(clients, f"/sessions/{db.s1}") == [200] * 30
    assert _audit(db.store, "clin").count(("view_session", db.p1)) == before + 30
