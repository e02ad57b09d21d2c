"""The chairside API in the application: gateway inputs (JSON, FHIR) feed the same ingest as HL7, the chairs
list for nurses and clinicians only, acknowledgement with a reason, audited."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from live_fixtures import StandInEngine
from test_web_helpers import api_login

from crampwatch.chairside.settings import LiveSettings
from crampwatch.web.app import create_app

pytest_plugins = ["test_web_helpers"]  # the db fixture
START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture()
def live_app(db):
    db.store.add_user("nurse", "nurse-pass-123", "nurse")
    return create_app(db.store, secret_key="k" * 32, live_settings=LiveSettings(), make_engine=StandInEngine)


@pytest.fixture()
def client_as(live_app):
    """Log in as a user on a client that runs the application's lifespan (the live service)."""
    clients: list[TestClient] = []

    def login(username: str, password: str | None = None) -> TestClient:
        client = TestClient(live_app)
        client.__enter__()
        clients.append(client)
        client.headers.update(api_login(client, username, password))
        return client

    yield login
    for client in clients:
        client.__exit__(None, None, None)


def body(message_id: str, patient_id: str, minute: float, rbv: float, **extra) -> dict:
    at = (START + timedelta(minutes=minute)).isoformat()
    return {
        "message_id": message_id,
        "patient_id": patient_id,
        "observations": [
            {"signal": "rbv_pct", "value": rbv, "unit": "%", "observed_at": at},
            {
                "system": "MDC",
                "code": "MDC_PRESS_BLD_NONINV_SYS",
                "value": 118,
                "unit": "mm[Hg]",
                "observed_at": at,
            },
        ],
        **extra,
    }


def wait_for(predicate, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met")


def test_json_gateway_feeds_a_chair_that_nurses_see(client_as, db):
    nurse = client_as("nurse", "nurse-pass-123")
    r = nurse.post("/api/live/observations", json=body("g1", db.p1, 0, 95.0))
    assert r.status_code == 201 and r.json()["ack"] == "AA"
    again = nurse.post("/api/live/observations", json=body("g1", db.p1, 0, 95.0))
    assert again.status_code == 200 and again.json()["duplicate"] and again.json()["seq"] == r.json()["seq"]
    nurse.post("/api/live/observations", json=body("g2", db.p1, 5, 88.0))
    chairs = wait_for(lambda: [c for c in nurse.get("/api/chairs").json() if c.get("level") == "alert"])
    (chair,) = chairs
    assert chair["patient_id"] == db.p1 and chair["session_id"] == r.json()["session_id"]
    assert chair["t_min"] == 5.0 and chair["cramp_risk_30min"] == pytest.approx(0.6)
    assert chair["cause"] == "hypovolemia" and chair["latest"]["sbp_mmhg"] == [5.0, 118.0]
    page = nurse.get("/chairs")
    assert page.status_code == 200 and "ALERT" in page.text and "Alma Berg" in page.text
    # the session page of a running session is its live timeline
    moved = nurse.get(f"/sessions/{chair['session_id']}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/chairs/{chair['session_id']}"
    timeline = nurse.get(moved.headers["location"])
    assert timeline.status_code == 200 and timeline.text.count('<tr class="level-') == 2
    audit = [a.action for a in db.store.list_audit(50)]
    assert "view_chairs" in audit


def test_acknowledge_with_a_reason_is_applied_and_audited(client_as, db):
    nurse = client_as("nurse", "nurse-pass-123")
    sid = nurse.post("/api/live/observations", json=body("a1", db.p1, 0, 85.0)).json()["session_id"]
    wait_for(lambda: nurse.get("/api/chairs").json()[0].get("level") == "alert")
    r = nurse.post(f"/api/chairs/{sid}/acknowledge", json={"reason": "Seen, acting on it", "snooze_min": 0})
    assert r.status_code == 201
    wait_for(lambda: nurse.get("/api/chairs").json()[0].get("level") == "watch")
    (entry,) = [a for a in db.store.list_audit(50) if a.action == "live_alert_acknowledged"]
    assert entry.username == "nurse" and entry.patient_id == db.p1 and "Seen, acting on it" in entry.detail
    assert nurse.post("/api/chairs/nope/acknowledge", json={"reason": "xx"}).status_code == 404
    assert nurse.post(f"/api/chairs/{sid}/acknowledge", json={"reason": ""}).status_code == 422


def test_refused_gateway_messages_are_422_and_audited(client_as, db):
    clin = client_as("clin")
    r = clin.post("/api/live/observations", json=body("x1", "NOBODY", 0, 95.0))
    assert r.status_code == 422 and "not a known patient" in r.json()["detail"] and r.json()["ack"] == "AE"
    bad = body("x2", db.p1, 0, 95.0)
    bad["observations"][0]["unit"] = "mL"
    r = clin.post("/api/live/observations", json=bad)
    assert r.status_code == 422 and "observations[0]: unit 'mL' does not fit rbv_pct" in r.json()["detail"]
    refused = [a for a in db.store.list_audit(50) if a.action == "live_message_refused"]
    assert len(refused) == 2 and all(a.username == "json:clin" for a in refused)


def test_fhir_observations_feed_the_same_ingest(client_as, db):
    clin = client_as("clin")
    at = START.isoformat()
    subject = {"reference": f"Patient/{db.p2}"}

    def coded(system: str, code: str) -> dict:
        return {"coding": [{"system": system, "code": code}]}

    bp = {
        "resourceType": "Observation",
        "status": "final",
        "subject": subject,
        "effectiveDateTime": at,
        "code": coded("http://loinc.org", "85354-9"),
        "component": [
            {"code": coded("http://loinc.org", "8480-6"), "valueQuantity": {"value": 131, "code": "mm[Hg]"}},
            {"code": coded("http://loinc.org", "8462-4"), "valueQuantity": {"value": 77, "code": "mm[Hg]"}},
        ],
    }
    uf = {
        "resourceType": "Observation",
        "status": "final",
        "subject": subject,
        "effectiveDateTime": at,
        "code": coded("urn:iso:std:iso:11073:10101", "MDC_HDIALY_UF_RATE"),
        "valueQuantity": {"value": 0.8, "code": "L/h"},
    }
    bundle = {
        "resourceType": "Bundle",
        "id": "b-1",
        "type": "collection",
        "entry": [{"resource": bp}, {"resource": uf}],
    }
    # fmt: skip
    r = clin.post("/api/live/fhir", json=bundle)
    assert r.status_code == 201, r.text
    (session,) = db.store.open_live_sessions()
    ((_, values),) = [(m.seq, m.values) for m in db.store.live_messages(session.id)]
    assert sorted(values) == [(0.0, "dbp_mmhg", 77.0), (0.0, "sbp_mmhg", 131.0), (0.0, "uf_rate_ml_h", 800.0)]
    assert clin.post("/api/live/fhir", json=bundle).json()["duplicate"]
    r = clin.post("/api/live/fhir", json={"resourceType": "Patient"})
    assert r.status_code == 422 and r.json()["ack"] == "AR"


def test_roles_outside_the_chairside_are_refused(client_as, db):
    patient = client_as("pat1")
    assert patient.get("/api/chairs").status_code == 403
    assert patient.post("/api/live/observations", json=body("p1", db.p1, 0, 95.0)).status_code == 403
    admin = client_as("adm")
    assert admin.get("/chairs").status_code == 403
    anonymous = TestClient(admin.app)
    assert anonymous.get("/api/chairs").status_code == 401
