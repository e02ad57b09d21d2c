"""Per-patient trends across sessions and the unit overview: the numbers and their charts.

A session's trend row comes from its stored assessment (the analyzer's own UF rate, nadir SBP and RBV
slope), its trace (end RBV), its events and linked reports (cramps), and the previous session (IDWG,
prescription changes). Rows are cached per patient under a key naming every session summary and the
number of reports, so a new session, assessment or report gives a new key.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.prescription_settings import describe_changes
from crampwatch.signals import RBV_PCT
from crampwatch.store.cache import LRUCache
from crampwatch.web import charts, services

#: Crit-Line blood-volume profiles (Crit-Line III profile guide; round-2 reference): A flat or rising
#: (refill keeps up with UF), B gradual (the target), C steep (symptom risk). The guide gives no fixed
#: percentages; C starts at the analyzer's steep-slope cut-off and A above -1 %/h (modelling choice: a
#: fall under 1 %/h is within the drift of optical hematocrit monitors).
RBV_FLAT_PCT_H = -1.0
RBV_STEEP_PCT_H = THRESHOLDS["rbv_slope_steep_pct_h"].value
#: Settings set afresh each session rather than prescribed: the UF volume follows that day's weight gain,
#: so it is not shown as a prescription change.
SESSION_SETTINGS = frozenset({"uf_volume_l"})
#: The unit overview's "recent" window: the last six sessions, two weeks of a thrice-weekly schedule
#: (modelling choice).
RECENT_SESSIONS = 6
#: The unit overview is recomputed at most this often per server process (it reads every patient).
OVERVIEW_TTL_S = 5.0


def slope_class(slope_pct_h: float | None) -> str | None:
    """Crit-Line profile A/B/C of an RBV slope in %/h (``None`` when unknown)."""
    if slope_pct_h is None or not math.isfinite(slope_pct_h):
        return None
    if slope_pct_h >= RBV_FLAT_PCT_H:
        return "A"
    return "C" if slope_pct_h <= RBV_STEEP_PCT_H else "B"


@dataclass(frozen=True)
class SessionTrend:
    """One session on the trend page (units in the names; ``None`` = not known)."""

    id: str
    started_at: datetime
    idwg_kg: float | None
    uf_rate_ml_kg_h: float | None
    nadir_sbp_mmhg: float | None
    end_rbv_pct: float | None
    rbv_slope_pct_h: float | None
    rbv_class: str | None
    n_cramps: int
    max_severity: float | None
    top_cause: str | None
    overall_risk: float | None
    rx_changes: list[str] = field(default_factory=list)


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _last_finite(values: Any) -> float | None:
    y = np.asarray(values, dtype=float)
    ok = np.flatnonzero(np.isfinite(y))
    return float(y[ok[-1]]) if ok.size else None


def _session_row(
    store: Any, patient: Any, rec: Any, previous: Any | None, reports: list[Any]
) -> SessionTrend:
    assessment = services.assessment_for(store, rec, patient)
    metrics = (assessment or {}).get("metrics") or {}
    causes = (assessment or {}).get("causes") or []
    pre = rec.pre_weight_kg or patient.pre_weight_kg
    day = patient.model_copy(
        update={
            "pre_weight_kg": pre,
            "previous_post_weight_kg": previous.post_weight_kg if previous else None,
        }
    )
    events = rec.trace.events
    cramps = [] if events.empty else events[events["kind"] == "cramp"].to_dict("records")
    linked = [r for r in reports if r.session_id == rec.id]
    severities = [_finite(c.get("severity")) for c in cramps] + [float(r.severity) for r in linked]
    severities = [s for s in severities if s is not None]
    slope = _finite(metrics.get("rbv_slope_pct_h"))
    return SessionTrend(
        id=rec.id,
        started_at=rec.started_at,
        idwg_kg=_finite(day.idwg_kg),
        uf_rate_ml_kg_h=_finite(metrics.get("uf_rate_ml_kg_h")),
        nadir_sbp_mmhg=_finite(metrics.get("sbp_nadir_mmhg")),
        end_rbv_pct=_last_finite(rec.trace.signal(RBV_PCT)) if rec.trace.has(RBV_PCT) else None,
        rbv_slope_pct_h=slope,
        rbv_class=slope_class(slope),
        n_cramps=max(len(cramps), len(linked)),
        max_severity=max(severities) if severities else None,
        top_cause=causes[0]["cause"] if causes else None,
        overall_risk=_finite((assessment or {}).get("overall_risk")),
        rx_changes=(
            [
                c.text
                for c in describe_changes(previous.prescription, rec.prescription, patient=patient)
                if c.setting.name not in SESSION_SETTINGS
            ]
            if previous
            else []
        ),
    )


def patient_trend(store: Any, patient_id: str, patient: Any, cache: LRUCache) -> dict[str, Any]:
    """The trend rows (oldest first) and the trend chart of one patient, cached by their inputs."""
    summaries = store.list_sessions(patient_id)
    reports = store.list_reports(patient_id)
    key = ("trend", patient_id, tuple(summaries), len(reports))

    def build() -> dict[str, Any]:
        rows: list[SessionTrend] = []
        previous = None
        for summary in summaries:
            rec = store.get_session(summary.id)
            rows.append(_session_row(store, patient, rec, previous, reports))
            previous = rec
        figure = charts.embed(
            trend_figure(rows),
            "Trend across sessions: IDWG, UF rate, nadir SBP, end RBV and cramps per session",
        )
        return {"rows": rows, "chart": figure}

    value = cache.get_or_create(key, build)
    if any(s.overall_risk is None for s in summaries):  # build() stored new assessments: new key
        fresh = ("trend", patient_id, tuple(store.list_sessions(patient_id)), len(reports))
        cache.get_or_create(fresh, lambda: value)
    return value


def trend_figure(rows: list[SessionTrend], panel_height_px: int = 130) -> dict[str, Any]:
    """Stacked per-session panels with reference lines; prescription changes marked on every panel."""
    x = [r.started_at.isoformat() for r in rows]
    th = charts.th
    panels: list[tuple[str, str, list[float | None], list[tuple[float, str]]]] = [
        ("IDWG", "kg", [r.idwg_kg for r in rows], [(th("idwg_kg"), f"{th('idwg_kg'):g} kg")]),
        (
            "UF rate",
            "mL/kg/h",
            [r.uf_rate_ml_kg_h for r in rows],
            [(th("ufr_10_ml_kg_h"), "10 mL/kg/h"), (th("ufr_13_ml_kg_h"), "13 mL/kg/h")],
        ),
        ("Nadir SBP", "mmHg", [r.nadir_sbp_mmhg for r in rows], [(th("idh_nadir_sbp_mmhg"), "90: IDH")]),
        (
            "End RBV",
            "%",
            [r.end_rbv_pct for r in rows],
            [(th("rbv_critical_pct"), f"critical {th('rbv_critical_pct'):g} %")],
        ),
        ("Cramps", "count", [float(r.n_cramps) for r in rows], []),
    ]
    n = len(panels)
    gap = 0.05
    height = (1.0 - gap * (n - 1)) / n
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "height": panel_height_px * n + 90,
        "margin": {"l": 56, "r": 16, "t": 24, "b": 40},
        "template": charts.TEMPLATE,
        "showlegend": False,
        "hovermode": "x",
        "annotations": [],
        "shapes": [],
    }
    changes = [r for r in rows if r.rx_changes]
    for row, (title, unit, values, marks) in enumerate(panels, start=1):
        top = 1.0 - (row - 1) * (height + gap)
        suffix = "" if row == 1 else str(row)
        xref, yref = f"x{suffix}", f"y{suffix}"
        layout[f"xaxis{suffix}"] = {
            "anchor": yref,
            "domain": [0, 1],
            "type": "date",
            "showticklabels": True,
            **({"matches": "x"} if row > 1 else {}),
        }
        layout[f"yaxis{suffix}"] = {"anchor": xref, "domain": [top - height, top], "rangemode": "tozero"}
        if title != "Cramps":
            layout[f"yaxis{suffix}"].pop("rangemode")
        layout["annotations"].append(charts._panel_title(f"{title} ({unit})", top))
        trace: dict[str, Any] = {
            "x": x,
            "y": values,
            "xaxis": xref,
            "yaxis": yref,
            "name": title,
            "hovertemplate": f"%{{x|%Y-%m-%d}}: %{{y:.3~f}} {unit}<extra>{title}</extra>",
        }
        if title == "Cramps":
            colours = [charts.CRAMP_COLOUR if r.n_cramps else "#b8c2cc" for r in rows]
            trace.update({"type": "bar", "marker": {"color": colours}})
            trace["text"] = [f"{r.max_severity:.0f}/10" if r.max_severity is not None else "" for r in rows]
            trace["textposition"] = "outside"
        else:
            colour = "#1f5f99"
            if title == "End RBV":
                marker_colours = [charts.CRAMP_COLOUR if r.rbv_class == "C" else colour for r in rows]
                trace["text"] = [f"profile {r.rbv_class}" if r.rbv_class else "" for r in rows]
                trace["hovertemplate"] = "%{x|%Y-%m-%d}: %{y:.1f} % (%{text})<extra>End RBV</extra>"
            else:
                marker_colours = colour
            trace.update(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "line": {"color": colour, "width": 1.5},
                    "marker": {"color": marker_colours, "size": 8},
                }
            )
        data.append(trace)
        for value, label in marks:
            charts._reference_marks(
                layout, charts.Panel(title, unit, (), ((value, label, False),)), xref, yref
            )
        for r in changes:
            layout["shapes"].append(
                {
                    "type": "line",
                    "x0": r.started_at.isoformat(),
                    "x1": r.started_at.isoformat(),
                    "xref": xref,
                    "y0": 0,
                    "y1": 1,
                    "yref": f"{yref} domain",
                    "line": {"color": "#117a65", "width": 1.5, "dash": "dash"},
                }
            )
            if row == 1:
                layout["annotations"].append(
                    {
                        "x": r.started_at.isoformat(),
                        "xref": xref,
                        "y": 1,
                        "yref": f"{yref} domain",
                        "text": "Rx change",
                        "showarrow": False,
                        "xanchor": "left",
                        "yanchor": "top",
                        "font": {"size": 10, "color": "#117a65"},
                    }
                )
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------------------------------- unit overview


@dataclass(frozen=True)
class UnitPatient:
    """One patient of the unit overview."""

    id: str
    name: str | None
    recent_sessions: int
    recent_cramp_sessions: int
    recent_risk: float | None
    recurring_cause: str | None
    recent_top_cause: str | None
    last_session_at: datetime | None

    @property
    def burden(self) -> float:
        return self.recent_cramp_sessions / self.recent_sessions if self.recent_sessions else 0.0


def _unit_patient(store: Any, summary: Any) -> UnitPatient:
    recent = store.list_sessions(summary.id)[-RECENT_SESSIONS:]
    risks = [s.overall_risk for s in recent if s.overall_risk is not None]
    causes = [s.top_cause for s in recent if s.top_cause]
    return UnitPatient(
        id=summary.id,
        name=summary.name,
        recent_sessions=len(recent),
        recent_cramp_sessions=sum(s.had_cramp for s in recent),
        recent_risk=sum(risks) / len(risks) if risks else None,
        recurring_cause=summary.recurring_cause,
        recent_top_cause=max(set(causes), key=causes.count) if causes else None,
        last_session_at=summary.last_session_at,
    )


class UnitOverview:
    """Patients ranked by recent cramp burden, then assessed risk; recomputed at most every few seconds."""

    def __init__(self, ttl_s: float = OVERVIEW_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._value: tuple[float, datetime, list[UnitPatient]] | None = None

    def get(self, store: Any) -> tuple[datetime, list[UnitPatient]]:
        """(computed at, ranked patients)."""
        with self._lock:
            if self._value is not None and time.monotonic() - self._value[0] < self.ttl_s:
                return self._value[1], self._value[2]
        now = datetime.now().astimezone()
        rows = [_unit_patient(store, p) for p in store.list_patients()]
        rows.sort(key=lambda p: (-p.burden, -(p.recent_risk or 0.0), p.name or p.id))
        with self._lock:
            self._value = (time.monotonic(), now, rows)
        return now, rows
