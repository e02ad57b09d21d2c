"""Dialyzer urea clearance and the one spKt/V convention shared by the session model and the weekly model.

Convention (:data:`SESSION`, the default everywhere a scenario is turned into a dose): urea reaches the
dialyzer in the blood-water flow ``Qe = Qb [0.94 (1 - Hct_wb) + 0.72 Hct_wb]`` (plasma water and red-cell
water, Ursino et al. Ann Biomed Eng 2000; Lim et al. Yonsei Med J 2008 App. 1 eq. 27), with the whole-body
hematocrit ``Hct_wb = 0.91 x`` the measured (large-vessel) Hct; diffusive clearance by Michaels on the in-vivo
KoA (0.8 x the package-insert KoA); access recirculation for catheters; ultrafiltration by Sargent & Gotch ``K
= Kd (1 - Qf/Qe) + Qf``. The clearance acts on the body-water urea concentration, and V is the Watson total
body water at dry weight, so spKt/V = K t / V. The session model (:mod:`crampwatch.physiology.derive`) builds
its urea clearance with this function, and :func:`crampwatch.weekly.weekly_dose` uses it, so both report the
same dose for the same patient and prescription.

:data:`MEYER` reproduces T. W. Meyer's urea simulator (its 149 golden cases in ``tests/test_weekly.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crampwatch.errors import InputError
from crampwatch.kinetics import effective_blood_water_flow_array, michaels_clearance_array
from crampwatch.signals import HCT_PCT, QB_ML_MIN


@dataclass(frozen=True)
class BloodWaterConstants:
    """How blood carries urea to the dialyzer and what concentration the clearance refers to."""

    name: str
    plasma_water_fraction: float
    red_cell_water_fraction: float
    plasma_referenced: bool
    source: str
    #: in-vivo KoA / package-insert KoA
    koa_in_vivo_fraction: float = 1.0
    #: whole-body / large-vessel hematocrit (1.0: the dialyzer sees the measured Hct)
    whole_body_hct_ratio: float = 1.0
    #: access recirculation of a central venous catheter (fistula and graft: 0)
    catheter_recirculation: float = 0.0


#: T. W. Meyer's simulator (aaaahn/dialsim): plasma water 0.93 of plasma (protein fraction 0.07), red-cell
#: water term 0.86 x Hct, clearance expressed per plasma concentration (removal / C_plasma = K_water / 0.93),
#: KoA as entered. 0.93 is also Solute-Solver's plasma-water fraction (Daugirdas et al. AJKD 2009). Reproduces
#: the validated simulator (median error 0.01 % on its 149 clearances).
MEYER = BloodWaterConstants(
    "meyer", 0.93, 0.86, True, "T. W. Meyer urea simulator (aaaahn/dialsim, MIT); Daugirdas AJKD 2009"
)
#: The convention of the session model and of every scenario-based dose (module docstring). Sources: blood
#: water Ursino M et al. Ann Biomed Eng 2000;28:204 / Lim KM et al. Yonsei Med J 2008;49:581 (F_p 0.94,
#: F_R 0.72); whole-body/large-vessel Hct 0.91 (0.9 +- 0.05, Hemodial Int 2016, PMC4937455; Balga 0.911);
#: in-vivo clearance ~80 % of in-vitro (NKF primer; SPEEDY uses 0.537, Casino & Basile NDT 2018), a modelling
#: choice in that range; catheter recirculation 5-15 % (modelling choice 10 %).
SESSION = BloodWaterConstants(
    "session",
    0.94,
    0.72,
    False,
    "Ursino Ann Biomed Eng 2000; Lim Yonsei Med J 2008; NKF primer; Hemodial Int 2016 (F_cells)",
    koa_in_vivo_fraction=0.8,
    whole_body_hct_ratio=0.91,
    catheter_recirculation=0.10,
)
BLOOD_WATER = {c.name: c for c in (SESSION, MEYER)}


def blood_water_constants(blood_water: str | BloodWaterConstants) -> BloodWaterConstants:
    """The named convention (``session`` or ``meyer``), or the given constants."""
    if isinstance(blood_water, BloodWaterConstants):
        return blood_water
    try:
        return BLOOD_WATER[str(blood_water).strip().lower()]
    except KeyError:
        raise InputError(
            f"blood_water: {blood_water!r} is not one of {', '.join(BLOOD_WATER)}", "blood_water"
        ) from None


def urea_blood_water_flow_array(qb_ml_min, hct_pct, c: BloodWaterConstants = SESSION) -> np.ndarray:
    """Effective blood-water flow that carries urea to the dialyzer, mL/min (array core, no checking): the
    blood-water formula of :func:`crampwatch.kinetics.effective_blood_water_flow_array` with this convention's
    water fractions, at the whole-body hematocrit."""
    h = np.asarray(hct_pct, dtype=float) / 100.0 * c.whole_body_hct_ratio
    return effective_blood_water_flow_array(
        qb_ml_min, h, 1.0, c.plasma_water_fraction, c.red_cell_water_fraction
    )


def recirculated_clearance_array(kd, qe, recirculation) -> np.ndarray:
    """Clearance with access recirculation ``R``: ``Kd (1 - R) / (1 - R + R Kd/Qe)`` (array core)."""
    rec = np.asarray(recirculation, dtype=float)
    return kd * (1.0 - rec) / (1.0 - rec + rec * kd / qe)


def urea_clearance_array(
    qb_ml_min, qd_ml_min, koa_ml_min, hct_pct, qf_ml_min=0.0, catheter=False, c: BloodWaterConstants = SESSION
) -> np.ndarray:
    """Array core of :func:`dialyzer_urea_clearance_ml_min` (no input checking)."""
    qe = urea_blood_water_flow_array(qb_ml_min, hct_pct, c)
    kd = michaels_clearance_array(np.asarray(koa_ml_min, dtype=float) * c.koa_in_vivo_fraction, qe, qd_ml_min)
    kd = recirculated_clearance_array(kd, qe, c.catheter_recirculation * np.asarray(catheter, dtype=float))
    qf = np.asarray(qf_ml_min, dtype=float)
    k = kd * (1.0 - qf / qe) + qf
    return k / c.plasma_water_fraction if c.plasma_referenced else k


def dialyzer_urea_clearance_ml_min(
    qb_ml_min: float | np.ndarray,
    qd_ml_min: float | np.ndarray,
    koa_ml_min: float | np.ndarray,
    hct_pct: float | np.ndarray,
    qf_ml_min: float | np.ndarray = 0.0,
    blood_water: str | BloodWaterConstants = "session",
    catheter: bool | np.ndarray = False,
) -> float | np.ndarray:
    """Dialyzer urea clearance, mL/min (numpy arrays broadcast), by the convention ``blood_water``.

    Effective blood-water flow ``Qe = Qb [Fp (1 - Hct) + Fr Hct]`` (urea moves freely out of red-cell water
    within the dialyzer); diffusive clearance by Michaels (Trans ASAIO 1966) ``Kd = Michaels(KoA, Qe, Qd)``;
    catheter recirculation; ultrafiltration by Sargent & Gotch ``K = Kd (1 - Qf/Qe) + Qf``. With
    plasma-referenced constants (``meyer``) the result is divided by the plasma-water fraction, i.e. it is
    removal rate / plasma concentration.
    """
    c = blood_water_constants(blood_water)
    hct = np.asarray(hct_pct, dtype=float)
    if np.any(~np.isfinite(hct) | (hct < 0) | (hct > 80)):
        raise InputError(f"{HCT_PCT}: {hct_pct!r} is out of range (allowed 0–80 %)", HCT_PCT)
    for name, v, hi in (
        (QB_ML_MIN, qb_ml_min, 2000),
        ("qd_ml_min", qd_ml_min, 3000),
        ("koa_ml_min", koa_ml_min, 5000),
    ):
        a = np.asarray(v, dtype=float)
        if np.any(~np.isfinite(a) | (a <= 0) | (a > hi)):
            raise InputError(f"{name}: {v!r} is out of range (allowed >0–{hi} mL/min)", name)
    qf = np.asarray(qf_ml_min, dtype=float)
    qe = urea_blood_water_flow_array(qb_ml_min, hct, c)
    if np.any(~np.isfinite(qf) | (qf < 0) | (qf >= qe)):
        raise InputError(
            f"qf_ml_min: {qf_ml_min!r} is out of range (allowed 0 to below the blood-water flow)", "qf_ml_min"
        )
    k = urea_clearance_array(qb_ml_min, qd_ml_min, koa_ml_min, hct, qf, catheter, c)
    return float(k) if np.ndim(k) == 0 else k
