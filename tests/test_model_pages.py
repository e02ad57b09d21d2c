"""The unit model in the clinic app: training from the store, model card, assessments, optimizer."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_web_helpers import form_csrf, page_login

from crampwatch.learn.inputs import input_table
from crampwatch.learn.virtual import rule_drivers, rule_logit, unit_scenarios
from crampwatch.optimizer.evaluate import SimulatorEvaluator
from crampwatch.simulator import simulate_batch
from crampwatch.store.kept import latest_jobs
from crampwatch.store.unit_models import active_unit_model, session_labels
from crampwatch.trace import Trace
from crampwatch.web import model_service

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

COLUMNS = [
    "t_min",
    "rbv_pct",
    "sbp_mmhg",
    "dbp_mmhg",
    "uf_cum_l",
    "plasma_na_mmol_l",
    "ica_mmol_l",
    "mg_mmol_l",
]


@pytest.fixture()
def unit_db(db):
    """The web-test database plus 20 patients x 3 sessions whose cramps follow the plasma-Na fall."""
    # a unit whose 60 sessions show the Na-fall rule clearly enough for patient-grouped CV to see it
    scenarios = unit_scenarios(20, 3, seed=14)
    batch = simulate_batch(scenarios)
    eta = rule_logit(
        "sodium", input_table(batch.t_min, batch.signals, scenarios), rule_drivers(batch.t_min, batch.signals)
    )
    cramp = eta > np.quantile(eta, 0.7)
    start = datetime(2026, 10, 1, 8, tzinfo=UTC)
    sessions = []
    for i, sc in enumerate(scenarios):
        if i % 3 == 0:
            db.store.add_patient(sc.patient)
        data = batch.trace(i).data[COLUMNS]
        events = [{"t_min": 150.0, "kind": "cramp"}] if cramp[i] and i % 7 else []
        trace = Trace(data, sources={c: "measured" for c in COLUMNS[1:]})
        sid = db.store.add_session(
            sc.patient.id,
            sc.prescription,
            trace,
            started_at=start + timedelta(days=i),
            pre_weight_kg=sc.patient.pre_weight_kg,
            labs=sc.patient.labs,
        )
        if events:
            db.store.add_events(sid, events)
        elif cramp[i]:  # labelled by the patient's own report only
            db.store.add_report(
                patient_id=sc.patient.id,
                reported_at=start,
                muscle="calf",
                severity=5,
                note="",
                session_id=sid,
                idempotency_key=f"k{i}",
            )
        sessions.append(sid)
    db.sessions, db.cramp = sessions, cramp
    return db


def test_labels_come_from_events_and_linked_reports(unit_db):
    labels = {sid: c for sid, _pid, c in session_labels(unit_db.store)}
    assert [labels[s] for s in unit_db.sessions] == list(unit_db.cramp)
    assert labels[unit_db.s1] and not labels[unit_db.s2]  # the helper database: cramp event / none


def train_and_wait(admin: TestClient, store) -> str:
    """Start a training from the model card and wait (bounded) until its job has ended; the card."""
    card = admin.get("/model").text
    r = admin.post("/model/train", data={"csrf_token": form_csrf(card)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/model"
    deadline = time.monotonic() + 300
    while latest_jobs(store, "train_unit_model")[0].state == "running":
        assert time.monotonic() < deadline, "training did not finish"
        time.sleep(0.2)
    return admin.get("/model").text


def test_admin_trains_and_clinicians_see_the_unit_model(unit_db, app):
    admin = TestClient(app)
    page_login(admin, "adm")
    card = admin.get("/model").text
    assert "No unit model is active" in card
    card = train_and_wait(admin, unit_db.store)
    assert "stored as model 1; it is used only once an administrator makes it active" in card
    assert active_unit_model(unit_db.store) is None  # trained, not active
    r = admin.post("/model/1/activate", data={"csrf_token": form_csrf(card)}, follow_redirects=False)
    assert r.status_code == 303
    card = admin.get("/model/1").text
    assert "</span>62</div>" in card and "</span>22</div>" in card  # sessions, patients
    assert "Analyzer risk (prior)" in card and "Unit model, held-out patients" in card
    assert "plot-figure" in card and "hypomagnesemia" in card and "Decision:" in card
    active = model_service.active_model(unit_db.store)
    assert active is not None and active.model is not None and not active.model.uses_prior, (
        active.model.decision
    )
    assert any(a.action == "train_unit_model" for a in unit_db.store.list_audit())

    clinician = TestClient(app)
    page_login(clinician, "clin")
    page = clinician.get(f"/sessions/{unit_db.sessions[0]}").text
    assert 'id="risk-model"' in page and "Overall risk from the" in page and "unit model of" in page
    stored = unit_db.store.get_session(unit_db.sessions[0]).assessment
    assert stored["risk_model"]["model_id"] == 1 and stored["overall_risk"] == stored["risk_model"]["risk"]
    assert clinician.get("/model").status_code == 200
    token = form_csrf(page)
    assert clinician.post("/model/train", data={"csrf_token": token}).status_code == 403

    r = admin.post("/model/deactivate", data={"csrf_token": form_csrf(admin.get("/model").text)})
    assert r.status_code == 200 and active_unit_model(unit_db.store) is None
    again = clinician.get(f"/sessions/{unit_db.sessions[0]}").text
    assert "no unit model active" in again
    assert "risk_model" not in unit_db.store.get_session(unit_db.sessions[0]).assessment


def test_patients_cannot_see_the_model_card(db, app):
    client = TestClient(app)
    page_login(client, "pat1")
    assert client.get("/model").status_code == 403


def test_training_an_empty_store_is_a_plain_error(tmp_path):
    from crampwatch.errors import InputError
    from crampwatch.store import Store

    with (
        Store.open(f"sqlite:///{tmp_path / 'empty.db'}") as store,
        pytest.raises(InputError, match="no sessions"),
    ):
        model_service.train_from_store(store)


def test_the_optimizer_scores_with_the_given_risk_model():
    scenarios = unit_scenarios(2, 1, seed=1)
    plain = SimulatorEvaluator()(scenarios)
    seen = {}

    def risk_model(t_min, signals, scs):
        seen["n"] = len(scs)
        return np.full(len(scs), 0.123)

    unit = SimulatorEvaluator(risk_model=risk_model)(scenarios)
    assert seen["n"] == 2 and np.allclose(unit.risk, 0.123)
    assert np.allclose(unit.causes["osmotic"], plain.causes["osmotic"])  # the causes keep their scores


def test_calibrate_from_the_database_stores_the_model_inactive_unless_asked(unit_db, tmp_path):
    import json

    from typer.testing import CliRunner

    from crampwatch.cli.main import app as cli

    out = tmp_path / "unit.json"
    r = CliRunner().invoke(cli, ["calibrate", "--database-url", unit_db.url, "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    written = json.loads(out.read_text())
    assert written["training"]["sessions"] == 62 and written["training"]["source"] == "clinic database"
    assert active_unit_model(unit_db.store) is None  # stored, but activated only by an explicit action
    r = CliRunner().invoke(cli, ["calibrate", "--database-url", unit_db.url, "--out", str(out), "--activate"])
    assert r.exit_code == 0 and "made active" in r.output, r.output
    written = json.loads(out.read_text())
    stored = active_unit_model(unit_db.store)
    assert (
        stored is not None
        and stored.trained_by == "cli"
        and stored.data["created_at"] == written["created_at"]
    )


def test_a_model_trained_on_too_few_sessions_keeps_the_analyzer_risk(db, app):
    admin = TestClient(app)
    page_login(admin, "adm")
    card = train_and_wait(admin, db.store)
    admin.post("/model/1/activate", data={"csrf_token": form_csrf(card)})
    r = admin.get("/model/1")
    assert r.status_code == 200
    assert "too few labelled sessions" in r.text and "not run (too few sessions)" in r.text
    assert "keeps the analyzer" in r.text
    clinician = TestClient(app)
    page_login(clinician, "clin")
    page = clinician.get(f"/sessions/{db.s1}").text
    assert "keeps the analyzer" in page  # the badge names the (prior-keeping) unit model
    stored = db.store.get_session(db.s1).assessment
    assert stored["risk_model"]["uses_prior"] is True
