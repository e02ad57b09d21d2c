"""Closed-form urea dose formulas: body water, urea generation, spKt/V (Daugirdas II), eKt/V, URR, KDOQI
targets.

Each formula exists once, as an array core without input checking (``*_array``: numpy arrays in, arrays out,
NaN where undefined) that the hot paths call, and a validating public wrapper (one-line
:class:`~crampwatch.errors.InputError` naming the field) that the published test vectors check. Sources per
function (author, year, journal); TV-x.y identifiers refer to the physiology reference test vectors.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from crampwatch.errors import InputError, require_range
from crampwatch.kinetics.checks import ArrayLike, FloatOrArray, check, is_male, out
from crampwatch.model import NPCR_RANGE_G_KG_DAY
from crampwatch.quantities import cutoff

#: KDOQI 2006 CPG 4 (retained in KDOQI 2015, Am J Kidney Dis 2015;66:884): minimum spKt/V per session.
KDOQI_MIN_SP_KTV = cutoff("sp_ktv_min")
#: KDOQI 2006 CPG 4 / KDOQI 2015: target spKt/V per session.
KDOQI_TARGET_SP_KTV = cutoff("sp_ktv_target")
#: KDOQI 2006 CPG 4: minimum URR (%) as an alternative dose measure for sessions < 5 h.
KDOQI_MIN_URR_PCT = cutoff("urr_min_pct")
#: KDOQI 2006 CPG 4: target URR (%).
KDOQI_TARGET_URR_PCT = cutoff("urr_target_pct")

#: Borah MF et al. Kidney Int 1978;14:491 (as used by Depner TA & Daugirdas JT, JASN 1996;7:780):
#: ``PCR (g/day) = 9.35 G (mg urea N/min) + 0.294 V (L)``.
PCR_G_DAY_PER_GUN_MG_MIN = 9.35
PCR_G_DAY_PER_V_L = 0.294
#: nPCR (nPNA) is PCR per kg of the body weight implied by the urea volume, V / 0.58 (urea volume 58 % of
#: weight; Depner TA & Daugirdas JT, JASN 1996;7:780; KDOQI 2000 nutrition guideline, appendix on nPNA),
#: not per kg of dry weight.
NPCR_V_PER_KG = 0.58

# ---------------------------------------------------------------------------------------------------------
# Body water and urea generation
# ---------------------------------------------------------------------------------------------------------


def watson_volume_array(male: ArrayLike, age_years: ArrayLike, height_cm: ArrayLike, weight_kg: ArrayLike):
    """Array core of :func:`watson_volume_l` (``male`` boolean; no input checking)."""
    men = (
        2.447
        - 0.09516 * np.asarray(age_years)
        + 0.1074 * np.asarray(height_cm)
        + 0.3362 * np.asarray(weight_kg)
    )
    women = -2.097 + 0.1069 * np.asarray(height_cm) + 0.2466 * np.asarray(weight_kg)
    return np.where(male, men, women)


def watson_volume_l(sex: str, age_years: float, height_cm: float, weight_kg: float) -> float:
    """Total body water (urea distribution volume V), litres.

    Watson PE, Watson ID, Batt RD. Am J Clin Nutr 1980;33:27-39:
    men ``2.447 - 0.09516 age + 0.1074 H + 0.3362 W``; women ``-2.097 + 0.1069 H + 0.2466 W``.
    (0.09156, a common digit transposition, is wrong.)
    """
    male = is_male(sex)
    age = require_range("age_years", age_years, 0, 120, "years")
    h = require_range("height_cm", height_cm, 50, 250, "cm")
    w = require_range("weight_kg", weight_kg, 10, 300, "kg")
    v = float(watson_volume_array(male, age, h, w))
    if v <= 0:
        raise InputError("weight_kg: body water estimate is not positive for these inputs", "weight_kg")
    return v


def npcr_weight_kg(v_l: ArrayLike) -> np.ndarray:
    """The weight that normalises PCR: ``V / 0.58`` (kg) for a urea volume ``V`` (L)."""
    return np.asarray(v_l, dtype=float) / NPCR_V_PER_KG


def urea_generation_array(npcr_g_kg_day: ArrayLike, v_l: ArrayLike) -> np.ndarray:
    """Array core of :func:`urea_generation_mg_min` (mg urea nitrogen/min; never negative)."""
    pcr = np.asarray(npcr_g_kg_day, dtype=float) * npcr_weight_kg(v_l)
    return np.maximum(pcr - PCR_G_DAY_PER_V_L * np.asarray(v_l, dtype=float), 0.0) / PCR_G_DAY_PER_GUN_MG_MIN


def urea_generation_mg_min(npcr_g_kg_day: ArrayLike, v_l: ArrayLike) -> FloatOrArray:
    """Urea nitrogen generation G (mg/min) from the normalized protein catabolic rate.

    ``PCR = 9.35 G + 0.294 V`` (Borah MF et al. Kidney Int 1978;14:491; Depner TA & Daugirdas JT, JASN
    1996;7:780) with PCR = nPCR x V/0.58 (g/day; the standard normalisation, :data:`NPCR_V_PER_KG`) and V
    the urea volume (L).
    """
    lo, hi = NPCR_RANGE_G_KG_DAY
    n = check("npcr_g_kg_d", npcr_g_kg_day, lo, hi, "g/kg/day")
    v = check("v_l", v_l, 0, 200, "L", low_open=True)
    return out(urea_generation_array(n, v))


# ---------------------------------------------------------------------------------------------------------
# Urea dose
# ---------------------------------------------------------------------------------------------------------


def urr_pct(pre: ArrayLike, post: ArrayLike) -> FloatOrArray:
    """Urea reduction ratio, %: ``100 (1 - post/pre)`` (KDOQI 2006 CPG 2)."""
    pre_a = check("pre_bun", pre, 0, 1000, "mg/dL", low_open=True)
    post_a = check("post_bun", post, 0, 1000, "mg/dL", low_open=True)
    return out(100.0 * (1.0 - np.asarray(post_a) / np.asarray(pre_a)))


def sp_ktv_daugirdas_array(r: ArrayLike, duration_h: ArrayLike, uf_l: ArrayLike, post_weight_kg: ArrayLike):
    """Array core of :func:`sp_ktv_daugirdas` from the post/pre ratio ``r``: NaN where undefined
    (``r - 0.008 t <= 0``, non-positive weight, non-finite input); no other checking."""
    r, t, uf, w = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (r, duration_h, uf_l, post_weight_kg))
    )
    arg = r - 0.008 * t
    ok = np.isfinite(arg) & (arg > 0) & np.isfinite(uf) & (w > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        val = -np.log(np.where(ok, arg, 1.0)) + (4.0 - 3.5 * r) * uf / np.where(ok, w, 1.0)
    return np.where(ok, val, np.nan)


def sp_ktv_daugirdas(
    pre_bun: ArrayLike, post_bun: ArrayLike, duration_h: ArrayLike, uf_l: ArrayLike, post_weight_kg: ArrayLike
) -> FloatOrArray:
    """Single-pool variable-volume Kt/V, second generation.

    Daugirdas JT. JASN 1993;4:1205-13: ``spKt/V = -ln(R - 0.008 t) + (4 - 3.5 R) UF/W``, R = post/pre BUN,
    t in hours, UF in litres, W = post-dialysis weight (kg). Accepts numpy arrays (broadcast).
    """
    pre = np.asarray(check("pre_bun", pre_bun, 0, 1000, "mg/dL", low_open=True))
    post = np.asarray(check("post_bun", post_bun, 0, 1000, "mg/dL", low_open=True))
    t = np.asarray(check("duration_h", duration_h, 0, 24, "h", low_open=True))
    uf = np.asarray(check("uf_l", uf_l, 0, 20, "L"))
    w = np.asarray(check("post_weight_kg", post_weight_kg, 10, 300, "kg"))
    r = post / pre
    if np.any(r > 1):
        raise InputError("post_bun: must not exceed pre_bun", "post_bun")
    if np.any(r - 0.008 * t <= 0):
        raise InputError(
            "post_bun: post/pre BUN ratio minus 0.008 x hours must be > 0 (Daugirdas II)", "post_bun"
        )
    return out(sp_ktv_daugirdas_array(r, t, uf, w))


AccessType = Literal["fistula", "graft", "arterial", "catheter", "venous"]
#: Access names read by :func:`ekt_v_rate`: arterial (AV fistula/graft) and venous catheter.
ARTERIAL_ACCESS = frozenset({"fistula", "graft", "arterial", "avf", "avg"})
VENOUS_ACCESS = frozenset({"catheter", "venous", "cvc"})


def ekt_v_rate(sp_ktv: ArrayLike, duration_h: ArrayLike, access: str = "fistula") -> FloatOrArray:
    """Equilibrated Kt/V by the Daugirdas rate equation.

    Arterial (AV fistula/graft) access: ``eKt/V = sp - 0.6 sp/t + 0.03`` (Daugirdas & Schneditz, ASAIO J 1995;
    confirmed by Smye et al. ASAIO J 1999;45:562 and Maduell et al. Nefrologia 1997).
    Venous catheter: ``sp - 0.47 sp/t + 0.02`` -- widely quoted constants, NOT verified against the primary
    source; use with caution.
    """
    sp = np.asarray(check("sp_ktv", sp_ktv, 0, 50))
    t = np.asarray(check("duration_h", duration_h, 0, 24, "h", low_open=True))
    a = str(access).strip().lower()
    if a in ARTERIAL_ACCESS:
        slope, const = 0.6, 0.03
    elif a in VENOUS_ACCESS:
        slope, const = 0.47, 0.02  # unverified constants (see docstring)
    else:
        raise InputError(f"access: {access!r} is not one of fistula, graft, catheter", "access")
    return out(sp - slope * sp / t + const)


def ekt_v_tattersall(sp_ktv: ArrayLike, duration_min: ArrayLike, tp_min: float = 35.0) -> FloatOrArray:
    """Equilibrated Kt/V from the patient clearance time: ``eKt/V = sp T/(T + tp)``.

    Tattersall JE et al. Kidney Int 1996;50:2094. tp ~ 35 min for AV access (36 min in Smye et al. ASAIO J
    1999;45:562), ~22 min for a venous catheter (secondary source).
    """
    sp = np.asarray(check("sp_ktv", sp_ktv, 0, 50))
    t = np.asarray(check("duration_min", duration_min, 0, 1440, "min", low_open=True))
    tp = require_range("tp_min", tp_min, 0, 240, "min")
    return out(sp * t / (t + tp))


def modified_urr_pct(
    r: ArrayLike, uf_l: ArrayLike, body_weight_kg: ArrayLike, duration_h: ArrayLike
) -> FloatOrArray:
    """URR corrected for UF and intradialytic urea generation, %.

    ``mURR = [1 - R/(1 + 2 UF/BW) + 0.01 t] x 100`` (Lee-type modified URR; mURR 64/70/76 % correspond to
    spKt/V 1.0/1.2/1.4 per its abstract).
    """
    rr = np.asarray(check("r", r, 0, 1, low_open=True))
    uf = np.asarray(check("uf_l", uf_l, 0, 20, "L"))
    bw = np.asarray(check("body_weight_kg", body_weight_kg, 10, 300, "kg"))
    t = np.asarray(check("duration_h", duration_h, 0, 24, "h"))
    return out((1.0 - rr / (1.0 + 2.0 * uf / bw) + 0.01 * t) * 100.0)


def ktv_from_clearance(k_ml_min: ArrayLike, duration_min: ArrayLike, v_l: ArrayLike) -> FloatOrArray:
    """Dimensionless dose ``K t / V`` from clearance (mL/min), time (min) and volume (L)."""
    k = np.asarray(check("k_ml_min", k_ml_min, 0, 2000, "mL/min"))
    t = np.asarray(check("duration_min", duration_min, 0, 1440, "min"))
    v = np.asarray(check("v_l", v_l, 0, 200, "L", low_open=True))
    return out(k * t / (v * 1000.0))


def inadequate_dose(sp_ktv: float | None, urr_pct: float | None = None) -> bool:
    """KDOQI 2006 CPG 4: dose inadequate if spKt/V < 1.2 or URR < 65 % (either given value failing)."""
    if sp_ktv is None and urr_pct is None:
        raise InputError("sp_ktv: give sp_ktv or urr_pct", "sp_ktv")
    if sp_ktv is not None and require_range("sp_ktv", sp_ktv, 0, 10) < KDOQI_MIN_SP_KTV:
        return True
    return urr_pct is not None and require_range("urr_pct", urr_pct, -100, 100, "%") < KDOQI_MIN_URR_PCT
