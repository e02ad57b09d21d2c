"""Weekly standard Kt/V of a session's delivered dose: the one function the analyzer and optimizer share.

Standard Kt/V follows KDOQI 2015 / FHN: the session's single-pool Kt/V becomes equilibrated Kt/V by the
Daugirdas rate equation for the patient's access (:func:`crampwatch.kinetics.ekt_v_rate`), and eKt/V, the
session time and the sessions per week give the weekly standard Kt/V by the Leypoldt 2004 closed form
(:func:`crampwatch.weekly.std_ktv_leypoldt`). Its input is the delivered spKt/V of the session (from the
recorded or simulated urea), so the analyzer's metric and the optimizer's constraint are the same number
for the same session.
"""

from __future__ import annotations

import math

import numpy as np

from crampwatch.errors import InputError
from crampwatch.kinetics import ekt_v_rate
from crampwatch.weekly import std_ktv_leypoldt


def standard_ktv(sp_ktv: float, duration_min: float, sessions_per_week: int, access: str) -> float:
    """Weekly standard Kt/V from one session's spKt/V; NaN when the dose is unknown or out of range."""
    if not (math.isfinite(sp_ktv) and math.isfinite(duration_min) and 0 < sp_ktv < 10 and duration_min > 0):
        return float("nan")
    try:
        ekt = float(ekt_v_rate(sp_ktv, duration_min / 60.0, access))
        return std_ktv_leypoldt(ekt, duration_min, int(sessions_per_week)) if ekt > 0 else float("nan")
    except InputError:
        return float("nan")


def standard_ktv_batch(
    sp_ktv: np.ndarray, duration_min: np.ndarray, sessions_per_week: np.ndarray, catheter: np.ndarray
) -> np.ndarray:
    """:func:`standard_ktv` per session of a batch (``catheter`` true for a venous catheter access)."""
    return np.array(
        [
            standard_ktv(float(sp), float(t), int(n), "catheter" if cvc else "fistula")
            for sp, t, n, cvc in zip(
                np.asarray(sp_ktv, dtype=float),
                np.broadcast_to(duration_min, np.shape(sp_ktv)),
                np.broadcast_to(sessions_per_week, np.shape(sp_ktv)),
                np.broadcast_to(catheter, np.shape(sp_ktv)),
                strict=True,
            )
        ],
        dtype=float,
    ).reshape(np.shape(sp_ktv))
