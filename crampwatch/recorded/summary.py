"""Per-patient summaries and prescription changes of an analysed history (one partition's patients at a
time: a patient's sessions never span partitions).

* Recurring cause: the top cause most often seen among the patient's sessions whose top score reaches
  :data:`RECURRING_SCORE` (modelling choice: a cause scored below it is weak evidence), with its share.
* Trend: least-squares slope of the session's overall cramp risk over the patient's last
  :data:`TREND_DAYS` days, per 30 days (NaN with fewer than :data:`TREND_MIN_SESSIONS` sessions).
* Prescription changes: a setting whose median over the next :data:`CHANGE_WINDOW` sessions differs from
  its median over the previous ones by at least its step (:data:`CHANGE_STEPS`), first at that session;
  the session risk, IDH risk and top causes before and after are compared over those windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crampwatch.signals import DIALYSATE_TEMP_C

#: Top score from which a session's top cause counts toward the recurring cause (modelling choice).
RECURRING_SCORE = 0.3
#: Days of the patient's recent history the trend is fitted on, and the fewest sessions for a trend.
TREND_DAYS = 180
TREND_MIN_SESSIONS = 6
#: Sessions that make up the patient's recent risk.
RECENT_SESSIONS = 12
#: Sessions compared before and after a change (modelling choice: four weeks of thrice-weekly dialysis).
CHANGE_WINDOW = 12
#: Settings whose changes are detected, with the smallest step that counts (modelling choice: above the
#: session-to-session scatter of the recorded value).
CHANGE_STEPS = {
    "dialysate_na_setting_mmol_l": 1.0,
    DIALYSATE_TEMP_C: 0.3,
    "dry_weight_kg": 0.5,
}


def _slope_per_30_days(days: np.ndarray, risk: np.ndarray) -> float:
    ok = np.isfinite(risk)
    if ok.sum() < TREND_MIN_SESSIONS or np.ptp(days[ok]) <= 0:
        return float("nan")
    return float(np.polyfit(days[ok], risk[ok], 1)[0] * 30.0)


def _recurring(top: np.ndarray, score: np.ndarray) -> tuple[str, float]:
    """The recurring cause of sessions (top cause, top score) and the share of the sessions it leads."""
    top, score = np.asarray(top, dtype=object), np.asarray(score, dtype=float)
    strong = top[(score >= RECURRING_SCORE) & (top != "none")]
    if len(strong) == 0:
        return "none", 0.0
    names, counts = np.unique(strong.astype(str), return_counts=True)
    k = int(np.argmax(counts))  # ties: the first name in alphabetical order
    return str(names[k]), float(counts[k] / len(top))


def patient_summary(sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per patient of an analysed session table (rows with ``status == 'analysed'``)."""
    rows = []
    s = sessions.loc[sessions["status"] == "analysed"]
    for pid, g in s.groupby("patient_id", sort=True):
        g = g.sort_values("session_date")
        day = (g["session_date"] - g["session_date"].iloc[0]).dt.days.to_numpy(dtype=float)
        recent = day >= day[-1] - TREND_DAYS
        cause, share = _recurring(g["top_cause"].to_numpy(), g["top_score"].to_numpy())
        risk = g["overall_risk"].to_numpy(dtype=float)
        rows.append(
            {
                "patient_id": pid,
                "sessions": len(g),
                "first_session": g["session_date"].iloc[0],
                "last_session": g["session_date"].iloc[-1],
                "mean_risk": float(np.nanmean(risk)),
                "recent_risk": float(np.nanmean(risk[-RECENT_SESSIONS:])),
                "risk_trend_per_30_days": _slope_per_30_days(day[recent], risk[recent]),
                "recurring_cause": cause,
                "recurring_cause_share": share,
                "mean_idh_risk": float(np.nanmean(g["idh_risk"].to_numpy(dtype=float))),
                "mean_uf_rate_ml_kg_h": float(np.nanmean(g["uf_rate_ml_kg_h"].to_numpy(dtype=float))),
            }
        )
    return pd.DataFrame(rows)


def _change_points(values: pd.Series, patient: pd.Series, step: float) -> np.ndarray:
    """Positions (in ``values``) at which a patient's setting moves to a new level: the median of the
    next ``w`` sessions and the session itself differ by at least ``step`` from the median of the previous
    ``w`` (``w`` = a quarter of :data:`CHANGE_WINDOW`, at least 3); after a change the next ``w`` sessions
    are not tested. ``values`` are in date order within each patient."""
    w = max(3, CHANGE_WINDOW // 4)
    x = pd.Series(values.to_numpy(dtype=float))
    pid = pd.Series(patient.to_numpy())

    def rolling_median(v: pd.Series, p: pd.Series) -> pd.Series:
        return (
            v.groupby(p.to_numpy(), sort=False).rolling(w, min_periods=1).median().droplevel(0).sort_index()
        )

    before = rolling_median(x, pid).groupby(pid.to_numpy(), sort=False).shift(1)
    reverse = rolling_median(x[::-1].reset_index(drop=True), pid[::-1].reset_index(drop=True))
    after = pd.Series(reverse.to_numpy()[::-1])
    remaining = x.groupby(pid.to_numpy(), sort=False).cumcount(ascending=False).to_numpy()
    values = x
    hit = ((after - before).abs() >= step) & ((values - before).abs() >= step) & (remaining >= 2)
    out, blocked_until, last_patient = [], -1, None
    pids = patient.to_numpy()
    for i in np.flatnonzero(hit.to_numpy()):
        if pids[i] != last_patient:
            blocked_until, last_patient = -1, pids[i]
        if i >= blocked_until:
            out.append(i)
            blocked_until = i + w
    return np.array(out, dtype=np.int64)


def prescription_changes(sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per detected change: patient, date, setting, value before and after, and the mean session
    risk, IDH risk and share of sessions led by each cause over the windows before and after."""
    s = sessions.loc[sessions["status"] == "analysed"].sort_values(
        ["patient_id", "session_date"], kind="stable"
    )
    s = s.reset_index(drop=True)
    first = s.groupby("patient_id", sort=False).cumcount().to_numpy()
    left = len(s) - 1 - s.groupby("patient_id", sort=False).cumcount(ascending=False).to_numpy()
    rows = []
    col = {c: s[c].to_numpy() for c in ("overall_risk", "idh_risk", "top_cause", "top_score")}
    for setting, step in CHANGE_STEPS.items():
        values = s[setting].to_numpy(dtype=float)
        for i in _change_points(s[setting], s["patient_id"], step):
            b = slice(max(i - first[i], i - CHANGE_WINDOW), i)  # within the patient's sessions
            a = slice(i, min(left[i] + 1, i + CHANGE_WINDOW))
            rows.append(
                {
                    "patient_id": s.at[i, "patient_id"],
                    "date": s.at[i, "session_date"],
                    "setting": setting,
                    "before": float(np.nanmedian(values[b])),
                    "after": float(np.nanmedian(values[a])),
                    "sessions_before": b.stop - b.start,
                    "sessions_after": a.stop - a.start,
                    "risk_before": float(np.mean(col["overall_risk"][b])),
                    "risk_after": float(np.mean(col["overall_risk"][a])),
                    "idh_risk_before": float(np.mean(col["idh_risk"][b])),
                    "idh_risk_after": float(np.mean(col["idh_risk"][a])),
                    "top_cause_before": _recurring(col["top_cause"][b], col["top_score"][b])[0],
                    "top_cause_after": _recurring(col["top_cause"][a], col["top_score"][a])[0],
                }
            )
    columns = ["patient_id", "date", "setting", "before", "after"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)
