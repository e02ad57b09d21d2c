"""Closed-form clinical hemodialysis formulas: body water, urea dose, dialyzer clearance, UF rate, osmolality,
oncotic pressure, blood/plasma volume, hypotension definitions.

Every function is pure. Scalars in give floats out; where noted, numpy arrays are accepted and give arrays.
Invalid input raises :class:`crampwatch.errors.InputError` with a one-line message naming the field.
Sources are given per function (author, year, journal). Equations and test vectors follow
``physiology.md`` (TV-x.y identifiers refer to its tables).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from crampwatch.errors import InputError, require_range
from crampwatch.units import (
    BUN_MG_DL_PER_UREA_MMOL_L,
    CA_MG_DL_PER_MMOL_L,
    GLUCOSE_MG_DL_PER_MMOL_L,
    UREA_MMOL_L_PER_BUN_MG_DL,
)

ArrayLike = float | npt.ArrayLike
FloatOrArray = float | np.ndarray

# ---------------------------------------------------------------------------------------------------------
# Guideline constants
# ---------------------------------------------------------------------------------------------------------

#: KDOQI 2006 CPG 4 (retained in KDOQI 2015, Am J Kidney Dis 2015;66:884): minimum spKt/V per session.
KDOQI_MIN_SP_KTV = 1.2
#: KDOQI 2006 CPG 4 / KDOQI 2015: target spKt/V per session.
KDOQI_TARGET_SP_KTV = 1.4
#: KDOQI 2006 CPG 4: minimum URR (%) as an alternative dose measure for sessions < 5 h.
KDOQI_MIN_URR_PCT = 65.0
#: KDOQI 2006 CPG 4: target URR (%).
KDOQI_TARGET_URR_PCT = 70.0


#: Blood-water fractions for the effective dialyzer flow (Ursino et al. Ann Biomed Eng 2000;28:204, via
#: Lim et al. Yonsei Med J 2008;49:581, App. 1 eq. 27): plasma water 0.94, red-cell water 0.72.
PLASMA_WATER_FRACTION = 0.94
RED_CELL_WATER_FRACTION = 0.72


# ---------------------------------------------------------------------------------------------------------
# Input checking (scalar or array)
# ---------------------------------------------------------------------------------------------------------


def _check(
    field: str, value: ArrayLike, low: float, high: float, unit: str = "", *, low_open: bool = False
) -> FloatOrArray:
    """Return ``value`` as float (scalar) or float array if every element lies in the range, else raise.

    ``low_open`` makes the lower bound exclusive (e.g. flows that must be > 0).
    """
    if np.ndim(value) == 0 and not low_open:
        return require_range(field, value, low, high, unit)  # type: ignore[arg-type]
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{field}: {value!r} is not a number", field) from None
    bad = ~np.isfinite(arr) | (arr > high) | ((arr <= low) if low_open else (arr < low))
    if np.any(bad):
        first = float(arr[bad].flat[0]) if arr.ndim else float(arr)
        lo = f">{low:g}" if low_open else f"{low:g}"
        raise InputError(f"{field}: {first!r} is out of range (allowed {lo}–{high:g} {unit})".rstrip(), field)
    return float(arr) if arr.ndim == 0 else arr


def _out(x: np.ndarray | float) -> FloatOrArray:
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)


def _is_male(sex: str) -> bool:
    """``sex`` as male (True) or female (False); accepts male/female/m/f in any case."""
    s = str(sex).strip().lower()
    if s not in {"male", "female", "m", "f"}:
        raise InputError(f"sex: {sex!r} is not one of male, female", "sex")
    return s in {"male", "m"}


# ---------------------------------------------------------------------------------------------------------
# Body water
# ---------------------------------------------------------------------------------------------------------


def watson_volume_l(sex: str, age_years: float, height_cm: float, weight_kg: float) -> float:
    """Total body water (urea distribution volume V), litres.

    Watson PE, Watson ID, Batt RD. Am J Clin Nutr 1980;33:27-39:
    men ``2.447 - 0.09516 age + 0.1074 H + 0.3362 W``; women ``-2.097 + 0.1069 H + 0.2466 W``.
    (0.09156, a common digit transposition, is wrong.)
    """
    male = _is_male(sex)
    age = require_range("age_years", age_years, 0, 120, "years")
    h = require_range("height_cm", height_cm, 50, 250, "cm")
    w = require_range("weight_kg", weight_kg, 10, 300, "kg")
    v = (
        2.447 - 0.09516 * age + 0.1074 * h + 0.3362 * w  # men
        if male
        else -2.097 + 0.1069 * h + 0.2466 * w  # women
    )
    if v <= 0:
        raise InputError("weight_kg: body water estimate is not positive for these inputs", "weight_kg")
    return v


# ---------------------------------------------------------------------------------------------------------
# Urea dose
# ---------------------------------------------------------------------------------------------------------


def urr_pct(pre: ArrayLike, post: ArrayLike) -> FloatOrArray:
    """Urea reduction ratio, %: ``100 (1 - post/pre)`` (KDOQI 2006 CPG 2)."""
    pre_a = _check("pre_bun", pre, 0, 1000, "mg/dL", low_open=True)
    post_a = _check("post_bun", post, 0, 1000, "mg/dL", low_open=True)
    return _out(100.0 * (1.0 - np.asarray(post_a) / np.asarray(pre_a)))


def sp_ktv_daugirdas(
    pre_bun: ArrayLike, post_bun: ArrayLike, duration_h: ArrayLike, uf_l: ArrayLike, post_weight_kg: ArrayLike
) -> FloatOrArray:
    """Single-pool variable-volume Kt/V, second generation.

    Daugirdas JT. JASN 1993;4:1205-13: ``spKt/V = -ln(R - 0.008 t) + (4 - 3.5 R) UF/W``, R = post/pre BUN,
    t in hours, UF in litres, W = post-dialysis weight (kg). Accepts numpy arrays (broadcast).
    """
    pre = np.asarray(_check("pre_bun", pre_bun, 0, 1000, "mg/dL", low_open=True))
    post = np.asarray(_check("post_bun", post_bun, 0, 1000, "mg/dL", low_open=True))
    t = np.asarray(_check("duration_h", duration_h, 0, 24, "h", low_open=True))
    uf = np.asarray(_check("uf_l", uf_l, 0, 20, "L"))
    w = np.asarray(_check("post_weight_kg", post_weight_kg, 10, 300, "kg"))
    r = post / pre
    if np.any(r > 1):
        raise InputError("post_bun: must not exceed pre_bun", "post_bun")
    arg = r - 0.008 * t
    if np.any(arg <= 0):
        raise InputError(
            "post_bun: post/pre BUN ratio minus 0.008 x hours must be > 0 (Daugirdas II)", "post_bun"
        )
    return _out(-np.log(arg) + (4.0 - 3.5 * r) * uf / w)


AccessType = Literal["fistula", "graft", "arterial", "catheter", "venous"]


def ekt_v_rate(sp_ktv: ArrayLike, duration_h: ArrayLike, access: str = "fistula") -> FloatOrArray:
    """Equilibrated Kt/V by the Daugirdas rate equation.

    Arterial (AV fistula/graft) access: ``eKt/V = sp - 0.6 sp/t + 0.03`` (Daugirdas & Schneditz, ASAIO J 1995;
    confirmed by Smye et al. ASAIO J 1999;45:562 and Maduell et al. Nefrologia 1997).
    Venous catheter: ``sp - 0.47 sp/t + 0.02`` -- widely quoted constants, NOT verified against the primary
    source (physiology.md §2.1); use with caution.
    """
    sp = np.asarray(_check("sp_ktv", sp_ktv, 0, 50))
    t = np.asarray(_check("duration_h", duration_h, 0, 24, "h", low_open=True))
    a = str(access).strip().lower()
    if a in {"fistula", "graft", "arterial", "avf", "avg"}:
        slope, const = 0.6, 0.03
    elif a in {"catheter", "venous", "cvc"}:
        slope, const = 0.47, 0.02  # unverified constants (see docstring)
    else:
        raise InputError(f"access: {access!r} is not one of fistula, graft, catheter", "access")
    return _out(sp - slope * sp / t + const)


def ekt_v_tattersall(sp_ktv: ArrayLike, duration_min: ArrayLike, tp_min: float = 35.0) -> FloatOrArray:
    """Equilibrated Kt/V from the patient clearance time: ``eKt/V = sp T/(T + tp)``.

    Tattersall JE et al. Kidney Int 1996;50:2094. tp ~ 35 min for AV access (36 min in Smye et al. ASAIO J
    1999;45:562), ~22 min for a venous catheter (secondary source).
    """
    sp = np.asarray(_check("sp_ktv", sp_ktv, 0, 50))
    t = np.asarray(_check("duration_min", duration_min, 0, 1440, "min", low_open=True))
    tp = require_range("tp_min", tp_min, 0, 240, "min")
    return _out(sp * t / (t + tp))


def modified_urr_pct(
    r: ArrayLike, uf_l: ArrayLike, body_weight_kg: ArrayLike, duration_h: ArrayLike
) -> FloatOrArray:
    """URR corrected for UF and intradialytic urea generation, %.

    ``mURR = [1 - R/(1 + 2 UF/BW) + 0.01 t] x 100`` (Lee-type modified URR; mURR 64/70/76 % correspond to
    spKt/V 1.0/1.2/1.4 per its abstract; parenthesisation as read in physiology.md TV-2.6).
    """
    rr = np.asarray(_check("r", r, 0, 1, low_open=True))
    uf = np.asarray(_check("uf_l", uf_l, 0, 20, "L"))
    bw = np.asarray(_check("body_weight_kg", body_weight_kg, 10, 300, "kg"))
    t = np.asarray(_check("duration_h", duration_h, 0, 24, "h"))
    return _out((1.0 - rr / (1.0 + 2.0 * uf / bw) + 0.01 * t) * 100.0)


def ktv_from_clearance(k_ml_min: ArrayLike, duration_min: ArrayLike, v_l: ArrayLike) -> FloatOrArray:
    """Dimensionless dose ``K t / V`` from clearance (mL/min), time (min) and volume (L)."""
    k = np.asarray(_check("k_ml_min", k_ml_min, 0, 2000, "mL/min"))
    t = np.asarray(_check("duration_min", duration_min, 0, 1440, "min"))
    v = np.asarray(_check("v_l", v_l, 0, 200, "L", low_open=True))
    return _out(k * t / (v * 1000.0))


def inadequate_dose(sp_ktv: float | None, urr_pct: float | None = None) -> bool:
    """KDOQI 2006 CPG 4: dose inadequate if spKt/V < 1.2 or URR < 65 % (either given value failing)."""
    if sp_ktv is None and urr_pct is None:
        raise InputError("sp_ktv: give sp_ktv or urr_pct", "sp_ktv")
    if sp_ktv is not None and require_range("sp_ktv", sp_ktv, 0, 10) < KDOQI_MIN_SP_KTV:
        return True
    return urr_pct is not None and require_range("urr_pct", urr_pct, -100, 100, "%") < KDOQI_MIN_URR_PCT


# ---------------------------------------------------------------------------------------------------------
# UF rate and thresholds
# ---------------------------------------------------------------------------------------------------------


def uf_rate_ml_per_kg_h(uf_l: ArrayLike, duration_min: ArrayLike, weight_kg: ArrayLike) -> FloatOrArray:
    """Ultrafiltration rate normalised to body weight, mL/kg/h: ``1000 UF / (t/60) / W``.

    Thresholds: > 13 mL/kg/h HR 1.59 (Flythe et al. Kidney Int 2011;79:250); > 10 HR 1.22 (Assimon et al.
    AJKD 2016;68:911). Use post-dialysis (target) weight.
    """
    uf = np.asarray(_check("uf_l", uf_l, 0, 20, "L"))
    t = np.asarray(_check("duration_min", duration_min, 0, 1440, "min", low_open=True))
    w = np.asarray(_check("weight_kg", weight_kg, 10, 300, "kg"))
    return _out(uf * 1000.0 / (t / 60.0) / w)


def uf_rate_band(ufr_ml_kg_h: float) -> str:
    """Band of a weight-indexed UF rate: ``"<=10"``, ``"10-13"`` or ``">13"`` (Flythe 2011; Assimon 2016)."""
    u = require_range("uf_rate_ml_kg_h", ufr_ml_kg_h, 0, 200, "mL/kg/h")
    if u > 13.0:
        return ">13"
    return "10-13" if u > 10.0 else "<=10"


def kcqa_high_ufr(ufr_ml_kg_h: float, duration_min: float) -> bool:
    """KCQA/NQF measure (AJKD 2016;68:522): UFR >= 13 mL/kg/h with a session shorter than 240 min."""
    u = require_range("uf_rate_ml_kg_h", ufr_ml_kg_h, 0, 200, "mL/kg/h")
    t = require_range("duration_min", duration_min, 0, 1440, "min")
    return u >= 13.0 and t < 240.0


def mermelstein_uf_thresholds_ml_h(weight_kg: float, sex: str) -> dict[str, float]:
    """Weight-indexed absolute UF-rate thresholds (mL/h).

    Mermelstein A, Raimann JG, Wang Y, Kotanko P, Daugirdas JT. CJASN 2023;18:767 (n = 396,358): average UFR
    ``3W + 330``; UFR with +20 % weight-specific mortality ``3W + 500``; +40 % ``3W + 630``;
    men 70 mL/h higher.
    Keys: ``average``, ``risk_20pct``, ``risk_40pct``.
    """
    w = require_range("weight_kg", weight_kg, 10, 300, "kg")
    extra = 70.0 if _is_male(sex) else 0.0
    return {
        "average": 3.0 * w + 330.0 + extra,
        "risk_20pct": 3.0 * w + 500.0 + extra,
        "risk_40pct": 3.0 * w + 630.0 + extra,
    }


# ---------------------------------------------------------------------------------------------------------
# Intradialytic hypotension definitions
# ---------------------------------------------------------------------------------------------------------


def idh_nadir(pre_sbp: float, nadir_sbp: float) -> bool:
    """Nadir-based IDH (Flythe et al. JASN 2015): nadir SBP < 90 mmHg, or < 100 mmHg when pre-SBP >= 160."""
    pre = require_range("pre_sbp", pre_sbp, 40, 300, "mmHg")
    nadir = require_range("nadir_sbp", nadir_sbp, 20, 300, "mmHg")
    return nadir < (100.0 if pre >= 160.0 else 90.0)


def idh_ebpg_fall(
    pre_sbp: float, nadir_sbp: float, pre_map: float | None = None, nadir_map: float | None = None
) -> bool:
    """BP-fall criterion of the EBPG definition (Kooman et al. NDT 2007;22 Suppl 2:ii22): SBP fall >= 20 mmHg
    or MAP fall >= 10 mmHg (MAP part only when both MAP values are given)."""
    pre = require_range("pre_sbp", pre_sbp, 40, 300, "mmHg")
    nadir = require_range("nadir_sbp", nadir_sbp, 20, 300, "mmHg")
    if pre - nadir >= 20.0:
        return True
    if pre_map is not None and nadir_map is not None:
        pm = require_range("pre_map", pre_map, 20, 250, "mmHg")
        nm = require_range("nadir_map", nadir_map, 10, 250, "mmHg")
        return pm - nm >= 10.0
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


# ---------------------------------------------------------------------------------------------------------
# Dialyzer clearance
# ---------------------------------------------------------------------------------------------------------


def michaels_clearance_ml_min(
    koa_ml_min: ArrayLike, qb_ml_min: ArrayLike, qd_ml_min: ArrayLike
) -> FloatOrArray:
    """Diffusive counter-current clearance, mL/min (Michaels AS. Trans ASAIO 1966;12:387).

    ``Z = exp[KoA/Qb (1 - Qb/Qd)]``, ``Kd = Qb (Z - 1)/(Z - Qb/Qd)``; at Qb = Qd the limit
    ``Kd = Qb NTU/(1 + NTU)``, NTU = KoA/Qb. ``qb_ml_min`` is the (effective) blood-side flow of the solute.
    Accepts numpy arrays (broadcast).
    """
    koa = np.asarray(_check("koa_ml_min", koa_ml_min, 0, 5000, "mL/min", low_open=True))
    qb = np.asarray(_check("qb_ml_min", qb_ml_min, 0, 2000, "mL/min", low_open=True))
    qd = np.asarray(_check("qd_ml_min", qd_ml_min, 0, 3000, "mL/min", low_open=True))
    koa, qb, qd = np.broadcast_arrays(koa, qb, qd)
    ntu = koa / qb
    ratio = qb / qd
    x = ntu * (1.0 - ratio)
    near_equal = np.abs(x) < 1e-9
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # Qb (Z - 1)/(Z - ratio) rewritten with expm1 for accuracy near ratio = 1
        em1 = np.expm1(np.where(near_equal, 1.0, x))
        kd = qb * em1 / (em1 + 1.0 - ratio)
        kd = np.where(np.isinf(em1), qb, kd)  # huge positive x (Qb < Qd): Kd -> Qb
    kd = np.where(near_equal, qb * ntu / (1.0 + ntu), kd)
    return _out(kd)


def michaels_koa_ml_min(kd: ArrayLike, qb: ArrayLike, qd: ArrayLike) -> FloatOrArray:
    """Inverse Michaels: mass-transfer area coefficient from a measured diffusive clearance, mL/min.

    ``KoA = Qb/(1 - Qb/Qd) ln[(1 - Kd/Qd)/(1 - Kd/Qb)]`` (Michaels 1966; as in SPEEDY, Casino & Basile NDT
    2018;33:1046); at Qb = Qd, ``KoA = Kd/(1 - Kd/Qb)``. Requires Kd < min(Qb, Qd).
    """
    k = np.asarray(_check("kd_ml_min", kd, 0, 2000, "mL/min", low_open=True))
    b = np.asarray(_check("qb_ml_min", qb, 0, 2000, "mL/min", low_open=True))
    d = np.asarray(_check("qd_ml_min", qd, 0, 3000, "mL/min", low_open=True))
    k, b, d = np.broadcast_arrays(k, b, d)
    if np.any(k >= np.minimum(b, d)):
        raise InputError("kd_ml_min: clearance must be below both Qb and Qd", "kd_ml_min")
    ratio = b / d
    near_equal = np.abs(1.0 - ratio) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        koa = b / (1.0 - ratio) * np.log((1.0 - k / d) / (1.0 - k / b))
    koa = np.where(near_equal, k / (1.0 - k / b), koa)
    return _out(koa)


def sargent_gotch_clearance(kd: ArrayLike, qb: ArrayLike, qf: ArrayLike) -> FloatOrArray:
    """Total clearance with ultrafiltration, ``K = Kd (1 - Qf/Qb) + Qf`` (Sargent & Gotch, in Replacement of
    Renal Function by Dialysis, 1989), mL/min."""
    k = np.asarray(_check("kd_ml_min", kd, 0, 2000, "mL/min"))
    b = np.asarray(_check("qb_ml_min", qb, 0, 2000, "mL/min", low_open=True))
    f = np.asarray(_check("qf_ml_min", qf, 0, 500, "mL/min"))
    return _out(k * (1.0 - f / b) + f)


def jaffrin_clearance(kd: ArrayLike, qf: ArrayLike) -> FloatOrArray:
    """Empirical convective correction ``K = Kd + 0.46 Qf`` (Jaffrin MY et al. J Biomech Eng 1990;112:212)."""
    k = np.asarray(_check("kd_ml_min", kd, 0, 2000, "mL/min"))
    f = np.asarray(_check("qf_ml_min", qf, 0, 500, "mL/min"))
    return _out(k + 0.46 * f)


class SpeedyClearance(NamedTuple):
    """Result of :func:`speedy_clearance` (mL/min)."""

    qbw_ml_min: float
    kd_ml_min: float
    k_conv_ml_min: float
    k_total_ml_min: float


def speedy_clearance(
    koa_ml_min: float,
    qb_ml_min: float,
    qd_ml_min: float,
    qf_ml_min: float = 0.0,
    q_hdf_pre_ml_min: float = 0.0,
    q_hdf_post_ml_min: float = 0.0,
    blood_water_fraction: float = 0.894,
) -> SpeedyClearance:
    """SPEEDY prescription clearance (Casino FG, Basile C. NDT 2018;33:1046), as in physiology.md §2.1.

    ``Qbw = 0.894 Qb``; Michaels Kd on Qbw; ``K_conv = (Qbw - Kd)/Qbw (Qf + Q_pre + Q_post)``;
    ``K_tot = (Kd + K_conv)(Qbw - Q_pre)/Qbw``. The KoA given is used as is (SPEEDY's in-vivo factors
    0.537 and the Qd factor are not applied here).
    """
    qb = require_range("qb_ml_min", qb_ml_min, 1, 2000, "mL/min")
    fb = require_range("blood_water_fraction", blood_water_fraction, 0.5, 1.0)
    qf = require_range("qf_ml_min", qf_ml_min, 0, 500, "mL/min")
    pre = require_range("q_hdf_pre_ml_min", q_hdf_pre_ml_min, 0, 1000, "mL/min")
    post = require_range("q_hdf_post_ml_min", q_hdf_post_ml_min, 0, 1000, "mL/min")
    qbw = fb * qb
    kd = float(michaels_clearance_ml_min(koa_ml_min, qbw, qd_ml_min))
    k_conv = (qbw - kd) / qbw * (qf + pre + post)
    k_tot = (kd + k_conv) * (qbw - pre) / qbw
    return SpeedyClearance(qbw, kd, k_conv, k_tot)


def effective_blood_water_flow_ml_min(qb: ArrayLike, hct: ArrayLike, solute: str = "urea") -> FloatOrArray:
    """Blood flow that carries the solute to the dialyzer, mL/min.

    ``Qe = Qb [Fp (1 - Hct) + Fr Hct gamma R]``, Fp = 0.94, Fr = 0.72 (Ursino et al. Ann Biomed Eng 2000;
    Lim et al. Yonsei Med J 2008 App. 1 eq. 27); gamma = 1, R = 1 for urea (red-cell water exchanges urea
    within the dialyzer), gamma = 0 for ions (Na, K, Cl, HCO3 only from plasma water). The Hct-weighted
    red-cell term is used (physiology.md §1.3 notes one code omits the Hct factor, giving Qe > Qb).
    ``hct`` is a fraction (0-0.8), not a percentage.
    """
    q = np.asarray(_check("qb_ml_min", qb, 0, 2000, "mL/min", low_open=True))
    h = np.asarray(_check("hct", hct, 0, 0.8, "(fraction)"))
    s = str(solute).strip().lower()
    if s == "urea":
        gamma = 1.0
    elif s in {"na", "k", "cl", "hco3", "sodium", "potassium", "chloride", "bicarbonate", "ion"}:
        gamma = 0.0
    else:
        raise InputError(f"solute: {solute!r} is not one of urea, na, k, cl, hco3", "solute")
    return _out(q * (PLASMA_WATER_FRACTION * (1.0 - h) + RED_CELL_WATER_FRACTION * h * gamma))


# ---------------------------------------------------------------------------------------------------------
# Osmolality and unit conversions
# ---------------------------------------------------------------------------------------------------------


def osmolality_calc_mosm_kg(
    na_mmol_l: ArrayLike, glucose_mg_dl: ArrayLike, bun_mg_dl: ArrayLike
) -> FloatOrArray:
    """Calculated osmolality ``2 Na + glucose/18 + BUN/2.8``, mOsm/kg (normal 275-295, Worthley 1987), with
    the molar conversions of :mod:`crampwatch.units` (glucose / 18.016, BUN / 2.8014)."""
    na = np.asarray(_check("na_mmol_l", na_mmol_l, 80, 200, "mmol/L"))
    glu = np.asarray(_check("glucose_mg_dl", glucose_mg_dl, 0, 3000, "mg/dL"))
    bun = np.asarray(_check("bun_mg_dl", bun_mg_dl, 0, 1000, "mg/dL"))
    return _out(2.0 * na + glu / GLUCOSE_MG_DL_PER_MMOL_L + bun / BUN_MG_DL_PER_UREA_MMOL_L)


def bun_mg_dl_to_urea_mmol_l(x: ArrayLike) -> FloatOrArray:
    """Blood urea nitrogen (mg/dL) to urea (mmol/L): / 2.8014 (x 0.357)."""
    return _out(np.asarray(_check("bun_mg_dl", x, 0, 1000, "mg/dL")) * UREA_MMOL_L_PER_BUN_MG_DL)


def urea_mmol_l_to_bun_mg_dl(x: ArrayLike) -> FloatOrArray:
    """Urea (mmol/L) to blood urea nitrogen (mg/dL): x 2.8014 (/ 0.357)."""
    return _out(np.asarray(_check("urea_mmol_l", x, 0, 400, "mmol/L")) / UREA_MMOL_L_PER_BUN_MG_DL)


def ca_mg_dl_to_mmol_l(x: ArrayLike) -> FloatOrArray:
    """Calcium mg/dL to mmol/L: / 4.008."""
    return _out(np.asarray(_check("ca_mg_dl", x, 0, 40, "mg/dL")) / CA_MG_DL_PER_MMOL_L)


def ca_mmol_l_to_mg_dl(x: ArrayLike) -> FloatOrArray:
    """Calcium mmol/L to mg/dL: x 4.008."""
    return _out(np.asarray(_check("ca_mmol_l", x, 0, 10, "mmol/L")) * CA_MG_DL_PER_MMOL_L)


# ---------------------------------------------------------------------------------------------------------
# Oncotic pressure, hematocrit, blood and plasma volume, cell equilibrium
# ---------------------------------------------------------------------------------------------------------


def plasma_oncotic_pressure_mmhg(protein_g_dl: ArrayLike) -> FloatOrArray:
    """Plasma colloid osmotic pressure (Landis-Pappenheimer form, as in Lim et al. Yonsei Med J 2008 App. 1):
    ``2.1 c + 0.16 c^2 + 0.009 c^3`` (c in g/dL, mmHg)."""
    c = np.asarray(_check("protein_g_dl", protein_g_dl, 0, 20, "g/dL"))
    return _out(2.1 * c + 0.16 * c**2 + 0.009 * c**3)


def interstitial_oncotic_pressure_mmhg(c: ArrayLike) -> FloatOrArray:
    """Interstitial colloid osmotic pressure ``2.8 c + 0.18 c^2 + 0.012 c^3`` (c in g/dL, mmHg; Lim 2008)."""
    cc = np.asarray(_check("protein_g_dl", c, 0, 20, "g/dL"))
    return _out(2.8 * cc + 0.18 * cc**2 + 0.012 * cc**3)


def guyton_plasma_oncotic_pressure_mmhg(protein_g_l: ArrayLike) -> FloatOrArray:
    """Guyton-model plasma colloid osmotic pressure ``0.28 CPP + 0.0019 CPP^2`` (CPP in g/L, mmHg;
    CellML ``capillary_dynamics`` of the Guyton 1972 model)."""
    c = np.asarray(_check("protein_g_l", protein_g_l, 0, 200, "g/L"))
    return _out(0.28 * c + 0.0019 * c**2)


def delosreyes_oncotic_pressures_mmhg(
    cp_mg_ml: ArrayLike, ci_mg_ml: ArrayLike
) -> tuple[FloatOrArray, FloatOrArray]:
    """Plasma and interstitial oncotic pressure of the de los Reyes/Kotanko refill model (J Theor Biol 2016):
    ``pi_p = 0.1752 Cp + 0.0028 Cp^2``, ``pi_i = 0.2336 Ci + 0.0034 Ci^2`` (C in mg/mL, mmHg)."""
    cp = np.asarray(_check("cp_mg_ml", cp_mg_ml, 0, 200, "mg/mL"))
    ci = np.asarray(_check("ci_mg_ml", ci_mg_ml, 0, 200, "mg/mL"))
    return _out(0.1752 * cp + 0.0028 * cp**2), _out(0.2336 * ci + 0.0034 * ci**2)


def hct_constant_red_cell_volume(hct0: ArrayLike, vp0_l: ArrayLike, vp_l: ArrayLike) -> FloatOrArray:
    """Hematocrit (fraction) after plasma volume changes from Vp0 to Vp with constant red-cell volume:
    ``Hct = 1/(H0 Vp + 1)``, ``H0 = (1 - Hct0)/(Hct0 Vp0)`` (de los Reyes/Kotanko, J Theor Biol 2016)."""
    h0 = np.asarray(_check("hct0", hct0, 0, 0.8, "(fraction)", low_open=True))
    v0 = np.asarray(_check("vp0_l", vp0_l, 0, 20, "L", low_open=True))
    v = np.asarray(_check("vp_l", vp_l, 0, 20, "L", low_open=True))
    k = (1.0 - h0) / (h0 * v0)
    return _out(1.0 / (k * v + 1.0))


def rbv_from_hct(hct0: ArrayLike, hct: ArrayLike) -> FloatOrArray:
    """Relative blood volume (fraction of start) with constant red-cell mass: ``RBV = Hct0/Hct``.

    Units of the two hematocrits must match (both % or both fractions)."""
    h0 = np.asarray(_check("hct0", hct0, 0, 100, low_open=True))
    h = np.asarray(_check("hct", hct, 0, 100, low_open=True))
    return _out(h0 / h)


def plasma_hemoconcentration(hct0_pct: ArrayLike, hct_pct: ArrayLike) -> FloatOrArray:
    """Plasma hemoconcentration ``h_p = H1(100 - H0)/[H0(100 - H1)]``, H in %
    (Schneditz, ASAIO J 2012;58:160)."""
    h0 = np.asarray(_check("hct0_pct", hct0_pct, 0, 90, "%", low_open=True))
    h1 = np.asarray(_check("hct_pct", hct_pct, 0, 90, "%", low_open=True))
    return _out(h1 * (100.0 - h0) / (h0 * (100.0 - h1)))


def relative_plasma_volume(hct0_pct: ArrayLike, hct_pct: ArrayLike) -> FloatOrArray:
    """Relative plasma volume ``RPV = 1/h_p = H0(100 - H1)/[H1(100 - H0)]`` (Schneditz, ASAIO J 2012)."""
    return _out(1.0 / np.asarray(plasma_hemoconcentration(hct0_pct, hct_pct)))


def cell_equilibrium_conc_mmol_l(beta: ArrayLike, c_ex_mmol_l: ArrayLike) -> FloatOrArray:
    """Intracellular concentration at membrane equilibrium ``c_ic = beta c_ex`` (Ursino et al. Ann Biomed Eng
    2000 eq. 12; beta_Na 0.0704, beta_K 28.2, beta_urea 1)."""
    b = np.asarray(_check("beta", beta, 0, 100))
    c = np.asarray(_check("c_ex_mmol_l", c_ex_mmol_l, 0, 1000, "mmol/L"))
    return _out(b * c)


__all__ = [
    "KDOQI_MIN_SP_KTV",
    "KDOQI_MIN_URR_PCT",
    "KDOQI_TARGET_SP_KTV",
    "KDOQI_TARGET_URR_PCT",
    "SpeedyClearance",
    "bun_mg_dl_to_urea_mmol_l",
    "ca_mg_dl_to_mmol_l",
    "ca_mmol_l_to_mg_dl",
    "cell_equilibrium_conc_mmol_l",
    "delosreyes_oncotic_pressures_mmhg",
    "effective_blood_water_flow_ml_min",
    "ekt_v_rate",
    "ekt_v_tattersall",
    "guyton_plasma_oncotic_pressure_mmhg",
    "hct_constant_red_cell_volume",
    "idh_ebpg",
    "idh_ebpg_fall",
    "idh_kdoqi",
    "idh_nadir",
    "inadequate_dose",
    "interstitial_oncotic_pressure_mmhg",
    "jaffrin_clearance",
    "kcqa_high_ufr",
    "ktv_from_clearance",
    "mermelstein_uf_thresholds_ml_h",
    "michaels_clearance_ml_min",
    "michaels_koa_ml_min",
    "modified_urr_pct",
    "osmolality_calc_mosm_kg",
    "plasma_hemoconcentration",
    "plasma_oncotic_pressure_mmhg",
    "rbv_from_hct",
    "relative_plasma_volume",
    "sargent_gotch_clearance",
    "speedy_clearance",
    "sp_ktv_daugirdas",
    "uf_rate_band",
    "uf_rate_ml_per_kg_h",
    "urea_mmol_l_to_bun_mg_dl",
    "urr_pct",
    "watson_volume_l",
]
