"""The audit log as a privacy officer reads it: paged and filtered by date, user, action and patient;
every administrator view recorded; list views record the patients they showed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from test_web_helpers import api_login, page_login

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures


@pytest.fixture()
def admin(app):
    client = TestClient(app)
    client.headers.update(api_login(client, "adm"))
    return client


def test_audit_api_pages_through_every_entry(admin, db):
    for i in range(25):
        db.store.audit(username="someone", action="view_patient", patient_id=db.p1, detail=str(i))
    seen: list[int] = []
    url = "/api/audit?limit=10&username=someone"
    while url:
        r = admin.get(url)
        assert r.status_code == 200
        seen += [a["id"] for a in r.json()]
        link = r.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert len(seen) == 25 and seen == sorted(seen, reverse=True) and len(set(seen)) == 25


def test_audit_api_filters(admin, db):
    db.store.audit(username="dr.a", action="view_patient", patient_id=db.p1)
    db.store.audit(username="dr.b", action="view_session", patient_id=db.p2)
    db.store.audit(username="dr.b", action="list_patients", patient_ids=[db.p1, db.p2])
    by_user = admin.get("/api/audit", params={"username": "dr.b"}).json()
    assert [a["action"] for a in by_user] == ["list_patients", "view_session"]
    by_action = admin.get("/api/audit", params={"action": "view_patient"}).json()
    assert [a["username"] for a in by_action] == ["dr.a"]
    about_p1 = admin.get("/api/audit", params={"patient_id": db.p1, "username": "dr.b"}).json()
    assert [a["action"] for a in about_p1] == ["list_patients"]  # the list that showed patient 1
    assert about_p1[0]["patient_ids"] == sorted([db.p1, db.p2])
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert admin.get("/api/audit", params={"since": future}).json() == []
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert len(admin.get("/api/audit", params={"since": past, "username": "dr.a"}).json()) == 1
    assert admin.get("/api/audit", params={"until": past, "username": "dr.a"}).json() == []
    assert admin.get("/api/audit", params={"since": future, "until": past}).status_code == 422
    assert admin.get("/api/audit", params={"limit": 1001}).status_code == 422
    admin.get("/api/audit", params={"action": "view_patient", "limit": 1})
    viewed = db.store.list_audit(limit=1)[0]  # the view itself, with the filters used
    assert viewed.action == "view_audit" and "action=view_patient" in viewed.detail


def test_every_administrator_view_is_audited(app, db):
    client = TestClient(app)
    page_login(client, "adm")
    for path, action in [
        ("/admin", "view_admin"),
        ("/api/users", "list_users"),
        ("/api/audit", "view_audit"),
        ("/model", "view_unit_model"),
        ("/model/1", "view_unit_model"),  # no such model: the view is audited all the same
    ]:
        client.get(path)
        latest = db.store.list_audit(limit=1)[0]
        assert (latest.username, latest.action) == ("adm", action), path


def test_list_views_record_the_patients_they_showed(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    both = sorted([db.p1, db.p2])
    views = [("/patients", "list_patients"), ("/api/patients", "list_patients"), ("/unit", "unit_overview")]
    for path, action in views:
        assert client.get(path).status_code == 200
        latest = db.store.list_audit(limit=1)[0]
        assert latest.action == action and sorted(latest.patient_ids) == both, path
    admin = TestClient(app)
    page_login(admin, "adm")
    admin.get("/admin")
    assert set(db.store.list_audit(limit=1)[0].patient_ids) >= set(both)
