"""The patient twin in the clinic app: panel, refit (CSRF), JSON API, assessments with the stored twin."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from test_web_helpers import api_login, form_csrf, page_login

from crampwatch.model import load_scenario

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_patient_page_fits_and_shows_the_twin(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    page = client.get(f"/patients/{db.p1}").text
    assert f'hx-get="/patients/{db.p1}/twin"' in page
    empty = client.get(f"/patients/{db.p1}/twin", headers={"HX-Request": "true"}).text
    assert "No twin fitted yet" in empty
    # opened directly (outside the page's htmx request) the panel URL leads to the patient page
    direct = client.get(f"/patients/{db.p1}/twin", follow_redirects=False)
    assert direct.status_code == 303 and direct.headers["location"] == f"/patients/{db.p1}#twin"
    assert "<!doctype html>" in client.get(f"/patients/{db.p1}/twin").text
    token = form_csrf(empty)
    refused = client.post(f"/patients/{db.p1}/twin", data={"csrf_token": "wrong"})
    assert refused.status_code in (400, 403)
    r = client.post(f"/patients/{db.p1}/twin", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    assert "Fitted on 1 session" in r.text and "plasma refill capacity" in r.text
    assert "fewer than 3" in r.text and "× population" in r.text and "plot-figure" in r.text
    assert "Fit error: relative blood volume " in r.text and "systolic blood pressure" in r.text
    # the session's assessment is made again with the twin, and its evidence cites it
    session = client.get(f"/sessions/{db.s1}").text
    assert "patient twin fitted on 1 session" in session
    assert db.store.get_session(db.s1).assessment_model_version.endswith("+twin1")
    assert any(a.action == "refit_twin" for a in db.store.list_audit(limit=100))


def test_twin_api_versions_and_bad_input(app, db):
    client = TestClient(app)
    headers = api_login(client, "clin")
    assert client.get(f"/api/patients/{db.p1}/twin").status_code == 404
    first = client.post(f"/api/patients/{db.p1}/twin", headers=headers)
    second = client.post(f"/api/patients/{db.p1}/twin", headers=headers)
    assert first.status_code == 200 and (first.json()["version"], second.json()["version"]) == (1, 2)
    got = client.get(f"/api/patients/{db.p1}/twin").json()
    assert got["version"] == 2 and got["parameters"]["refill_capacity"]["population"] == 1.0
    assert client.post(f"/api/patients/{db.p1}/twin").status_code in (400, 403)  # no CSRF token
    lonely = load_scenario(EXAMPLES / "stable.yaml").patient.model_copy(update={"id": "NOSESSIONS"})
    db.store.add_patient(lonely)
    r = client.post("/api/patients/NOSESSIONS/twin", headers=headers)
    assert r.status_code == 422 and "no stored sessions" in r.text
    patient_client = TestClient(app)
    patient_headers = api_login(patient_client, "pat1")
    assert patient_client.post(f"/api/patients/{db.p1}/twin", headers=patient_headers).status_code == 403


def test_fit_errors_name_each_signal_with_its_registry_label_and_unit():
    from crampwatch.web.twin_pages import fit_errors

    rows = fit_errors({"rbv_pct": 0.8, "sbp_mmhg": 7.5, "plasma_na_mmol_l": 1.2})
    assert rows == [
        ("relative blood volume", 0.8, "%-points"),
        ("systolic blood pressure", 7.5, "mmHg"),
        ("plasma sodium", 1.2, "mmol/L"),
    ]
