"""Weekly standard Kt/V of a session's delivered dose: the one function the analyzer and optimizer share.

Standard Kt/V follows KDOQI 2015 / FHN: the session's single-pool Kt/V becomes equilibrated Kt/V by the
Daugirdas rate equation for the patient's access (:func:`crampwatch.kinetics.ekt_v_rate`), and eKt/V, the
session time and the sessions per week give the weekly standard Kt/V by the Leypoldt 2004 closed form
(:func:`crampwatch.weekly.std_ktv_leypoldt`). Its input is the delivered spKt/V of the session (from the
recorded or simulated urea), so the analyzer's metric and the optimizer's constraint are the same number
for the same session.
"""

from __future__ import annotations

import numpy as np

from crampwatch.kinetics import ekt_v_rate
from crampwatch.kinetics.dose import ARTERIAL_ACCESS, VENOUS_ACCESS
from crampwatch.weekly import std_ktv_leypoldt_array


def standard_ktv(sp_ktv: float, duration_min: float, sessions_per_week: int, access: str) -> float:
    """Weekly standard Kt/V from one session's spKt/V; NaN when the dose is unknown or out of range."""
    name = str(access).strip().lower()
    if name not in ARTERIAL_ACCESS | VENOUS_ACCESS:
        return float("nan")
    sp = np.array([sp_ktv], dtype=float)
    return float(standard_ktv_batch(sp, duration_min, sessions_per_week, name in VENOUS_ACCESS)[0])


def standard_ktv_batch(
    sp_ktv: np.ndarray, duration_min: np.ndarray, sessions_per_week: np.ndarray, catheter: np.ndarray
) -> np.ndarray:
    """:func:`standard_ktv` of every session of a batch (``catheter`` true for a venous catheter access):
    eKt/V by :func:`crampwatch.kinetics.ekt_v_rate` for each access, then the Leypoldt closed form
    (:func:`crampwatch.weekly.std_ktv_leypoldt_array`); NaN where the dose is unknown or out of range."""
    sp = np.asarray(sp_ktv, dtype=float)
    shape = sp.shape
    t = np.broadcast_to(np.asarray(duration_min, dtype=float), shape)
    n = np.broadcast_to(np.asarray(sessions_per_week, dtype=float), shape)
    cvc = np.broadcast_to(np.asarray(catheter, dtype=bool), shape)
    ok = np.isfinite(sp) & np.isfinite(t) & (sp > 0) & (sp < 10) & (t > 0) & (t <= 24 * 60.0)
    sp_ok = np.where(ok, sp, 1.0)
    hours = np.where(ok, t, 240.0) / 60.0
    ekt = np.where(
        cvc, np.asarray(ekt_v_rate(sp_ok, hours, "catheter")), np.asarray(ekt_v_rate(sp_ok, hours, "fistula"))
    )
    std = std_ktv_leypoldt_array(ekt, t, n)
    return np.where(ok & (ekt > 0), std, np.nan).reshape(shape)
