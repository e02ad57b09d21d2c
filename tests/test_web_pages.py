"""Server-rendered pages: clinician list/patient/session pages, the what-if panel, the patient phone page."""

from __future__ import annotations

import html
import json
import re

from fastapi.testclient import TestClient
from test_web_helpers import form_csrf, page_login, patient_report_form

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures


def test_login_lands_on_role_home(app):
    for username, home in (("clin", "/patients"), ("pat1", "/me"), ("adm", "/admin")):
        client = TestClient(app)
        r = page_login(client, username)
        assert r.status_code == 303 and r.headers["location"] == home
        assert client.get("/", follow_redirects=False).headers["location"] == home


def test_wrong_password_says_so(app):
    client = TestClient(app)
    r = page_login(client, "clin", "not-the-password")
    assert r.status_code == 401 and "Wrong username or password" in r.text


def test_clinician_pages(app, db):
    db.store.update_patient_summary(db.p1, "hypovolemia")
    client = TestClient(app)
    page_login(client, "clin")
    listing = client.get("/patients").text
    assert "Alma Berg" in listing and "hypovolemia" in listing and "100 %" in listing
    patient = client.get(f"/patients/{db.p1}").text
    assert f'href="/sessions/{db.s1}"' in patient and "cramp" in patient
    session = client.get(f"/sessions/{db.s1}").text
    assert 'src="/static/plotly.min.js"' in session and 'class="plot-figure"' in session
    assert "Relative blood volume" in session and "Ionized calcium" in session and "UF rate" in session
    assert re.search(r'class="cause cause-\w+"', session)  # ranked causes are shown
    assert 'hx-post="/sessions/' in session and 'name="dialysate_na_mmol_l"' in session


def test_session_page_is_audited_and_its_chart_follows_new_events(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    views = len([a for a in db.store.list_audit(limit=1000) if a.action == "view_session"])
    first = client.get(f"/sessions/{db.s1}").text
    again = client.get(f"/sessions/{db.s1}").text
    assert "hypotension symptom" not in first
    assert _chart(again) == _chart(first)  # the same stored session draws the same chart
    db.store.add_events(db.s1, [{"t_min": 42.0, "kind": "hypotension_symptom"}])
    after = client.get(f"/sessions/{db.s1}").text
    assert "hypotension symptom" in _chart(after) and '"x0":42.0' in _chart(after)
    audited = [a for a in db.store.list_audit(limit=1000) if a.action == "view_session"]
    assert len(audited) == views + 3 and all(a.patient_id == db.p1 for a in audited)


def _chart(page: str) -> str:
    return page[page.index('id="timelines"') : page.index('id="whatif"')]


def test_whatif_panel_fragment(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    token = form_csrf(client.get(f"/sessions/{db.s1}").text)
    form = {
        "duration_min": "270",
        "uf_volume_l": "3.5",
        "uf_profile": "linear_decreasing",
        "dialysate_na_mmol_l": "138",
        "dialysate_ca_mmol_l": "1.25",
        "dialysate_mg_mmol_l": "0.5",
        "dialysate_temp_c": "36",
        "qb_ml_min": "300",
    }
    r = client.post(
        f"/sessions/{db.s1}/whatif", data=form, headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert r.status_code == 200
    assert "<html" not in r.text  # a fragment for htmx
    assert "Session time 210 → 270 min" in r.text
    assert "Current prescription" in r.text and "What-if prescription" in r.text
    assert r.text.count('class="plot-figure"') == 2  # risk bars and the overlaid timelines
    bad = client.post(
        f"/sessions/{db.s1}/whatif", data={**form, "dialysate_temp_c": "45"}, headers={"X-CSRF-Token": token}
    )
    # the clinician reads the setting's label, the value and the allowed range, not the field's identifier
    assert bad.status_code == 422
    assert "Dialysate temperature: 45 °C is outside the allowed 33–39 °C" in bad.text
    assert "dialysate_temp_c" not in bad.text


def test_patient_reports_a_cramp_once(app, db):
    client = TestClient(app)
    page_login(client, "pat1")
    me = client.get("/me").text
    assert '<meta name="viewport"' in me and "I have a cramp" in me and "stretch" in me
    key = re.search(r'name="idempotency_key" value="(\w+)"', me).group(1)
    data = {
        "csrf_token": form_csrf(me),
        "idempotency_key": key,
        "muscle": "calf",
        "severity": "8",
        "note": "woke me at night",
        "reported_at": "2026-11-20T03:15",
        "tz_offset_min": "-60",
    }
    first = client.post("/me/reports", data=data, follow_redirects=False)
    second = client.post("/me/reports", data=data, follow_redirects=False)  # a double submit
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    reports = db.store.list_reports(db.p1)
    assert len(reports) == 1
    assert reports[0].reported_at.strftime("%H:%M") == "02:15"  # local UTC+1 -> UTC
    page = client.get(first.headers["location"]).text
    assert "Received" in page and "woke me at night" in page
    # a new render gives a new key
    assert re.search(r'name="idempotency_key" value="(\w+)"', page).group(1) != key


def test_patient_report_errors_are_shown(app, db):
    client = TestClient(app)
    data = patient_report_form(client, severity="12")
    r = client.post("/me/reports", data=data)
    assert r.status_code == 422 and "How bad: choose a number from 0 (hardly) to 10 (worst ever)." in r.text
    assert db.store.list_reports(db.p1) == []


def test_patient_sees_own_session_without_whatif(app, db):
    client = TestClient(app)
    page_login(client, "pat1")
    page = client.get(f"/sessions/{db.s1}").text
    assert "most likely reason" in page and 'id="whatif"' not in page
    token = form_csrf(page)
    assert client.post(f"/sessions/{db.s1}/whatif", data={"csrf_token": token}).status_code == 403


def test_admin_page_adds_user(app, db):
    client = TestClient(app)
    page_login(client, "adm")
    token = form_csrf(client.get("/admin").text)
    r = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "nurse1", "password": "nurse-pass-123", "role": "clinician"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert db.store.get_user("nurse1").role == "clinician"
    r = client.post(
        "/admin/users", data={"csrf_token": token, "username": "x1", "password": "short", "role": "clinician"}
    )
    assert r.status_code == 422 and "password" in r.text


def test_static_assets_are_local(app):
    client = TestClient(app)
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000 and b"plotly" in js.content[:2000].lower()
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.content
    assert client.get("/static/style.css").status_code == 200


def test_optimizer_panel(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    token = form_csrf(client.get(f"/sessions/{db.s1}").text)
    r = client.post(f"/sessions/{db.s1}/optimize", headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    assert "Current prescription: risk" in r.text
    assert r.text.count("<li>") >= 1
    assert re.search(r"addresses [^<]*hypovolemia", r.text)  # the high-UF patient's main problem
    # each suggestion can be replayed in the what-if panel with exactly its prescription
    settings = json.loads(html.unescape(re.search(r"data-whatif='([^']+)'", r.text).group(1)))
    vals = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in settings.items()}
    replay = client.post(f"/sessions/{db.s1}/whatif", data=vals, headers={"X-CSRF-Token": token})
    assert replay.status_code == 200 and "What-if prescription" in replay.text


def test_evidence_is_shown_apart_by_direction_on_the_page_and_in_the_api(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    page = client.get(f"/sessions/{db.s1}").text
    assessment = client.get(f"/api/sessions/{db.s1}/assessment").json()
    directions = {e["direction"] for c in assessment["causes"] for e in c["evidence"]}
    assert directions <= {"supports", "against", "context"} and {"supports", "against"} <= directions
    top = assessment["causes"][0]
    # each direction of the leading cause has its own group on the page, items in their group
    block = page.split('class="cause-item"')[1]
    for direction in {e["direction"] for e in top["evidence"]}:
        group = block.split(f'evidence-group evidence-{direction}"')[1].split("</div>")[0]
        heading = {"supports": "For", "against": "Against", "context": "Context"}[direction]
        assert f'<h4 class="evidence-heading">{heading}</h4>' in group
        n_items = sum(1 for e in top["evidence"] if e["direction"] == direction)
        assert group.count("<li>") == n_items
