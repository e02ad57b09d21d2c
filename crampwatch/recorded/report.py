"""The unit report of a recorded history: one self-contained HTML file (figures as inline SVG, no script,
opens offline) built from a run's outputs (:mod:`crampwatch.recorded.run`).

Sections: what was analysed (sessions, exclusions with their reasons, data quality, inputs the records do
not hold); cause prevalence by month; the distribution of session risks; patients ranked by their recent
risk with recurring cause, trend and twin; and what changed before and after prescription changes. Every
sentence is generated from the numbers it cites.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from crampwatch.causes.registry import CAUSE_REGISTRY, CAUSES
from crampwatch.clinical_labels import label_and_unit
from crampwatch.plotting import figure_svg
from crampwatch.recorded.prepare import ASSUMED_INPUTS
from crampwatch.recorded.summary import CHANGE_STEPS, CHANGE_WINDOW, RECURRING_SCORE, TREND_DAYS
from crampwatch.signals import DIALYSATE_TEMP_C

#: Patients listed in the ranking.
RANKED = 25
#: Share of the month's patients changing the same setting that marks a unit-wide change (modelling choice).
UNIT_WIDE_SHARE = 0.3
SESSION_COLUMNS = (
    "patient_id",
    "session_date",
    "status",
    "top_cause",
    "top_score",
    "overall_risk",
    "idh_risk",
)
COLOURS = ("#1f5fa0", "#c25e00", "#2a9d8f", "#7a5195", "#e07a5f", "#6d6875", "#8ab17d", "#bc4749", "#999999")
#: Data-quality counts of a run, in words.
QUALITY_LABELS = {
    "patients": "patients listed",
    "sessions_rows_read": "treatment-day rows read",
    "records_rows_read": "monitor records read",
    "records_repeated_time": "monitor records repeating a time of their session (the first kept)",
    "session_rows_repeated": "treatment days listed twice (the first kept)",
    "monitor_days_without_session_row": "days with monitor records but no treatment-day row (not analysed)",
    "sessions_without_monitor_records": "treatment days without monitor records (not analysed)",
    "records_without_usable_time": "monitor records without a usable time (left out)",
    "values_impossible": "values outside the plausible range (set to missing)",
    "values_unit_converted": "values in another unit (converted)",
    "monitor_cells_with_text": "monitor values that were text, not numbers (set to missing)",
    "session_cells_with_text": "treatment-day values that were text, not numbers (set to missing)",
    "monitor_rows_without_patient_or_day": "monitor records without a patient or day (left out)",
    "session_rows_without_patient_or_day": "treatment-day rows without a patient or day (left out)",
}
SETTING_LABELS = {
    "dialysate_na_setting_mmol_l": "Dialysate Na (mmol/L)",
    DIALYSATE_TEMP_C: "Dialysate temperature (°C)",
    "dry_weight_kg": "Dry weight (kg)",
}


def _esc(x: object) -> str:
    return html.escape(str(x))


def _read(base: Path, folder: str, columns: list[str] | None = None) -> pd.DataFrame:
    parts = [pd.read_parquet(p, columns=columns) for p in sorted((base / folder).glob("part-*.parquet"))]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns or [])


def _label(cause: str) -> str:
    spec = CAUSE_REGISTRY.get(cause)
    return spec.label if spec else "No mechanism found"


def _prevalence_figure(s: pd.DataFrame, unit_changes: pd.DataFrame) -> str:
    month = s["session_date"].dt.to_period("M").dt.to_timestamp()
    share = pd.crosstab(month, s["top_cause"], normalize="index") * 100.0
    order = [c for c in (*CAUSES, "none") if c in share.columns]
    fig = Figure(figsize=(9.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.stackplot(share.index, *(share[c] for c in order), labels=[_label(c) for c in order], colors=COLOURS)
    for when, texts in unit_changes.groupby("month")["text"]:
        ax.axvline(when, color="black", linestyle="--", linewidth=1)
        ax.annotate("; ".join(texts), (when, 101), fontsize=7, annotation_clip=False)
    ax.set_ylabel("Sessions led by the cause (%)")
    ax.set_ylim(0, 100)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    return figure_svg(fig)


def _risk_figure(s: pd.DataFrame) -> str:
    fig = Figure(figsize=(9.5, 2.8), layout="constrained")
    bins = np.linspace(0.0, 1.0, 41)
    for i, (col, title) in enumerate(
        (("overall_risk", "Cramp risk of the session"), ("idh_risk", "Intradialytic hypotension risk"))
    ):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.hist(s[col].dropna(), bins=bins, color=COLOURS[i])
        ax.set_xlabel(title)
        ax.set_ylabel("Sessions")
    return figure_svg(fig)


def unit_wide_changes(changes: pd.DataFrame, s: pd.DataFrame) -> pd.DataFrame:
    """Months in which at least :data:`UNIT_WIDE_SHARE` of the patients dialysed that month changed the
    same setting in the same direction."""
    if changes.empty:
        return pd.DataFrame(columns=["month", "setting", "patients", "share", "text"])
    active = s.groupby(s["session_date"].dt.to_period("M"))["patient_id"].nunique()
    c = changes.assign(month=changes["date"].dt.to_period("M"), up=changes["after"] > changes["before"])
    counts = c.groupby(["month", "setting", "up"]).agg(
        patients=("patient_id", "nunique"), before=("before", "median"), after=("after", "median")
    )
    counts = counts.reset_index()
    counts["share"] = counts["patients"] / active.reindex(counts["month"]).to_numpy()
    wide = counts.loc[counts["share"] >= UNIT_WIDE_SHARE].copy()
    wide["text"] = [
        f"{SETTING_LABELS[r.setting]} {r.before:g} → {r.after:g}" for r in wide.itertuples(index=False)
    ]
    wide["month"] = wide["month"].dt.to_timestamp()
    return wide.reset_index(drop=True)


def change_effects(changes: pd.DataFrame) -> pd.DataFrame:
    """Before/after summary per setting and direction: changes, mean session risk and IDH risk before and
    after, and the mean paired difference in risk with its normal-approximation 95 % interval."""
    if changes.empty:
        return pd.DataFrame()
    c = changes.assign(direction=np.where(changes["after"] > changes["before"], "raised", "lowered"))
    c["diff"] = c["risk_after"] - c["risk_before"]
    rows = []
    for (setting, direction), g in c.groupby(["setting", "direction"], sort=True):
        n = len(g)
        sd = float(g["diff"].std(ddof=1)) if n > 1 else math.nan
        half = 1.96 * sd / math.sqrt(n) if n > 1 else math.nan
        rows.append(
            {
                "setting": setting,
                "direction": direction,
                "changes": n,
                "risk_before": g["risk_before"].mean(),
                "risk_after": g["risk_after"].mean(),
                "risk_difference": g["diff"].mean(),
                "ci_low": g["diff"].mean() - half,
                "ci_high": g["diff"].mean() + half,
                "idh_risk_before": g["idh_risk_before"].mean(),
                "idh_risk_after": g["idh_risk_after"].mean(),
            }
        )
    return pd.DataFrame(rows)


def _f(x: float, digits: int = 2) -> str:
    return "–" if x is None or not math.isfinite(float(x)) else f"{float(x):.{digits}f}"


def _effect_sentence(r: pd.Series) -> str:
    label = SETTING_LABELS[r["setting"]]
    interval = (
        f" (difference {_f(r['risk_difference'])}, 95 % interval {_f(r['ci_low'])} to {_f(r['ci_high'])})"
        if math.isfinite(r["ci_low"])
        else ""
    )
    return (
        f"{label} {r['direction']} {r['changes']} time{'s' if r['changes'] != 1 else ''}: mean session cramp "
        f"risk {_f(r['risk_before'])} before and {_f(r['risk_after'])} after{interval}; IDH risk "
        f"{_f(r['idh_risk_before'])} → {_f(r['idh_risk_after'])}."
    )


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th scope='col'>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ranking(patients: pd.DataFrame) -> str:
    if patients.empty:
        return "<p>No patient has an analysed session.</p>"
    top = patients.sort_values("recent_risk", ascending=False).head(RANKED)
    rows = []
    for r in top.itertuples(index=False):
        twin = "–"
        if "twin_refill_capacity" in patients.columns and math.isfinite(
            getattr(r, "twin_refill_capacity", math.nan)
        ):
            twin = (
                f"{r.twin_refill_capacity:.2f} ({r.twin_refill_capacity_ci_low:.2f}–"
                f"{r.twin_refill_capacity_ci_high:.2f})"
            )
        rows.append(
            [
                _esc(r.patient_id),
                str(r.sessions),
                _f(r.recent_risk),
                _f(r.risk_trend_per_30_days, 3),
                f"{_esc(_label(r.recurring_cause))} ({100 * r.recurring_cause_share:.0f} %)",
                _f(r.mean_idh_risk),
                twin,
            ]
        )
    headers = [
        "Patient",
        "Sessions",
        "Recent cramp risk",
        f"Risk change per 30 days (last {TREND_DAYS} days)",
        "Recurring cause (share of sessions)",
        "Mean IDH risk",
        "Twin refill capacity (95 % interval; 1 = typical)",
    ]
    return _table(headers, rows)


def _reason(status: str) -> str:
    """A reason for not analysing a session, with the field's clinical label instead of its path."""
    field, sep, rest = status.partition(": ")
    if not sep or " " in field:
        return status
    label, unit = label_and_unit(field.rsplit(".", 1)[-1])
    return f"{label}{f' ({unit})' if unit else ''}: {rest}"


def _overview(s_all: pd.DataFrame, info: dict) -> str:
    analysed = s_all["status"].eq("analysed")
    reasons = s_all.loc[~analysed, "status"].map(_reason).value_counts().head(8)
    quality = info.get("quality", {})
    items = "".join(
        f"<li>{_esc(QUALITY_LABELS.get(k, k.replace('_', ' ')))}: {v}</li>"
        for k, v in sorted(quality.items())
        if v
    )
    excluded = "".join(f"<li>{_esc(k)}: {v}</li>" for k, v in reasons.items())
    assumed = "".join(f"<li>{_esc(a)}</li>" for a in ASSUMED_INPUTS)
    patients = s_all.loc[analysed, "patient_id"].nunique()
    first, last = s_all["session_date"].min(), s_all["session_date"].max()
    return (
        f"<p>{int(analysed.sum())} of {len(s_all)} sessions of {patients} patients analysed, "
        f"{first:%Y-%m-%d} to {last:%Y-%m-%d}.</p>"
        + (f"<h3>Sessions not analysed</h3><ul>{excluded}</ul>" if excluded else "")
        + (f"<h3>Data quality</h3><ul>{items}</ul>" if items else "")
        + "<h3>Not in the records (the analyzer's defaults stand in, flagged estimated)</h3>"
        + f"<ul>{assumed}</ul>"
    )


def _prevalence_text(s: pd.DataFrame) -> str:
    share = s["top_cause"].value_counts(normalize=True)
    lead = ", ".join(f"{_label(c)} {100 * v:.0f} %" for c, v in share.head(3).items())
    return f"<p>Sessions led by each cause over the whole history: {_esc(lead)}.</p>"


def write_report(base: Path, path: Path) -> Path:
    """Write the unit report of the run in ``base`` to ``path``."""
    s_all = _read(base, "sessions", list(SESSION_COLUMNS))
    s_all["session_date"] = pd.to_datetime(s_all["session_date"])
    s = s_all.loc[s_all["status"] == "analysed"]
    patients = _read(base, "patients")
    changes = _read(base, "changes")
    if len(changes):
        changes["date"] = pd.to_datetime(changes["date"])
    info = json.loads((base / "quality.json").read_text()) if (base / "quality.json").exists() else {}
    wide = unit_wide_changes(changes, s) if len(s) else pd.DataFrame(columns=["month", "text"])
    effects = change_effects(changes)
    sentences = "".join(f"<li>{_esc(_effect_sentence(r))}</li>" for _, r in effects.iterrows())
    parts = [
        "<h2>What was analysed</h2>",
        _overview(s_all, info),
        "<h2>Cause prevalence by month</h2>",
        _prevalence_text(s) if len(s) else "",
        _prevalence_figure(s, wide) if len(s) else "<p>No analysed session.</p>",
        "<p>Each session counts for the cause with its highest score; dashed lines mark months in which at "
        f"least {100 * UNIT_WIDE_SHARE:.0f} % of the patients had the same setting changed.</p>",
        "<h2>Risk distribution</h2>",
        _risk_figure(s) if len(s) else "",
        f"<h2>Patients ranked by recent cramp risk (mean of their last sessions; top {RANKED})</h2>",
        _ranking(patients),
        f"<p>Recurring cause: the cause leading most of the patient's sessions with a top score of at least "
        f"{RECURRING_SCORE:g}.</p>",
        "<h2>Before and after prescription changes</h2>",
        f"<ul>{sentences}</ul>" if sentences else "<p>No prescription change was detected.</p>",
        f"<p>Each change compares up to {CHANGE_WINDOW} sessions before with up to {CHANGE_WINDOW} after, in "
        "the same patient; other things changed over the same weeks, so this is an observation, not a "
        "controlled comparison. Steps that count as a change: "
        + ", ".join(f"{SETTING_LABELS[k]} {v:g}" for k, v in CHANGE_STEPS.items())
        + ".</p>",
    ]
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Unit cramp report</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:1em auto;color:#222}"
        "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .5em}"
        "th{background:#f2f2f2;text-align:left}svg{max-width:100%;height:auto}</style></head><body>"
        "<h1>Unit cramp report</h1>" + "".join(parts) + "</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
