"""Patient twin: simulator hook, fit and its uncertainty, personal thresholds, JSON, CLI and store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import crampwatch as cw
from crampwatch.cli.main import app
from crampwatch.errors import InputError
from crampwatch.io.manifest import write_session_manifest
from crampwatch.simulator import simulate_batch
from crampwatch.trace import Trace
from crampwatch.twin import PatientTwin, SessionRecord, fit_twin, personal_thresholds, read_manifest
from crampwatch.twin.priors import population_blood_volume_l
from crampwatch.twin.refill import REFILL_SHARE, refill_fraction
from crampwatch.twin.virtual import RecordErrors, virtual_sessions, virtual_sessions_and_truth
from tests import store_fixtures

database_url = store_fixtures.database_url  # SQLite and PostgreSQL
store = store_fixtures.store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _with_patient(scenario: cw.Scenario, **update: float) -> cw.Scenario:
    return scenario.model_copy(update={"patient": scenario.patient.model_copy(update=update)})


@pytest.fixture(scope="module")
def low_refill() -> list[SessionRecord]:
    return virtual_sessions({"refill_capacity": 0.4}, 6, seed=5, critical_rbv_pct=90.0)


@pytest.fixture(scope="module")
def low_refill_twin(low_refill: list[SessionRecord]) -> PatientTwin:
    return fit_twin(low_refill)


def test_patient_blood_volume_sets_the_early_rbv_fall() -> None:
    """A smaller blood volume falls faster at the start (UF / BV); Nadler's value is the default."""
    sc = cw.load_scenario(EXAMPLES / "high_uf.yaml")
    batch = simulate_batch([_with_patient(sc, blood_volume_ml_kg=v) for v in (50.0, 65.0, 90.0)] + [sc])
    rbv_20 = batch.signals["rbv_pct"][:, 20]
    assert rbv_20[0] < rbv_20[1] < rbv_20[2]
    np.testing.assert_allclose(rbv_20[1], rbv_20[3])  # female: Nadler 65 mL/kg


def test_fit_ranks_refill_capacity_and_covers_the_truth(low_refill_twin: PatientTwin) -> None:
    """Three virtual patients (x0.4, x1, x2.5): fitted values keep the order, intervals hold the truth."""
    truths = (0.4, 1.0, 2.5)
    twins = [low_refill_twin] + [
        fit_twin(virtual_sessions({"refill_capacity": t}, 6, seed=5, patient_index=i))
        for i, t in enumerate(truths[1:], 1)
    ]
    values = [t.parameters["refill_capacity"]["value"] for t in twins]
    assert values == sorted(values)
    for truth, twin in zip(truths, twins, strict=True):
        lo, hi = twin.parameters["refill_capacity"]["ci"]
        assert lo <= truth <= hi
        assert twin.parameters["refill_capacity"]["identified"]
        assert twin.fit["rmse"]["rbv_pct"] < 1.5


def test_bp_only_data_leave_blood_volume_at_its_prior_and_say_so() -> None:
    twin = fit_twin(virtual_sessions({"refill_capacity": 0.5}, 6, seed=8, rbv=False))
    bv = twin.parameters["blood_volume_l"]
    assert not bv["identified"] and "not identified" in bv["note"]
    assert bv["value"] == pytest.approx(bv["population"], rel=0.25)  # within the prior interval
    assert bv["ci"][1] / bv["ci"][0] > 1.4  # about the prior's 95 % width (x0.79-x1.27)
    assert "rbv_pct" not in twin.fit["rmse"]


def test_one_session_fits_says_so_and_is_wider(low_refill: list[SessionRecord], low_refill_twin) -> None:
    one = fit_twin(low_refill[:1])
    assert one.n_sessions == 1 and any("fewer than 3" in w for w in one.warnings)

    def width(t: PatientTwin) -> float:
        lo, hi = t.parameters["refill_capacity"]["ci"]
        return hi / lo

    assert width(one) > 1.15 * width(low_refill_twin)


def test_personal_threshold_counts_sessions() -> None:
    """Cramps in 4 of 5 sessions once RBV fell below 89 %, 1 of 5 that stayed above."""
    sc = cw.load_scenario(EXAMPLES / "stable.yaml")
    lows = [87.2, 88.4, 86.0, 88.9, 87.7, 92.0, 91.0, 92.2, 93.0, 90.1]
    cramped = [True, True, True, True, False, True, False, False, False, False]
    records = []
    for k, (low, c) in enumerate(zip(lows, cramped, strict=True)):
        t = np.arange(0.0, 241.0, 5.0)
        rbv = 100.0 - (100.0 - low) * t / 240.0
        events = pd.DataFrame([{"t_min": 240.0, "kind": "cramp", "severity": 4, "note": ""}]) if c else None
        tr = Trace(pd.DataFrame({"t_min": t, "rbv_pct": rbv}))
        records.append(SessionRecord(sc, tr, events if events is not None else tr.events, f"S{k}"))
    (found,) = personal_thresholds(records)
    assert found.signal == "rbv_pct" and found.value == 89.0
    assert (found.n_cramps, found.n_sessions_below, found.n_cramps_above, found.n_sessions_above) == (
        4,
        5,
        1,
        5,
    )
    assert found.text.startswith("cramps in 4 of 5 sessions once relative blood volume fell below 89 %")


def test_twin_json_round_trip_and_bad_json(low_refill_twin: PatientTwin) -> None:
    data = json.loads(low_refill_twin.to_json())
    assert {"patient_id", "n_sessions", "model_version", "parameters", "fit", "personal_thresholds"} <= set(
        data
    )
    p = data["parameters"]["refill_capacity"]
    assert set(p) >= {"value", "ci", "population", "unit"} and p["population"] == 1.0
    again = PatientTwin.from_dict(data)
    np.testing.assert_allclose(again.log_mean, low_refill_twin.log_mean)
    bad = dict(data, uncertainty={**data["uncertainty"], "log_mean": [9.0, 0.0, 0.0]})
    with pytest.raises(InputError, match="out of range"):
        PatientTwin.from_dict(bad)
    with pytest.raises(InputError, match="refill_capacity"):
        PatientTwin.from_dict({**data, "parameters": {}})


def test_personalize_and_ensemble_use_the_fit(low_refill, low_refill_twin: PatientTwin) -> None:
    sc = low_refill[0].scenario
    personal = low_refill_twin.personalize(sc).patient
    refill = low_refill_twin.parameters["refill_capacity"]
    assert personal.refill_capacity == pytest.approx(refill["value"], rel=1e-3)
    assert personal.critical_rbv_pct == low_refill_twin.threshold("rbv_pct")["value"]
    members = low_refill_twin.ensemble(sc.patient, 40, seed=1)
    draws = np.array([m.refill_capacity for m in members])
    assert draws[0] == pytest.approx(refill["value"], rel=1e-3)
    assert refill["ci"][0] * 0.8 < np.median(draws) < refill["ci"][1] * 1.2
    assert draws.std() > 0


def test_bad_input_is_one_line(tmp_path, low_refill: list[SessionRecord]) -> None:
    other = virtual_sessions({}, 1, seed=5, patient_index=3)
    path = write_session_manifest(low_refill[:2] + other, tmp_path / "mixed")
    with pytest.raises(InputError, match="2 patients"):
        read_manifest(path)
    with pytest.raises(InputError, match="does not exist"):
        read_manifest(tmp_path / "missing.csv")
    rec = low_refill[0]
    hr_only = Trace(pd.DataFrame({"t_min": [0.0, 30.0, 60.0], "hr_bpm": [70.0, 72.0, 75.0]}))
    with pytest.raises(InputError, match="no session has usable measured signals"):
        fit_twin([SessionRecord(rec.scenario, hr_only, hr_only.events, "x")])


def test_cli_fit_manifest(tmp_path, low_refill: list[SessionRecord]) -> None:
    path = write_session_manifest(low_refill[:3], tmp_path / "p")
    out = tmp_path / "twin.json"
    res = CliRunner().invoke(app, ["fit", str(path), "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    printed = json.loads(res.output)
    assert printed["n_sessions"] == 3 and json.loads(out.read_text())["patient_id"] == printed["patient_id"]
    bad = CliRunner().invoke(app, ["fit", str(tmp_path / "nope.csv")])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1


def test_store_fits_and_versions_twins(store, low_refill: list[SessionRecord]) -> None:
    from crampwatch.store.twins import fit_and_store_twin, latest_twin, list_twins

    patient = low_refill[0].scenario.patient
    store.add_patient(patient)
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    for k, rec in enumerate(low_refill[:3]):
        store.add_session(
            patient.id,
            rec.scenario.prescription,
            rec.trace.with_events(rec.events),
            started_at=start + timedelta(days=2 * k),
            pre_weight_kg=rec.scenario.patient.pre_weight_kg,
            labs=rec.scenario.patient.labs,
        )
    first = fit_and_store_twin(store, patient.id, fitted_by="test")
    second = fit_and_store_twin(store, patient.id)
    assert (first.version, second.version) == (1, 2)
    latest = latest_twin(store, patient.id)
    assert latest is not None and latest.version == 2 and latest.twin.n_sessions == 3
    assert [v["version"] for v in list_twins(store, patient.id)] == [2, 1]
    with pytest.raises(InputError, match="not in the database"):
        fit_and_store_twin(store, "NOBODY")


# ------------------------------------------------------------------------------------------------------------
# records that are wrong in realistic ways (benchmarks/twin.py runs the same arms at full size)

ARM_REFILLS = (0.45, 0.9, 1.5, 2.4)


def _arm_fits(errors: list[RecordErrors], rbv: bool = True) -> list[tuple[dict, PatientTwin, float]]:
    """Four virtual patients spanning the refill range, each recorded with its ``errors``; truth in litres
    for the blood volume (at the true dry weight), and the true refill share in %."""
    out = []
    for i, (refill, err) in enumerate(zip(ARM_REFILLS, errors, strict=True)):
        truth = {"refill_capacity": refill, "vascular_reserve": 1.0, "blood_volume": 1.0}
        recs, share = virtual_sessions_and_truth(truth, 6, seed=21, patient_index=i, rbv=rbv, errors=err)
        p = recs[0].scenario.patient
        true_bv_l = population_blood_volume_l(p.sex, p.dry_weight_kg / (1.0 + err.dry_weight_error))
        out.append(({**truth, REFILL_SHARE: 100.0 * share}, fit_twin(recs), true_bv_l))
    return out


def _covered(fits: list[tuple[dict, PatientTwin, float]]) -> dict[str, int]:
    counts = {"refill_capacity": 0, "vascular_reserve": 0, "blood_volume_l": 0, REFILL_SHARE: 0}
    for truth, twin, bv_l in fits:
        values = (truth["refill_capacity"], 1.0, bv_l, truth[REFILL_SHARE])
        for key, value in zip(counts, values, strict=True):
            lo, hi = twin.parameters[key]["ci"]
            counts[key] += int(lo <= value <= hi)
    return counts


def _refill_order_kept(fits: list[tuple[dict, PatientTwin, float]]) -> bool:
    values = [twin.parameters["refill_capacity"]["value"] for _, twin, _ in fits]
    return values == sorted(values)


@pytest.mark.parametrize(
    "arm",
    [
        [RecordErrors(machine_noise=True)] * 4,
        [RecordErrors(missing_fraction=0.2)] * 4,
        [RecordErrors(dry_weight_error=e) for e in (0.05, -0.05, 0.03, -0.03)],
        [RecordErrors(albumin_error_g_dl=e) for e in (0.4, -0.4, 0.8, -0.8)],
        [RecordErrors(hct_error_pct=e) for e in (3.4, -3.4, 6.8, -6.8)],
        [
            RecordErrors(True, 0.2, dry_weight_error=w, albumin_error_g_dl=a, hct_error_pct=h)
            for w, a, h in ((0.05, -0.4, 3.4), (-0.05, 0.4, -3.4), (0.03, 0.8, -6.8), (-0.03, -0.8, 6.8))
        ],
    ],
    ids=["machine-noise", "missing-20pct", "dry-weight-5pct", "albumin-0.4", "hematocrit-3.4", "combined"],
)
def test_intervals_hold_the_truth_when_the_record_is_wrong(arm: list[RecordErrors]) -> None:
    """At the nominal 95 % coverage, 3 or more of 4 intervals hold the truth with probability 0.986."""
    fits = _arm_fits(arm)
    assert min(_covered(fits).values()) >= 3, _covered(fits)
    assert _refill_order_kept(fits)


def test_refill_is_ranked_when_rbv_follows_another_refill_law() -> None:
    """RBV from a refill proportional to the blood-volume deficit: the fitted refill capacity keeps the
    order, and so does the refill share, against the true share under the deficit law."""
    fits = _arm_fits([RecordErrors(refill_law="deficit")] * 4)
    assert _refill_order_kept(fits)
    true_order = np.argsort([truth[REFILL_SHARE] for truth, _, _ in fits])
    fitted_order = np.argsort([twin.parameters[REFILL_SHARE]["value"] for _, twin, _ in fits])
    assert list(true_order) == list(fitted_order)


def test_refill_fraction_is_refill_volume_over_uf_volume() -> None:
    """10 mL/min for 240 min is 2.4 L: 80 % of a 3-L ultrafiltrate (NaN after the end is not counted)."""
    sc = cw.load_scenario(EXAMPLES / "stable.yaml")
    sc = sc.model_copy(update={"prescription": sc.prescription.model_copy(update={"uf_volume_l": 3.0})})
    t = np.arange(0.0, 301.0)
    rate = np.where(t <= 240.0, 10.0, np.nan)
    assert refill_fraction(t, rate[None, :], [sc]) == pytest.approx(0.8)
    assert np.isnan(refill_fraction(t, np.full((1, t.size), np.nan), [sc]))


def test_refill_share_is_reported_with_its_interval(low_refill_twin: PatientTwin) -> None:
    """A low refill capacity (x0.4) refills a smaller share than the population patient would."""
    share = low_refill_twin.parameters[REFILL_SHARE]
    assert share["unit"] == "%" and share["identified"]
    assert share["ci"][0] < share["value"] < share["ci"][1] < share["population"]


def test_uncertain_inputs_widen_the_intervals(low_refill: list[SessionRecord], low_refill_twin) -> None:
    exact = fit_twin(low_refill, uncertain_inputs=False)

    def width(t: PatientTwin, key: str) -> float:
        lo, hi = t.parameters[key]["ci"]
        return hi / lo

    for key in ("refill_capacity", "blood_volume_l"):
        assert width(low_refill_twin, key) > width(exact, key)
    inputs = low_refill_twin.fit["uncertain_inputs"]
    assert set(inputs) == {"dry_weight", "albumin", "hematocrit", "pre_sbp"}
    assert all(0 < v["sd"] <= v["prior_sd"] * 1.001 for v in inputs.values())
    assert exact.fit["uncertain_inputs"] == {}


def test_a_drifting_rbv_monitor_is_found_and_reported() -> None:
    """Machine-like RBV (drift SD 0.8 %-points, correlation time 15 min, steps): the fit finds a drift of
    about that size and reports it; its intervals widen over the same record's export-noise-only fit."""
    truth = {"refill_capacity": 1.0}
    machine = RecordErrors(machine_noise=True)
    noisy = fit_twin(virtual_sessions(truth, 6, seed=21, patient_index=1, errors=machine))
    drift = noisy.fit["measurement_drift"]["rbv_pct"]
    assert 0.4 <= drift["sd"] <= 1.6 and drift["tau_min"] >= 5.0, drift
    clean = fit_twin(virtual_sessions(truth, 6, seed=21, patient_index=1))

    def width(t: PatientTwin) -> float:
        lo, hi = t.parameters["refill_capacity"]["ci"]
        return hi / lo

    assert width(noisy) > width(clean)


def test_a_dry_weight_that_leaves_the_uf_beyond_the_model_is_corrected_not_a_crash() -> None:
    """A 118-kg record whose entered dry weight is 4.6 % too high: with it, sessions of 6.8 L UF remove
    more than 40 % of the extracellular water the model allows. The search starts from the smallest
    dry-weight error that makes every session simulable, and the fit follows the RBV."""
    truth = {"refill_capacity": 0.843, "vascular_reserve": 1.153, "blood_volume": 0.800}
    wrong_dry_weight = RecordErrors(dry_weight_error=0.0459)
    recs = virtual_sessions(truth, 12, seed=103, patient_index=8, errors=wrong_dry_weight)
    assert max(r.scenario.prescription.uf_volume_l for r in recs) > 6.6
    twin = fit_twin(recs)
    assert twin.fit["uncertain_inputs"]["dry_weight"]["shift"] < 0.0
    assert twin.fit["rmse"]["rbv_pct"] < 1.0
    assert all(len(c["rbv_pct"]) > 40 for c in twin.fit["curves"].values())
    share = twin.parameters[REFILL_SHARE]  # its population value: with the same corrected dry weight
    assert share["ci"][0] < share["value"] < share["ci"][1] and 0.0 < share["population"] < 100.0
