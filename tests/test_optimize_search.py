"""Search logic, decision space, constraints and ensemble of the optimizer.

The search tests use a tiny closed-form stand-in evaluator (injected into ``search``) so that they test the
search itself: that it finds the one setting that matters, respects every constraint, prefers minimal
change and explains infeasibility. The real simulator and analyzer are exercised in
``test_optimize_real.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from crampwatch.errors import InputError
from crampwatch.model import Scenario, load_scenario
from crampwatch.optimizer.constraints import (
    Constraints,
    na_gradient_mmol_l,
    options_for,
    plasma_na_mmol_l,
    project,
    static_violations,
)
from crampwatch.optimizer.ensemble import patient_ensemble, volume_scales
from crampwatch.optimizer.evaluate import Evaluation, dose_from_urea
from crampwatch.optimizer.search import search
from crampwatch.optimizer.space import apply_knobs, describe_changes, knobs_from

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CAUSE_IDS = ("hypovolemia", "osmotic", "hypocalcemia", "hypomagnesemia", "disequilibrium")


def _load(name: str) -> Scenario:
    return load_scenario(EXAMPLES / f"{name}.yaml")


class StandIn:
    """Closed-form toy evaluator: UF rate drives hypovolemia, a negative Na gradient drives the osmotic cause,
    low dialysate Ca hypocalcemia, low Mg hypomagnesemia; Kt/V = 0.7 Qb t / V. Temperature does nothing."""

    def __init__(self) -> None:
        self.calls = 0
        self.n = 0

    def shape_factor(self, profile: str | list) -> float:
        return {"linear_decreasing": 0.85, "step": 0.9}.get(profile if isinstance(profile, str) else "", 1.0)

    def __call__(self, scenarios: Sequence[Scenario], volume_scale: np.ndarray | None = None) -> Evaluation:
        self.calls += 1
        self.n += len(scenarios)
        rows = []
        for s in scenarios:
            rx, p = s.prescription, s.patient
            uf = s.uf_volume_l
            dur = rx.duration_min
            ufr = 1000 * uf / (dur / 60) / s.post_weight_kg
            shape = self.shape_factor(rx.uf_profile)
            hypo = float(np.clip((ufr * shape * (1.5 - 0.5 * p.refill_capacity) - 8) / 10, 0, 1))
            grad = rx.mean_dialysate_na() - plasma_na_mmol_l(s)
            osm = float(np.clip(-grad / 8, 0, 1))
            ca = float(np.clip((1.5 - rx.dialysate.ca_mmol_l) * 1.5, 0, 1))
            mg = float(np.clip((0.5 - rx.dialysate.mg_mmol_l) * 2, 0, 1))
            v_l = 0.55 * p.pre_weight_kg * (1.0 if volume_scale is None else volume_scale[len(rows)])
            ktv = 0.7 * rx.qb_ml_min * dur / (v_l * 1000)
            urr = 100 * (1 - np.exp(-ktv))
            dde = float(np.clip((urr - 40) / 30, 0, 1)) if p.vintage_months == 0 else 0.0
            causes = [hypo, osm, ca, mg, dde]
            risk = 1 - float(np.prod([1 - c for c in causes]))
            rows.append((risk, 0.8 * hypo, causes, ktv, urr, uf, dur))
        arr = list(zip(*rows, strict=True))
        causes = np.array(arr[2])
        return Evaluation(
            risk=np.array(arr[0]),
            idh_risk=np.array(arr[1]),
            causes={c: causes[:, i] for i, c in enumerate(CAUSE_IDS)},
            sp_ktv=np.array(arr[3]),
            urr_pct=np.array(arr[4]),
            uf_l=np.array(arr[5], dtype=float),
            duration_min=np.array(arr[6], dtype=float),
        )


class LateRestStandIn(StandIn):
    """Rewards piecewise profiles in proportion to how little UF is left for the last quarter."""

    def shape_factor(self, profile: str | list) -> float:
        if isinstance(profile, str):
            return super().shape_factor(profile)
        pts = list(profile)
        mean = np.mean([f for _, f in pts])
        return 0.5 + 0.4 * pts[-1][1] / mean


def _run(name: str, **kw):
    ev = StandIn()
    res = search(_load(name), evaluator=ev, n_ensemble=kw.pop("n_ensemble", 4), **kw)
    return res, ev


# ---------------------------------------------------------------------- search logic


def test_search_finds_longer_time_for_high_uf_and_leaves_irrelevant_settings_alone():
    res, ev = _run("high_uf")
    assert res.infeasible is None and res.recommendations
    best = res.recommendations[0]
    assert best.scenario.prescription.duration_min > 210
    assert best.outcome.risk < res.current.risk - 0.1
    # temperature has no effect in the stand-in, so the change penalty keeps it as prescribed
    assert all("temp_c" not in ch for r in res.recommendations for ch in r.changes)
    assert "hypovolemia" in best.addresses
    # one batch call per stage: current prescription, lattice, combinations, refinements, finalists over
    # the ensemble and their neighbours over the ensemble
    assert ev.calls <= 6
    risks = [r.outcome.risk for r in res.recommendations]
    assert risks == sorted(risks)


def test_free_piecewise_profile_is_searched_when_fluid_removal_is_the_cause():
    sc = _load("high_uf")
    res = search(sc, evaluator=LateRestStandIn(), n_ensemble=2, constraints=Constraints(max_duration_min=240))
    prof = res.recommendations[0].scenario.prescription.uf_profile
    assert isinstance(prof, list) and len(prof) == 4
    fr = [f for _, f in prof]
    assert fr[-1] <= 0.6 and all(0.4 <= f <= 1.6 for f in fr)
    assert [t for t, _ in prof] == [0.0, 60.0, 120.0, 180.0]
    assert "piecewise, 4 equal parts" in " ".join(res.recommendations[0].changes)


def test_search_raises_low_dialysate_na_and_ca():
    res, _ = _run("low_na_dialysate")
    rx = res.recommendations[0].scenario.prescription
    assert rx.mean_dialysate_na() >= 138  # plasma 140, gradient window -2..+2
    res, _ = _run("low_ca_first_year")
    rx = res.recommendations[0].scenario.prescription
    assert rx.dialysate.ca_mmol_l >= 1.5 and rx.dialysate.mg_mmol_l >= 0.5


def test_first_session_limits_and_note():
    res, _ = _run("first_session_high_bun")
    assert any("spKt/V target does not apply" in n for n in res.notes)
    for r in res.recommendations:
        rx = r.scenario.prescription
        assert rx.duration_min <= 150 and rx.qb_ml_min <= 200
        assert r.outcome.urr_pct < 40


def test_infeasible_goal_is_explained():
    sc = _load("high_uf")
    sc = sc.model_copy(update={"prescription": sc.prescription.model_copy(update={"uf_volume_l": 8.0})})
    res = search(
        sc,
        evaluator=StandIn(),
        n_ensemble=2,
        constraints=Constraints(max_duration_min=240, target_sp_ktv=2.5),
    )
    assert res.recommendations == []
    assert res.infeasible and "spKt/V" in res.infeasible and "2.50" in res.infeasible
    d = res.to_dict()
    assert d["recommendations"] == [] and isinstance(d["infeasible"], str)


@pytest.mark.parametrize("name", ["high_uf", "low_na_dialysate", "low_ca_first_year", "stable"])
def test_recommendations_satisfy_static_and_outcome_constraints(name):
    c = Constraints(allow_extra_session=True)
    sc = _load(name)
    res = search(sc, evaluator=StandIn(), n_ensemble=3, constraints=c, top_k=3)
    plasma = plasma_na_mmol_l(sc)
    for r in res.recommendations:
        k = knobs_from(r.scenario)
        assert static_violations(k, sc, c, allow_high_ca=True) == []
        assert -2 - 1e-9 <= na_gradient_mmol_l(k, plasma) <= 2 + 1e-9
        assert 1.25 <= k.ca_mmol_l <= 1.75 and 0.5 <= k.mg_mmol_l <= 1.0 and 35 <= k.temp_c <= 37
        assert 30 <= k.hco3_mmol_l <= 38
        assert 180 <= k.duration_min <= 300 and 200 <= k.qb_ml_min <= 450
        assert r.outcome.sp_ktv >= c.min_sp_ktv(k.sessions_per_week)
        assert r.outcome.uf_l >= r.outcome.uf_required_l - c.uf_tolerance_l
        Scenario.model_validate(r.scenario.model_dump())  # the recommendation is a valid scenario


def test_result_json_has_the_contract_keys():
    res, _ = _run("high_uf")
    d = json.loads(res.to_json())
    assert set(d) >= {"current", "recommendations", "infeasible"}
    assert set(d["current"]) >= {"risk", "idh_risk", "sp_ktv", "uf_l", "duration_min"}
    rec = d["recommendations"][0]
    contract = {"prescription", "risk", "risk_range", "idh_risk", "sp_ktv", "uf_l", "changes", "addresses"}
    assert set(rec) >= contract | {"rationale"}
    assert rec["risk_range"][0] <= rec["risk"] + 1e-9 or rec["risk_range"][0] <= rec["risk_range"][1]
    assert any(ch.startswith("duration_min 210 -> ") for ch in rec["changes"])
    assert rec["prescription"]["duration_min"] > 210


# ---------------------------------------------------------------------- space & constraints


def test_every_lattice_candidate_is_a_valid_scenario_and_round_trips():
    for name in ("high_uf", "low_na_dialysate", "first_session_high_bun"):
        sc = _load(name)
        opts = options_for(sc, Constraints(allow_extra_session=True), allow_high_ca=True)
        base = project(knobs_from(sc), opts)
        for variants in opts.variants(base).values():
            for k in variants:
                cand = apply_knobs(sc, k, 2.0)
                Scenario.model_validate(cand.model_dump())
                assert knobs_from(cand) == k


def test_projection_moves_out_of_range_settings_inside():
    sc = _load("low_ca_first_year")  # Ca 1.0, Mg 0.25 below the allowed ranges
    opts = options_for(sc, Constraints(), allow_high_ca=False)
    base = project(knobs_from(sc), opts)
    assert base.ca_mmol_l == 1.25 and base.mg_mmol_l == 0.5 and base.hco3_mmol_l == 38
    changes = describe_changes(sc, knobs_from(sc), base, 2.0, 2.0)
    assert [c.code for c in changes] == [
        "dialysate_ca_mmol_l 1 -> 1.25",
        "dialysate_mg_mmol_l 0.25 -> 0.5",
        "dialysate_hco3_mmol_l 40 -> 38",
    ]
    assert [c.text for c in changes] == [
        "Dialysate Ca 1 → 1.25 mmol/L",
        "Dialysate Mg 0.25 → 0.5 mmol/L",
        "Dialysate bicarbonate 40 → 38 mmol/L",
    ]


def test_na_profile_mean_and_gradient():
    sc = _load("stable")
    k = knobs_from(sc).with_(na_mmol_l=140.0, na_profile=((0.0, 144.0), (1.0, 136.0)))
    assert k.mean_na_mmol_l() == pytest.approx(140.0)
    rx = apply_knobs(sc, k, 2.0).prescription
    assert rx.mean_dialysate_na() == pytest.approx(140.0, abs=0.01)


def test_constraints_reject_bad_values_with_one_line_message():
    with pytest.raises(InputError, match="max_duration_min"):
        Constraints(max_duration_min=5000)
    with pytest.raises(InputError, match="min_duration_min"):
        Constraints(min_duration_min=280, max_duration_min=240)
    with pytest.raises(InputError, match="ca_range_mmol_l"):
        Constraints(ca_range_mmol_l=(1.75, 1.25))
    assert Constraints().min_sp_ktv(4) == pytest.approx(0.8)


def test_ensemble_is_seeded_and_stays_in_range():
    p = _load("high_uf").patient
    a = patient_ensemble(p, 8, seed=3)
    b = patient_ensemble(p, 8, seed=3)
    c = patient_ensemble(p, 8, seed=4)
    assert a[0] == p and a == b and a != c
    refill = [m.refill_capacity for m in a]
    assert len(set(refill)) == 8 and all(0.1 <= r <= 4 for r in refill)
    assert all(0 <= m.baroreflex_strength <= 3 for m in a)
    assert all(m.labs.urea_mmol_l is None for m in a)  # labs that were not entered stay missing
    assert np.std([m.labs.na_mmol_l for m in a[1:]]) > 0.5
    s = volume_scales(8, 3)
    assert s[0] == 1 and np.all((s >= 0.85) & (s <= 1.15))


def test_dose_from_urea_matches_daugirdas():
    from crampwatch.kinetics import sp_ktv_daugirdas

    urea = np.array([[25.0, 20.0, 12.0, 9.0, np.nan], [np.nan, 30.0, 20.0, 15.0, 10.0]])
    sp, urr = dose_from_urea(urea, np.array([240.0, 210.0]), np.array([3.0, 2.0]), np.array([74.0, 80.0]))
    assert sp[0] == pytest.approx(sp_ktv_daugirdas(25 / 0.357, 9 / 0.357, 4.0, 3.0, 71.0), rel=1e-9)
    assert sp[1] == pytest.approx(sp_ktv_daugirdas(30, 10, 3.5, 2.0, 78.0), rel=1e-9)
    assert urr[0] == pytest.approx(64.0)
