"""Scores of a warning over streamed sessions (``benchmarks/warning.py``): AUROC/AUPRC of the 30-min risk over
every update, the alert policy replayed on the risk series (sensitivity 5-30 min before a cramp, false alert
episodes per session, lead time, cause accuracy), forecast band coverage, and the two baselines.

Definitions (written before the runs):

* an update at ``t`` is positive when the session's first cramp falls in ``(t, t + 30]``; updates after the
  first cramp are left out (a nurse has acted by then);
* a cramp is detected when an alert fired in ``[c - 30, c - 5]`` (the alert says "a cramp within 30 min";
  one that stood from earlier does not count); its lead time is ``c`` minus the firing time; the cause is
  right when the alert's cause is the mechanism that drew the cramp (cramps without a mechanism are left
  out of cause accuracy);
* an alert is false when no cramp follows within 30 min of its firing; alerts fired after the session's
  first cramp are not counted;
* a forecast band covers when the value measured 30 min later (the truth plus the stream's measurement noise)
  lies inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from crampwatch.live import AlertPolicy, PolicyState
from crampwatch.live.policy import step
from crampwatch.units import conductivity_to_na_mmol_l

WINDOW_MIN, MIN_LEAD_MIN = 30.0, 5.0


@dataclass
class Series:
    """One session's updates under one warning: times, risk, cause, confirming-BP flags, 30-min bands."""

    t: np.ndarray
    risk: np.ndarray
    cause: list
    confirming: np.ndarray
    bands: np.ndarray | None = None  # [updates, 6]: rbv, lo, hi, sbp, lo, hi


def labels(t: np.ndarray, cramp_t: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(positive, kept) per update."""
    if cramp_t is None:
        return np.zeros(t.size, dtype=bool), np.ones(t.size, dtype=bool)
    return (cramp_t > t) & (cramp_t <= t + WINDOW_MIN), t < cramp_t


def discrimination(series: list[Series], sessions: list) -> tuple[float, float, float]:
    """(AUROC, AUPRC, share of positive updates) over every kept update."""
    ys, ss = [], []
    for s, ses in zip(series, sessions, strict=True):
        y, keep = labels(s.t, ses.cramp_t)
        ys.append(y[keep])
        ss.append(s.risk[keep])
    y, score = np.concatenate(ys), np.concatenate(ss)
    return float(roc_auc_score(y, score)), float(average_precision_score(y, score)), float(y.mean())


def auroc_ci(series: list[Series], sessions: list, n_boot: int = 200, seed: int = 0) -> tuple[float, float]:
    """95 % interval of the AUROC over every kept update, resampling whole patients (the split's unit)."""
    by_patient: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for s, ses in zip(series, sessions, strict=True):
        y, keep = labels(s.t, ses.cramp_t)
        by_patient.setdefault(ses.patient, []).append((y[keep], s.risk[keep]))
    groups = list(by_patient.values())
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        pick = [groups[k] for k in rng.integers(0, len(groups), len(groups))]
        y = np.concatenate([a for g in pick for a, _ in g])
        score = np.concatenate([b for g in pick for _, b in g])
        if 0 < y.sum() < y.size:
            values.append(roc_auc_score(y, score))
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def rise(s: Series) -> Series:
    """The series' risk as its rise above the session's first update (what a start-relative policy reads)."""
    return Series(s.t, s.risk - s.risk[0], s.cause, s.confirming, s.bands)


def replay(policy: AlertPolicy, s: Series) -> list[tuple[float, int]]:
    """The alerts fired under ``policy``: (time, update index)."""
    state = PolicyState()
    fired = []
    for k, (t, r, c) in enumerate(zip(s.t, s.risk, s.confirming, strict=True)):
        new = step(state, policy, float(t), float(r), bool(c))
        if (
            new.alerted
            and new.alert_t_min == float(t)
            and not (state.alerted and state.episode == new.episode)
        ):
            fired.append((float(t), k))
        state = new
    return fired


@dataclass
class AlertScores:
    sensitivity: float
    sensitivity_predictable: float
    false_per_session: float
    median_lead_min: float
    cause_accuracy: float
    n_cramps: int
    n_detected: int


def alert_scores(policy: AlertPolicy, series: list[Series], sessions: list) -> AlertScores:
    detected, predictable, false, leads, right = [], [], 0, [], []
    for s, ses in zip(series, sessions, strict=True):
        fired = replay(policy, s)
        c = ses.cramp_t
        false += sum(1 for t, _ in fired if c is None or (t < c and c > t + WINDOW_MIN))
        if c is None:
            continue
        hits = [(t, k) for t, k in fired if c - WINDOW_MIN <= t <= c - MIN_LEAD_MIN]
        detected.append(bool(hits))
        if ses.cramp_cause != "other":
            predictable.append(bool(hits))
        if hits:
            t, k = hits[0]
            leads.append(c - t)
            if ses.cramp_cause != "other":
                right.append(s.cause[k] == ses.cramp_cause)
    return AlertScores(
        float(np.mean(detected)) if detected else float("nan"),
        float(np.mean(predictable)) if predictable else float("nan"),
        false / len(series),
        float(np.median(leads)) if leads else float("nan"),
        float(np.mean(right)) if right else float("nan"),
        len(detected),
        int(np.sum(detected)),
    )


def choose_policy(series: list[Series], sessions: list, max_false: float) -> tuple:
    """The most sensitive policy of :func:`policy_grid` with at most ``max_false`` false alert episodes per
    session (ties: fewer false alerts, then the earlier grid entry); when none qualifies, the one with the
    fewest false alerts. Thresholds are quantiles of the training risk (absolute policies) and of its rise
    above each session's first update (policies relative to the start)."""
    risk = np.concatenate([s.risk for s in series])
    rise = np.concatenate([s.risk - s.risk[0] for s in series])
    grids = {
        relative: sorted({float(q) for q in np.quantile(values, QUANTILES) if q > 0})
        for relative, values in ((False, risk), (True, rise))
    }
    best, fallback = None, None
    for k, policy in enumerate(policy_grid(grids)):
        sc = alert_scores(policy, series, sessions)
        if fallback is None or sc.false_per_session < fallback[2].false_per_session:
            fallback = (None, policy, sc)
        if sc.false_per_session > max_false:
            continue
        key = (sc.sensitivity, -sc.false_per_session, -k)
        if best is None or key > best[0]:
            best = (key, policy, sc)
    chosen = best or fallback
    return chosen[1], chosen[2]


#: Quantiles of the training risk (or of its rise) tried as alert thresholds.
QUANTILES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.965, 0.975, 0.985, 0.99, 0.995)


def policy_grid(grids: dict[bool, list[float]]) -> list[AlertPolicy]:
    """Absolute and start-relative thresholds x fire thresholds x consecutive updates x escalation on a
    confirming cuff BP; watch at half the alert threshold, cleared at half the watch threshold (the
    hysteresis ratios are modelling choices)."""
    grid = []
    for relative, thresholds in grids.items():
        for alert_on in thresholds:
            for n in (1, 2, 3, 5):
                for escalate in (False, True):
                    watch_on = alert_on / 2.0
                    grid.append(
                        AlertPolicy(
                            watch_on=watch_on,
                            watch_off=watch_on / 2.0,
                            alert_on=alert_on,
                            consecutive_updates=n,
                            escalate_on_cuff_bp=escalate,
                            relative_to_start=relative,
                        )
                    )
    return grid


def coverage(
    series: list[Series], sessions: list, rbv_sd: float, sbp_sd: float, seed: int
) -> dict[str, float]:
    """Coverage and mean width of the 90 % bands 30 min ahead against the measured value then."""
    rng = np.random.default_rng(seed)
    inside = {"rbv_pct": [], "sbp_mmhg": []}
    width = {"rbv_pct": [], "sbp_mmhg": []}
    for s, ses in zip(series, sessions, strict=True):
        k = np.flatnonzero(s.t + WINDOW_MIN <= ses.duration_min)
        ahead = (s.t[k] + WINDOW_MIN).astype(int)
        for j, (name, truth, sd) in enumerate(
            (("rbv_pct", ses.true_rbv, rbv_sd), ("sbp_mmhg", ses.true_sbp, sbp_sd))
        ):
            measured = truth[ahead] + rng.normal(0.0, sd, ahead.size)
            lo, hi = s.bands[k, 3 * j + 1], s.bands[k, 3 * j + 2]
            inside[name].append((lo <= measured) & (measured <= hi))
            width[name].append(hi - lo)
    out = {}
    for name in inside:
        out[f"{name}_coverage"] = float(np.mean(np.concatenate(inside[name])))
        out[f"{name}_width"] = float(np.mean(np.concatenate(width[name])))
    return out


# ------------------------------------------------------------------------------------------ baselines

FEATURES = (
    "rbv_pct",
    "rbv_slope_pct_h",
    "sbp_mmhg",
    "sbp_change_mmhg",
    "uf_rate_ml_kg_h",
    "elapsed",
    "na_gradient",
)


def current_signals(ses) -> tuple[np.ndarray, np.ndarray]:
    """Per update: the current signals a monitor shows ([updates, FEATURES], NaN-free; last value held) and
    the times."""
    rows, times = [], []
    rbv_hist: list[tuple[float, float]] = []
    last = {"rbv_pct": 100.0, "sbp_mmhg": np.nan, "uf": 0.0, "na": np.nan}
    first_sbp = np.nan
    pre_na = ses.view.patient.labs.resolved()[0]["na_mmol_l"]
    for t, v in ses.stream:
        if "rbv_pct" in v:
            last["rbv_pct"] = v["rbv_pct"]
            rbv_hist.append((t, v["rbv_pct"]))
        if "sbp_mmhg" in v:
            last["sbp_mmhg"] = v["sbp_mmhg"]
            first_sbp = v["sbp_mmhg"] if np.isnan(first_sbp) else first_sbp
        if "uf_rate_ml_h" in v:
            last["uf"] = v["uf_rate_ml_h"]
        if "conductivity_ms_cm" in v:
            last["na"] = float(conductivity_to_na_mmol_l(v["conductivity_ms_cm"]))
        recent = [(a, b) for a, b in rbv_hist if a >= t - 15.0]
        slope = (
            np.polyfit([a for a, _ in recent], [b for _, b in recent], 1)[0] * 60.0
            if len(recent) >= 3
            else 0.0
        )
        sbp = last["sbp_mmhg"] if np.isfinite(last["sbp_mmhg"]) else 140.0
        change = sbp - first_sbp if np.isfinite(first_sbp) else 0.0
        na = last["na"] if np.isfinite(last["na"]) else ses.view.prescription.dialysate.na_mmol_l
        rows.append([last["rbv_pct"], slope, sbp, change, last["uf"] / ses.view.patient.dry_weight_kg,
                     t / ses.duration_min, na - pre_na])  # fmt: skip
        times.append(t)
    return np.array(rows, dtype=float), np.array(times, dtype=float)


def rbv_alone(ses) -> Series:
    """Current RBV alone (what a Crit-Line alarm reads): risk = (100 - RBV) / 20, clipped to 0-1."""
    x, t = current_signals(ses)
    risk = np.clip((100.0 - x[:, 0]) / 20.0, 0.0, 1.0)
    return Series(t, risk, ["hypovolemia"] * t.size, np.zeros(t.size, dtype=bool))


def train_logistic(sessions: list):
    """Logistic regression on the current signals, trained on the training patients' kept updates."""
    xs, ys = [], []
    for ses in sessions:
        x, t = current_signals(ses)
        y, keep = labels(t, ses.cramp_t)
        xs.append(x[keep])
        ys.append(y[keep])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    return model.fit(np.concatenate(xs), np.concatenate(ys))


def logistic(model, ses) -> Series:
    x, t = current_signals(ses)
    risk = model.predict_proba(x)[:, 1]
    return Series(t, risk, ["hypovolemia"] * t.size, np.zeros(t.size, dtype=bool))
