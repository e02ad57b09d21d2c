"""NaN-aware reductions of signal series over a session, for a batch.

Signals are arrays ``[n, steps]`` on one time grid ``t`` ``[steps]`` (minutes from the start); NaN marks a
missing or padded sample and every reduction ignores it (a row without a valid sample gives NaN). The
derived-quantity registry (:mod:`crampwatch.quantities`) names which reduction of which signal each
quantity is.
"""

from __future__ import annotations

import numpy as np


def first_valid(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value and time of the first non-NaN sample of each row (NaN when none)."""
    ok = ~np.isnan(x)
    idx = ok.argmax(axis=1)
    any_ok = ok.any(axis=1)
    rows = np.arange(x.shape[0])
    return np.where(any_ok, x[rows, idx], np.nan), np.where(any_ok, t[idx], np.nan)


def last_valid(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value and time of the last non-NaN sample of each row (NaN when none)."""
    return first_valid(x[:, ::-1], t[::-1])


def row_min(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum of each row and its time."""
    filled = np.where(~np.isnan(x), x, np.inf)
    idx = filled.argmin(axis=1)
    rows = np.arange(x.shape[0])
    v = filled[rows, idx]
    ok = np.isfinite(v)
    return np.where(ok, v, np.nan), np.where(ok, t[idx], np.nan)


def row_max(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum of each row and its time."""
    v, tt = row_min(-x, t)
    return -v, tt


def slope_per_h(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope of each row, units per hour (NaN with fewer than 3 samples); no time (NaN)."""
    ok = ~np.isnan(x)
    w = ok.astype(float)
    xs = np.where(ok, x, 0.0)
    hours = t / 60.0
    n = w.sum(axis=1)
    st = w @ hours
    stt = w @ (hours * hours)
    sx = xs.sum(axis=1)
    stx = xs @ hours
    den = n * stt - st * st
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (n * stx - st * sx) / den
    return np.where((n >= 3) & (den > 0), s, np.nan), np.full(x.shape[0], np.nan)


def session_end(x: np.ndarray, t: np.ndarray, duration_min: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value and time of the last sample of each row during the session (``t <= duration``): the end value
    (samples after the machine stopped are left out)."""
    during = t[None, :] <= duration_min[:, None] + 1e-9
    return last_valid(np.where(during, x, np.nan), t)


def value_near(x: np.ndarray, t: np.ndarray, t0: float, tol_min: float = 15.0) -> np.ndarray:
    """The valid sample nearest to ``t0`` (within ``tol_min``), per row."""
    dist = np.where(~np.isnan(x), np.abs(t - t0)[None, :], np.inf)
    idx = dist.argmin(axis=1)
    rows = np.arange(x.shape[0])
    return np.where(dist[rows, idx] <= tol_min, x[rows, idx], np.nan)


def first_time(mask: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Time of the first True of each row (NaN when none)."""
    idx = mask.argmax(axis=1)
    return np.where(mask.any(axis=1), t[idx], np.nan)


def row_mean(x: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(ok, x, 0.0).sum(axis=1) / n, np.nan)
