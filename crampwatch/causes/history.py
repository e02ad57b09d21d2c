"""``assess_history``: which mechanism recurs across a patient's sessions, and what differed when they
cramped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from crampwatch.causes.assess import assess
from crampwatch.causes.findings import Assessment
from crampwatch.causes.registry import CAUSES
from crampwatch.model import Scenario
from crampwatch.trace import Trace

#: A mechanism "recurs" when it scores at least this much in at least half the sessions (modelling choice).
RECURRENT_SCORE = 0.4
RECURRENT_FRACTION = 0.5

#: Session metrics compared between cramp and no-cramp sessions.
COMPARED_METRICS = (
    "uf_rate_ml_kg_h",
    "idwg_kg",
    "rbv_min_pct",
    "sbp_nadir_mmhg",
    "na_gradient_mmol_l",
    "plasma_na_fall_mmol_l",
    "ica_min_mmol_l",
    "mg_min_mmol_l",
    "sp_ktv",
    "urr_pct",
)


@dataclass(frozen=True)
class HistorySummary:
    """A patient's sessions: per-session table, recurring mechanisms and cramp vs no-cramp differences."""

    sessions: pd.DataFrame
    recurrent: list[str]
    dominant_cause: str | None
    cramp_sessions: list[str]
    no_cramp_sessions: list[str]
    differences: pd.DataFrame
    assessments: list[Assessment] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        def clean(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                for r in records
            ]

        return {
            "n_sessions": len(self.sessions),
            "recurrent": list(self.recurrent),
            "dominant_cause": self.dominant_cause,
            "cramp_sessions": list(self.cramp_sessions),
            "no_cramp_sessions": list(self.no_cramp_sessions),
            "sessions": clean(self.sessions.to_dict(orient="records")),
            "differences": clean(self.differences.to_dict(orient="records")),
        }


def _had_cramp(a: Assessment, trace: Trace | None) -> bool:
    if trace is not None and len(trace.cramp_times()) > 0:
        return True
    return bool(a.metrics.get("n_cramps", 0))


def assess_history(
    sessions: Sequence[tuple[Trace, Scenario] | Assessment], *, fill_missing: bool = True
) -> HistorySummary:
    """Summarise a patient's sessions (oldest first): ``(trace, scenario)`` pairs or ready Assessments.

    Each pair is assessed with the earlier Assessments as history (recurrent low dose raises underdialysis).
    """
    assessments: list[Assessment] = []
    cramps: list[bool] = []
    for k, item in enumerate(sessions):
        if isinstance(item, Assessment):
            a, tr = item, None
        else:
            tr, sc = item
            a = assess(tr, sc, history=list(assessments), fill_missing=fill_missing)
            if not tr.session_id:
                a = replace(a, session_id=f"{a.session_id}#{k + 1}")
        assessments.append(a)
        cramps.append(_had_cramp(a, tr))
    rows = []
    for a, cramp in zip(assessments, cramps, strict=True):
        row: dict[str, Any] = {
            "session_id": a.session_id,
            "cramp": cramp,
            "overall_risk": a.overall_risk,
            "top_cause": a.top_cause.cause if a.top_cause else None,
        }
        row.update({c: a.finding(c).score for c in CAUSES})
        row.update({m: a.metrics.get(m) for m in COMPARED_METRICS})
        rows.append(row)
    table = pd.DataFrame(rows)
    recurrent: list[str] = []
    dominant = None
    if not table.empty:
        frac = {c: float((table[c] >= RECURRENT_SCORE).mean()) for c in CAUSES}
        recurrent = sorted(
            (c for c in CAUSES if frac[c] >= RECURRENT_FRACTION),
            key=lambda c: (-frac[c], -float(table[c].mean())),
        )
        counts = table["top_cause"].value_counts()
        dominant = str(counts.index[0]) if len(counts) else None
    return HistorySummary(
        sessions=table,
        recurrent=recurrent,
        dominant_cause=dominant,
        cramp_sessions=[r["session_id"] for r in rows if r["cramp"]],
        no_cramp_sessions=[r["session_id"] for r in rows if not r["cramp"]],
        differences=_differences(table),
        assessments=assessments,
    )


def _differences(table: pd.DataFrame) -> pd.DataFrame:
    """Mean of each cause score and metric in cramp vs no-cramp sessions, largest standardised gap first."""
    cols = ["feature", "mean_cramp", "mean_no_cramp", "difference", "standardised"]
    if table.empty or table["cramp"].all() or not table["cramp"].any():
        return pd.DataFrame(columns=cols)
    rows = []
    for feature in (*CAUSES, *COMPARED_METRICS):
        values = pd.to_numeric(table[feature], errors="coerce")
        a, b = values[table["cramp"]], values[~table["cramp"]]
        if a.notna().sum() == 0 or b.notna().sum() == 0:
            continue
        diff = float(a.mean() - b.mean())
        sd = float(values.std()) if values.notna().sum() > 1 else 0.0
        rows.append(
            {
                "feature": feature,
                "mean_cramp": float(a.mean()),
                "mean_no_cramp": float(b.mean()),
                "difference": diff,
                "standardised": diff / sd if sd > 0 else 0.0,
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return out.reindex(out["standardised"].abs().sort_values(ascending=False).index).reset_index(drop=True)
