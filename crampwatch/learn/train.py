"""Train a unit model from labelled sessions and decide whether it beats the prior.

``train_unit_model(table, cramp, patient_ids)`` runs the nested patient-grouped cross-validation of
:mod:`crampwatch.learn.fit`, reports AUROC, Brier score, log loss and the reliability curve of the learned
model beside the same figures for the prior (the analyzer's overall risk), fits the final model on every
session, and keeps the prior when the data are too few or cross-validation shows no gain.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.learn.fit import (
    CrossValidation,
    Fitted,
    clustered_gain,
    cross_validate,
    design,
    fit_final,
    metrics,
    reliability,
)
from crampwatch.learn.inputs import (
    EXTRA_BLOCKS,
    EXTRA_TERMS,
    FEATURE_NAMES,
    PRIOR_COLUMN,
    extra_columns,
    penalty_weights,
)
from crampwatch.learn.unit_model import TERMS, UnitModel

#: Fewest patients, cramp sessions and cramp-free sessions for which a unit model is considered
#: (modelling choice: below this a 5-fold patient-grouped CV has folds with a handful of cramps).
MIN_PATIENTS = 10
MIN_CRAMP_SESSIONS = 10
MIN_CLEAN_SESSIONS = 10
#: One-sided z of the patient-clustered CV log-loss gain needed to replace the prior (5 % level).
GAIN_Z = 1.645
#: The unit model must also rank sessions at least as well as the prior, within this CV AUROC margin
#: (modelling choice: a gain in calibration alone must not cost discrimination).
AUROC_TOLERANCE = 0.01


def _check(table: pd.DataFrame, cramp: np.ndarray, groups: np.ndarray) -> None:
    n = len(table)
    if n == 0:
        raise InputError("sessions: none to train on (allowed ≥ 1 labelled session)", "sessions")
    if len(cramp) != n or len(groups) != n:
        raise InputError(f"labels: {len(cramp)} labels and {len(groups)} patients for {n} sessions", "labels")
    missing = [c for c in (PRIOR_COLUMN, *FEATURE_NAMES) if c not in table.columns]
    if missing:
        raise InputError(f"inputs: missing column {missing[0]!r}", missing[0])
    if not np.isin(cramp, (0, 1)).all():
        raise InputError("labels: each session is 0 (no cramp) or 1 (cramp)", "labels")
    prior = table[PRIOR_COLUMN].to_numpy(dtype=float)
    if not np.isfinite(prior).all() or (prior < 0).any() or (prior > 1).any():
        raise InputError("prior_risk: each value must be within 0–1", PRIOR_COLUMN)


def train_unit_model(
    table: pd.DataFrame,
    cramp: np.ndarray | pd.Series,
    patient_ids: np.ndarray | pd.Series,
    *,
    source: str = "",
) -> UnitModel:
    """Cross-validate, fit and describe the unit model of labelled sessions.

    ``table``: input table (:mod:`crampwatch.learn.inputs`), one row per session; ``cramp``: 1 when the
    session had a cramp; ``patient_ids``: the patient of each session (the CV groups).
    """
    t0 = time.perf_counter()
    y = np.asarray(cramp, dtype=int)
    groups = np.asarray(pd.Series(patient_ids).astype(str))
    _check(table, y, groups)
    prior = table[PRIOR_COLUMN].to_numpy(dtype=float)
    features = table[list(FEATURE_NAMES)].to_numpy(dtype=float)
    X = design(prior, features)
    blocks = {b: extra_columns(features, b) for b in EXTRA_BLOCKS}
    X_all = np.column_stack([X, *blocks.values()])
    n_patients = len(np.unique(groups))
    n_cramp = int(y.sum())
    summary: dict[str, Any] = {
        "source": source,
        "sessions": len(y),
        "patients": n_patients,
        "cramp_sessions": n_cramp,
        "cramp_rate": n_cramp / len(y),
    }
    enough = (
        n_patients >= MIN_PATIENTS
        and n_cramp >= MIN_CRAMP_SESSIONS
        and len(y) - n_cramp >= MIN_CLEAN_SESSIONS
    )
    prior_metrics = metrics(y, prior)
    used: tuple[str, ...] = ()
    summary["prior"] = {**prior_metrics, "reliability": reliability(y, prior)}
    if not enough:
        fitted = fit_final(X, y, prior, alpha=max(1024.0, float(len(y))), penalty=penalty_weights())
        decision = (
            f"keeps the analyzer's risk: too few labelled sessions to learn from ({n_patients} patients, "
            f"{n_cramp} cramp and {len(y) - n_cramp} cramp-free sessions; needs at least {MIN_PATIENTS}, "
            f"{MIN_CRAMP_SESSIONS} and {MIN_CLEAN_SESSIONS})"
        )
        uses_prior = True
        summary["folds"] = 0
    else:
        decided = _decide_by_cv(X, blocks, y, prior, groups, prior_metrics, summary)
        fitted, used, uses_prior, decision = decided
    summary["training_seconds"] = time.perf_counter() - t0
    coef, fill = _all_terms(fitted, X_all, used)
    return UnitModel(
        intercept=fitted.intercept,
        coefficients={t: float(c) for t, c in zip(TERMS, coef, strict=True)},
        fill={t: float(f) for t, f in zip(TERMS, fill, strict=True)},
        uses_prior=uses_prior,
        decision=decision,
        created_at=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        training=summary,
        alpha=fitted.alpha,
    )


def _decide_by_cv(
    X: np.ndarray,
    blocks: dict[str, np.ndarray],
    y: np.ndarray,
    prior: np.ndarray,
    groups: np.ndarray,
    prior_metrics: dict[str, Any],
    summary: dict[str, Any],
) -> tuple[Fitted, tuple[str, ...], bool, str]:
    """Cross-validate the model with the extra terms the folds support, fit it on every session, and decide:
    the unit model replaces the analyzer's risk only when its patient-clustered log-loss gain has
    z >= :data:`GAIN_Z` and it ranks sessions as well (AUROC within :data:`AUROC_TOLERANCE`). Returns the
    fit, the extra blocks used, whether the prior is kept and the decision in words; the figures go into
    ``summary``."""
    cv, X, used = _with_supported_terms(X, blocks, y, prior, groups, summary)
    gain, z = clustered_gain(y, cv.model_risk, prior, groups)
    model_metrics = metrics(y, cv.model_risk)
    summary["folds"] = cv.n_folds
    summary["cv_model"] = {**model_metrics, "reliability": reliability(y, cv.model_risk)}
    summary["log_loss_gain_per_session"] = gain
    summary["gain_z"] = z
    summary["cv_alphas"] = cv.alphas
    alpha = float(np.median(cv.alphas))
    fitted = fit_final(X, y, prior, alpha, penalty_weights(used))
    auc_m, auc_p = model_metrics["auroc"], prior_metrics["auroc"]
    ranks_as_well = auc_m is None or auc_p is None or auc_m >= auc_p - AUROC_TOLERANCE
    uses_prior = not (gain > 0 and z >= GAIN_Z and ranks_as_well)
    figures = (
        f"patient-grouped CV ({cv.n_folds} folds): AUROC {_f(auc_m)} vs {_f(auc_p)}, Brier "
        f"{model_metrics['brier']:.4f} vs {prior_metrics['brier']:.4f}, log loss "
        f"{model_metrics['log_loss']:.4f} vs {prior_metrics['log_loss']:.4f} (unit model vs analyzer)"
    )
    for block in used:
        figures += f"; with {block[:-1]} terms (CV gain z = {summary[block]['gain_z']:.2f})"
    if uses_prior:
        decision = (
            f"keeps the analyzer's risk: cross-validation shows no reliable gain (z = {z:.2f}); {figures}"
        )
    else:
        decision = f"uses the unit model: {figures}; gain z = {z:.2f}"
    return fitted, used, uses_prior, decision


def _with_supported_terms(
    X: np.ndarray,
    blocks: dict[str, np.ndarray],
    y: np.ndarray,
    prior: np.ndarray,
    groups: np.ndarray,
    summary: dict,
) -> tuple[CrossValidation, np.ndarray, tuple[str, ...]]:
    """Cross-validate the linear model and the model with each block of extra terms (thresholds,
    interactions); a block is kept only when its out-of-fold log loss beats the linear model's with a
    patient-clustered one-sided z >= :data:`GAIN_Z`. Returns the chosen model's CV, its design matrix and the
    kept blocks. (The choice is made on the same folds, so the chosen model's CV figures can be slightly
    optimistic; held-out units check it, ``benchmarks/learn.py``.)"""
    cv_lin = cross_validate(X, y, prior, groups, penalty_weights())
    kept, cvs = [], {}
    for block, cols in blocks.items():
        cvs[block] = cross_validate(np.column_stack([X, cols]), y, prior, groups, penalty_weights((block,)))
        gain, z = clustered_gain(y, cvs[block].model_risk, cv_lin.model_risk, groups)
        use = gain > 0 and z >= GAIN_Z
        summary[block] = {
            "terms": list(EXTRA_TERMS[block]),
            "used": bool(use),
            "log_loss_gain_per_session": gain,
            "gain_z": z,
        }
        if use:
            kept.append(block)
    used = tuple(kept)
    X_used = np.column_stack([X, *(blocks[b] for b in used)])
    if not used:
        return cv_lin, X, used
    cv = cvs[used[0]] if len(used) == 1 else cross_validate(X_used, y, prior, groups, penalty_weights(used))
    return cv, X_used, used


def _all_terms(fitted: Fitted, X_all: np.ndarray, used: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and fill values of every term of :data:`TERMS` (columns of ``X_all``): terms of blocks
    the model does not use get coefficient 0 (and their training mean as fill)."""
    keep = [True] * (len(TERMS) - sum(len(names) for names in EXTRA_TERMS.values()))
    for block, names in EXTRA_TERMS.items():
        keep += [block in used] * len(names)
    keep_mask = np.array(keep)
    with np.errstate(invalid="ignore"):
        means = np.nanmean(X_all, axis=0) if len(X_all) else np.zeros(len(TERMS))
    fill = np.where(np.isfinite(means), means, 0.0)
    coef = np.zeros(len(TERMS))
    coef[keep_mask] = fitted.coef
    fill[keep_mask] = fitted.fill
    return coef, fill


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
