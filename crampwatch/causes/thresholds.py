"""Every threshold the cause analyzer uses, with its unit and source, in one table.

Each finding copies the ``source`` text of the thresholds it compares against into its evidence, so the
Assessment JSON shows where every number comes from. Entries whose source says "modelling choice" are
not published cut-offs: they place a score ramp or a fallback where the literature gives no number.
"""

from __future__ import annotations

from crampwatch.causes.ids import (
    DISEQUILIBRIUM,
    ENCEPHALOPATHY,
    HYPOCALCEMIA,
    HYPOMAGNESEMIA,
    HYPOVOLEMIA,
    NEUROPATHY,
    OSMOTIC,
    UNDERDIALYSIS,
)
from crampwatch.kinetics.hemodynamics import MERMELSTEIN_INTERCEPT_ML_H
from crampwatch.quantities import CUTOFFS, Cutoff
from crampwatch.signals import BRAIN_OSM_GRADIENT_MOSM_KG

#: A threshold is a :class:`crampwatch.quantities.Cutoff` (value, unit, source).
Threshold = Cutoff


T = Threshold

THRESHOLDS: dict[str, Threshold] = {
    # ---- hypovolemia: relative blood volume (RBV) --------------------------------------------------------
    "rbv_low_1h_pct": CUTOFFS["rbv_low_1h_pct"],
    "rbv_low_2h_pct": CUTOFFS["rbv_low_2h_pct"],
    "rbv_low_3h_pct": CUTOFFS["rbv_low_3h_pct"],
    "rbv_critical_pct": CUTOFFS["rbv_critical_pct"],
    "rbv_depth_span_pct": T(6.0, "%", "modelling choice: RBV 6 points below a limit scores fully"),
    "rbv_slope_steep_pct_h": CUTOFFS["rbv_slope_steep_pct_h"],
    "blood_volume_ml_per_kg": T(70.0, "mL/kg", "modelling choice: adult blood volume ~70 mL/kg"),
    # ---- hypovolemia: UF rate ----------------------------------------------------------------------------
    "ufr_10_ml_kg_h": CUTOFFS["ufr_10_ml_kg_h"],
    "ufr_13_ml_kg_h": CUTOFFS["ufr_13_ml_kg_h"],
    "ufr_severe_ml_kg_h": CUTOFFS["ufr_severe_ml_kg_h"],
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
    "idwg_kg": CUTOFFS["idwg_kg"],
    "idwg_onset_kg": CUTOFFS["idwg_onset_kg"],
    "idwg_pct": CUTOFFS["idwg_pct"],
    "idwg_pct_high": CUTOFFS["idwg_pct_high"],
    "below_dry_weight_kg": CUTOFFS["below_dry_weight_kg"],
    # ---- blood pressure / IDH ----------------------------------------------------------------------------
    "idh_nadir_sbp_mmhg": CUTOFFS["idh_nadir_sbp_mmhg"],
    "idh_nadir_sbp_high_pre_mmhg": CUTOFFS["idh_nadir_sbp_high_pre_mmhg"],
    "idh_high_pre_sbp_mmhg": CUTOFFS["idh_high_pre_sbp_mmhg"],
    "idh_sbp_fall_mmhg": CUTOFFS["idh_sbp_fall_mmhg"],
    "idh_map_fall_mmhg": CUTOFFS["idh_map_fall_mmhg"],
    "idh_sbp_fall_severe_mmhg": CUTOFFS["idh_sbp_fall_severe_mmhg"],
    "cramp_after_fall_window_min": T(
        60.0, "min", "modelling choice (cramps 'sometimes precede hypotension', Lynch 2014): window +-60 min"
    ),
    # ---- osmotic -----------------------------------------------------------------------------------------
    "na_gradient_neutral_mmol_l": CUTOFFS["na_gradient_neutral_mmol_l"],
    "na_gradient_severe_mmol_l": CUTOFFS["na_gradient_severe_mmol_l"],
    "dialysate_na_low_mmol_l": CUTOFFS["dialysate_na_low_mmol_l"],
    "plasma_na_fall_mmol_l": CUTOFFS["plasma_na_fall_mmol_l"],
    "plasma_na_fall_severe_mmol_l": CUTOFFS["plasma_na_fall_severe_mmol_l"],
    "hyponatremia_mmol_l": CUTOFFS["hyponatremia_mmol_l"],
    "eff_osm_fall_mosm_kg": CUTOFFS["eff_osm_fall_mosm_kg"],
    "eff_osm_fall_severe_mosm_kg": CUTOFFS["eff_osm_fall_severe_mosm_kg"],
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
    BRAIN_OSM_GRADIENT_MOSM_KG: T(
        10.0, "mOsm/kg", "modelling choice: brain-plasma effective osmolality gradient 10 mOsm/kg"
    ),
    # ---- encephalopathy ----------------------------------------------------------------------------------
    "aluminium_watch_ug_l": T(20.0, "ug/L", "KDOQI (serum Al should be < 20 ug/L)"),
    "aluminium_toxic_ug_l": T(100.0, "ug/L", "Brazilian guideline PMC8823919 (Al > 100 ug/L: intoxication)"),
    # ---- underdialysis -----------------------------------------------------------------------------------
    "sp_ktv_min": CUTOFFS["sp_ktv_min"],
    "sp_ktv_severe": CUTOFFS["sp_ktv_severe"],
    "urr_min_pct": CUTOFFS["urr_min_pct"],
    "std_ktv_min": CUTOFFS["std_ktv_min"],
}


#: The thresholds each cause's evidence compares against, by cause identifier (the registry's
#: ``CauseSpec.thresholds``; the Assessment JSON lists them under each finding).
CAUSE_THRESHOLDS: dict[str, tuple[str, ...]] = {
    HYPOVOLEMIA: (
        "rbv_low_1h_pct",
        "rbv_low_2h_pct",
        "rbv_low_3h_pct",
        "rbv_critical_pct",
        "rbv_depth_span_pct",
        "rbv_slope_steep_pct_h",
        "blood_volume_ml_per_kg",
        "ufr_10_ml_kg_h",
        "ufr_13_ml_kg_h",
        "ufr_severe_ml_kg_h",
        "mermelstein_20pct",
        "mermelstein_40pct",
        "idwg_onset_kg",
        "idwg_kg",
        "idwg_pct",
        "idwg_pct_high",
        "below_dry_weight_kg",
        "idh_nadir_sbp_mmhg",
        "idh_nadir_sbp_high_pre_mmhg",
        "idh_high_pre_sbp_mmhg",
        "idh_sbp_fall_mmhg",
        "idh_map_fall_mmhg",
        "idh_sbp_fall_severe_mmhg",
        "cramp_after_fall_window_min",
    ),
    OSMOTIC: (
        "na_gradient_neutral_mmol_l",
        "na_gradient_severe_mmol_l",
        "dialysate_na_low_mmol_l",
        "plasma_na_fall_mmol_l",
        "plasma_na_fall_severe_mmol_l",
        "hyponatremia_mmol_l",
        "eff_osm_fall_mosm_kg",
        "eff_osm_fall_severe_mosm_kg",
    ),
    HYPOCALCEMIA: (
        "dialysate_ca_low_mmol_l",
        "dialysate_ca_reference_mmol_l",
        "ica_low_mmol_l",
        "ica_severe_mmol_l",
        "ica_fall_mmol_l",
        "ica_fall_relevant_mmol_l",
        "corrected_ca_low_mg_dl",
        "hco3_high_pre_mmol_l",
        "hco3_alkalosis_mmol_l",
        "dialysate_hco3_high_mmol_l",
        "early_vintage_months",
    ),
    HYPOMAGNESEMIA: ("dialysate_mg_low_mmol_l", "dialysate_mg_reference_mmol_l", "mg_low_mmol_l"),
    DISEQUILIBRIUM: (
        "dds_bun_mg_dl",
        "dds_bun_onset_mg_dl",
        "dds_urr_onset_pct",
        "dds_urr_pct",
        "dds_urr_span_pct",
        "dds_first_sessions_months",
        "brain_urea_gradient_onset_mmol_l",
        "brain_urea_gradient_mmol_l",
        "brain_osm_gradient_onset_mosm_kg",
        BRAIN_OSM_GRADIENT_MOSM_KG,
    ),
    ENCEPHALOPATHY: ("aluminium_watch_ug_l", "aluminium_toxic_ug_l"),
    NEUROPATHY: (),
    UNDERDIALYSIS: ("sp_ktv_min", "sp_ktv_severe", "urr_min_pct", "std_ktv_min", "dds_first_sessions_months"),
}


def th(name: str) -> float:
    """The value of threshold ``name``."""
    return THRESHOLDS[name].value


def src(name: str) -> str:
    """The source text of threshold ``name``."""
    return THRESHOLDS[name].source
