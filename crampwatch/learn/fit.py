"""Penalised logistic regression around the prior, and patient-grouped cross-validation.

The model is ``logit p = logit(prior) + b0 + sum_k b_k z_k``: the analyzer's overall risk is the offset,
``z`` are the standardised inputs (the logit of the prior itself, the cause scores, the key features) and
the ridge penalty ``alpha/2 (b0^2 + |b|^2)`` pulls every coefficient toward 0, that is toward the prior
(Steyerberg EW et al. Stat Med 2004;23:2567, "updating" a prediction model by penalised recalibration and
revision). With few sessions the penalty dominates and the model equals the prior.

Sessions of one patient are correlated, so every split is by patient (``GroupKFold``): no patient has
sessions in both the training and the test part (Liu YS et al. JMIR
2021;23:e27098). The penalty is chosen inside each training part (nested cross-validation), so the
reported figures are out-of-sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logit
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import GroupKFold

#: Ridge strengths tried, in pseudo-sessions of evidence for the prior (modelling choice: a geometric grid
#: from weak to strong; the strongest keeps a 200-session unit within a few percent of the prior).
ALPHA_GRID: tuple[float, ...] = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0)
#: Outer and inner folds of the patient-grouped cross-validation (modelling choice).
OUTER_FOLDS = 5
INNER_FOLDS = 3
#: Probabilities are kept within [EPS, 1 - EPS] before taking logits.
EPS = 1e-4
#: Bins of the reliability curve (quantiles of the predicted risk).
RELIABILITY_BINS = 10


def prior_logit(prior: np.ndarray) -> np.ndarray:
    return logit(np.clip(np.asarray(prior, dtype=float), EPS, 1.0 - EPS))


@dataclass(frozen=True)
class Standardiser:
    """Column means (NaN filled with them) and scales of a design matrix."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, penalty: np.ndarray | None = None) -> Standardiser:
        """Means and SDs of the columns of ``X``; ``penalty`` (per column, default 1) multiplies each
        column's ridge penalty: a standardised column divided by sqrt(penalty) has its coefficient
        penalised ``penalty`` times as strongly."""
        mean = np.nanmean(X, axis=0) if len(X) else np.zeros(X.shape[1])
        mean = np.where(np.isfinite(mean), mean, 0.0)
        scale = np.nanstd(X, axis=0) if len(X) else np.ones(X.shape[1])
        scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
        if penalty is not None:
            scale = scale * np.sqrt(np.asarray(penalty, dtype=float))
        return cls(mean, scale)

    def apply(self, X: np.ndarray) -> np.ndarray:
        filled = np.where(np.isnan(X), self.mean, X)
        return (filled - self.mean) / self.scale


def design(prior: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Raw design matrix: logit of the prior, then the features (NaN kept; filled by the standardiser)."""
    return np.column_stack([prior_logit(prior), np.asarray(features, dtype=float)])


def fit_penalised(
    Z: np.ndarray, y: np.ndarray, offset: np.ndarray, alpha: float, start: np.ndarray | None = None
) -> np.ndarray:
    """Coefficients ``[b0, b_1..b_k]`` minimising the log loss with offset plus ``alpha/2 |b|^2``.

    Newton trust-region steps (scipy ``trust-exact``) on the convex objective with its exact gradient and
    Hessian; a few iterations suffice even for 10^5 sessions.
    """
    A = np.column_stack([np.ones(len(Z)), Z])
    yv = np.asarray(y, dtype=float)

    def parts(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta = offset + A @ b
        loss = -float(np.sum(yv * log_expit(eta) + (1.0 - yv) * log_expit(-eta)))
        p = expit(eta)
        grad = A.T @ (p - yv) + alpha * b
        hess = (A * (p * (1.0 - p))[:, None]).T @ A + alpha * np.eye(A.shape[1])
        return loss + 0.5 * alpha * float(b @ b), grad, hess

    cache: dict[bytes, tuple[float, np.ndarray, np.ndarray]] = {}

    def get(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        key = b.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = parts(b)
        return cache[key]

    b0 = np.zeros(A.shape[1]) if start is None else np.asarray(start, dtype=float)
    res = minimize(
        lambda b: get(b)[0],
        b0,
        jac=lambda b: get(b)[1],
        hess=lambda b: get(b)[2],
        method="trust-exact",
        options={"gtol": 1e-6, "maxiter": 200},
    )
    return np.asarray(res.x, dtype=float)


def predict_logit(Z: np.ndarray, offset: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return offset + coef[0] + Z @ coef[1:]


def log_loss_each(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Per-session log loss of log-odds ``eta``."""
    yv = np.asarray(y, dtype=float)
    return -(yv * log_expit(eta) + (1.0 - yv) * log_expit(-eta))


def _folds(groups: np.ndarray, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    n_groups = len(np.unique(groups))
    k = min(n_splits, n_groups)
    if k < 2:
        return []
    return list(GroupKFold(n_splits=k).split(np.zeros(len(groups)), groups=groups))


def choose_alpha(
    X: np.ndarray, y: np.ndarray, prior: np.ndarray, groups: np.ndarray, penalty: np.ndarray | None = None
) -> float:
    """The strongest ridge whose patient-grouped CV log loss is within one standard error of the best.

    The one-standard-error rule (Breiman L et al. 1984, Classification and Regression Trees; Hastie T et
    al. 2009, Elements of Statistical Learning §7.10) prefers the simpler model, here the one closer to the
    prior; the standard error is taken over patients.
    """
    folds = _folds(groups, INNER_FOLDS)
    if not folds:
        return ALPHA_GRID[-1]
    _, patient = np.unique(groups, return_inverse=True)
    per_patient = np.zeros((len(ALPHA_GRID), patient.max() + 1))
    for train, test in folds:
        st = Standardiser.fit(X[train], penalty)
        Zt, Zv = st.apply(X[train]), st.apply(X[test])
        off_t, off_v = prior_logit(prior[train]), prior_logit(prior[test])
        coef = None
        for j in range(len(ALPHA_GRID) - 1, -1, -1):  # strong to weak, warm-started
            coef = fit_penalised(Zt, y[train], off_t, ALPHA_GRID[j], coef)
            loss = log_loss_each(y[test], predict_logit(Zv, off_v, coef))
            per_patient[j] += np.bincount(patient[test], weights=loss, minlength=per_patient.shape[1])
    totals = per_patient.sum(axis=1)
    best = int(np.argmin(totals))
    diff = per_patient - per_patient[best]
    se = diff.std(axis=1, ddof=1) * np.sqrt(diff.shape[1])  # SE of the total difference over patients
    ok = [j for j in range(len(ALPHA_GRID)) if totals[j] <= totals[best] + se[j]]
    return ALPHA_GRID[max(ok)]


@dataclass(frozen=True)
class Fitted:
    """A fitted model in raw units: ``logit p = logit(prior) + intercept + coef . x`` (x raw, NaN = mean)."""

    alpha: float
    intercept: float
    coef: np.ndarray
    fill: np.ndarray

    def logit(self, prior: np.ndarray, features: np.ndarray) -> np.ndarray:
        X = design(prior, features)
        X = np.where(np.isnan(X), self.fill, X)
        return prior_logit(prior) + self.intercept + X @ self.coef


def fit_final(
    X: np.ndarray, y: np.ndarray, prior: np.ndarray, alpha: float, penalty: np.ndarray | None = None
) -> Fitted:
    """Fit on every session (``penalty``: per-column multiplier of the ridge); coefficients converted to
    raw units."""
    st = Standardiser.fit(X, penalty)
    b = fit_penalised(st.apply(X), y, prior_logit(prior), alpha)
    coef = b[1:] / st.scale
    intercept = float(b[0] - np.sum(coef * st.mean))
    return Fitted(alpha=alpha, intercept=intercept, coef=coef, fill=st.mean)


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold predictions of the learned model and the prior's, per session."""

    model_risk: np.ndarray
    prior_risk: np.ndarray
    alphas: list[float]
    n_folds: int


def cross_validate(
    X: np.ndarray, y: np.ndarray, prior: np.ndarray, groups: np.ndarray, penalty: np.ndarray | None = None
) -> CrossValidation:
    """Nested patient-grouped CV: penalty chosen within each training part, scored on held-out patients
    (``penalty``: per-column multiplier of the ridge)."""
    folds = _folds(groups, OUTER_FOLDS)
    out = np.full(len(y), np.nan)
    alphas = []
    for train, test in folds:
        alpha = choose_alpha(X[train], y[train], prior[train], groups[train], penalty)
        alphas.append(alpha)
        fitted = fit_final(X[train], y[train], prior[train], alpha, penalty)
        out[test] = expit(fitted.logit(prior[test], X[test][:, 1:]))
    return CrossValidation(
        model_risk=out, prior_risk=np.asarray(prior, float), alphas=alphas, n_folds=len(folds)
    )


def metrics(y: np.ndarray, risk: np.ndarray) -> dict[str, float | None]:
    """AUROC, Brier score, log loss and mean predicted risk."""
    yv = np.asarray(y, dtype=int)
    r = np.clip(np.asarray(risk, dtype=float), EPS, 1.0 - EPS)
    auroc = float(roc_auc_score(yv, r)) if 0 < yv.sum() < len(yv) else None
    return {
        "auroc": auroc,
        "brier": float(brier_score_loss(yv, r)),
        "log_loss": float(log_loss_each(yv, logit(r)).mean()),
        "mean_risk": float(r.mean()),
    }


def reliability(y: np.ndarray, risk: np.ndarray) -> list[dict[str, float]]:
    """Reliability curve: per quantile bin of predicted risk, mean predicted and observed cramp rate."""
    r = np.clip(np.asarray(risk, dtype=float), 0.0, 1.0)
    yv = np.asarray(y, dtype=float)
    edges = np.unique(np.quantile(r, np.linspace(0.0, 1.0, RELIABILITY_BINS + 1)))
    bins = np.clip(np.searchsorted(edges, r, side="right") - 1, 0, max(len(edges) - 2, 0))
    out = []
    for b in np.unique(bins):
        sel = bins == b
        out.append(
            {"predicted": float(r[sel].mean()), "observed": float(yv[sel].mean()), "sessions": int(sel.sum())}
        )
    return out


def clustered_gain(
    y: np.ndarray, model: np.ndarray, prior: np.ndarray, groups: np.ndarray
) -> tuple[float, float]:
    """Mean CV log-loss gain per session over the prior, and its z statistic clustered by patient.

    The per-patient sum of (prior loss - model loss) is the unit of replication (sessions of one patient
    are not independent); ``z = mean / standard error`` over patients.
    """
    diff = log_loss_each(y, logit(np.clip(prior, EPS, 1 - EPS))) - log_loss_each(
        y, logit(np.clip(model, EPS, 1 - EPS))
    )
    _, inverse = np.unique(groups, return_inverse=True)
    per_patient = np.bincount(inverse, weights=diff)
    n = len(per_patient)
    if n < 2:
        return float(diff.mean()), 0.0
    se = float(per_patient.std(ddof=1) / np.sqrt(n))
    z = float(per_patient.mean() / se) if se > 0 else (np.inf if per_patient.mean() > 0 else 0.0)
    return float(diff.mean()), z
