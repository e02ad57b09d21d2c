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
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from crampwatch.causes.ids import HYPOCALCEMIA, HYPOMAGNESEMIA, OSMOTIC
from crampwatch.causes.sentences import number as format_number
from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.model import with_changes
from crampwatch.prescription_settings import describe_changes
from crampwatch.quantities import reduce_signal
from crampwatch.signals import ICA_MMOL_L, MG_MMOL_L, PLASMA_NA_MMOL_L, RBV_PCT, SIGNAL_SPECS
from crampwatch.store.cache import LRUCache
from crampwatch.web import chart_layout, charts, services
from crampwatch.web.display import iso_time

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
#: Solute signals whose course the trend page shows when their cause leads, with the limit drawn.
SOLUTE_SIGNALS: dict[str, str] = {
    HYPOCALCEMIA: ICA_MMOL_L,
    HYPOMAGNESEMIA: MG_MMOL_L,
    OSMOTIC: PLASMA_NA_MMOL_L,
}
SOLUTE_LIMITS: dict[str, str] = {
    ICA_MMOL_L: "ica_low_mmol_l",
    MG_MMOL_L: "mg_low_mmol_l",
    PLASMA_NA_MMOL_L: "hyponatremia_mmol_l",
}
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
    #: Pre-dialysis (first sample) and lowest value of each solute signal recorded, by signal name.
    solutes: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _end_rbv(values: Any) -> float | None:
    """The session's end RBV: the registry's ``rbv_end_pct`` of the recorded RBV samples."""
    y = np.asarray(values, dtype=float)[None, :]
    if y.size == 0:
        return None
    end = float(reduce_signal("rbv_end_pct", {RBV_PCT: y}, np.arange(y.shape[1], dtype=float))[0][0])
    return end if np.isfinite(end) else None


def _session_row(
    store: Any, patient: Any, rec: Any, previous: Any | None, reports: list[Any]
) -> SessionTrend:
    assessment = services.assessment_for(store, rec, patient)
    metrics = (assessment or {}).get("metrics") or {}
    causes = (assessment or {}).get("causes") or []
    pre = rec.pre_weight_kg or patient.pre_weight_kg
    day = with_changes(
        patient, pre_weight_kg=pre, previous_post_weight_kg=previous.post_weight_kg if previous else None
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
        end_rbv_pct=_end_rbv(rec.trace.signal(RBV_PCT)) if rec.trace.has(RBV_PCT) else None,
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
        solutes=_solute_values(rec.trace, rec.prescription.duration_min),
    )


def _solute_values(trace: Any, duration_min: float) -> dict[str, tuple[float | None, float | None]]:
    """(pre-dialysis, lowest during the session) of each solute signal the trace records."""
    out: dict[str, tuple[float | None, float | None]] = {}
    t = np.asarray(trace.t_min, dtype=float)
    for signal in SOLUTE_LIMITS:
        if not trace.has(signal):
            continue
        y = np.asarray(trace.signal(signal), dtype=float)
        ok = np.isfinite(y) & (t <= duration_min + 1e-9)
        if ok.any():
            out[signal] = (float(y[ok][0]), float(y[ok].min()))
    return out


def leading_solutes(rows: list[SessionTrend]) -> list[str]:
    """The solute signals to show: that of the most frequent top cause of the sessions, when it is a solute
    cause (hypocalcemia, hypomagnesemia, osmotic)."""
    causes = [r.top_cause for r in rows if r.top_cause]
    if not causes:
        return []
    lead = max(set(causes), key=causes.count)
    signal = SOLUTE_SIGNALS.get(lead)
    return [signal] if signal and any(signal in r.solutes for r in rows) else []


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
        solutes = leading_solutes(rows)
        shown = ", ".join(f"{SIGNAL_SPECS[s].label.lower()} before dialysis and lowest" for s in solutes)
        figure = charts.embed(
            trend_figure(rows, solutes=solutes),
            "Trend across sessions: IDWG, UF rate, nadir SBP, end RBV, "
            + (f"{shown}, " if shown else "")
            + "and cramps per session",
        )
        return {"rows": rows, "chart": figure, "solutes": solutes}

    value = cache.get_or_create(key, build)
    if any(s.overall_risk is None for s in summaries):  # build() stored new assessments: new key
        fresh = ("trend", patient_id, tuple(store.list_sessions(patient_id)), len(reports))
        cache.get_or_create(fresh, lambda: value)
    return value


def _date_range(rows: list[SessionTrend]) -> list[str]:
    """The trend's time axis: the sessions with half a day on each side (a lone session gets a day, not an
    axis of hours)."""
    first, last = min(r.started_at for r in rows), max(r.started_at for r in rows)
    pad = timedelta(hours=12)
    return [iso_time(first - pad), iso_time(last + pad)]


@dataclass(frozen=True)
class TrendPanel:
    """One panel of the trend chart: its lines (label, values, colour; the first is the main one) and
    reference marks (value, label)."""

    title: str
    unit: str
    lines: list[tuple[str, list[float | None], str]]
    marks: list[tuple[float, str]] = field(default_factory=list)


def _trend_panels(rows: list[SessionTrend], solutes: list[str]) -> list[TrendPanel]:
    th = charts.th
    one = "#1f5f99"
    panels = [
        TrendPanel(
            "IDWG",
            "kg",
            [("IDWG", [r.idwg_kg for r in rows], one)],
            [(th("idwg_kg"), f"{th('idwg_kg'):g} kg")],
        ),
        TrendPanel(
            "UF rate",
            "mL/kg/h",
            [("UF rate", [r.uf_rate_ml_kg_h for r in rows], one)],
            [(th("ufr_10_ml_kg_h"), "10 mL/kg/h"), (th("ufr_13_ml_kg_h"), "13 mL/kg/h")],
        ),
        TrendPanel(
            "Nadir SBP",
            "mmHg",
            [("Nadir SBP", [r.nadir_sbp_mmhg for r in rows], one)],
            [(th("idh_nadir_sbp_mmhg"), "90: IDH")],
        ),
        TrendPanel(
            "End RBV",
            "%",
            [("End RBV", [r.end_rbv_pct for r in rows], one)],
            [(th("rbv_critical_pct"), f"critical {th('rbv_critical_pct'):g} %")],
        ),
    ]
    for signal in solutes:
        label, unit = SIGNAL_SPECS[signal].label, SIGNAL_SPECS[signal].unit
        limit = th(SOLUTE_LIMITS[signal])
        panels.append(
            TrendPanel(
                label,
                unit,
                [
                    ("pre-dialysis", [r.solutes.get(signal, (None, None))[0] for r in rows], one),
                    ("lowest", [r.solutes.get(signal, (None, None))[1] for r in rows], "#a04000"),
                ],
                [(limit, f"{format_number(limit)} {unit}")],
            )
        )
    panels.append(TrendPanel("Cramps", "count", [("Cramps", [float(r.n_cramps) for r in rows], one)]))
    return panels


def _panel_traces(panel: TrendPanel, rows: list[SessionTrend], xref: str, yref: str) -> list[dict[str, Any]]:
    x = [iso_time(r.started_at) for r in rows]
    out = []
    for label, values, colour in panel.lines:
        trace: dict[str, Any] = {
            "x": x,
            "y": values,
            "xaxis": xref,
            "yaxis": yref,
            "name": label,
            "hovertemplate": f"%{{x|%Y-%m-%d}}: %{{y:.3~f}} {panel.unit}<extra>{label}</extra>",
        }
        if panel.title == "Cramps":
            colours = [charts.CRAMP_COLOUR if r.n_cramps else "#b8c2cc" for r in rows]
            trace.update({"type": "bar", "marker": {"color": colours}})
            trace["text"] = [f"{r.max_severity:.0f}/10" if r.max_severity is not None else "" for r in rows]
            trace["textposition"] = "outside"
        else:
            marker_colours: Any = colour
            if panel.title == "End RBV":
                marker_colours = [charts.CRAMP_COLOUR if r.rbv_class == "C" else colour for r in rows]
                trace["text"] = [f"profile {r.rbv_class}" if r.rbv_class else "" for r in rows]
                trace["hovertemplate"] = "%{x|%Y-%m-%d}: %{y:.1f} % (%{text})<extra>End RBV</extra>"
            trace.update(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "line": {"color": colour, "width": 1.5},
                    "marker": {"color": marker_colours, "size": 8},
                }
            )
        out.append(trace)
    return out


def _change_marks(
    layout: dict[str, Any], rows: list[SessionTrend], xref: str, yref: str, first: bool
) -> None:
    """Dashed green lines at prescription changes (labelled on the first panel)."""
    for r in rows:
        if not r.rx_changes:
            continue
        at = iso_time(r.started_at)
        layout["shapes"].append(
            {
                "type": "line",
                "x0": at,
                "x1": at,
                "xref": xref,
                "y0": 0,
                "y1": 1,
                "yref": f"{yref} domain",
                "line": {"color": "#117a65", "width": 1.5, "dash": "dash"},
            }
        )
        if first:
            layout["annotations"].append(
                {
                    "x": at,
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


def trend_figure(
    rows: list[SessionTrend], panel_height_px: int = 130, solutes: list[str] | None = None
) -> dict[str, Any]:
    """Stacked per-session panels with reference lines; prescription changes marked on every panel.
    ``solutes`` adds the pre-dialysis and lowest value per session of those signals (a solute cause
    leads)."""
    panels = _trend_panels(rows, solutes or [])
    n = len(panels)
    gap = 0.07  # room for one line of dates under a panel and the next panel's title
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
    # dates on one line: a second line (the year) ran into the next panel's title
    date_axis = {"type": "date", "tickformat": "%b %d", **({"range": _date_range(rows)} if rows else {})}
    for row, panel in enumerate(panels, start=1):
        xref, yref, top = chart_layout.stack_axes(layout, row, height, gap, date_axis)
        yaxis = layout["yaxis" + yref[1:]]
        key = [(label, colour) for label, _, colour in panel.lines] if len(panel.lines) > 1 else []
        layout["annotations"].append(chart_layout.panel_title(f"{panel.title} ({panel.unit})", top, key))
        data += _panel_traces(panel, rows, xref, yref)
        values = [v for _, vs, _ in panel.lines for v in vs if v is not None]
        y_range = chart_layout.value_range(values + [m[0] for m in panel.marks])
        if panel.title == "Cramps":
            yaxis["rangemode"] = "tozero"
        elif y_range is not None:
            yaxis["range"] = y_range
        marks = tuple((v, label, False) for v, label in panel.marks)
        marks_panel = chart_layout.Panel(panel.title, panel.unit, (), marks)
        chart_layout.reference_marks(layout, marks_panel, xref, yref, y_range=y_range)
        _change_marks(layout, rows, xref, yref, row == 1)
    layout["meta"] = {"local_x": True}  # UTC moments, drawn at the viewer's wall-clock time (app.js)
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
    #: The patient's newest cramp report (None when there is none).
    latest_report: Any | None = None

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
        latest_report=max(reports, key=lambda r: (r.reported_at, r.id))
        if (reports := store.list_reports(summary.id))
        else None,
    )


class UnitOverview:
    """Patients ranked by recent cramp burden, then assessed risk; recomputed at most every few seconds,
    and at once when a cramp report was stored since (a new report shows on the next view).

    One view recomputes at a time: while it does, other views are given the previous overview when no
    report came since (it is at most ``ttl_s`` plus one recomputation old), and wait for the new one
    otherwise, instead of every view reading every patient at once."""

    def __init__(self, ttl_s: float = OVERVIEW_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._refresh = threading.Lock()
        self._value: tuple[float, int, datetime, list[UnitPatient]] | None = None

    def _kept(self, n_reports: int, max_age_s: float) -> tuple[datetime, list[UnitPatient]] | None:
        """The kept overview if it was computed with ``n_reports`` reports less than ``max_age_s`` ago."""
        with self._lock:
            value = self._value
        if value is not None and value[1] == n_reports and time.monotonic() - value[0] < max_age_s:
            return value[2], value[3]
        return None

    def get(self, store: Any) -> tuple[datetime, list[UnitPatient]]:
        """(computed at, ranked patients)."""
        n_reports = store.count_reports()
        if (fresh := self._kept(n_reports, self.ttl_s)) is not None:
            return fresh
        if not self._refresh.acquire(blocking=False):
            if (previous := self._kept(n_reports, math.inf)) is not None:
                return previous
            self._refresh.acquire()
        try:
            if (fresh := self._kept(n_reports, self.ttl_s)) is not None:
                return fresh
            now = datetime.now().astimezone()
            rows = [_unit_patient(store, p) for p in store.list_patients()]
            rows.sort(key=lambda p: (-p.burden, -(p.recent_risk or 0.0), p.name or p.id))
            with self._lock:
                self._value = (time.monotonic(), n_reports, now, rows)
            return now, rows
        finally:
            self._refresh.release()
