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
    "dialysate_temp_c": 0.3,
    "dry_weight_kg": 0.5,
}


def _slope_per_30_days(days: np.ndarray, risk: np.ndarray) -> float:
    ok = np.isfinite(risk)
    if ok.sum() < TREND_MIN_SESSIONS or np.ptp(days[ok]) <= 0:
        return float("nan")
    return float(np.polyfit(days[ok], risk[ok], 1)[0] * 30.0)


def _recurring(top: pd.Series, score: pd.Series) -> tuple[str, float]:
    strong = top[(score >= RECURRING_SCORE) & (top != "none")]
    if strong.empty:
        return "none", 0.0
    counts = strong.value_counts()
    return str(counts.index[0]), float(counts.iloc[0] / len(top))


def patient_summary(sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per patient of an analysed session table (rows with ``status == 'analysed'``)."""
    rows = []
    s = sessions.loc[sessions["status"] == "analysed"]
    for pid, g in s.groupby("patient_id", sort=True):
        g = g.sort_values("session_date")
        day = (g["session_date"] - g["session_date"].iloc[0]).dt.days.to_numpy(dtype=float)
        recent = day >= day[-1] - TREND_DAYS
        cause, share = _recurring(g["top_cause"], g["top_score"])
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


def _change_points(values: np.ndarray, step: float) -> list[int]:
    """Sessions at which a setting moves to a new level (see the module docstring)."""
    out: list[int] = []
    i = CHANGE_WINDOW // 4
    w = max(3, CHANGE_WINDOW // 4)
    while i < len(values) - 2:
        before = np.nanmedian(values[max(0, i - w) : i]) if i > 0 else np.nan
        after = np.nanmedian(values[i : i + w])
        if (
            np.isfinite(before)
            and np.isfinite(after)
            and abs(after - before) >= step
            and abs(values[i] - before) >= step
        ):
            out.append(i)
            i += w
        else:
            i += 1
    return out


def prescription_changes(sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per detected change: patient, date, setting, value before and after, and the mean session
    risk, IDH risk and share of sessions led by each cause over the windows before and after."""
    rows = []
    s = sessions.loc[sessions["status"] == "analysed"]
    for pid, g in s.groupby("patient_id", sort=True):
        g = g.sort_values("session_date").reset_index(drop=True)
        for setting, step in CHANGE_STEPS.items():
            values = g[setting].to_numpy(dtype=float)
            for i in _change_points(values, step):
                before = g.iloc[max(0, i - CHANGE_WINDOW) : i]
                after = g.iloc[i : i + CHANGE_WINDOW]
                rows.append(
                    {
                        "patient_id": pid,
                        "date": g["session_date"].iloc[i],
                        "setting": setting,
                        "before": float(np.nanmedian(before[setting])),
                        "after": float(np.nanmedian(after[setting])),
                        "sessions_before": len(before),
                        "sessions_after": len(after),
                        "risk_before": float(before["overall_risk"].mean()),
                        "risk_after": float(after["overall_risk"].mean()),
                        "idh_risk_before": float(before["idh_risk"].mean()),
                        "idh_risk_after": float(after["idh_risk"].mean()),
                        "top_cause_before": _recurring(before["top_cause"], before["top_score"])[0],
                        "top_cause_after": _recurring(after["top_cause"], after["top_score"])[0],
                    }
                )
    return pd.DataFrame(rows)
