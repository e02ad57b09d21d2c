"""Closed-form clinical kinetics against published worked values (test vectors TV-x.y) and error cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crampwatch import kinetics as k
from crampwatch.errors import InputError

# --- TV-1.x: oncotic pressure, hematocrit, effective blood flow, cell equilibrium -------------------------


def test_tv_1_1_to_1_3_landis_oncotic_pressures() -> None:
    assert k.plasma_oncotic_pressure_mmhg(7.4) == pytest.approx(27.95, abs=0.01)
    assert k.interstitial_oncotic_pressure_mmhg(1.37) == pytest.approx(4.205, abs=0.01)
    assert k.plasma_oncotic_pressure_mmhg(8.0) == pytest.approx(31.65, abs=0.01)
    assert k.plasma_oncotic_pressure_mmhg(7.0) == pytest.approx(25.63, abs=0.01)
    arr = k.plasma_oncotic_pressure_mmhg(np.array([7.0, 8.0]))
    np.testing.assert_allclose(arr, [25.63, 31.65], atol=0.01)


def test_tv_1_4_guyton_and_tv_1_5_de_los_reyes() -> None:
    assert k.guyton_plasma_oncotic_pressure_mmhg(70) == pytest.approx(28.91, abs=0.01)
    pi_p, pi_i = k.delosreyes_oncotic_pressures_mmhg(70, 20)
    assert pi_p == pytest.approx(25.98, abs=0.01)
    assert pi_i == pytest.approx(6.03, abs=0.01)


def test_tv_1_6_hct_with_constant_red_cell_volume() -> None:
    assert k.hct_constant_red_cell_volume(0.33, 3.0, 2.6) == pytest.approx(0.3624, abs=0.0005)
    assert k.hct_constant_red_cell_volume(0.33, 3.0, 3.0) == pytest.approx(0.33, abs=1e-12)


def test_tv_1_7_effective_blood_water_flow() -> None:
    assert k.effective_blood_water_flow_ml_min(300, 0.30) == pytest.approx(262.2, abs=0.1)
    assert k.effective_blood_water_flow_ml_min(300, 0.30, solute="na") == pytest.approx(197.4, abs=0.1)
    # never exceeds blood flow (the Hct-weighted form)
    assert k.effective_blood_water_flow_ml_min(300, 0.6) < 300


def test_tv_1_8_cell_equilibrium() -> None:
    assert k.cell_equilibrium_conc_mmol_l(0.0704, 140) == pytest.approx(9.86, abs=0.01)
    assert k.cell_equilibrium_conc_mmol_l(28.2, 4.5) == pytest.approx(126.9, abs=0.01)


# --- TV-2.x: urea dose, body water, dialyzer clearance ------------------------------------------------------


def test_tv_2_1_daugirdas_ii() -> None:
    assert k.sp_ktv_daugirdas(60, 18, 4, 3, 70) == pytest.approx(1.443, abs=0.001)
    vec = k.sp_ktv_daugirdas(np.array([60, 60]), np.array([18, 24]), 4, 3, 70)
    assert vec.shape == (2,)
    assert vec[0] == pytest.approx(1.443, abs=0.001)
    assert vec[1] < vec[0]


def test_tv_2_2_to_2_4_equilibrated_ktv() -> None:
    assert k.ekt_v_rate(1.4432, 4) == pytest.approx(1.257, abs=0.001)
    assert k.ekt_v_tattersall(1.4432, 240) == pytest.approx(1.260, abs=0.001)
    assert k.ekt_v_tattersall(1.4432, 240, tp_min=36) == pytest.approx(1.255, abs=0.001)
    assert k.ekt_v_tattersall(1.4432, 240, tp_min=22) == pytest.approx(1.322, abs=0.001)
    assert k.ekt_v_rate(1.4432, 4, access="catheter") == pytest.approx(1.294, abs=0.001)


def test_tv_2_5_urr_and_tv_2_6_modified_urr() -> None:
    assert k.urr_pct(60, 18) == pytest.approx(70.0, abs=1e-9)
    assert -math.log(18 / 60) == pytest.approx(1.204, abs=0.001)
    assert k.modified_urr_pct(0.30, 3, 70, 4) == pytest.approx(76.4, abs=0.1)


def test_tv_2_7_ktv_from_clearance() -> None:
    assert k.ktv_from_clearance(250, 240, 42) == pytest.approx(1.4286, abs=0.001)


def test_tv_2_8_to_2_10_watson() -> None:
    assert k.watson_volume_l("male", 50, 175, 70) == pytest.approx(40.02, abs=0.01)
    assert k.watson_volume_l("male", 30, 175, 75) == pytest.approx(43.60, abs=0.01)
    assert k.watson_volume_l("female", 40, 165, 65) == pytest.approx(31.57, abs=0.01)
    # women's equation has no age term
    assert k.watson_volume_l("female", 80, 165, 65) == k.watson_volume_l("female", 20, 165, 65)


def test_tv_2_11_to_2_13_michaels() -> None:
    assert k.michaels_clearance_ml_min(1000, 300, 500) == pytest.approx(262.4, abs=0.1)
    got = k.michaels_clearance_ml_min(
        np.array([1000, 1000, 800, 1200, 500]),
        np.array([400, 400, 300, 350, 200]),
        np.array([500, 800, 500, 500, 500]),
    )
    np.testing.assert_allclose(got, [305.7, 333.1, 248.0, 299.9, 170.6], atol=0.1)
    assert k.michaels_koa_ml_min(
        float(k.michaels_clearance_ml_min(1000, 300, 500)), 300, 500
    ) == pytest.approx(1000.0, abs=0.01)


def test_michaels_equal_flows_limit_is_continuous() -> None:
    at = k.michaels_clearance_ml_min(1000, 500, 500)
    assert at == pytest.approx(500 * 2 / 3, rel=1e-12)  # NTU/(1+NTU) with NTU = 2
    near = k.michaels_clearance_ml_min(1000, 500, 500.001)
    assert near == pytest.approx(at, rel=1e-5)
    assert k.michaels_koa_ml_min(at, 500, 500) == pytest.approx(1000, rel=1e-9)
    # clearance never exceeds either flow
    assert k.michaels_clearance_ml_min(5000, 100, 3000) <= 100
    assert k.michaels_clearance_ml_min(5000, 800, 50) <= 50


def test_tv_2_14_uf_corrections() -> None:
    assert k.sargent_gotch_clearance(262.43, 300, 12.5) == pytest.approx(263.99, abs=0.01)
    assert k.jaffrin_clearance(262.43, 12.5) == pytest.approx(268.18, abs=0.01)


def test_tv_2_15_speedy() -> None:
    r = k.speedy_clearance(1000, 300, 500, qf_ml_min=12.5)
    assert r.qbw_ml_min == pytest.approx(268.2, abs=1e-9)
    assert r.kd_ml_min == pytest.approx(243.80, abs=0.01)
    assert r.k_conv_ml_min == pytest.approx(1.137, abs=0.01)
    assert r.k_total_ml_min == pytest.approx(244.94, abs=0.01)


def test_tv_2_16_inadequate_dose() -> None:
    assert k.inadequate_dose(1.1, 70)
    assert k.inadequate_dose(1.3, 60)
    assert not k.inadequate_dose(1.3, 68)
    assert not k.inadequate_dose(k.KDOQI_MIN_SP_KTV, k.KDOQI_MIN_URR_PCT)
    assert k.KDOQI_TARGET_SP_KTV == 1.4


# --- TV-3.1, TV-4.x ----------------------------------------------------------------------------------------


def test_tv_3_1_blood_and_plasma_volume() -> None:
    assert k.rbv_from_hct(33, 36.3) == pytest.approx(0.9091, abs=0.0001)
    assert k.plasma_hemoconcentration(33, 36.3) == pytest.approx(1.1570, abs=0.0001)
    assert k.relative_plasma_volume(33, 36.3) == pytest.approx(0.8643, abs=0.0001)


def test_tv_4_1_and_4_2_osmolality() -> None:
    assert k.osmolality_calc_mosm_kg(140, 90, 14) == pytest.approx(290.0, abs=0.1)
    pre = k.osmolality_calc_mosm_kg(138, 100, 70)
    post = k.osmolality_calc_mosm_kg(140, 100, 21)
    assert pre == pytest.approx(306.56, abs=0.05)
    assert post == pytest.approx(293.06, abs=0.05)
    assert post - pre == pytest.approx(-13.5, abs=0.05)


def test_unit_conversions_round_trip() -> None:
    # 1 mmol urea carries 2 N = 28.014 mg nitrogen (N 14.007 g/mol); BUN x 0.357 is its 3-digit rounding
    assert k.bun_mg_dl_to_urea_mmol_l(28.014) == pytest.approx(10.0, abs=1e-9)
    assert k.bun_mg_dl_to_urea_mmol_l(28) == pytest.approx(28 * 0.357, abs=1e-3)
    assert k.urea_mmol_l_to_bun_mg_dl(k.bun_mg_dl_to_urea_mmol_l(70)) == pytest.approx(70)
    assert k.ca_mg_dl_to_mmol_l(8.016) == pytest.approx(2.0)
    assert k.ca_mmol_l_to_mg_dl(1.25) == pytest.approx(5.01)


# --- TV-7.x: UF rate and hypotension ----------------------------------------------------------------------


def test_tv_7_1_and_7_2_uf_rate() -> None:
    u1 = k.uf_rate_ml_per_kg_h(3.0, 240, 70)
    assert u1 == pytest.approx(10.71, abs=0.01)
    assert k.uf_rate_band(u1) == "10-13"
    assert not k.kcqa_high_ufr(u1, 240)
    u2 = k.uf_rate_ml_per_kg_h(3.8, 210, 70)
    assert u2 == pytest.approx(15.5, abs=0.05)
    assert k.uf_rate_band(u2) == ">13"
    assert k.kcqa_high_ufr(u2, 210)
    assert k.uf_rate_band(9.0) == "<=10"


def test_tv_7_3_mermelstein() -> None:
    women = k.mermelstein_uf_thresholds_ml_h(70, "female")
    assert women == {"average": 540.0, "risk_20pct": 710.0, "risk_40pct": 840.0}
    men = k.mermelstein_uf_thresholds_ml_h(70, "male")
    assert men["risk_20pct"] == pytest.approx(780.0)


def test_tv_7_4_to_7_6_hypotension_definitions() -> None:
    assert k.idh_nadir(130, 88)
    assert not k.idh_nadir(130, 95)
    assert k.idh_nadir(170, 95)  # < 100 when pre >= 160
    assert not k.idh_nadir(170, 101)
    # TV-7.6: SBP 150 -> 128 with cramps, no intervention
    assert k.idh_ebpg_fall(150, 128)
    assert k.idh_kdoqi(150, 128, symptoms=True)
    assert not k.idh_ebpg(150, 128, symptoms=True, intervention=False)
    assert k.idh_ebpg(150, 128, symptoms=True, intervention=True)
    # MAP criterion alone
    assert k.idh_ebpg_fall(150, 140, pre_map=100, nadir_map=89)
    assert not k.idh_ebpg_fall(150, 140, pre_map=100, nadir_map=95)


# --- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: k.michaels_clearance_ml_min(1000, 0, 500), "qb_ml_min"),
        (lambda: k.michaels_clearance_ml_min(1000, np.array([300, -1]), 500), "qb_ml_min"),
        (lambda: k.michaels_clearance_ml_min(-5, 300, 500), "koa_ml_min"),
        (lambda: k.michaels_koa_ml_min(400, 300, 500), "kd_ml_min"),
        (lambda: k.ktv_from_clearance(250, 240, -3), "v_l"),
        (lambda: k.sp_ktv_daugirdas(60, 70, 4, 3, 70), "post_bun"),
        (lambda: k.sp_ktv_daugirdas(60, 18, 4, 3, float("nan")), "post_weight_kg"),
        (lambda: k.sp_ktv_daugirdas(60, 0.3, 4, 0, 70), "post_bun"),
        (lambda: k.watson_volume_l("x", 50, 175, 70), "sex"),
        (lambda: k.ekt_v_rate(1.3, 4, access="needle"), "access"),
        (lambda: k.effective_blood_water_flow_ml_min(300, 33), "hct"),
        (lambda: k.effective_blood_water_flow_ml_min(300, 0.3, solute="glucose"), "solute"),
        (lambda: k.uf_rate_ml_per_kg_h(3, 0, 70), "duration_min"),
        (lambda: k.osmolality_calc_mosm_kg("abc", 90, 14), "na_mmol_l"),
        (lambda: k.inadequate_dose(None, None), "sp_ktv"),
    ],
)
def test_bad_input_raises_input_error_naming_field(call, field) -> None:
    with pytest.raises(InputError) as exc:
        call()
    assert exc.value.field == field
    assert field in str(exc.value)
    assert "\n" not in str(exc.value)
