"""Fit a patient twin to all of a patient's sessions at once (maximum a posteriori, Laplace uncertainty).

Parameters (:data:`crampwatch.twin.priors.FITTED`) are log multiples of the population value; each has a
log-normal population prior, which enters the objective as a residual ``log(theta) / prior_sd``. Every
objective evaluation simulates all sessions -- each with its own prescription, labs and weights -- in one
call of :func:`crampwatch.simulator.simulate_batch`; the Jacobian's forward differences are simulated in the
same call (``(1 + n_parameters) x n_sessions`` sessions). ``scipy.optimize.least_squares`` (trust region,
bounded) finds the optimum.

Residuals: each measured RBV sample ``(obs - sim) / sd``; each SBP sample likewise after a per-session level
offset (a random effect with SD 10 mmHg, profiled out in closed form). Uncertainty: the Laplace approximation
``(J^T J)^-1`` at the optimum, with the data rows of each signal down-weighted by the residual variance
above the nominal one and by the lag-1 autocorrelation of the residuals (effective sample size,
``(1 + rho) / (1 - rho)``), and a floor for the session-to-session variation of each parameter
(``between_session_log_sd^2 / n_sessions``, added to the data covariance before the prior).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from crampwatch.errors import InputError
from crampwatch.model import Scenario
from crampwatch.signals import RBV_PCT, SBP_MMHG
from crampwatch.simulator import simulate_batch
from crampwatch.twin.priors import FITTED, OBSERVED, ObservedSignal, population_blood_volume_ml_kg
from crampwatch.twin.sessions import Observations, SessionRecord, observations, pre_dialysis_value

#: Forward-difference step of the Jacobian, on the log scale (modelling choice: 2 % changes are far above
#: the integrator's round-off and well inside the curvature of the residuals).
JACOBIAN_STEP = 0.02
#: Residual given to a sample whose simulation left the model's range (a strong, finite penalty).
FAILED_RESIDUAL = 10.0
#: Largest lag-1 autocorrelation credited when deflating the information of autocorrelated residuals.
MAX_AUTOCORRELATION = 0.9
#: A parameter counts as identified when the data narrow its prior SD by at least this factor.
IDENTIFIED_SD_RATIO = 0.7


@dataclass
class FitResult:
    """The optimum and its uncertainty on the log-multiplier scale, plus diagnostics."""

    log_mean: np.ndarray
    log_cov: np.ndarray
    prior_sd: np.ndarray
    identified: np.ndarray
    rmse: dict[str, float]
    n_samples: dict[str, int]
    session_ids: list[str]
    n_evaluations: int
    success: bool
    curves: list[dict[str, list[float]]]


def apply_multipliers(scenario: Scenario, theta: Sequence[float]) -> Scenario:
    """``scenario`` with the patient's refill capacity, baroreflex strength and blood volume set to
    ``theta`` x the population value (the order of :data:`FITTED`)."""
    refill, reserve, bv = (float(v) for v in theta)
    p = scenario.patient
    update = {
        "refill_capacity": refill,
        "baroreflex_strength": reserve,
        "blood_volume_ml_kg": bv * population_blood_volume_ml_kg(p.sex),
    }
    return scenario.model_copy(update={"patient": p.model_copy(update=update)})


class _Problem:
    """Residuals of all sessions for any set of parameter vectors, simulated together."""

    def __init__(self, records: Sequence[SessionRecord]) -> None:
        self.records = list(records)
        self.obs: list[Observations] = [observations(r) for r in self.records]
        self.use = [i for i, o in enumerate(self.obs) if o.n > 0]
        if not self.use:
            names = " or ".join(s.name for s in OBSERVED)
            raise InputError(
                f"sessions: no session has usable measured signals ({names}, at least 2 samples each)",
                "sessions",
            )
        self.base = [self._baseline(self.records[i]) for i in self.use]
        self.prior_sd = np.array([p.prior_log_sd for p in FITTED])
        self.lower = np.log([p.lower for p in FITTED])
        self.upper = np.log([p.upper for p in FITTED])
        self.n_evaluations = 0
        self._cache: tuple[bytes, np.ndarray, np.ndarray] | None = None

    @staticmethod
    def _baseline(record: SessionRecord) -> Scenario:
        """The session's scenario with its measured pre-dialysis SBP as the model's starting BP."""
        sc = record.scenario
        if sc.patient.pre_sbp_mmhg is None:
            pre = pre_dialysis_value(record, SBP_MMHG)
            if pre is not None and 60.0 <= pre <= 260.0:
                sc = sc.model_copy(update={"patient": sc.patient.model_copy(update={"pre_sbp_mmhg": pre})})
        return sc

    # ------------------------------------------------------------------------------------------ model

    def simulate(self, thetas: np.ndarray) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
        """Simulated samples for each row of ``thetas`` (multipliers): ``{signal: [k][session] array}``."""
        scenarios = [apply_multipliers(sc, th) for th in thetas for sc in self.base]
        batch = simulate_batch(scenarios, record_every_min=1.0)
        self.n_evaluations += 1
        grid = batch.t_min
        out: dict[str, list[np.ndarray]] = {s.name: [] for s in OBSERVED}
        m = len(self.base)
        for k in range(len(thetas)):
            for sig in OBSERVED:
                per_session = []
                for j, i in enumerate(self.use):
                    samples = self.obs[i].samples.get(sig.name)
                    if samples is None:
                        per_session.append(np.empty(0))
                        continue
                    row = batch.signals[sig.name][k * m + j]
                    ok = np.isfinite(row)
                    per_session.append(
                        np.interp(samples[0], grid[ok], row[ok])
                        if ok.sum() >= 2
                        else np.full(len(samples[0]), np.nan)
                    )
                out[sig.name].append(per_session)
        return grid, out

    def data_residuals(self, sim: dict[str, list[np.ndarray]], k: int) -> tuple[np.ndarray, list[tuple]]:
        """Standardised residuals of parameter set ``k`` and the row layout ``(signal, session, n)``."""
        parts: list[np.ndarray] = []
        layout: list[tuple] = []
        for sig in OBSERVED:
            for j, i in enumerate(self.use):
                samples = self.obs[i].samples.get(sig.name)
                if samples is None:
                    continue
                r = _signal_residuals(sig, samples[1], sim[sig.name][k][j])
                parts.append(r)
                layout.append((sig.name, j, len(r)))
        return np.concatenate(parts), layout

    def residuals_many(self, xs: np.ndarray) -> np.ndarray:
        _, sim = self.simulate(np.exp(xs))
        rows = []
        for k, x in enumerate(xs):
            data, _ = self.data_residuals(sim, k)
            rows.append(np.concatenate([data, x / self.prior_sd]))
        return np.array(rows)

    # ------------------------------------------------------------------------------------------ scipy

    def _evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = np.asarray(x, dtype=float).tobytes()
        if self._cache is None or self._cache[0] != key:
            steps = np.eye(len(x)) * JACOBIAN_STEP
            # step inward at the upper bound so that every point stays within the bounds
            steps = np.where((x + JACOBIAN_STEP > self.upper)[None, :] & (steps > 0), -steps, steps)
            xs = np.vstack([x, x + steps])
            res = self.residuals_many(xs)
            jac = (res[1:] - res[0]).T / np.diag(steps)[None, :]
            self._cache = (key, res[0], jac)
        return self._cache[1], self._cache[2]

    def fun(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate(x)[0]

    def jac(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate(x)[1]


def _signal_residuals(sig: ObservedSignal, observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """``(obs - sim) / sd`` per sample; with a per-session offset, the offset (its MAP value under an
    ``N(0, offset_sd)`` prior) is removed and its own standardised residual appended."""
    d = observed - simulated
    if not np.all(np.isfinite(d)):
        n = len(d) + (1 if sig.offset_sd > 0 else 0)
        return np.full(n, FAILED_RESIDUAL)
    if sig.offset_sd <= 0:
        return d / sig.sd
    offset = d.sum() / (len(d) + (sig.sd / sig.offset_sd) ** 2)
    return np.append((d - offset) / sig.sd, offset / sig.offset_sd)


def _information_scale(res: np.ndarray, layout: list[tuple]) -> np.ndarray:
    """Per data row, the factor by which its information is deflated: residual variance above the nominal
    one times the effective-sample-size factor of lag-1 autocorrelated residuals, per signal."""
    scale = np.ones(len(res))
    pos = 0
    spans: dict[str, list[tuple[int, int]]] = {}
    for name, _j, n in layout:
        spans.setdefault(name, []).append((pos, pos + n))
        pos += n
    for name, segments in spans.items():
        sig = next(s for s in OBSERVED if s.name == name)
        keep = [res[a : b - (1 if sig.offset_sd > 0 else 0)] for a, b in segments]
        allr = np.concatenate(keep)
        var = max(1.0, float(np.mean(allr**2))) if allr.size else 1.0
        num = sum(float(np.sum(r[1:] * r[:-1])) for r in keep if len(r) > 1)
        den = sum(float(np.sum(r[:-1] ** 2)) for r in keep if len(r) > 1)
        rho = min(max(num / den, 0.0), MAX_AUTOCORRELATION) if den > 0 else 0.0
        factor = var * (1.0 + rho) / (1.0 - rho)
        for a, b in segments:
            scale[a:b] = factor
    return scale


def fit_parameters(records: Sequence[SessionRecord], *, max_evaluations: int = 40) -> FitResult:
    """Fit :data:`FITTED` to ``records`` (one patient) and return the optimum with its uncertainty."""
    prob = _Problem(records)
    x0 = np.zeros(len(FITTED))
    sol = least_squares(
        prob.fun,
        x0,
        jac=prob.jac,
        bounds=(prob.lower, prob.upper),
        method="trf",
        x_scale=1.0,
        ftol=1e-4,
        xtol=1e-4,
        gtol=1e-6,
        max_nfev=max_evaluations,
    )
    x = sol.x
    res, jac = prob._evaluate(x)
    _, sim = prob.simulate(np.exp(x)[None, :])
    data, layout = prob.data_residuals(sim, 0)
    n_data = len(data)
    deflate = _information_scale(res[:n_data], layout)
    j_data = jac[:n_data] / np.sqrt(deflate)[:, None]
    h_data = j_data.T @ j_data
    n_sessions = len(prob.use)
    omega = np.diag([p.between_session_log_sd**2 for p in FITTED]) / n_sessions
    # information of the patient's typical value: (H^-1 + Omega/n)^-1 = H (I + Omega/n H)^-1
    h_eff = h_data @ np.linalg.inv(np.eye(len(x)) + omega @ h_data)
    h_eff = 0.5 * (h_eff + h_eff.T)
    cov = np.linalg.inv(h_eff + np.diag(1.0 / prob.prior_sd**2))
    cov = 0.5 * (cov + cov.T)
    sd = np.sqrt(np.diag(cov))
    rmse, counts = _rmse(prob, sim)
    return FitResult(
        log_mean=x,
        log_cov=cov,
        prior_sd=prob.prior_sd,
        identified=sd < IDENTIFIED_SD_RATIO * prob.prior_sd,
        rmse=rmse,
        n_samples=counts,
        session_ids=[prob.records[i].session_id for i in prob.use],
        n_evaluations=prob.n_evaluations,
        success=bool(sol.success),
        curves=_curves(prob, np.exp(x)),
    )


def _rmse(prob: _Problem, sim: dict[str, list[np.ndarray]]) -> tuple[dict[str, float], dict[str, int]]:
    """Root-mean-square error of each signal at the optimum (SBP after each session's level offset)."""
    rmse: dict[str, float] = {}
    counts: dict[str, int] = {}
    for sig in OBSERVED:
        errs = []
        for j, i in enumerate(prob.use):
            samples = prob.obs[i].samples.get(sig.name)
            if samples is None:
                continue
            d = samples[1] - sim[sig.name][0][j]
            if sig.offset_sd > 0 and np.all(np.isfinite(d)):
                d = d - d.sum() / (len(d) + (sig.sd / sig.offset_sd) ** 2)
            errs.append(d)
        if errs:
            e = np.concatenate(errs)
            counts[sig.name] = int(e.size)
            rmse[sig.name] = float(math.sqrt(np.nanmean(e**2))) if np.isfinite(e).any() else float("nan")
    return rmse, counts


#: Resolution of the stored twin-simulated curves, minutes.
CURVE_EVERY_MIN = 5.0


def _curves(prob: _Problem, theta: np.ndarray) -> list[dict[str, list[float]]]:
    """Twin-simulated RBV and SBP of every fitted session on a 5-min grid (for plots)."""
    batch = simulate_batch(
        [apply_multipliers(sc, theta) for sc in prob.base], record_every_min=CURVE_EVERY_MIN
    )
    out = []
    for j in range(len(prob.base)):
        keep = np.isfinite(batch.signals[RBV_PCT][j])
        curve = {"t_min": [round(float(t), 2) for t in batch.t_min[keep]]}
        for sig in OBSERVED:
            curve[sig.name] = [round(float(v), 2) for v in batch.signals[sig.name][j][keep]]
        out.append(curve)
    return out
