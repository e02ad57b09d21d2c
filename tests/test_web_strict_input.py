"""Strict inputs: JSON booleans and text are not numbers, the limits of the schema are the limits that
apply, and a 422 answer never repeats what was sent."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from test_web_helpers import api_login, form_csrf, page_login, patient_report_form

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

MARKER = "zq-marker-7x"


@pytest.fixture()
def clin(app):
    client = TestClient(app)
    client.headers.update(api_login(client, "clin"))
    return client


@pytest.fixture()
def pat(app):
    client = TestClient(app)
    client.headers.update(api_login(client, "pat1"))
    return client


@pytest.mark.parametrize("value", [True, False, "5"])
def test_report_severity_must_be_a_json_number(pat, db, value):
    body = {"muscle": "calf", "severity": value, "idempotency_key": uuid.uuid4().hex}
    r = pat.post("/api/reports", json=body)
    assert r.status_code == 422 and "severity" in r.text
    assert db.store.list_reports(db.p1) == []


@pytest.mark.parametrize(
    ("field", "value"), [("uf_volume_l", True), ("duration_min", False), ("qb_ml_min", "300")]
)
def test_whatif_numbers_must_be_json_numbers(clin, db, field, value):
    r = clin.post(f"/api/sessions/{db.s1}/whatif", json={field: value})
    assert r.status_code == 422 and field in r.text


def test_whatif_accepts_integers_for_decimal_settings(clin, db):
    assert clin.post(f"/api/sessions/{db.s1}/whatif", json={"uf_volume_l": 3}).status_code == 200


def test_longest_idempotency_key_the_schema_allows_is_stored(pat, db):
    key = "k" * 128
    body = {"muscle": "calf", "severity": 3, "idempotency_key": key}
    first = pat.post("/api/reports", json=body)
    assert first.status_code == 201, first.text
    again = pat.post("/api/reports", json=body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert pat.post("/api/reports", json={**body, "idempotency_key": "k" * 129}).status_code == 422


def test_report_page_422_does_not_repeat_the_input(app, db):
    client = TestClient(app)
    form = patient_report_form(client, severity="4", reported_at=MARKER)
    r = client.post("/me/reports", data=form)
    assert r.status_code == 422 and "When:" in r.text and MARKER not in r.text
    form = patient_report_form(client, severity="zq7x")  # text within the field's 8 characters
    r = client.post("/me/reports", data=form)
    assert r.status_code == 422 and "How bad:" in r.text and "zq7x" not in r.text
    form = patient_report_form(client, severity="4")
    assert client.post("/me/reports", data=form, follow_redirects=False).status_code == 303


def test_whatif_and_admin_pages_422_do_not_repeat_the_input(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    token = form_csrf(client.get(f"/sessions/{db.s1}").text)
    r = client.post(f"/sessions/{db.s1}/whatif", data={"csrf_token": token, "qb_ml_min": MARKER})
    assert r.status_code == 422 and MARKER not in r.text
    admin = TestClient(app)
    page_login(admin, "adm")
    token = form_csrf(admin.get("/admin").text)
    form = {"csrf_token": token, "username": "clin", "password": f"{MARKER}-long", "role": "clinician"}
    r = admin.post("/admin/users", data=form)
    assert r.status_code == 422 and "already exists" in r.text and MARKER not in r.text
    r = admin.post("/admin/users", data={**form, "username": f"{MARKER} x"})
    assert r.status_code == 422 and MARKER not in r.text
