"""Clinic pages as a clinician, a patient and an admin read them: a new report on the unit overview, "no
cramp this session", the calcium course on the trend page, the report form, local times, audit words."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from test_web_helpers import form_csrf, page_login

from crampwatch.model import load_scenario
from crampwatch.simulator import simulate

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def figures(page: str) -> list[dict]:
    """The Plotly figures embedded in a page (``charts.embed``)."""
    blocks = re.findall(r'class="plot-figure">(.*?)</script>', page, re.S)
    return [json.loads(b.replace("<\\/", "</")) for b in blocks]


def _send_report(client: TestClient, **fields: str):
    me = client.get("/me").text
    key = re.search(r'name="idempotency_key" value="(\w+)"', me).group(1)
    data = {"csrf_token": form_csrf(me), "idempotency_key": key, "muscle": "foot", "severity": "7", **fields}
    return client.post("/me/reports", data=data, follow_redirects=False)


def test_a_new_patient_report_shows_on_the_unit_overview(app, db):
    clinician = TestClient(app)
    page_login(clinician, "clin")
    before = clinician.get("/unit").text
    assert "foot, 7/10" not in before
    patient = TestClient(app)
    page_login(patient, "pat2")
    assert _send_report(patient).status_code == 303  # not linked to a session
    row = clinician.get("/unit").text.split("Bruno Costa")[1].split("</tr>")[0]
    assert "foot, 7/10" in row and 'class="report"' in row


def test_patient_pages_say_no_cramp_this_session(app, db):
    client = TestClient(app)
    page_login(client, "pat2")
    session = client.get(f"/sessions/{db.s2}").text  # no cramp event, no linked report
    assert "No cramp this session" in session and "most likely reason" not in session.lower()
    me = client.get("/me").text
    assert "No cramp this session." in me and "Most likely reason" not in me
    cramped = TestClient(app)
    page_login(cramped, "pat1")
    assert "The most likely reason for cramps in this session" in cramped.get(f"/sessions/{db.s1}").text


def test_trend_page_shows_the_calcium_course_when_hypocalcemia_leads(app, db):
    scenario = load_scenario(EXAMPLES / "low_ca_first_year.yaml")
    pid = db.store.add_patient(scenario.patient, name="Carla Dias")
    trace = simulate(scenario)
    for day in (3, 5):
        db.store.add_session(
            pid, scenario.prescription, trace, started_at=datetime(2026, 11, day, 8, tzinfo=UTC)
        )
    client = TestClient(app)
    page_login(client, "clin")
    page = client.get(f"/patients/{pid}/trend").text
    assert "Hypocalcemia" in page  # the leading cause
    assert "iCa before → lowest (mmol/L)" in page
    ica = trace.data["ica_mmol_l"].to_numpy()
    assert f"{ica[0]:.2f} → {ica.min():.2f}" in page  # pre-dialysis and lowest of each session
    figure = figures(page)[0]
    titles = [a["text"] for a in figure["layout"]["annotations"]]
    assert any(t.startswith("<b>Ionized calcium (mmol/L)</b>") and "pre-dialysis" in t for t in titles)
    assert {"pre-dialysis", "lowest"} <= {d["name"] for d in figure["data"]}
    # a fluid-led patient keeps the fluid and blood pressure panels only
    fluid = client.get(f"/patients/{db.p1}/trend").text
    assert "before → lowest" not in fluid


def test_report_form_has_no_preset_severity_and_shows_dates_like_other_pages(app, db):
    client = TestClient(app)
    page_login(client, "pat1")
    me = client.get("/me").text
    radios = re.findall(r'<input type="radio" name="severity" value="(\d+)"([^>]*)>', me)
    assert [int(v) for v, _ in radios] == list(range(11))
    assert all("checked" not in rest and "required" in rest for _, rest in radios)
    option = re.search(
        r'<option value="[^"]+" data-datetime="([^"]+)" data-format="weekday"[^>]*>([^<]+)<', me
    )
    assert option is not None and option.group(1).endswith("+00:00")
    assert re.fullmatch(r"session of \w{3} \d{4}-\d\d-\d\d", option.group(2))  # as <time> shows a weekday
    # a report without a severity is refused in plain words, nothing stored
    r = _send_report(client, severity="")
    assert r.status_code == 422 and "How bad: choose a number from 0" in r.text
    assert db.store.list_reports(db.p1) == []


def test_twin_panel_dates_its_fit_in_the_viewers_zone(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    panel = client.get(f"/patients/{db.p1}/twin", headers={"HX-Request": "true"}).text
    token = form_csrf(panel)
    fitted = client.post(
        f"/patients/{db.p1}/twin", data={"csrf_token": token}, headers={"HX-Request": "true"}
    ).text
    assert re.search(r'Fitted on 1 session on <time datetime="[^"]+" data-format="datetime">', fitted)
    assert " UTC (version" not in fitted


def test_audit_log_view_names_actions_in_words(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    client.get(f"/patients/{db.p1}/trend")
    client.get("/unit")
    admin = TestClient(app)
    page_login(admin, "adm")
    page = admin.get("/admin").text
    log = page.split("Audit log")[1]
    assert "Viewed the trend across sessions" in log and "Viewed the unit overview" in log
    assert "Logged in" in log
    assert not re.search(r"<td>[a-z]+(_[a-z]+)+</td>", log)  # no action identifier in a cell
