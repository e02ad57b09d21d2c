"""Every threshold the cause analyzer uses, with its unit and source, in one table.

Each finding copies the ``source`` text of the thresholds it compares against into its evidence, so the
Assessment JSON shows where every number comes from. Entries whose source says "modelling choice" are
not published cut-offs: they place a score ramp or a fallback where the literature gives no number.
"""

from __future__ import annotations

from dataclasses import dataclass

from crampwatch.kinetics.hemodynamics import MERMELSTEIN_INTERCEPT_ML_H


@dataclass(frozen=True)
class Threshold:
    """A cut-off value, its unit and where it comes from."""

    value: float
    unit: str
    source: str


T = Threshold

THRESHOLDS: dict[str, Threshold] = {
    # ---- hypovolemia: relative blood volume (RBV) --------------------------------------------------------
    "rbv_low_1h_pct": T(93.0, "%", "Preciado 2019 NDT 34:1401 (favourable RBV at 1 h: 93-96 %)"),
    "rbv_low_2h_pct": T(89.0, "%", "Preciado 2019 NDT 34:1401 (favourable RBV at 2 h: 89-94 %)"),
    "rbv_low_3h_pct": T(86.0, "%", "Preciado 2019 NDT 34:1401 (favourable RBV at 3 h: 86-92 %)"),
    "rbv_critical_pct": T(88.0, "%", "mean critical RBV ~88 % (Fresenius BVM / DocCheck; patient-specific)"),
    "rbv_depth_span_pct": T(6.0, "%", "modelling choice: RBV 6 points below a limit scores fully"),
    "rbv_slope_steep_pct_h": T(
        -6.4, "%/h", "modelling choice: twice the stable-patient RBV slope of -3.2 %/h (Keane 2018 ASAIO J)"
    ),
    "blood_volume_ml_per_kg": T(70.0, "mL/kg", "modelling choice: adult blood volume ~70 mL/kg"),
    # ---- hypovolemia: UF rate ----------------------------------------------------------------------------
    "ufr_10_ml_kg_h": T(
        10.0, "mL/kg/h", "Assimon 2016 AJKD 68:911 (UFR > 10: HR 1.22); Flythe 2011 KI 79:250"
    ),
    "ufr_13_ml_kg_h": T(13.0, "mL/kg/h", "Flythe 2011 KI 79:250 (UFR > 13: HR 1.59); KCQA/NQF 2015"),
    "ufr_severe_ml_kg_h": T(18.0, "mL/kg/h", "modelling choice: score saturates 5 mL/kg/h above 13"),
    "mermelstein_20pct": T(
        MERMELSTEIN_INTERCEPT_ML_H["risk_20pct"],
        "mL/h",
        "Mermelstein 2023 CJASN 18:767 (UFR 3W+500 mL/h, +70 in men: +20 % mortality)",
    ),
    "mermelstein_40pct": T(
        MERMELSTEIN_INTERCEPT_ML_H["risk_40pct"],
        "mL/h",
        "Mermelstein 2023 CJASN 18:767 (UFR 3W+630 mL/h, +70 in men: +40 % mortality)",
    ),
    "idwg_kg": T(3.5, "kg", "Akkabut 2021 Ramathibodi Med J (IDWG >= 3.5 kg: cramp OR 4.5)"),
    "idwg_onset_kg": T(
        2.5, "kg", "modelling choice: the weight-gain score ramps from 2.5 kg, 1 kg below the Akkabut 3.5 kg"
    ),
    "idwg_pct": T(3.9, "% of dry weight", "Lopez-Gomez 2005 KI Suppl 93 (highest IDWG tertile > 3.9 %)"),
    "idwg_pct_high": T(
        5.7, "% of dry weight", "DOPPS via Kalantar-Zadeh 2009 summary (IDWG >= 5.7 %: HR 1.23)"
    ),
    "below_dry_weight_kg": T(
        0.5,
        "kg",
        "modelling choice: post-weight 0.5 kg below the prescribed dry weight (mirror of edOW 0.3 kg)",
    ),
    # ---- blood pressure / IDH ----------------------------------------------------------------------------
    "idh_nadir_sbp_mmhg": T(90.0, "mmHg", "Flythe 2015 JASN (nadir SBP < 90 mmHg)"),
    "idh_nadir_sbp_high_pre_mmhg": T(
        100.0, "mmHg", "Flythe 2015 JASN (nadir SBP < 100 mmHg if pre-SBP >= 160)"
    ),
    "idh_high_pre_sbp_mmhg": T(160.0, "mmHg", "Flythe 2015 JASN (pre-SBP >= 160 mmHg)"),
    "idh_sbp_fall_mmhg": T(20.0, "mmHg", "EBPG 2007 Kooman NDT 22 Suppl 2 (SBP fall >= 20 mmHg)"),
    "idh_map_fall_mmhg": T(10.0, "mmHg", "EBPG 2007 Kooman NDT 22 Suppl 2 (MAP fall >= 10 mmHg)"),
    "idh_sbp_fall_severe_mmhg": T(
        40.0, "mmHg", "modelling choice: an SBP fall twice the EBPG 20 mmHg scores fully"
    ),
    "cramp_after_fall_window_min": T(
        60.0, "min", "modelling choice (cramps 'sometimes precede hypotension', Lynch 2014): window +-60 min"
    ),
    # ---- osmotic -----------------------------------------------------------------------------------------
    "na_gradient_neutral_mmol_l": T(
        -2.0,
        "mmol/L",
        "Arramreddy 2012 Hemodial Int 16:473 (gradient -2 mmol/L: no significant change in cramps)",
    ),
    "na_gradient_severe_mmol_l": T(
        -8.0,
        "mmol/L",
        "modelling choice: dialysate 8 mmol/L below plasma (Cochrane low-Na < 138 mM, Dunlop 2019)",
    ),
    "dialysate_na_low_mmol_l": T(
        138.0, "mmol/L", "Dunlop 2019 Cochrane CD011204 (low dialysate Na < 138 mM)"
    ),
    "plasma_na_fall_mmol_l": T(
        2.0, "mmol/L", "modelling choice: plasma Na fall beyond lab variation (~2 mmol/L)"
    ),
    "plasma_na_fall_severe_mmol_l": T(6.0, "mmol/L", "modelling choice: 6 mmol/L intradialytic Na fall"),
    "hyponatremia_mmol_l": T(135.0, "mmol/L", "conventional lower limit of plasma Na (135 mmol/L)"),
    "eff_osm_fall_mosm_kg": T(
        4.0, "mOsm/kg", "modelling choice: effective (2 Na + glucose) osmolality fall of 4 mOsm/kg (2 x Na 2)"
    ),
    "eff_osm_fall_severe_mosm_kg": T(12.0, "mOsm/kg", "modelling choice: 2 x the 6 mmol/L Na fall"),
    # ---- calcium / magnesium -----------------------------------------------------------------------------
    "dialysate_ca_low_mmol_l": T(1.25, "mmol/L", "KDIGO CKD-MBD 2017 (dialysate Ca 1.25-1.50 mmol/L)"),
    "dialysate_ca_reference_mmol_l": T(
        1.5, "mmol/L", "IJKD 1.75 -> 1.5 mmol/L study (more cramps with lower Ca); KDIGO 2017 upper suggested"
    ),
    "ica_low_mmol_l": T(1.1, "mmol/L", "normal ionized Ca 1.1-1.3 mmol/L (Payne 1973 BMJ)"),
    "ica_severe_mmol_l": T(0.95, "mmol/L", "modelling choice: ionized Ca 0.15 mmol/L below the normal range"),
    "ica_fall_mmol_l": T(0.1, "mmol/L", "modelling choice: intradialytic ionized Ca fall of 0.1 mmol/L"),
    "corrected_ca_low_mg_dl": T(
        8.4, "mg/dL", "KDOQI 2003 bone metabolism (target corrected Ca 8.4-9.5 mg/dL)"
    ),
    "hco3_high_pre_mmol_l": T(
        24.0,
        "mmol/L",
        "Akkabut 2021 (high serum bicarbonate: cramp OR 5.6); upper normal 24 mmol/L as cut-off",
    ),
    "hco3_alkalosis_mmol_l": T(
        30.0,
        "mmol/L",
        "modelling choice: intradialytic plasma HCO3 > 30 mmol/L = alkalosis (post-dialysis 26-28 is usual "
        "with 32-35 mmol/L dialysate)",
    ),
    "ica_fall_relevant_mmol_l": T(
        1.2,
        "mmol/L",
        "modelling choice: an ionized Ca fall counts fully when it ends at <= 1.1 and not at all when it "
        "ends >= 1.2 mmol/L (mid normal range 1.1-1.3, Payne 1973)",
    ),
    "dialysate_hco3_high_mmol_l": T(38.0, "mmol/L", "modelling choice: dialysate HCO3 >= 38 mmol/L"),
    "early_vintage_months": T(12.0, "months", "modelling choice: first year on dialysis"),
    "dialysate_mg_low_mmol_l": T(
        0.375, "mmol/L", "Lynch 2014 Adv Nephrol (dialysate Mg 0.375 -> 0.5: cramps 77 -> 56 % of patients)"
    ),
    "dialysate_mg_reference_mmol_l": T(0.5, "mmol/L", "Lynch 2014 Adv Nephrol (0.5 mmol/L arm)"),
    "mg_low_mmol_l": T(0.7, "mmol/L", "conventional lower limit of serum Mg (0.7 mmol/L)"),
    # ---- disequilibrium ----------------------------------------------------------------------------------
    "dds_bun_mg_dl": T(
        125.0, "mg/dL", "Daugirdas Handbook of Dialysis (pre-SUN > 125 mg/dL: target URR < 40 %)"
    ),
    "dds_bun_onset_mg_dl": T(100.0, "mg/dL", "modelling choice: score ramps from BUN 100 to 125 mg/dL"),
    "dds_urr_pct": T(40.0, "%", "Daugirdas Handbook of Dialysis (first session URR < 40 %; TV-6.1/6.2)"),
    "dds_urr_onset_pct": T(35.0, "%", "modelling choice: the URR score ramps from 35 %, 5 points below 40 %"),
    "dds_urr_span_pct": T(15.0, "%", "modelling choice: URR 15 points above 40 % scores fully"),
    "dds_first_sessions_months": T(
        1.0, "months", "modelling choice: the first month counts as first sessions"
    ),
    "brain_urea_gradient_mmol_l": T(
        10.0,
        "mmol/L",
        "modelling choice: brain-plasma urea gradient 10 mmol/L (reverse urea effect, Silver 1996)",
    ),
    "brain_urea_gradient_onset_mmol_l": T(
        5.0, "mmol/L", "modelling choice: the gradient score ramps from half the 10 mmol/L gradient"
    ),
    "brain_osm_gradient_onset_mosm_kg": T(
        5.0, "mOsm/kg", "modelling choice: the gradient score ramps from half the 10 mOsm/kg gradient"
    ),
    "brain_osm_gradient_mosm_kg": T(
        10.0, "mOsm/kg", "modelling choice: brain-plasma effective osmolality gradient 10 mOsm/kg"
    ),
    # ---- encephalopathy ----------------------------------------------------------------------------------
    "aluminium_watch_ug_l": T(20.0, "ug/L", "KDOQI (serum Al should be < 20 ug/L)"),
    "aluminium_toxic_ug_l": T(100.0, "ug/L", "Brazilian guideline PMC8823919 (Al > 100 ug/L: intoxication)"),
    # ---- underdialysis -----------------------------------------------------------------------------------
    "sp_ktv_min": T(1.2, "", "KDOQI 2006 CPG 4 / KDOQI 2015 (minimum spKt/V 1.2)"),
    "sp_ktv_severe": T(0.9, "", "modelling choice: spKt/V 0.3 below the KDOQI minimum scores fully"),
    "urr_min_pct": T(65.0, "%", "KDOQI 2006 CPG 4 (minimum URR 65 %)"),
    "std_ktv_min": T(2.1, "", "KDOQI 2015 (weekly standard Kt/V target 2.3, minimum 2.1)"),
}


def th(name: str) -> float:
    """The value of threshold ``name``."""
    return THRESHOLDS[name].value


def src(name: str) -> str:
    """The source text of threshold ``name``."""
    return THRESHOLDS[name].source
