"""Fit a patient twin to all of a patient's sessions at once (maximum a posteriori, Laplace uncertainty).

Parameters (:data:`crampwatch.twin.priors.FITTED`) are log multiples of the population value; each has a
log-normal population prior, which enters the objective as a residual ``log(theta) / prior_sd``. Inputs that
are often wrong in the record (:data:`crampwatch.twin.priors.UNCERTAIN_INPUTS`: dry weight, albumin,
hematocrit, pre-dialysis SBP) get a per-patient error each, fitted beside them with its real-world spread as
prior, so that the intervals of the physiology are marginal over these errors. Every objective evaluation
simulates all sessions -- each with its own prescription, labs and weights -- in one call of
:func:`crampwatch.simulator.simulate_batch`; the Jacobian's forward differences are simulated in the same
call (``(1 + n_parameters) x n_sessions`` sessions). ``scipy.optimize.least_squares`` (trust region,
bounded) finds the optimum.

Residuals: each session's measured RBV and SBP samples ``obs - sim``, whitened by the Cholesky factor of
their error covariance (:mod:`crampwatch.twin.noise`): white reading error, a per-session offset (SD 0.7
%-points for RBV, the error of the first reading the RBV is relative to; 10 mmHg for the SBP level) and,
when the first fit's residuals support one, a drifting monitor error whose size and correlation time are
estimated from them (the fit is then run again with it). Uncertainty: the Laplace approximation
``(J^T J)^-1`` at the optimum, with the data rows of each signal down-weighted by the whitened residuals'
variance above 1 and by their remaining autocorrelation (effective sample size of white noise plus a
first-order autoregressive part, from the lag-1 and lag-2 autocorrelations), and a floor for the
session-to-session variation of each parameter (``between_session_log_sd^2 / n_sessions``, added to the
data covariance before the prior). The physiology's covariance is the marginal one: its block of the
joint covariance with the input errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from crampwatch.errors import InputError
from crampwatch.labs import DEFAULT_LABS
from crampwatch.model import Labs, Patient, Scenario, field_range, with_changes
from crampwatch.physiology.derive import patient_parameters
from crampwatch.signals import HCT_PCT, RBV_PCT, REFILL_ML_MIN, SBP_MMHG, T_MIN
from crampwatch.simulator import simulate_batch
from crampwatch.twin.noise import NO_DRIFT, Drift, cholesky, estimate_drift, whiten
from crampwatch.twin.priors import (
    FITTED,
    OBSERVED,
    UNCERTAIN_INPUTS,
    ObservedSignal,
    population_blood_volume_ml_kg,
)
from crampwatch.twin.refill import refill_share
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


@dataclass(frozen=True)
class FitResult:
    """The optimum and its uncertainty on the log-multiplier scale, plus diagnostics."""

    log_mean: np.ndarray
    log_cov: np.ndarray
    #: posterior mean and SD of the input errors (order of UNCERTAIN_INPUTS; empty when inputs are exact)
    input_mean: np.ndarray
    input_sd: np.ndarray
    prior_sd: np.ndarray
    identified: np.ndarray
    rmse: dict[str, float]
    n_samples: dict[str, int]
    session_ids: list[str]
    n_evaluations: int
    success: bool
    curves: list[dict[str, list[float]]]
    #: per signal, the drifting measurement error found in the residuals (sd 0: none)
    drift: dict[str, Drift]
    #: the refill share of :mod:`crampwatch.twin.refill` (a twin parameter entry), None if not simulated
    refill_share: dict | None = None


def apply_multipliers(scenario: Scenario, theta: Sequence[float]) -> Scenario:
    """``scenario`` with the patient's refill capacity, baroreflex strength and blood volume set to
    ``theta`` x the population value (the order of :data:`FITTED`).

    Not validated, unlike every other change of a scenario: the fit searches the priors' ranges
    (:data:`FITTED`), which reach below the patient model's blood-volume range (0.55 x 65 mL/kg =
    35.8 mL/kg < 40) and are meant to be simulated there; and each evaluation copies every session (a
    validating copy of a scenario with its patient measured 54 us against 15 us unvalidated)."""
    refill, reserve, bv = (float(v) for v in theta)
    p = scenario.patient
    update = {
        "refill_capacity": refill,
        "baroreflex_strength": reserve,
        "blood_volume_ml_kg": bv * population_blood_volume_ml_kg(p.sex),
    }
    return scenario.model_copy(update={"patient": p.model_copy(update=update)})


#: Ranges the labs and the pre-dialysis SBP are held in when an input error is applied (the model's).
_LAB_RANGES = {name: field_range(Labs, name) for name in ("albumin_g_dl", HCT_PCT)}
_PRE_SBP_RANGE = field_range(Patient, "pre_sbp_mmhg")
_LAB_OF_INPUT = {"albumin": "albumin_g_dl", "hematocrit": HCT_PCT}


def apply_input_errors(scenario: Scenario, errors: Sequence[float]) -> Scenario:
    """``scenario`` with the entered inputs corrected by ``errors`` (order of :data:`UNCERTAIN_INPUTS`): the
    dry weight times ``exp(error)``, albumin, hematocrit and pre-dialysis SBP plus the error (a missing lab:
    its default; a missing SBP: the model's estimate, unchanged). The blood volume in litres stays as it
    was (it is a fitted parameter of its own). Not validated, as :func:`apply_multipliers` (the errors are
    searched over their priors' ranges)."""
    p = scenario.patient
    update: dict = {}
    labs: dict[str, float] = {}
    for u, e in zip(UNCERTAIN_INPUTS, errors, strict=True):
        e = float(e)
        if e == 0.0:
            continue
        if u.name == "dry_weight":
            update["dry_weight_kg"] = p.dry_weight_kg * math.exp(e)
            per_kg = p.blood_volume_ml_kg or population_blood_volume_ml_kg(p.sex)
            update["blood_volume_ml_kg"] = per_kg * math.exp(-e)
        elif u.name == "pre_sbp":
            if p.pre_sbp_mmhg is not None:
                update["pre_sbp_mmhg"] = min(max(p.pre_sbp_mmhg + e, _PRE_SBP_RANGE[0]), _PRE_SBP_RANGE[1])
        else:
            field = _LAB_OF_INPUT[u.name]
            given = getattr(p.labs, field)
            lo, hi = _LAB_RANGES[field]
            labs[field] = min(max((DEFAULT_LABS[field] if given is None else given) + e, lo), hi)
    if labs:
        update["labs"] = p.labs.model_copy(update=labs)
    if not update:
        return scenario
    return scenario.model_copy(update={"patient": p.model_copy(update=update)})


class _Problem:
    """Residuals of all sessions for any set of parameter vectors, simulated together. A parameter vector is
    the log multipliers of :data:`FITTED` followed (with ``uncertain_inputs``) by the errors of
    :data:`UNCERTAIN_INPUTS`."""

    def __init__(self, records: Sequence[SessionRecord], uncertain_inputs: bool = True) -> None:
        self.records = list(records)
        self.inputs = UNCERTAIN_INPUTS if uncertain_inputs else ()
        self.obs: list[Observations] = [observations(r) for r in self.records]
        self.use = [i for i, o in enumerate(self.obs) if o.n > 0]
        if not self.use:
            names = " or ".join(s.name for s in OBSERVED)
            raise InputError(
                f"sessions: no session has usable measured signals ({names}, at least 2 samples each)",
                "sessions",
            )
        readings = [pre_dialysis_value(r, SBP_MMHG) for r in self.records]
        usable = [v for v in readings if v is not None and _PRE_SBP_RANGE[0] <= v <= _PRE_SBP_RANGE[1]]
        typical = float(np.median(usable)) if usable else None
        self.base = [self._baseline(self.records[i], typical) for i in self.use]
        self.prior_sd = np.array([p.prior_log_sd for p in FITTED] + [u.prior_sd for u in self.inputs])
        self.lower = np.concatenate([np.log([p.lower for p in FITTED]), [-u.limit for u in self.inputs]])
        self.upper = np.concatenate([np.log([p.upper for p in FITTED]), [u.limit for u in self.inputs]])
        self.steps = np.array([JACOBIAN_STEP] * len(FITTED) + [u.step for u in self.inputs])
        self.n_evaluations = 0
        #: per signal, the drifting error the fit whitens (estimated after the first fit)
        self.drift: dict[str, Drift] = {}
        self._factors: dict[tuple[str, int], np.ndarray] = {}
        self._cache: tuple[bytes, np.ndarray, np.ndarray] | None = None

    @staticmethod
    def _baseline(record: SessionRecord, typical_pre_sbp: float | None) -> Scenario:
        """The session's scenario with its measured pre-dialysis SBP as the model's starting BP (missing:
        the median of the patient's other sessions' readings)."""
        sc = record.scenario
        if sc.patient.pre_sbp_mmhg is None:
            pre = pre_dialysis_value(record, SBP_MMHG)
            if pre is None or not _PRE_SBP_RANGE[0] <= pre <= _PRE_SBP_RANGE[1]:
                pre = typical_pre_sbp
            if pre is not None:
                sc = with_changes(sc, patient=with_changes(sc.patient, pre_sbp_mmhg=pre))
        return sc

    # ------------------------------------------------------------------------------------------ model

    def scenarios(self, x: np.ndarray) -> list[Scenario]:
        """The sessions' scenarios for parameter vector ``x``."""
        theta, errors = np.exp(x[: len(FITTED)]), x[len(FITTED) :]
        if not self.inputs:
            return [apply_multipliers(sc, theta) for sc in self.base]
        return [apply_input_errors(apply_multipliers(sc, theta), errors) for sc in self.base]

    def simulate(self, xs: np.ndarray) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
        """Simulated samples for each parameter vector (row of ``xs``): ``{signal: [k][session] array}``."""
        scenarios = [sc for x in xs for sc in self.scenarios(x)]
        grid, signals = _simulate_feasible(scenarios)
        self.n_evaluations += 1
        out: dict[str, list[np.ndarray]] = {s.name: [] for s in OBSERVED}
        m = len(self.base)
        for k in range(len(xs)):
            for sig in OBSERVED:
                per_session = []
                for j, i in enumerate(self.use):
                    samples = self.obs[i].samples.get(sig.name)
                    if samples is None:
                        per_session.append(np.empty(0))
                        continue
                    row = signals[sig.name][k * m + j]
                    ok = np.isfinite(row)
                    per_session.append(
                        np.interp(samples[0], grid[ok], row[ok])
                        if ok.sum() >= 2
                        else np.full(len(samples[0]), np.nan)
                    )
                out[sig.name].append(per_session)
        return grid, out

    def set_drift(self, drift: dict[str, Drift]) -> None:
        """Whiten each signal's residuals with ``drift`` from now on."""
        self.drift = dict(drift)
        self._factors = {}
        self._cache = None

    def factor(self, sig: ObservedSignal, j: int) -> np.ndarray:
        """Cholesky factor of the error covariance of signal ``sig`` in fitted session ``j``."""
        key = (sig.name, j)
        if key not in self._factors:
            t = self.obs[self.use[j]].samples[sig.name][0]
            drift = self.drift.get(sig.name, NO_DRIFT)
            self._factors[key] = cholesky(t, sig.sd, sig.offset_sd, drift, sig.relative_to_first)
        return self._factors[key]

    def raw_residuals(self, sim: dict[str, list[np.ndarray]], k: int) -> dict[str, list[tuple]]:
        """Per signal, each session's ``(t_min, obs - sim)`` of parameter set ``k``."""
        out: dict[str, list[tuple]] = {}
        for sig in OBSERVED:
            for j, i in enumerate(self.use):
                samples = self.obs[i].samples.get(sig.name)
                if samples is not None:
                    out.setdefault(sig.name, []).append((samples[0], samples[1] - sim[sig.name][k][j]))
        return out

    def data_residuals(self, sim: dict[str, list[np.ndarray]], k: int) -> tuple[np.ndarray, list[tuple]]:
        """Whitened residuals of parameter set ``k`` and the row layout ``(signal, session, n)``."""
        parts: list[np.ndarray] = []
        layout: list[tuple] = []
        for sig in OBSERVED:
            for j, i in enumerate(self.use):
                samples = self.obs[i].samples.get(sig.name)
                if samples is None:
                    continue
                d = samples[1] - sim[sig.name][k][j]
                ok = np.all(np.isfinite(d))
                r = whiten(self.factor(sig, j), d) if ok else np.full(len(d), FAILED_RESIDUAL)
                parts.append(r)
                layout.append((sig.name, j, len(r)))
        return np.concatenate(parts), layout

    def residuals_many(self, xs: np.ndarray) -> np.ndarray:
        _, sim = self.simulate(xs)
        rows = []
        for k, x in enumerate(xs):
            data, _ = self.data_residuals(sim, k)
            rows.append(np.concatenate([data, x / self.prior_sd]))
        return np.array(rows)

    # ------------------------------------------------------------------------------------------ scipy

    def _evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = np.asarray(x, dtype=float).tobytes()
        if self._cache is None or self._cache[0] != key:
            steps = self.inward_steps(x)
            res = self.residuals_many(np.vstack([x, x + np.diag(steps)]))
            jac = (res[1:] - res[0]).T / steps[None, :]
            self._cache = (key, res[0], jac)
        return self._cache[1], self._cache[2]

    def inward_steps(self, x: np.ndarray) -> np.ndarray:
        """Forward-difference step of each parameter at ``x``, taken inward at the upper bound so that every
        point stays within the bounds."""
        return np.where(x + self.steps > self.upper, -self.steps, self.steps)

    def fun(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate(x)[0]

    def jac(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate(x)[1]


def _simulate_feasible(
    scenarios: list[Scenario],
    names: Sequence[str] = tuple(s.name for s in OBSERVED),
    every_min: float = 1.0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time grid and signals ``names`` (``[n, steps]``; default the fitted ones) of ``scenarios``, one
    batch; a scenario the model does not simulate (e.g. an input error that makes its UF exceed 40 % of the
    extracellular water) gets NaN signals, the residual of a failed simulation."""
    try:
        batch = simulate_batch(scenarios, record_every_min=every_min)
        return batch.t_min, {n: batch.signals[n] for n in names}
    except InputError:
        ok = [_simulable([sc]) for sc in scenarios]
        if not any(ok):
            raise
    feasible = [sc for sc, good in zip(scenarios, ok, strict=True) if good]
    batch = simulate_batch(feasible, record_every_min=every_min)
    rows = np.flatnonzero(ok)
    signals = {}
    for n in names:
        full = np.full((len(scenarios), batch.t_min.size), np.nan)
        full[rows] = batch.signals[n]
        signals[n] = full
    return batch.t_min, signals


def _information_scale(res: np.ndarray, layout: list[tuple]) -> np.ndarray:
    """Per data row, the factor by which its information is deflated: variance of the whitened residuals
    above 1 times the effective-sample-size factor of their remaining autocorrelation, per signal
    (:func:`_autocorrelation_factor`)."""
    scale = np.ones(len(res))
    spans: dict[str, list[tuple[int, int]]] = {}
    pos = 0
    for name, _j, n in layout:
        spans.setdefault(name, []).append((pos, pos + n))
        pos += n
    for segments in spans.values():
        keep = [res[a:b] for a, b in segments]
        allr = np.concatenate(keep)
        var = max(1.0, float(np.mean(allr**2))) if allr.size else 1.0
        factor = var * _autocorrelation_factor(_lag_correlation(keep, 1), _lag_correlation(keep, 2))
        for a, b in segments:
            scale[a:b] = factor
    return scale


def _lag_correlation(series: list[np.ndarray], lag: int) -> float:
    """Autocorrelation at ``lag`` samples, pooled over the sessions' residual series."""
    num = sum(float(np.sum(r[lag:] * r[:-lag])) for r in series if len(r) > lag)
    den = sum(float(np.sum(r[:-lag] ** 2)) for r in series if len(r) > lag)
    return num / den if den > 0 else 0.0


def _autocorrelation_factor(rho1: float, rho2: float) -> float:
    """Long-run variance over the variance of residuals that are white noise plus a first-order
    autoregressive part (a drifting monitor): the part's correlation per sample ``phi = rho2 / rho1`` and its
    share of the variance ``rho1 / phi``; never below the factor of a pure AR(1) with ``rho1``."""
    rho1 = min(max(rho1, 0.0), MAX_AUTOCORRELATION)
    factor = (1.0 + rho1) / (1.0 - rho1)
    if rho1 > 0.0 and rho2 > 0.0:
        phi = min(rho2 / rho1, MAX_AUTOCORRELATION)
        share = min(rho1 / phi, 1.0)
        factor = max(factor, (1.0 - share) + share * (1.0 + phi) / (1.0 - phi))
    return factor


def fit_parameters(
    records: Sequence[SessionRecord], *, max_evaluations: int = 40, uncertain_inputs: bool = True
) -> FitResult:
    """Fit :data:`FITTED` to ``records`` (one patient) and return the optimum with its uncertainty,
    marginal over the errors of :data:`UNCERTAIN_INPUTS` (``uncertain_inputs=False``: the entered inputs
    are taken as exact)."""
    prob = _Problem(records, uncertain_inputs)
    sol = _solve(prob, _feasible_start(prob), max_evaluations)
    # second pass: a drifting error of each signal, estimated from the residuals at the first optimum
    _, sim = prob.simulate(sol.x[None, :])
    drift = {}
    for name, series in prob.raw_residuals(sim, 0).items():
        sig = next(s for s in OBSERVED if s.name == name)
        drift[name] = estimate_drift(series, sig.sd, sig.offset_sd, sig.relative_to_first)
    if any(d.sd > 0.0 for d in drift.values()):
        prob.set_drift(drift)
        sol = _solve(prob, sol.x, max_evaluations)
    x = sol.x
    res, jac = prob._evaluate(x)
    _, sim = prob.simulate(x[None, :])
    data, layout = prob.data_residuals(sim, 0)
    n_data = len(data)
    deflate = _information_scale(res[:n_data], layout)
    j_data = jac[:n_data] / np.sqrt(deflate)[:, None]
    h_data = j_data.T @ j_data
    n_sessions = len(prob.use)
    omega = np.diag([p.between_session_log_sd**2 for p in FITTED] + [0.0] * len(prob.inputs)) / n_sessions
    # information of the patient's typical value: (H^-1 + Omega/n)^-1 = H (I + Omega/n H)^-1
    h_eff = h_data @ np.linalg.inv(np.eye(len(x)) + omega @ h_data)
    h_eff = 0.5 * (h_eff + h_eff.T)
    cov = np.linalg.inv(h_eff + np.diag(1.0 / prob.prior_sd**2))
    cov = 0.5 * (cov + cov.T)
    sd = np.sqrt(np.diag(cov))
    rmse, counts = _rmse(prob, sim)
    k = len(FITTED)
    share = refill_share(
        prob.scenarios,
        lambda scs: _simulate_feasible(scs, (REFILL_ML_MIN,)),
        x,
        np.concatenate([np.zeros(k), x[k:]]),
        cov,
        prob.inward_steps(x),
        prob.prior_sd,
        IDENTIFIED_SD_RATIO,
    )
    return FitResult(
        log_mean=x[:k],
        log_cov=cov[:k, :k],
        input_mean=x[k:],
        input_sd=sd[k:],
        prior_sd=prob.prior_sd[:k],
        identified=sd[:k] < IDENTIFIED_SD_RATIO * prob.prior_sd[:k],
        rmse=rmse,
        n_samples=counts,
        session_ids=[prob.records[i].session_id for i in prob.use],
        n_evaluations=prob.n_evaluations,
        success=bool(sol.success),
        curves=_curves(prob, x),
        drift={s.name: prob.drift.get(s.name, NO_DRIFT) for s in OBSERVED if s.name in counts},
        refill_share=share,
    )


def _feasible_start(prob: _Problem) -> np.ndarray:
    """Where the search starts: no input error or, when the entered dry weight leaves some session a UF
    the model cannot remove (the record then says that the dry weight is off, and a failed session's
    residual has no slope to follow), the smallest dry-weight error that makes every session simulable."""
    x0 = np.zeros(len(prob.prior_sd))
    names = [u.name for u in prob.inputs]
    if "dry_weight" not in names or _simulable(prob.scenarios(x0)):
        return x0
    k = names.index("dry_weight")
    u = prob.inputs[k]
    for e in np.arange(u.step, u.limit + 1e-9, u.step):
        for signed in (-e, e):
            x = x0.copy()
            x[len(FITTED) + k] = signed
            if _simulable(prob.scenarios(x)):
                return x
    return x0


def _simulable(scenarios: list[Scenario]) -> bool:
    try:
        patient_parameters(scenarios)
    except InputError:
        return False
    return True


def _solve(prob: _Problem, x0: np.ndarray, max_evaluations: int):
    return least_squares(
        prob.fun,
        np.clip(x0, prob.lower, prob.upper),
        jac=prob.jac,
        bounds=(prob.lower, prob.upper),
        method="trf",
        x_scale=1.0,
        ftol=1e-4,
        xtol=1e-4,
        gtol=1e-6,
        max_nfev=max_evaluations,
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


def _curves(prob: _Problem, x: np.ndarray) -> list[dict[str, list[float]]]:
    """Twin-simulated RBV and SBP of every fitted session on a 5-min grid (for plots; empty for a session
    the model cannot simulate with the fitted values)."""
    t, signals = _simulate_feasible(prob.scenarios(x), every_min=CURVE_EVERY_MIN)
    out = []
    for j in range(len(prob.base)):
        keep = np.isfinite(signals[RBV_PCT][j])
        curve = {T_MIN: [round(float(v), 2) for v in t[keep]]}
        for sig in OBSERVED:
            curve[sig.name] = [round(float(v), 2) for v in signals[sig.name][j][keep]]
        out.append(curve)
    return out
