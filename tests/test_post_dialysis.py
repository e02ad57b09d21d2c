"""The hour after dialysis: machine off, urea rebound from the slow pools against published figures, eKt/V
from the equilibrated urea against the rate equation, and the analyzer's equilibrated dose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crampwatch.causes import assess
from crampwatch.errors import InputError
from crampwatch.kinetics import ekt_v_rate, sp_ktv_daugirdas
from crampwatch.model import load_scenario
from crampwatch.population import virtual_population
from crampwatch.simulator import patient_parameters, session_controls, simulate, simulate_parameters

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def population() -> list:
    return virtual_population(300, seed=1)


def _at(res: object, name: str, minutes_after_end: float) -> np.ndarray:
    rows = np.arange(len(res))
    col = np.rint((res.duration_min + minutes_after_end) / (res.t_min[1] - res.t_min[0])).astype(int)
    return res.signals[name][rows, col]


def test_machine_is_off_after_the_session() -> None:
    sc = load_scenario(EXAMPLES[-1])
    d = sc.prescription.duration_min
    data = simulate(sc, after_min=45).data
    after = data[data["t_min"] > d]
    assert len(after) == 45 and after["t_min"].iloc[-1] == pytest.approx(d + 45)
    assert (after["qb_ml_min"] == 0).all() and (after["uf_rate_ml_h"] == 0).all()
    assert np.ptp(data.loc[data["t_min"] >= d, "uf_cum_l"]) == 0.0
    within = data[data["t_min"] <= d].reset_index(drop=True)
    np.testing.assert_allclose(within.to_numpy(), simulate(sc).data.to_numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", [-1.0, 120.5, float("nan")])
def test_after_min_outside_0_120_is_refused(bad: float) -> None:
    with pytest.raises(InputError, match="after_min.*0–120"):
        simulate(load_scenario(EXAMPLES[0]), after_min=bad)


def test_urea_rebound_matches_published_time_course(population: list) -> None:
    """Redistribution alone (urea generation and residual clearance off): rebound 10-20 % of the post value
    (median), mostly complete by 30 min (>= 80 % of its 2-h value), finished by ~60 min (>= 95 %)
    (round-2 reference: Tattersall 1996; Daugirdas & Schneditz 1995)."""
    p = patient_parameters(population)
    p.g_urea = np.zeros(p.n)
    p.kr = np.zeros(p.n)
    res = simulate_parameters(p, session_controls(population, 1.0, 120.0))
    ok = ~res.failed
    post = _at(res, "urea_mmol_l", 0)[ok]
    rebound = {m: 100.0 * (_at(res, "urea_mmol_l", m)[ok] / post - 1.0) for m in (30, 60, 120)}
    assert 10.0 <= np.median(rebound[120]) <= 20.0
    assert (rebound[30] / rebound[120] >= 0.8).all()
    assert (rebound[60] / rebound[120] >= 0.95).all()


def test_equilibrated_ktv_agrees_with_the_rate_equation(population: list) -> None:
    """eKt/V from the 30-min post-dialysis urea (Daugirdas II with the equilibrated value, urea generation
    on) vs the Daugirdas rate equation from the immediate post value: mean within 0.05, 90 % within 0.1."""
    res = simulate_parameters(patient_parameters(population), session_controls(population, 1.0, 30.0))
    diffs = []
    for i, sc in enumerate(population):
        if res.failed[i]:
            continue
        pre, hours = res.signals["urea_mmol_l"][i, 0], sc.prescription.duration_min / 60.0
        post = _at(res, "urea_mmol_l", 0)[i]
        eq = _at(res, "urea_mmol_l", 30)[i]
        args = (hours, sc.uf_volume_l, sc.patient.dry_weight_kg)
        sp = sp_ktv_daugirdas(pre, post, *args)
        diffs.append(sp_ktv_daugirdas(pre, eq, *args) - ekt_v_rate(sp, hours, sc.patient.access))
    diffs = np.array(diffs)
    assert abs(diffs.mean()) < 0.05
    assert np.mean(np.abs(diffs) < 0.1) >= 0.9


def test_potassium_and_blood_pressure_recover_after_dialysis(population: list) -> None:
    """Machine off: K leaves the cells again (post-dialysis K rebound, Blumberg A et al. NDT 1997) and blood
    pressure recovers as refill continues without UF."""
    res = simulate_parameters(patient_parameters(population), session_controls(population, 1.0, 60.0))
    ok = ~res.failed
    assert (_at(res, "plasma_k_mmol_l", 60)[ok] > _at(res, "plasma_k_mmol_l", 0)[ok]).all()
    assert np.median(_at(res, "sbp_mmhg", 30)[ok] - _at(res, "sbp_mmhg", 0)[ok]) > 0.0


def test_analyzer_reports_equilibrated_ktv_beside_the_rate_equation() -> None:
    sc = load_scenario(EXAMPLES[-1])
    plain = assess(simulate(sc), sc)
    with_after = assess(simulate(sc, after_min=60), sc)
    assert plain.metrics["ekt_v_equilibrated"] is None
    eq, rate = with_after.metrics["ekt_v_equilibrated"], with_after.metrics["ekt_v_rate"]
    assert eq is not None and abs(eq - rate) < 0.1
    assert eq < with_after.metrics["sp_ktv"]
    # the hour after dialysis does not change what happened during it
    assert with_after.metrics["sp_ktv"] == pytest.approx(plain.metrics["sp_ktv"], rel=1e-12)
    assert with_after.overall_risk == pytest.approx(plain.overall_risk, rel=1e-12)


def test_analyze_cli_prints_both_equilibrated_values(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import crampwatch.cli.main  # noqa: F401  (registers every command)
    from crampwatch.cli.app import app

    runner = CliRunner()
    out = tmp_path / "trace.csv"
    example = str(EXAMPLES[-1])
    assert runner.invoke(app, ["simulate", example, "--out", str(out), "--after-min", "40"]).exit_code == 0
    r = runner.invoke(app, ["analyze", str(out), "--scenario", example])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "(equilibrated urea)" in text and "(rate equation); spKt/V" in text
