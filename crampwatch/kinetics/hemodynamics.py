"""Ultrafiltration-rate measures and thresholds, and intradialytic hypotension definitions."""

from __future__ import annotations

import numpy as np

from crampwatch.errors import require_range
from crampwatch.kinetics.checks import ArrayLike, FloatOrArray, is_male
from crampwatch.quantities import cutoff, idh_array, uf_rate_ml_kg_h

# ---------------------------------------------------------------------------------------------------------
# UF rate and thresholds
# ---------------------------------------------------------------------------------------------------------


def uf_rate_ml_per_kg_h(uf_l: ArrayLike, duration_min: ArrayLike, weight_kg: ArrayLike) -> FloatOrArray:
    """UF rate per kg of post-dialysis weight, mL/kg/h: the registry formula
    (:func:`crampwatch.quantities.uf_rate_ml_kg_h`)."""
    return uf_rate_ml_kg_h(uf_l, duration_min, weight_kg)


def uf_rate_band(ufr_ml_kg_h: float) -> str:
    """Band of a weight-indexed UF rate: ``"<=10"``, ``"10-13"`` or ``">13"`` (Flythe 2011; Assimon 2016)."""
    u = require_range("uf_rate_ml_kg_h", ufr_ml_kg_h, 0, 200, "mL/kg/h")
    if u > cutoff("ufr_13_ml_kg_h"):
        return ">13"
    return "10-13" if u > cutoff("ufr_10_ml_kg_h") else "<=10"


def kcqa_high_ufr(ufr_ml_kg_h: float, duration_min: float) -> bool:
    """KCQA/NQF measure (AJKD 2016;68:522): UFR >= 13 mL/kg/h with a session shorter than 240 min."""
    u = require_range("uf_rate_ml_kg_h", ufr_ml_kg_h, 0, 200, "mL/kg/h")
    t = require_range("duration_min", duration_min, 0, 1440, "min")
    return u >= cutoff("ufr_13_ml_kg_h") and t < cutoff("kcqa_short_session_min")


#: Mermelstein A, Raimann JG, Wang Y, Kotanko P, Daugirdas JT. CJASN 2023;18:767 (n = 396,358): UF-rate
#: thresholds ``3 W + intercept`` mL/h (W in kg), 70 mL/h higher in men. Intercepts: average UFR 330, +20 %
#: weight-specific mortality 500, +40 % 630.
MERMELSTEIN_SLOPE_ML_H_PER_KG = 3.0
MERMELSTEIN_INTERCEPT_ML_H: dict[str, float] = {"average": 330.0, "risk_20pct": 500.0, "risk_40pct": 630.0}
MERMELSTEIN_MALE_EXTRA_ML_H = 70.0


def mermelstein_thresholds_core(weight_kg: np.ndarray, male: np.ndarray) -> dict[str, np.ndarray]:
    """Array core of :func:`mermelstein_uf_thresholds_ml_h` (no validation): thresholds in mL/h."""
    base = MERMELSTEIN_SLOPE_ML_H_PER_KG * np.asarray(weight_kg, dtype=float) + np.where(
        np.asarray(male, dtype=bool), MERMELSTEIN_MALE_EXTRA_ML_H, 0.0
    )
    return {name: base + intercept for name, intercept in MERMELSTEIN_INTERCEPT_ML_H.items()}


def mermelstein_uf_thresholds_ml_h(weight_kg: float, sex: str) -> dict[str, float]:
    """Weight-indexed absolute UF-rate thresholds (mL/h), Mermelstein 2023 (see
    :data:`MERMELSTEIN_INTERCEPT_ML_H`). Keys: ``average``, ``risk_20pct``, ``risk_40pct``."""
    w = require_range("weight_kg", weight_kg, 10, 300, "kg")
    return {k: float(v) for k, v in mermelstein_thresholds_core(np.array(w), np.array(is_male(sex))).items()}


# ---------------------------------------------------------------------------------------------------------
# Intradialytic hypotension definitions
# ---------------------------------------------------------------------------------------------------------


def idh_nadir(pre_sbp: float, nadir_sbp: float) -> bool:
    """Nadir-based IDH (Flythe et al. JASN 2015): nadir SBP < 90 mmHg, or < 100 mmHg when pre-SBP >= 160."""
    pre = require_range("pre_sbp", pre_sbp, 40, 300, "mmHg")
    nadir = require_range("nadir_sbp", nadir_sbp, 20, 300, "mmHg")
    return bool(idh_array(pre, nadir))


def idh_ebpg_fall(
    pre_sbp: float, nadir_sbp: float, pre_map: float | None = None, nadir_map: float | None = None
) -> bool:
    """BP-fall criterion of the EBPG definition (Kooman et al. NDT 2007;22 Suppl 2:ii22): SBP fall >= 20 mmHg
    or MAP fall >= 10 mmHg (MAP part only when both MAP values are given)."""
    pre = require_range("pre_sbp", pre_sbp, 40, 300, "mmHg")
    nadir = require_range("nadir_sbp", nadir_sbp, 20, 300, "mmHg")
    if pre - nadir >= cutoff("idh_sbp_fall_mmhg"):
        return True
    if pre_map is not None and nadir_map is not None:
        pm = require_range("pre_map", pre_map, 20, 250, "mmHg")
        nm = require_range("nadir_map", nadir_map, 10, 250, "mmHg")
        return pm - nm >= cutoff("idh_map_fall_mmhg")
    return False


def idh_kdoqi(
    pre_sbp: float,
    nadir_sbp: float,
    pre_map: float | None = None,
    nadir_map: float | None = None,
    *,
    symptoms: bool,
) -> bool:
    """KDOQI 2005 (CVD in dialysis) IDH: the EBPG BP fall together with symptoms (no intervention needed)."""
    return bool(symptoms) and idh_ebpg_fall(pre_sbp, nadir_sbp, pre_map, nadir_map)


def idh_ebpg(
    pre_sbp: float,
    nadir_sbp: float,
    pre_map: float | None = None,
    nadir_map: float | None = None,
    *,
    symptoms: bool,
    intervention: bool,
) -> bool:
    """Full EBPG 2007 IDH (Kooman et al. NDT 2007): BP fall (SBP >= 20 or MAP >= 10 mmHg) with clinical
    events (symptoms) AND a nursing intervention."""
    return bool(symptoms) and bool(intervention) and idh_ebpg_fall(pre_sbp, nadir_sbp, pre_map, nadir_map)
