"""One number per quantity across surfaces: predicted risk and weekly standard Kt/V.

The same simulated session (no events) gives the same predicted cramp risk through ``analyze``,
``optimize`` (current), the what-if API "before" and the optimizer API "current"; the analyzer's and the
optimizer's standard Kt/V of the same prescription are the same number.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from test_web_helpers import EXAMPLES, api_login

from crampwatch.causes import assess
from crampwatch.causes.risk_kinds import RISK_KINDS
from crampwatch.model import load_scenario
from crampwatch.optimizer import optimize
from crampwatch.simulator import simulate
from crampwatch.web import services

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures


@pytest.mark.parametrize("name", ["stable", "high_uf", "low_na_dialysate"])
def test_analyze_and_optimize_give_one_predicted_risk_and_one_std_ktv(name):
    sc = load_scenario(EXAMPLES / f"{name}.yaml")
    a = assess(simulate(sc), sc)
    res = optimize(sc, n_ensemble=2, top_k=1)
    assert a.risk_kind == "predicted"
    # one path: the same simulation scored by the same core, so equal to rounding (issue bound: 0.01)
    assert res.current.risk == pytest.approx(a.overall_risk, abs=1e-6)
    assert res.current.idh_risk == pytest.approx(a.idh_risk, abs=1e-6)
    for cause, score in res.current.causes.items():
        assert score == pytest.approx(a.finding(cause).score, abs=1e-6), cause
    assert res.current.sp_ktv == pytest.approx(a.metrics["sp_ktv"], abs=1e-6)
    assert res.current.std_ktv == pytest.approx(a.metrics["std_ktv"], abs=1e-9)
    lo, hi = res.current.risk_range
    assert lo <= res.current.risk <= hi


def test_web_surfaces_show_the_same_predicted_risk(app, db):
    """A stored simulated session without events: session page, what-if "before", optimizer "current"."""
    patient = db.store.get_patient(db.p1).patient
    base = load_scenario(EXAMPLES / "high_uf.yaml")
    trace = simulate(base.model_copy(update={"patient": patient}))
    sid = db.store.add_session(
        db.p1,
        base.prescription,
        trace,
        pre_weight_kg=patient.pre_weight_kg,
        started_at=datetime(2026, 11, 9, 8, tzinfo=UTC),
    )
    scenario = services.session_scenario(patient, db.store.get_session(sid))
    direct = assess(simulate(scenario), scenario).overall_risk

    client = TestClient(app)
    client.headers.update(api_login(client, "clin"))
    session_risk = client.get(f"/api/sessions/{sid}/assessment").json()["overall_risk"]
    whatif = client.post(f"/api/sessions/{sid}/whatif", json={"duration_min": 270})
    assert whatif.status_code == 200, whatif.text
    opt = client.post(f"/api/sessions/{sid}/optimize")
    assert opt.status_code == 200, opt.text
    numbers = {
        "analyze": direct,
        "session page": session_risk,
        "what-if before": whatif.json()["before"]["overall_risk"],
        "optimizer current": opt.json()["current"]["risk"],
        "optimize()": optimize(scenario).current.risk,
    }
    assert max(numbers.values()) - min(numbers.values()) <= 0.01, numbers


def test_the_two_risk_kinds_have_distinct_labels():
    labels = {k.label for k in RISK_KINDS.values()} | {k.short_label for k in RISK_KINDS.values()}
    assert set(RISK_KINDS) == {"predicted", "session"} and len(labels) == 4


@pytest.mark.parametrize("name", ["low_na_dialysate", "high_uf", "low_ca_first_year"])
def test_finding_advice_and_optimizer_follow_the_same_rules(name):
    """Where the optimizer changes dialysate Na, temperature or Ca, the value lies in the range the
    analyzer's finding advises (both read crampwatch.causes.advice)."""
    from crampwatch.causes.advice import (
        CA_MAX_IF_HYPOCALCEMIA_MMOL_L,
        cool_dialysate_range_c,
        dialysate_na_window,
    )
    from crampwatch.optimizer.constraints import plasma_na_mmol_l

    sc = load_scenario(EXAMPLES / f"{name}.yaml")
    a = assess(simulate(sc), sc)
    res = optimize(sc, n_ensemble=2, top_k=3)
    actions = " ".join(r.action for f in a.causes for r in f.recommendations)
    na_lo, na_hi = dialysate_na_window(plasma_na_mmol_l(sc))
    t_lo, t_hi = cool_dialysate_range_c()
    for rec in res.recommendations:
        rx, cur = rec.scenario.prescription, sc.prescription
        if rx.mean_dialysate_na() != pytest.approx(cur.mean_dialysate_na(), abs=1e-6):
            assert na_lo - 1e-6 <= rx.mean_dialysate_na() <= na_hi + 1e-6
            assert f"{na_lo:.0f}–{na_hi:.0f} mmol/L" in actions
        if rx.dialysate.temp_c < cur.dialysate.temp_c:
            assert t_lo <= rx.dialysate.temp_c <= t_hi
        if rx.dialysate.ca_mmol_l > cur.dialysate.ca_mmol_l:
            assert rx.dialysate.ca_mmol_l <= CA_MAX_IF_HYPOCALCEMIA_MMOL_L
            assert "Raise dialysate Ca" in actions
    if "Cool the dialysate" in actions:
        assert f"{t_lo:g}–{t_hi:g} °C" in actions
