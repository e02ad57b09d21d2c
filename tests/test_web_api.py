"""The JSON API: data for each role, assessments, what-if, reports with idempotency, users."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from test_web_helpers import api_login

from crampwatch.web.app import create_app

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures


@pytest.fixture()
def clin(app):
    client = TestClient(app)
    client.headers.update(api_login(client, "clin"))
    return client


def test_patient_list_and_record(clin, db):
    patients = {p["id"]: p for p in clin.get("/api/patients").json()}
    assert set(patients) == {db.p1, db.p2}
    assert patients[db.p1]["n_sessions"] == 1 and patients[db.p1]["n_cramp_sessions"] == 1
    assert patients[db.p1]["cramp_frequency"] == 1.0 and patients[db.p2]["cramp_frequency"] == 0.0
    rec = clin.get(f"/api/patients/{db.p1}").json()
    assert rec["name"] == "Alma Berg" and rec["patient"]["dry_weight_kg"] > 25
    assert clin.get("/api/patients/NOPE").status_code == 404


def test_session_signals_and_events(clin, db):
    sessions = clin.get(f"/api/patients/{db.p1}/sessions").json()
    assert [s["id"] for s in sessions] == [db.s1] and sessions[0]["had_cramp"] is True
    s = clin.get(f"/api/sessions/{db.s1}").json()
    sig = s["signals"]
    assert len(sig["t_min"]) == len(sig["rbv_pct"]) > 10
    assert sig["rbv_pct"][0] == pytest.approx(100.0) and sig["rbv_pct"][-1] < 90
    assert s["events"] == [{"t_min": 150.0, "kind": "cramp", "severity": 6.0, "note": "calf"}]
    assert s["sources"]["rbv_pct"] == "measured"


def test_assessment_is_computed_once_and_stored(clin, db):
    assert db.store.get_session(db.s1).assessment is None
    a = clin.get(f"/api/sessions/{db.s1}/assessment").json()
    assert a["session_id"] == db.s1 and 0 <= a["overall_risk"] <= 1
    scores = [c["score"] for c in a["causes"]]
    assert scores == sorted(scores, reverse=True) and len(scores) >= 5
    assert a["causes"][0]["explanation"]
    stored = db.store.get_session(db.s1).assessment
    assert stored["overall_risk"] == a["overall_risk"]
    assert db.store.list_sessions(db.p1)[0].top_cause == a["causes"][0]["cause"]


def test_whatif_changes_the_risk(clin, db):
    r = clin.post(
        f"/api/sessions/{db.s1}/whatif", json={"duration_min": 300, "uf_profile": "linear_decreasing"}
    )
    assert r.status_code == 200, r.text
    w = r.json()
    assert set(w["changes"]) == {"duration_min 210 -> 300", "uf_profile constant -> linear_decreasing"}
    assert w["prescription_after"]["duration_min"] == 300
    # a longer, front-loaded session lowers the UF rate: the hypovolemia score must not rise
    hypo = {
        k: next(c["score"] for c in w[k]["causes"] if c["cause"] == "hypovolemia")
        for k in ("before", "after")
    }
    assert hypo["after"] < hypo["before"]
    assert w["after"]["overall_risk"] < w["before"]["overall_risk"]


def test_whatif_rejects_out_of_range(clin, db):
    r = clin.post(f"/api/sessions/{db.s1}/whatif", json={"dialysate_na_mmol_l": 200})
    assert r.status_code == 422 and "dialysate_na_mmol_l" in r.json()["detail"]
    r = clin.post(f"/api/sessions/{db.s1}/whatif", json={"qb_ml_min": 5000})
    assert r.status_code == 422 and "qb_ml_min" in r.json()["detail"]
    assert clin.post(f"/api/sessions/{db.s1}/whatif", json={"bogus": 1}).status_code == 422


def test_report_idempotency(clin, db):
    key = uuid.uuid4().hex
    body = {
        "patient_id": db.p1,
        "session_id": db.s1,
        "t_min": 150,
        "muscle": "calf",
        "severity": 6,
        "note": "nurse report",
        "idempotency_key": key,
    }
    first = clin.post("/api/reports", json=body)
    assert first.status_code == 201 and first.json()["created"] is True
    again = clin.post("/api/reports", json=body)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["id"] == first.json()["id"]
    listed = clin.get(f"/api/reports?patient_id={db.p1}").json()
    assert [r["id"] for r in listed] == [first.json()["id"]] and listed[0]["t_min"] == 150


@pytest.mark.parametrize(
    "change",
    [
        {"severity": 11},
        {"severity": -1},
        {"muscle": ""},
        {"note": "x" * 2001},
        {"idempotency_key": "short"},
        {"t_min": 1000},
        {"patient_id": None},
    ],
)
def test_report_validation(clin, db, change):
    body = {
        "patient_id": db.p1,
        "muscle": "calf",
        "severity": 5,
        "idempotency_key": uuid.uuid4().hex,
        **change,
    }
    r = clin.post("/api/reports", json=body)
    assert r.status_code == 422
    assert db.store.count_reports() == 0


def test_admin_adds_patient_user(db):
    client = TestClient(create_app(db.store, secret_key="k" * 32))
    headers = api_login(client, "adm")
    body = {"username": "pat9", "password": "a-long-password", "role": "patient", "patient_id": db.p2}
    assert client.post("/api/users", json=body, headers=headers).status_code == 201
    assert client.post("/api/users", json=body, headers=headers).status_code == 422  # duplicate
    bad = {**body, "username": "pat10", "patient_id": "NOPE"}
    assert client.post("/api/users", json=bad, headers=headers).status_code == 422
    other = TestClient(create_app(db.store, secret_key="k" * 32))
    api_login(other, "pat9", "a-long-password")
    assert other.get("/api/me").json()["patient_id"] == db.p2
    actions = [a["action"] for a in client.get("/api/audit").json()]
    assert "add_user" in actions


def test_openapi_lists_the_endpoints(clin):
    spec = clin.get("/api/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/patients",
        "/api/patients/{patient_id}",
        "/api/patients/{patient_id}/sessions",
        "/api/sessions/{session_id}",
        "/api/sessions/{session_id}/assessment",
        "/api/sessions/{session_id}/whatif",
        "/api/reports",
    ):
        assert path in paths
    assert "ReportOut" in spec["components"]["schemas"]


def test_logout_ends_the_session(clin):
    assert clin.post("/api/logout").status_code == 204
    assert clin.get("/api/patients").status_code == 401


def test_whatif_accepts_profiles(clin, db):
    body = {"uf_profile": [[0, 1.4], [70, 1.0], [140, 0.6]], "dialysate_na_profile": [[0, 142], [210, 136]]}
    r = clin.post(f"/api/sessions/{db.s1}/whatif", json=body)
    assert r.status_code == 200, r.text
    after = r.json()["prescription_after"]
    assert after["uf_profile"] == [[0, 1.4], [70, 1.0], [140, 0.6]]
    assert after["dialysate"]["na_profile"] == [[0, 142], [210, 136]]
    assert {c.split(" ")[0] for c in r.json()["changes"]} == {"uf_profile", "dialysate_na_profile"}
    bad = clin.post(f"/api/sessions/{db.s1}/whatif", json={"dialysate_na_profile": [[0, 190]]})
    assert bad.status_code == 422 and "na_profile" in bad.json()["detail"]
