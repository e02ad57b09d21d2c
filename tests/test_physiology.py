"""Sub-model checks: parameter table, formulas shared with kinetics, pre-dialysis steady state, anchors,
and mass balance of water and every solute over a session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crampwatch.kinetics import (
    interstitial_oncotic_pressure_mmhg,
    plasma_oncotic_pressure_mmhg,
    sp_ktv_daugirdas,
    watson_volume_l,
)
from crampwatch.model import load_scenario, parse_scenario, with_changes
from crampwatch.physiology import PARAMETERS, initial_state, parameter_table_markdown, patient_parameters, rhs
from crampwatch.physiology.fluid import oncotic_interstitial_mmhg, oncotic_plasma_mmhg
from crampwatch.physiology.model import IDX, N_OUTPUTS, N_STATES, OUTPUTS, STATES
from crampwatch.physiology.parameters import P
from crampwatch.physiology.ukm import single_pool_ktv, single_pool_urea
from crampwatch.simulator import session_controls, simulate_parameters
from crampwatch.units import UREA_N_MG_PER_MMOL

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def _rhs(y: list, u: tuple, p: object, s0: object, n_iter: int) -> tuple[np.ndarray, object, np.ndarray]:
    """(derivatives, baroreflex activation, output signals) of the model right-hand side."""
    shape = np.shape(y[0])
    dy, out = np.empty((N_STATES, *shape)), np.empty((N_OUTPUTS, *shape))
    s = rhs(y, u, p, s0, n_iter, dy, out)
    return dy, s, out


def _man_75kg() -> object:
    return parse_scenario(
        {
            "patient": {
                "sex": "male",
                "age_years": 50,
                "height_cm": 175,
                "pre_weight_kg": 75.0,
                "dry_weight_kg": 75.0,
                "labs": {"hct_pct": 33},
            },
            "prescription": {"uf_volume_l": 0.0},
        }
    )


def test_parameter_table_complete() -> None:
    names = [p.name for p in PARAMETERS]
    assert len(names) == len(set(names))
    for p in PARAMETERS:
        assert p.unit and p.source, p.name
        assert np.isfinite(p.value), p.name
    assert parameter_table_markdown().count("\n") == len(PARAMETERS) + 1


@pytest.mark.parametrize("c", [1.37, 5.0, 7.0, 7.4, 8.0])
def test_oncotic_polynomials_match_kinetics(c: float) -> None:
    assert oncotic_plasma_mmhg(c) == pytest.approx(plasma_oncotic_pressure_mmhg(c), rel=1e-12)
    assert oncotic_interstitial_mmhg(c) == pytest.approx(interstitial_oncotic_pressure_mmhg(c), rel=1e-12)
    assert oncotic_plasma_mmhg(7.4) == pytest.approx(27.95, abs=0.01)  # TV-1.1


def test_anchors_75kg_man() -> None:
    p = patient_parameters([_man_75kg()]).take(0)
    tbw = p.y0_v_ic + p.y0_v_is + p.y0_v_pl + p.v_br
    assert tbw == pytest.approx(41.699, abs=0.01)  # Watson 50 y, 175 cm, 75 kg
    assert p.y0_v_ic + p.v_br == pytest.approx(2.0 / 3.0 * tbw, rel=1e-9)  # brain water is ICF
    assert p.v_tbw0 == pytest.approx(tbw, rel=1e-12)
    assert p.bv0 / 75.0 == pytest.approx(0.070, abs=1e-9)
    assert 3.0 < p.y0_v_pl < 4.0
    assert p.hr0 == 75.0
    assert 130.0 < p.map_set + 2.0 / 3.0 * p.pp0 < 150.0  # pre-SBP of a 50-year-old without diabetes


def test_pre_dialysis_state_is_steady() -> None:
    """With the machine off, nothing moves except urea and acid generation."""
    pa = patient_parameters([load_scenario(f) for f in EXAMPLES])
    y = initial_state(pa)
    u = (np.zeros(pa.n), np.zeros(pa.n), np.full(pa.n, 140.0), np.zeros(pa.n))
    dy, s, _ = _rhs([np.asarray(v, float) for v in y], u, pa, np.zeros(pa.n), 4)
    for name in STATES:
        d = dy[IDX[name]]
        if name == "u_ex":
            np.testing.assert_allclose(
                d, pa.g_urea - pa.kr * pa.y0_u_ex / (pa.y0_v_is + pa.y0_v_pl), atol=1e-12
            )
        elif name == "hco3_ex":
            np.testing.assert_allclose(d, -pa.acid_gen, atol=1e-12)
        else:
            np.testing.assert_allclose(d, 0.0, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(s, 0.0, atol=1e-9)


def test_sodium_flux_vanishes_at_the_fitted_equilibrium() -> None:
    """No diffusive Na flux when measured plasma Na equals the equilibrium 1.015 x dialysate Na (fitted to
    Munoz Mendoza 2011: post-dialysis Na above dialysate Na); an isonatric bath gives the small Na gain that
    equilibrium implies; a bath 2 mmol/L below the equilibrium bath removes Na."""
    pa = patient_parameters([load_scenario(f) for f in EXAMPLES])
    y = [np.asarray(v, float) for v in initial_state(pa)]
    on, no_uf = np.ones(pa.n), np.zeros(pa.n)
    na_plasma = pa.y0_na_ex / (pa.y0_v_is + pa.y0_v_pl) * pa.f_cation
    ratio = P["na_equilibrium_plasma_to_dialysate"]
    dy, _, _ = _rhs(y, (on, no_uf, na_plasma / ratio, on), pa, np.zeros(pa.n), 4)
    np.testing.assert_allclose(dy[IDX["rem_na"]], 0.0, atol=1e-9)
    dy, _, _ = _rhs(y, (on, no_uf, na_plasma, on), pa, np.zeros(pa.n), 4)
    gain = -dy[IDX["rem_na"]]  # mmol/min into the patient
    assert ((gain > 0) & (gain < pa.kd_na * (ratio - 1.0) * na_plasma / pa.f_cation * 1.01)).all()
    dy, _, _ = _rhs(y, (on, no_uf, na_plasma / ratio - 2.0, on), pa, np.zeros(pa.n), 4)
    assert (dy[IDX["rem_na"]] > 0.1).all()


def test_isotonic_ecf_loss_moves_no_cell_water() -> None:
    """Removing 1 L of ECF at its own composition (as ultrafiltration does) leaves ECF and ICF isotonic:
    glucose leaves with the water instead of being concentrated."""
    pa = patient_parameters([load_scenario(f) for f in EXAMPLES])
    y = [np.asarray(v, float).copy() for v in initial_state(pa)]
    v_ex = pa.y0_v_is + pa.y0_v_pl
    keep = (v_ex - 1.0) / v_ex
    for name in ("v_is", "v_pl", "u_ex", "na_ex", "k_ex", "ca_ex", "mg_ex", "hco3_ex"):
        y[IDX[name]] = y[IDX[name]] * keep
    off = np.zeros(pa.n)
    dy, _, _ = _rhs(y, (off, off, np.full(pa.n, 140.0), off), pa, np.zeros(pa.n), 4)
    np.testing.assert_allclose(dy[IDX["v_ic"]], 0.0, atol=1e-12)


def test_scalar_and_array_rhs_agree() -> None:
    pa = patient_parameters([load_scenario(EXAMPLES[0])])
    p = pa.take(0)
    y = [float(v) for v in initial_state(p)]
    y[IDX["v_pl"]] -= 0.3
    y[IDX["u_ex"]] *= 0.8
    u = (1.0, 0.01, 137.0, 1.0)
    ds, _, out_s = _rhs(y, u, p, 0.0, 3)
    da, _, out_a = _rhs([np.array([v]) for v in y], tuple(np.array([v]) for v in u), pa, np.zeros(1), 3)
    np.testing.assert_allclose(ds, da[:, 0], rtol=1e-12, atol=1e-15)
    j = OUTPUTS.index("sbp_mmhg")
    assert out_s[j] == pytest.approx(float(out_a[j, 0]), rel=1e-12)


def test_mass_balance_closes() -> None:
    """initial = final + removed - generated, for water and every solute."""
    scs = [load_scenario(f) for f in EXAMPLES]
    pa = patient_parameters(scs)
    res = simulate_parameters(pa, session_controls(scs), keep_states=True)
    st = res.states
    for i in range(len(scs)):
        last = int(np.flatnonzero(res.t_min <= res.duration_min[i] + 1e-9)[-1])
        t = res.t_min[last]

        def total(names: list[str], j: int, i: int = i) -> float:
            return float(sum(st[n][i, j] for n in names))

        water = ["v_ic", "v_is", "v_pl", "uf_cum"]
        assert total(water, last) == pytest.approx(total(water, 0), rel=1e-12)
        urea = total(["u_ex", "u_ic", "u_br"], last) + st["rem_u"][i, last] - pa.g_urea[i] * t
        assert urea == pytest.approx(total(["u_ex", "u_ic", "u_br"], 0), rel=1e-10)
        for ex, pool, rem in (
            ("na_ex", "na_ic", "rem_na"),
            ("k_ex", "k_ic", "rem_k"),
            ("ca_ex", "ca_pool", "rem_ca"),
            ("mg_ex", "mg_pool", "rem_mg"),
        ):
            final = total([ex, pool, rem], last)
            assert final == pytest.approx(total([ex, pool], 0), rel=1e-10, abs=1e-9), ex
        hco3 = total(["hco3_ex", "hco3_buf", "rem_hco3"], last) + pa.acid_gen[i] * t
        assert hco3 == pytest.approx(total(["hco3_ex"], 0), rel=1e-10)
        # the session really moved these solutes
        assert st["rem_u"][i, last] > 100.0
        assert st["rem_k"][i, last] > 20.0
        assert st["uf_cum"][i, last] == pytest.approx(scs[i].uf_volume_l, rel=1e-9)


def test_measured_pre_dialysis_vitals_are_used() -> None:
    """When a scenario carries pre_sbp_mmhg / pre_hr_bpm (optional fields), they set the start values."""
    sc = _man_75kg()
    sc.patient.__dict__["pre_sbp_mmhg"] = 118.0
    sc.patient.__dict__["pre_hr_bpm"] = 88.0
    p = patient_parameters([sc]).take(0)
    assert p.map_set + 2.0 / 3.0 * p.pp0 == pytest.approx(118.0)
    assert p.hr0 == 88.0


def test_single_pool_ukm() -> None:
    """Formal UKM inverts the single-pool variable-volume solution, reduces to ln(C0/Ct) without UF and
    generation, and Daugirdas II approximates it (TV-2.1-like session: 4 h, 3 L UF, V/W 0.55)."""
    v_post, k, g, uf, t = np.array([35.0, 28.0]), np.array([0.25, 0.3]), np.array([0.2, 0.1]), 2.5, 240.0
    c_post = single_pool_urea(25.0, v_post, k, 0.002, g, uf, t)
    np.testing.assert_allclose(single_pool_ktv(25.0, c_post, k, 0.002, g, uf, t), k * t / v_post, rtol=1e-9)
    c_plain = single_pool_urea(25.0, 40.0, 0.2, 0.0, 0.0, 0.0, 240.0)
    assert float(np.log(25.0 / c_plain)) == pytest.approx(0.2 * 240.0 / 40.0, rel=1e-6)
    c3 = float(single_pool_urea(21.4, 38.5, 0.23, 0.0, 0.2, 3.0, 240.0))
    sp = float(single_pool_ktv(21.4, c3, 0.23, 0.0, 0.2, 3.0, 240.0))
    assert sp_ktv_daugirdas(21.4 * 2.8, c3 * 2.8, 4.0, 3.0, 70.0) == pytest.approx(sp, abs=0.05)


def test_urea_generation_follows_the_patients_npcr() -> None:
    """The session model generates urea from the patient's nPCR (Borah 1978: PCR = 9.35 G + 0.294 V), default
    1.0 g/kg/day, normalised to V/0.58 as the standard defines (not to dry weight), the same value and
    relation as the weekly model."""
    sc = _man_75kg()
    v = watson_volume_l("male", 50, 175, 75.0)
    default = patient_parameters([sc]).g_urea[0]
    assert default * UREA_N_MG_PER_MMOL == pytest.approx((1.0 * v / 0.58 - 0.294 * v) / 9.35, rel=1e-12)
    sc = with_changes(sc, patient=with_changes(sc.patient, npcr_g_kg_d=1.4))
    assert patient_parameters([sc]).g_urea[0] * UREA_N_MG_PER_MMOL == pytest.approx(
        (1.4 * v / 0.58 - 0.294 * v) / 9.35, rel=1e-12
    )
    with pytest.raises(ValueError, match="npcr_g_kg_d"):
        with_changes(sc.patient, npcr_g_kg_d=4.0)
    with pytest.raises(ValueError, match="frozen"):
        sc.patient.npcr_g_kg_d = 1.0  # type: ignore[misc]


def test_docs_carry_the_current_parameter_table() -> None:
    """docs/model.md and docs/calibration.md end with the table generated from the parameter table."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    table = parameter_table_markdown()
    for name in ("model.md", "calibration.md"):
        assert table in (docs / name).read_text(), name
