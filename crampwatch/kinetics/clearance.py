"""Dialyzer clearance formulas: Michaels counter-current clearance and its inverse, ultrafiltration
corrections, SPEEDY, and the effective blood-water flow.

Array cores (``*_array``, no input checking) serve the hot paths; the public wrappers validate their input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from crampwatch.errors import InputError, require_range
from crampwatch.kinetics.checks import ArrayLike, FloatOrArray, check, out
from crampwatch.signals import QB_ML_MIN

#: Blood-water fractions for the effective dialyzer flow (Ursino et al. Ann Biomed Eng 2000;28:204, via
#: Lim et al. Yonsei Med J 2008;49:581, App. 1 eq. 27): plasma water 0.94, red-cell water 0.72.
PLASMA_WATER_FRACTION = 0.94
RED_CELL_WATER_FRACTION = 0.72


def michaels_clearance_array(koa_ml_min: ArrayLike, qb_ml_min: ArrayLike, qd_ml_min: ArrayLike) -> np.ndarray:
    """Array core of :func:`michaels_clearance_ml_min` (flows > 0 assumed; no input checking)."""
    koa, qb, qd = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (koa_ml_min, qb_ml_min, qd_ml_min))
    )
    ntu = koa / qb
    ratio = qb / qd
    x = ntu * (1.0 - ratio)
    near_equal = np.abs(x) < 1e-9
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # Qb (Z - 1)/(Z - ratio) rewritten with expm1 for accuracy near ratio = 1
        em1 = np.expm1(np.where(near_equal, 1.0, x))
        kd = qb * em1 / (em1 + 1.0 - ratio)
        kd = np.where(np.isinf(em1), qb, kd)  # huge positive x (Qb < Qd): Kd -> Qb
    return np.where(near_equal, qb * ntu / (1.0 + ntu), kd)


def michaels_clearance_ml_min(
    koa_ml_min: ArrayLike, qb_ml_min: ArrayLike, qd_ml_min: ArrayLike
) -> FloatOrArray:
    """Diffusive counter-current clearance, mL/min (Michaels AS. Trans ASAIO 1966;12:387).

    ``Z = exp[KoA/Qb (1 - Qb/Qd)]``, ``Kd = Qb (Z - 1)/(Z - Qb/Qd)``; at Qb = Qd the limit
    ``Kd = Qb NTU/(1 + NTU)``, NTU = KoA/Qb. ``qb_ml_min`` is the (effective) blood-side flow of the solute.
    Accepts numpy arrays (broadcast).
    """
    koa = np.asarray(check("koa_ml_min", koa_ml_min, 0, 5000, "mL/min", low_open=True))
    qb = np.asarray(check(QB_ML_MIN, qb_ml_min, 0, 2000, "mL/min", low_open=True))
    qd = np.asarray(check("qd_ml_min", qd_ml_min, 0, 3000, "mL/min", low_open=True))
    return out(michaels_clearance_array(koa, qb, qd))


def michaels_koa_ml_min(kd: ArrayLike, qb: ArrayLike, qd: ArrayLike) -> FloatOrArray:
    """Inverse Michaels: mass-transfer area coefficient from a measured diffusive clearance, mL/min.

    ``KoA = Qb/(1 - Qb/Qd) ln[(1 - Kd/Qd)/(1 - Kd/Qb)]`` (Michaels 1966; as in SPEEDY, Casino & Basile NDT
    2018;33:1046); at Qb = Qd, ``KoA = Kd/(1 - Kd/Qb)``. Requires Kd < min(Qb, Qd).
    """
    k = np.asarray(check("kd_ml_min", kd, 0, 2000, "mL/min", low_open=True))
    b = np.asarray(check(QB_ML_MIN, qb, 0, 2000, "mL/min", low_open=True))
    d = np.asarray(check("qd_ml_min", qd, 0, 3000, "mL/min", low_open=True))
    k, b, d = np.broadcast_arrays(k, b, d)
    if np.any(k >= np.minimum(b, d)):
        raise InputError("kd_ml_min: clearance must be below both Qb and Qd", "kd_ml_min")
    ratio = b / d
    near_equal = np.abs(1.0 - ratio) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        koa = b / (1.0 - ratio) * np.log((1.0 - k / d) / (1.0 - k / b))
    koa = np.where(near_equal, k / (1.0 - k / b), koa)
    return out(koa)


def sargent_gotch_clearance(kd: ArrayLike, qb: ArrayLike, qf: ArrayLike) -> FloatOrArray:
    """Total clearance with ultrafiltration, ``K = Kd (1 - Qf/Qb) + Qf`` (Sargent & Gotch, in Replacement of
    Renal Function by Dialysis, 1989), mL/min."""
    k = np.asarray(check("kd_ml_min", kd, 0, 2000, "mL/min"))
    b = np.asarray(check(QB_ML_MIN, qb, 0, 2000, "mL/min", low_open=True))
    f = np.asarray(check("qf_ml_min", qf, 0, 500, "mL/min"))
    return out(k * (1.0 - f / b) + f)


def jaffrin_clearance(kd: ArrayLike, qf: ArrayLike) -> FloatOrArray:
    """Empirical convective correction ``K = Kd + 0.46 Qf`` (Jaffrin MY et al. J Biomech Eng 1990;112:212)."""
    k = np.asarray(check("kd_ml_min", kd, 0, 2000, "mL/min"))
    f = np.asarray(check("qf_ml_min", qf, 0, 500, "mL/min"))
    return out(k + 0.46 * f)


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
    """SPEEDY prescription clearance (Casino FG, Basile C. NDT 2018;33:1046).

    ``Qbw = 0.894 Qb``; Michaels Kd on Qbw; ``K_conv = (Qbw - Kd)/Qbw (Qf + Q_pre + Q_post)``;
    ``K_tot = (Kd + K_conv)(Qbw - Q_pre)/Qbw``. The KoA given is used as is (SPEEDY's in-vivo factors
    0.537 and the Qd factor are not applied here).
    """
    qb = require_range(QB_ML_MIN, qb_ml_min, 1, 2000, "mL/min")
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
    red-cell term is used (omitting the Hct factor, as one public implementation does, gives Qe > Qb).
    ``hct`` is a fraction (0-0.8), not a percentage.
    """
    q = np.asarray(check(QB_ML_MIN, qb, 0, 2000, "mL/min", low_open=True))
    h = np.asarray(check("hct", hct, 0, 0.8, "(fraction)"))
    s = str(solute).strip().lower()
    if s == "urea":
        gamma = 1.0
    elif s in {"na", "k", "cl", "hco3", "sodium", "potassium", "chloride", "bicarbonate", "ion"}:
        gamma = 0.0
    else:
        raise InputError(f"solute: {solute!r} is not one of urea, na, k, cl, hco3", "solute")
    return out(effective_blood_water_flow_array(q, h, gamma))


def effective_blood_water_flow_array(
    qb_ml_min: ArrayLike,
    hct: ArrayLike,
    gamma: ArrayLike,
    plasma_water: float = PLASMA_WATER_FRACTION,
    red_cell_water: float = RED_CELL_WATER_FRACTION,
) -> np.ndarray:
    """Array core of :func:`effective_blood_water_flow_ml_min`: ``Qb [Fp (1 - Hct) + Fr Hct gamma]`` (hct a
    fraction; gamma 1 for urea, 0 for ions; other blood-water constants may be given)."""
    h = np.asarray(hct, dtype=float)
    return np.asarray(qb_ml_min, dtype=float) * (
        plasma_water * (1.0 - h) + red_cell_water * h * np.asarray(gamma)
    )
