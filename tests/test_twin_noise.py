"""The twin's error model of a measured signal: covariance, whitening and the estimated monitor drift."""

from __future__ import annotations

import numpy as np

from crampwatch.twin.noise import NO_DRIFT, Drift, cholesky, covariance, estimate_drift, whiten

T_MIN = np.arange(5.0, 241.0, 5.0)  # RBV every 5 min after the reference reading


def _drift_minus_first(rng: np.random.Generator, n: int, sd: float, tau_min: float) -> np.ndarray:
    """``n`` series of an Ornstein-Uhlenbeck error at 0 and T_MIN (exact discretisation), minus the one
    at 0."""
    t = np.concatenate([[0.0], T_MIN])
    x = np.empty((n, t.size))
    x[:, 0] = rng.normal(0.0, sd, n)
    for i in range(1, t.size):
        phi = np.exp(-(t[i] - t[i - 1]) / tau_min)
        x[:, i] = phi * x[:, i - 1] + rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), n)
    return x[:, 1:] - x[:, :1]


def _series(rng: np.random.Generator, drift: Drift, n_sessions: int = 12) -> list[tuple]:
    """Residual series of a monitor relative to its first reading: white 0.5, offset 0.5, ``drift``."""
    out = []
    for _ in range(n_sessions):
        d = rng.normal(0.0, 0.5, T_MIN.size) + rng.normal(0.0, 0.5)
        if drift.sd > 0:
            d += _drift_minus_first(rng, 1, drift.sd, drift.tau_min)[0]
        out.append((T_MIN, d))
    return out


def test_relative_covariance_matches_a_simulated_drifting_monitor() -> None:
    """A drift read relative to the first reading: variance grows from the start, neighbours correlate."""
    rng = np.random.default_rng(1)
    x = _drift_minus_first(rng, 20000, 0.8, 15.0) + rng.normal(0.0, 0.5, (20000, T_MIN.size))
    model = covariance(T_MIN, 0.5, 0.0, Drift(0.8, 15.0), relative=True)
    np.testing.assert_allclose(np.cov(x.T), model, atol=0.06)
    assert model[0, 0] < model[-1, -1]  # 0.25 + 0.64 (2 - 2 exp(-1/3)) vs 0.25 + 1.28


def test_whitening_without_drift_is_the_offset_random_effect() -> None:
    """No drift: the whitened sum of squares is the least-squares objective with the offset profiled out
    under its N(0, offset_sd) prior (the two are the same Gaussian model)."""
    rng = np.random.default_rng(2)
    d = rng.normal(0.3, 1.0, T_MIN.size)
    sd, offset_sd = 0.7, 0.7
    w = whiten(cholesky(T_MIN, sd, offset_sd), d)
    offset = d.sum() / (d.size + (sd / offset_sd) ** 2)
    profiled = np.sum(((d - offset) / sd) ** 2) + (offset / offset_sd) ** 2
    assert abs(float(w @ w) - profiled) < 1e-9


def test_estimated_drift_recovers_a_drifting_monitor() -> None:
    """12 sessions of 48 readings: size within 35 % and correlation time within a factor 2 of the truth."""
    drift = estimate_drift(_series(np.random.default_rng(3), Drift(0.8, 15.0)), 0.5, 0.5, relative=True)
    assert 0.8 / 1.35 <= drift.sd <= 0.8 * 1.35, drift
    assert 7.5 <= drift.tau_min <= 30.0, drift


def test_no_drift_is_found_in_white_noise_at_the_test_level() -> None:
    """Likelihood-ratio test at 5 %: white noise gives a drift in about 1 of 20 patients; 4 or more of 10
    would happen with probability 0.001."""
    found = sum(
        estimate_drift(_series(np.random.default_rng(100 + k), NO_DRIFT), 0.5, 0.5, relative=True) != NO_DRIFT
        for k in range(10)
    )
    assert found <= 3
