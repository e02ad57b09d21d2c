"""Error model of one fitted signal within one session, and its whitening.

The difference between a measured and a simulated sample is read as the sum of

* a white reading error (SD ``sd`` of :class:`crampwatch.twin.priors.ObservedSignal`);
* a per-session offset (SD ``offset_sd``): for RBV the error of the session's first reading, which every
  later value is relative to; for SBP the session's level;
* a slowly drifting error (a stationary first-order autoregressive, i.e. Ornstein-Uhlenbeck, process of SD
  ``drift.sd`` and correlation time ``drift.tau_min``): blood-volume monitors drift with posture, meals,
  temperature and line handling. When the signal is relative to its first reading (RBV), the drift at the
  first reading is subtracted from every value, which gives the covariance
  ``sd_d^2 (rho(t_i - t_j) - rho(t_i) - rho(t_j) + 1)`` with ``rho(dt) = exp(-|dt| / tau)``.

The residuals of a session are whitened with the Cholesky factor of this covariance (generalised least
squares; the offset is integrated out rather than profiled). The drift's size and correlation time are
estimated per patient and signal by maximising the Gaussian likelihood of the first fit's residuals, pooled
over the sessions (type-II maximum likelihood of the covariance, Rasmussen CE & Williams CKI, Gaussian
Processes for Machine Learning, MIT Press 2006, ch. 5), and kept only when a likelihood-ratio test against no
drift rejects at 5 % (Wilks SS, Ann Math Stat 1938;9:60; two added parameters, chi-square 5.99).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import minimize

#: Likelihood-ratio statistic above which a drift is kept (chi-square, 2 degrees of freedom, 95 %).
DRIFT_LR_CRITICAL = 5.991464547107979
#: Range of the drift's correlation time searched, minutes (modelling choice: from about one RBV sampling
#: interval to a whole session).
DRIFT_TAU_RANGE_MIN = (2.0, 240.0)
#: Correlation time the search starts from, minutes (modelling choice: between the RBV and SBP sampling
#: intervals of machine exports).
DRIFT_TAU_START_MIN = 20.0
#: Largest drift SD searched, in units of the white reading error (modelling choice).
DRIFT_SD_MAX_RATIO = 10.0


@dataclass(frozen=True)
class Drift:
    """Size (signal unit) and correlation time (min) of a drifting measurement error; ``sd`` 0: none."""

    sd: float = 0.0
    tau_min: float = 15.0


NO_DRIFT = Drift()


def covariance(
    t_min: np.ndarray, sd: float, offset_sd: float, drift: Drift = NO_DRIFT, relative: bool = False
) -> np.ndarray:
    """Covariance of the errors of samples at ``t_min`` (see the module's description)."""
    t = np.asarray(t_min, dtype=float)
    cov = sd**2 * np.eye(t.size) + offset_sd**2
    if drift.sd > 0.0:
        k = np.exp(-np.abs(t[:, None] - t[None, :]) / drift.tau_min)
        if relative:
            r0 = np.exp(-np.abs(t) / drift.tau_min)
            k = k - r0[:, None] - r0[None, :] + 1.0
        cov = cov + drift.sd**2 * k
    return cov


def cholesky(
    t_min: np.ndarray, sd: float, offset_sd: float, drift: Drift = NO_DRIFT, relative: bool = False
) -> np.ndarray:
    """Lower Cholesky factor of :func:`covariance`."""
    return np.linalg.cholesky(covariance(t_min, sd, offset_sd, drift, relative))


def whiten(factor: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``factor^-1 d``: residuals that are independent with unit variance under the error model."""
    return solve_triangular(factor, d, lower=True, check_finite=False)


def log_likelihood(
    series: Sequence[tuple[np.ndarray, np.ndarray]],
    sd: float,
    offset_sd: float,
    drift: Drift = NO_DRIFT,
    relative: bool = False,
) -> float:
    """Gaussian log likelihood (up to a constant) of the sessions' residuals ``(t_min, d)``."""
    total = 0.0
    for t, d in series:
        try:
            factor = cholesky(t, sd, offset_sd, drift, relative)
        except np.linalg.LinAlgError:
            return -math.inf
        w = whiten(factor, d)
        total -= 0.5 * float(w @ w) + float(np.sum(np.log(np.diag(factor))))
    return total


def estimate_drift(
    series: Sequence[tuple[np.ndarray, np.ndarray]], sd: float, offset_sd: float, relative: bool = False
) -> Drift:
    """The drift of maximum likelihood for the residual series ``(t_min, d)`` of a patient's sessions, or
    :data:`NO_DRIFT` when the likelihood-ratio test does not support one."""
    series = [(np.asarray(t, float), np.asarray(d, float)) for t, d in series if len(t) >= 3]
    if not series or not all(np.all(np.isfinite(d)) for _, d in series):
        return NO_DRIFT
    base = log_likelihood(series, sd, offset_sd, NO_DRIFT, relative)
    lo = np.log([sd / 100.0, DRIFT_TAU_RANGE_MIN[0]])
    hi = np.log([sd * DRIFT_SD_MAX_RATIO, DRIFT_TAU_RANGE_MIN[1]])

    def nll(p: np.ndarray) -> float:
        p = np.clip(p, lo, hi)
        return -log_likelihood(series, sd, offset_sd, Drift(math.exp(p[0]), math.exp(p[1])), relative)

    best = minimize(
        nll,
        np.log([sd, DRIFT_TAU_START_MIN]),
        method="Nelder-Mead",
        options={"xatol": 0.05, "fatol": 0.05, "maxfev": 120},
    )
    p = np.clip(best.x, lo, hi)
    if 2.0 * (-best.fun - base) < DRIFT_LR_CRITICAL:
        return NO_DRIFT
    return Drift(float(math.exp(p[0])), float(math.exp(p[1])))
