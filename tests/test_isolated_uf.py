"""Isolated (sequential) UF at the start of a session: UF runs, no dialysate flows (``isolated_uf_min``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crampwatch.errors import InputError
from crampwatch.model import dump_scenario, load_scenario, parse_scenario
from crampwatch.prescription_settings import SettingChanges, apply_changes, setting
from crampwatch.simulator import simulate, simulate_batch, simulate_reference

STABLE = Path(__file__).resolve().parents[1] / "examples" / "stable.yaml"


def _stable(isolated_min: float, **rx: object) -> object:
    data = dump_scenario(load_scenario(STABLE))
    data["prescription"].update(isolated_uf_min=isolated_min, uf_volume_l=3.0, **rx)
    return parse_scenario(data)


@pytest.fixture(scope="module")
def pair() -> tuple[object, object]:
    """Batch of the stable example with 0 and 60 min of isolated UF (with model states)."""
    return simulate_batch([_stable(0.0), _stable(60.0)], keep_states=True)


def test_nothing_diffuses_during_isolated_uf(pair: object) -> None:
    """Urea and osmolality stay put while only UF runs (convection removes plasma water at its own
    concentration), and both fall once dialysate flows; without isolated UF urea falls from the start."""
    urea, osm = pair.signals["urea_mmol_l"], pair.signals["osm_mosm_kg"]
    assert urea[1, 60] == pytest.approx(urea[1, 0], rel=0.03)
    assert abs(osm[1, 60] - osm[1, 0]) < 1.0
    assert urea[0, 60] < 0.8 * urea[0, 0]
    assert osm[0, 60] < osm[0, 0] - 3.0
    assert urea[1, 240] < 0.5 * urea[1, 0] and osm[1, 240] < osm[1, 60] - 5.0
    # the dialyzer removed no urea and exchanged no Na by diffusion in the first hour: removal is the
    # ultrafiltrate's content only
    rem_u = pair.states["rem_u"][1]
    uf = pair.states["uf_cum"][1]
    assert rem_u[60] == pytest.approx(uf[60] * urea[1, 30] / 0.93, rel=0.1)


def test_the_full_uf_volume_is_removed_and_blood_flows(pair: object) -> None:
    for i in (0, 1):
        assert pair.signals["uf_cum_l"][i, 240] == pytest.approx(3.0, rel=1e-9)
    assert (pair.signals["qb_ml_min"][1, :60] > 0).all()


def test_isolated_uf_cools_the_patient(pair: object) -> None:
    """Blood returns cooled from a circuit without dialysate (energy transfer of a 34.75 degC bath,
    van der Sande): core temperature falls during isolated UF but not with the example's 36.5 degC bath."""
    t_core = pair.states["t_core"]
    assert t_core[1, 60] < t_core[1, 0] - 0.05
    assert t_core[1, 60] < t_core[0, 60] - 0.05


def test_no_isolated_uf_is_the_default_and_changes_nothing() -> None:
    base = load_scenario(STABLE)
    assert base.prescription.isolated_uf_min == 0.0
    a = simulate(base).data
    b = simulate(
        parse_scenario(
            {
                **dump_scenario(base),
                "prescription": {**dump_scenario(base)["prescription"], "isolated_uf_min": 0.0},
            }
        )
    ).data
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_the_reference_integrator_follows_the_switch() -> None:
    sc = _stable(45.0)
    ref = simulate_reference(sc, method="DOP853", rtol=1e-8).data
    fix = simulate(sc).data
    assert np.max(np.abs(fix["urea_mmol_l"] - ref["urea_mmol_l"]) / ref["urea_mmol_l"]) < 0.005
    assert np.max(np.abs(fix["rbv_pct"] - ref["rbv_pct"])) < 0.2


def test_compiled_and_numpy_agree_with_isolated_uf() -> None:
    scs = [_stable(m) for m in (0.0, 30.0, 90.5, 240.0)]
    a = simulate_batch(scs, backend="compiled", keep_states=True)
    b = simulate_batch(scs, backend="numpy", keep_states=True)
    for name in a.signals:
        np.testing.assert_allclose(a.signals[name], b.signals[name], rtol=1e-9, atol=1e-9, err_msg=name)


def test_isolated_uf_longer_than_the_session_is_refused() -> None:
    with pytest.raises(InputError, match="isolated_uf_min"):
        _stable(300.0)
    with pytest.raises(InputError, match="isolated_uf_min"):
        _stable(-1.0)


def test_it_is_an_adjustable_setting_of_the_what_if() -> None:
    s = setting("isolated_uf_min")
    assert s.form and s.unit == "min" and s.valid_range == (0.0, 600.0)
    rx = apply_changes(load_scenario(STABLE).prescription, {"isolated_uf_min": 30})
    assert rx["isolated_uf_min"] == 30
    with pytest.raises(ValueError):
        SettingChanges(isolated_uf_min=-5)


def test_scenario_tables_carry_isolated_uf() -> None:
    """The columnar simulator (scenario tables) takes the isolated UF time from its column and equals the
    scenario batch; a row whose isolated UF outlasts the session is flagged, naming the field."""
    from crampwatch.scenario_table import invalid_rows, scenario_columns
    from crampwatch.simulator.columns import simulate_columns

    scs = [_stable(m) for m in (0.0, 45.0, 45.0, 120.0)]
    a, b = simulate_batch(scs), simulate_columns(scenario_columns(scs))
    for name, values in a.signals.items():
        np.testing.assert_allclose(values, b.signals[name], rtol=1e-12, atol=1e-12, err_msg=name)
    cols = scenario_columns(scs)
    cols["prescription.isolated_uf_min"] = np.array([0.0, 300.0, 45.0, 120.0])
    bad, why = invalid_rows(cols)
    assert bad.tolist() == [False, True, False, False] and "isolated_uf_min" in why[1]
