"""Exact maps of urea over one interval (a session or the gap after it): one pool, two pools."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.linalg import expm


class Interval(NamedTuple):
    tau: float  # length, min
    v_start: float  # (extracellular) volume at its start, mL
    q: float  # dV/dt, mL/min
    k: float  # total clearance acting (dialyzer + Kr), mL/min
    dialysis: bool
    session: int  # index of the session (or of the session it follows)


def one_pool_interval(
    tau: float, v0: float, q: float, k: float, g: float
) -> tuple[float, float, float, float]:
    """One pool, ``u dC/dt = G - (K + q) C``, u = V0 + q t. Returns (Phi, phi, psi, omega) so that
    ``C(tau) = Phi C0 + phi`` and ``int_0^tau C dt = psi C0 + omega`` (all exact)."""
    if abs(q) < 1e-12:
        if k > 0:
            e = np.exp(-k * tau / v0)
            s = v0 * (1.0 - e) / k
            return e, g / k * (1.0 - e), s, g / k * (tau - s)
        return 1.0, g * tau / v0, tau, g * tau * tau / (2.0 * v0)
    u = v0 + q * tau
    r = v0 / u
    kq = k + q
    if abs(kq) < 1e-12:  # dilution exactly balances removal: u dC/dt = G
        lg = np.log(u / v0)
        return 1.0, g / q * lg, tau, g / q * (u * lg - (u - v0)) / q
    a = k / q
    ra = r**a
    phi_mult = r * ra  # r^(a+1)
    # int_0^tau (u0/u)^(a+1) dt
    w = v0 * (1.0 - ra) / k if k > 0 else v0 * np.log(u / v0) / q
    return phi_mult, g / kq * (1.0 - phi_mult), w, g / kq * (tau - w)


def two_pool_interval(
    tau: float, ve0: float, vi: float, q: float, k: float, kc: float, g: float, substeps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Two pools; state (Ce, Ci). Exact matrix exponential for fixed volume; for a changing extracellular
    volume, steps with the volume at each step's midpoint (error even in the step size), combined by
    Richardson extrapolation of ``substeps`` and ``2 substeps`` steps (fourth order)."""
    if abs(q) < 1e-12:
        return two_pool_steps(tau, ve0, vi, 0.0, k, kc, g, 1)
    # at least one step per 5 % change of the extracellular volume (modelling choice: relative error ~1e-4)
    n = max(substeps, math.ceil(abs(q) * tau / (0.05 * ve0)))
    coarse = two_pool_steps(tau, ve0, vi, q, k, kc, g, n)
    fine = two_pool_steps(tau, ve0, vi, q, k, kc, g, 2 * n)
    pm, pv, ps, om = ((4.0 * f - c) / 3.0 for f, c in zip(fine, coarse, strict=True))
    return pm, pv, ps, float(om)


def two_pool_steps(
    tau: float, ve0: float, vi: float, q: float, k: float, kc: float, g: float, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    h = tau / n
    phi_m = np.eye(2)
    phi_v = np.zeros(2)
    psi = np.zeros(2)
    omega = 0.0
    for i in range(n):
        ve = ve0 + q * (i + 0.5) * h
        # augmented state z = (Ce, Ci, 1, int Ce)
        a = np.zeros((4, 4))
        a[0, 0] = -(k + q + kc) / ve
        a[0, 1] = kc / ve
        a[0, 2] = g / ve
        a[1, 0] = kc / vi
        a[1, 1] = -kc / vi
        a[3, 0] = 1.0
        m = expm(a * h)
        step_m = m[:2, :2]
        step_v = m[:2, 2]
        psi = psi + m[3, :2] @ phi_m
        omega += float(m[3, :2] @ phi_v + m[3, 2])
        phi_v = step_m @ phi_v + step_v
        phi_m = step_m @ phi_m
    return phi_m, phi_v, psi, omega
