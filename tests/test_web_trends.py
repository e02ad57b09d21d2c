"""The per-patient trend page and the unit overview (pages and their numbers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from test_web_helpers import EXAMPLES, page_login, recorded_trace

from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.model import load_scenario
from crampwatch.web import trends

pytest_plugins = ["test_web_helpers"]


def add_follow_up_sessions(db) -> list[str]:
    """Two more sessions of patient 1: the same prescription, then a longer one (a prescription change)."""
    sc = load_scenario(EXAMPLES / "high_uf.yaml")
    longer = sc.prescription.model_copy(update={"duration_min": 270.0})
    start = datetime(2026, 11, 4, 8, tzinfo=UTC)
    ids = []
    for i, (presc, cramp_at) in enumerate([(sc.prescription, None), (longer, 200.0)]):
        ids.append(
            db.store.add_session(
                db.p1,
                presc,
                recorded_trace(presc.duration_min, cramp_at),
                started_at=start + timedelta(days=2 * i),
                pre_weight_kg=sc.patient.pre_weight_kg + 0.5 * i,
                post_weight_kg=sc.patient.dry_weight_kg + 0.2,
            )
        )
    return ids


def test_slope_classes_follow_the_thresholds():
    steep = THRESHOLDS["rbv_slope_steep_pct_h"].value
    assert trends.slope_class(0.5) == "A" and trends.slope_class(trends.RBV_FLAT_PCT_H) == "A"
    assert trends.slope_class(-3.0) == "B"
    assert trends.slope_class(steep) == "C" and trends.slope_class(steep - 1) == "C"
    assert trends.slope_class(None) is None and trends.slope_class(float("nan")) is None


def test_trend_page_shows_each_session_with_changes_marked(app, db):
    ids = add_follow_up_sessions(db)
    client = TestClient(app)
    page_login(client, "clin")
    page = client.get(f"/patients/{db.p1}/trend")
    assert page.status_code == 200
    body = page.text
    rows = re.findall(r"<tr class=\"(rx-change)?\">(.*?)</tr>", body, re.S)
    assert len(rows) == 3  # newest first
    newest_changed, newest = rows[0]
    assert newest_changed == "rx-change" and "210 → 270 min" in newest and "(6/10)" in newest
    assert rows[1][0] == "" and rows[2][0] == ""
    cache = app.state.trend_cache
    trend = trends.patient_trend(db.store, db.p1, db.store.get_patient(db.p1).patient, cache)
    first, second, third = trend["rows"]
    assert [r.id for r in (second, third)] == ids
    # IDWG: pre-weight minus the previous session's post-weight
    assert second.idwg_kg == pytest.approx(db.store.get_session(ids[0]).pre_weight_kg - first_post(db))
    assert third.n_cramps == 1 and third.max_severity == 6.0 and second.n_cramps == 0
    assert third.uf_rate_ml_kg_h < second.uf_rate_ml_kg_h  # the longer session removes fluid slower
    assert all(r.rbv_class in ("A", "B", "C") for r in trend["rows"])
    assert third.rx_changes and not second.rx_changes
    # the chart: five panels, UF-rate marks, prescription change on every panel
    assert body.count('class="plot-figure"') == 1 and "Rx change" in body


def first_post(db) -> float:
    return db.store.get_session(db.s1).post_weight_kg


def test_unit_overview_ranks_by_recent_cramp_burden(app, db):
    add_follow_up_sessions(db)
    client = TestClient(app)
    page_login(client, "clin")
    page = client.get("/unit").text
    order = re.findall(r'<a href="/patients/([\w-]+)/trend">', page)
    assert order == [db.p1, db.p2]
    assert "2 of 3" in page and "0 of 1" in page
    assert any(a.action == "unit_overview" for a in db.store.list_audit(limit=50))


def test_trend_and_unit_pages_are_for_clinicians(app, db):
    client = TestClient(app)
    page_login(client, "pat1")
    assert client.get(f"/patients/{db.p1}/trend").status_code == 403
    assert client.get("/unit").status_code == 403


class _CountingStore:
    """Stands in for the store: the number of cramp reports is set by the test."""

    def __init__(self) -> None:
        self.reports = 0

    def count_reports(self) -> int:
        return self.reports

    def list_patients(self) -> list[str]:
        return ["p1"]


def test_views_during_a_recomputation_get_the_previous_overview_unless_a_report_came(monkeypatch):
    import threading
    from types import SimpleNamespace

    computed: list[int] = []
    release = threading.Event()

    def slow_patient(store, patient_id):
        computed.append(store.reports)
        release.wait(10)
        return SimpleNamespace(burden=store.reports, recent_risk=0.0, name=patient_id, id=patient_id)

    monkeypatch.setattr(trends, "_unit_patient", slow_patient)
    store, overview = _CountingStore(), trends.UnitOverview(ttl_s=0.0)
    release.set()
    first = overview.get(store)
    release.clear()
    recomputing = threading.Thread(target=overview.get, args=(store,))
    recomputing.start()
    while len(computed) < 2:
        threading.Event().wait(0.005)
    # the overview has expired and one view is recomputing it: the others get the previous one at once
    assert all(overview.get(store) == first for _ in range(5))
    assert len(computed) == 2
    # a cramp report came: the next view waits for an overview that includes it
    store.reports = 1
    answers: list = []
    waiting = threading.Thread(target=lambda: answers.append(overview.get(store)))
    waiting.start()
    waiting.join(0.2)
    assert answers == []
    release.set()
    recomputing.join(5)
    waiting.join(5)
    assert computed == [0, 0, 1] and answers[0][1][0].burden == 1
