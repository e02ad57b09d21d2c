"""Plotly figures of sessions and trends, as JSON for ``static/app.js`` (no inline script, CSP-safe).

Reference bands come from :data:`crampwatch.causes.thresholds.THRESHOLDS` (the analyzer's own cut-offs):
Preciado 2019 RBV lower limits and the critical RBV, SBP 90 mmHg (IDH, Flythe 2015), UF rate 10 and 13
mL/kg/h, hyponatremia below 135 mmol/L and ionized Ca below 1.10 mmol/L.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import plotly.io as pio
from markupsafe import Markup, escape

from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.clinical_labels import label_and_unit
from crampwatch.signals import (
    DBP_MMHG,
    ICA_MMOL_L,
    MAP_MMHG,
    OSM_MOSM_KG,
    PLASMA_NA_MMOL_L,
    RBV_PCT,
    SBP_MMHG,
    SIGNAL_SPECS,
    T_MIN,
    UF_CUM_L,
    UF_RATE_ML_H,
)
from crampwatch.web.chart_layout import (
    Panel,
    panel_key,
    panel_title,
    reference_marks,
    stack_axes,
    value_range,
)
from crampwatch.web.display import iso_time
from crampwatch.web.wording import signal_label


def th(name: str) -> float:
    """A threshold value of the cause analyzer."""
    return THRESHOLDS[name].value


#: UF rate (mL/kg/h) is derived from ``uf_rate_ml_h`` (or the slope of ``uf_cum_l``) and the weight.
UF_RATE = "uf_rate_ml_kg_h"


def _panel(
    names: tuple[tuple[str, str], ...], marks: tuple[tuple[float, str, bool], ...] = (), title: str = ""
) -> Panel:
    """A panel of registry signals ``(name, colour)``: title, unit and legend labels from the registry."""
    label, unit = label_and_unit(names[0][0])
    signals = tuple((n, SIGNAL_SPECS[n].short if n in SIGNAL_SPECS else label, c) for n, c in names)
    return Panel(title or label, unit, signals, marks)


PANELS: tuple[Panel, ...] = (
    _panel(
        ((RBV_PCT, "#1f5f99"),),
        ((th("rbv_critical_pct"), f"critical RBV {th('rbv_critical_pct'):g} %", True),),
    ),
    _panel(
        ((SBP_MMHG, "#a93226"), (MAP_MMHG, "#6c3483"), (DBP_MMHG, "#b9770e")),
        ((th("idh_nadir_sbp_mmhg"), f"SBP {th('idh_nadir_sbp_mmhg'):g}: IDH", True),),
        title="Blood pressure",
    ),
    _panel(
        ((UF_RATE, "#117a65"),),
        (
            (th("ufr_10_ml_kg_h"), f"{th('ufr_10_ml_kg_h'):g} mL/kg/h", False),
            (th("ufr_13_ml_kg_h"), f"{th('ufr_13_ml_kg_h'):g} mL/kg/h", False),
        ),
    ),
    _panel(
        ((PLASMA_NA_MMOL_L, "#2e4053"),),
        ((th("hyponatremia_mmol_l"), f"hyponatremia < {th('hyponatremia_mmol_l'):g}", True),),
    ),
    _panel(((OSM_MOSM_KG, "#5b2c6f"),)),
    _panel(
        ((ICA_MMOL_L, "#a04000"),),
        ((th("ica_low_mmol_l"), f"low iCa < {th('ica_low_mmol_l'):.2f}", True),),
    ),
)
#: Preciado 2019 favourable-RBV lower limits at 1, 2 and 3 h, drawn as a stepped line.
PRECIADO = ((60.0, th("rbv_low_1h_pct")), (120.0, th("rbv_low_2h_pct")), (180.0, th("rbv_low_3h_pct")))
CRAMP_COLOUR = "#c0392b"
#: Space between the last panel and a legend under it (room for the time axis labels), px.
LEGEND_GAP_PX = 40
EVENT_COLOURS = {"cramp": CRAMP_COLOUR, "hypotension_symptom": "#6c3483"}
#: The "plotly_white" template's layout, resolved once (templates are applied by plotly.js from the dict).
TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}


def signal_series(trace: Any, name: str, weight_kg: float | None = None) -> np.ndarray | None:
    """A signal of ``trace`` as floats; ``uf_rate_ml_kg_h`` is derived (needs ``weight_kg``)."""
    if trace is None:
        return None
    if name == UF_RATE:
        if not weight_kg:
            return None
        if trace.has(UF_RATE_ML_H):
            return np.asarray(trace.signal(UF_RATE_ML_H), dtype=float) / weight_kg
        if trace.has(UF_CUM_L):
            t = np.asarray(trace.t_min, dtype=float)
            cum = np.asarray(trace.signal(UF_CUM_L), dtype=float)
            if len(t) < 2:
                return None
            return np.gradient(cum, t) * 1000.0 * 60.0 / weight_kg
        return None
    return np.asarray(trace.signal(name), dtype=float) if trace.has(name) else None


def _values(y: np.ndarray) -> list[float | None]:
    """JSON-ready values rounded to 4 decimals; NaN and infinities become ``None`` (gaps in the line)."""
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(y)
    values = np.round(np.where(finite, y, 0.0), 4).tolist()
    if finite.all():
        return values
    return [v if ok else None for v, ok in zip(values, finite.tolist(), strict=True)]


def event_rows(trace: Any) -> list[dict[str, Any]]:
    events = getattr(trace, "events", None)
    if events is None or events.empty:
        return []
    return events.to_dict("records")


def event_label(ev: dict[str, Any]) -> str:
    kind = str(ev.get("kind")).replace("_", " ")
    severity = ev.get("severity")
    if isinstance(severity, int | float) and np.isfinite(severity):
        return f"{kind} {severity:.0f}/10"
    return kind


def session_figure(
    trace: Any,
    *,
    weight_kg: float | None = None,
    compare: Any | None = None,
    labels: tuple[str, str] = ("current prescription", "what-if"),
    panel_height_px: int = 150,
) -> dict[str, Any]:
    """Stacked timelines with reference bands and event markers on every panel.

    ``compare`` overlays a second run: the first run dashed and lighter, the second solid, each signal in
    its own colour; the legend has one entry per run. Returns the Plotly figure as a plain dict.
    """
    runs = [(trace, labels[0])] + ([(compare, labels[1])] if compare is not None else [])
    panels = [
        p
        for p in PANELS
        if any(signal_series(tr, s[0], weight_kg) is not None for tr, _ in runs for s in p.signals)
    ]
    n = max(len(panels), 1)
    gap = 0.06 if n > 1 else 0.0
    height = (1.0 - gap * (n - 1)) / n
    data: list[dict[str, Any]] = []
    plot_px = panel_height_px * n
    layout: dict[str, Any] = {
        "height": plot_px + (150 if compare is not None else 110),
        "margin": {"l": 56, "r": 16, "t": 30, "b": 90 if compare is not None else 50},
        "template": TEMPLATE,
        # under the last panel's time axis: above the first panel it covered that panel's title
        "legend": {"orientation": "h", "y": -LEGEND_GAP_PX / plot_px, "yanchor": "top", "x": 0},
        "showlegend": compare is not None,
        "hovermode": "x",
        "annotations": [],
        "shapes": [],
    }
    events = event_rows(trace)
    legend_done: set[int] = set()
    time_axis = {"ticksuffix": " min", "showspikes": True, "spikemode": "across", "spikethickness": 1}
    for row, panel in enumerate(panels, start=1):
        xref, yref, top = stack_axes(layout, row, height, gap, time_axis)
        layout["annotations"].append(panel_title(f"{panel.title} ({panel.unit})", top, panel_key(panel)))
        shown: list[float] = [m[0] for m in panel.marks]
        for run_idx, (tr, run_label) in enumerate(runs):
            dashed = compare is not None and run_idx == 0
            for name, label, colour in panel.signals:
                y = signal_series(tr, name, weight_kg)
                if y is None:
                    continue
                shown += [float(v) for v in y[np.isfinite(y)]]
                show = compare is not None and run_idx not in legend_done
                legend_done.add(run_idx)
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": _values(tr.t_min),
                        "y": _values(y),
                        "xaxis": xref,
                        "yaxis": yref,
                        "name": run_label if compare is not None else label,
                        "legendgroup": run_label,
                        "showlegend": show,
                        "opacity": 0.6 if dashed else 1.0,
                        "line": {"color": colour, "width": 2, "dash": "dash" if dashed else "solid"},
                        "hovertemplate": f"%{{y:.3~f}} {panel.unit}<extra>{label}"
                        + (f" ({run_label})" if compare is not None else "")
                        + "</extra>",
                    }
                )
        y_range = value_range(shown)
        layout["yaxis" + yref[1:]]["range"] = y_range  # fixed: the shaded bands must not stretch the axis
        reference_marks(layout, panel, xref, yref, y_range[0], y_range)
        if panel.signals[0][0] == RBV_PCT:
            _preciado_line(data, xref, yref)
        for ev in events:
            _event_marker(layout, ev, xref, yref)
    return {"data": data, "layout": layout}


def _preciado_line(data: list[dict[str, Any]], xref: str, yref: str) -> None:
    """Preciado 2019 favourable RBV lower limits at 1, 2 and 3 h as a stepped dotted line."""
    x, y = [], []
    for t, limit in PRECIADO:
        x += [t, t + 60.0, None]
        y += [limit, limit, None]
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": y,
            "xaxis": xref,
            "yaxis": yref,
            "name": "Preciado lower limit",
            "showlegend": False,
            "line": {"color": "#1e8449", "width": 1.5, "dash": "dot"},
            "hovertemplate": "Preciado 2019 favourable RBV from %{y:g} %<extra></extra>",
        }
    )


def _event_marker(layout: dict[str, Any], ev: dict[str, Any], xref: str, yref: str) -> None:
    colour = EVENT_COLOURS.get(str(ev.get("kind")), "#555555")
    t = float(ev[T_MIN])
    layout["shapes"].append(
        {
            "type": "line",
            "x0": t,
            "x1": t,
            "xref": xref,
            "y0": 0,
            "y1": 1,
            "yref": f"{yref} domain",
            "line": {"color": colour, "width": 2, "dash": "dot"},
        }
    )
    layout["annotations"].append(
        {
            "x": t,
            "xref": xref,
            "y": 1.0,
            "yref": f"{yref} domain",
            "text": escape(event_label(ev)),
            "showarrow": False,
            "yanchor": "top",
            "xanchor": "left",
            "xshift": 3,
            "bgcolor": "rgba(255,255,255,0.85)",
            "font": {"color": colour, "size": 11},
        }
    )


def chart_text(trace: Any, weight_kg: float | None = None) -> list[dict[str, Any]]:
    """The chart as text: per signal its start, lowest (with time), highest and end value."""
    rows = []
    t = np.asarray(trace.t_min, dtype=float)
    for panel in PANELS:
        for name, _label, _colour in panel.signals:
            y = signal_series(trace, name, weight_kg)
            if y is None or not np.isfinite(y).any():
                continue
            finite = np.flatnonzero(np.isfinite(y))
            label, unit = signal_label(name)
            low = int(finite[np.argmin(y[finite])])
            rows.append(
                {
                    "label": label,
                    "unit": unit or panel.unit,
                    "start": float(y[finite[0]]),
                    "lowest": float(y[low]),
                    "lowest_t_min": float(t[low]),
                    "highest": float(np.max(y[finite])),
                    "end": float(y[finite[-1]]),
                }
            )
    return rows


def session_chart_key(session: Any) -> tuple[Any, ...]:
    """What the chart of a stored session depends on: id, stored version, size, events and weight."""
    events = tuple(
        (float(ev[T_MIN]), str(ev.get("kind")), ev.get("severity")) for ev in event_rows(session.trace)
    )
    return (session.id, session.created_at, session.trace.data.shape, events, session.post_weight_kg)


def history_figure(sessions: list[Any], height_px: int = 260) -> dict[str, Any]:
    """Assessed cramp risk of each session over time; sessions with a cramp marked in red."""
    ordered = sorted(sessions, key=lambda s: s.started_at)
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "x": [iso_time(s.started_at) for s in ordered],
        "y": [s.overall_risk for s in ordered],
        "text": [s.top_cause or "not assessed" for s in ordered],
        "line": {"color": "#9aa7b4", "width": 1},
        "marker": {"color": [CRAMP_COLOUR if s.had_cramp else "#1f5f99" for s in ordered], "size": 10},
        "hovertemplate": "%{x|%Y-%m-%d}: risk %{y:.0%}<br>top cause %{text}<extra></extra>",
        "name": "risk",
    }
    layout = {
        "meta": {"local_x": True},  # UTC moments, drawn at the viewer's wall-clock time (app.js)
        "height": height_px,
        "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
        "template": TEMPLATE,
        "yaxis": {"range": [0, 1.05], "tickformat": ".0%", "title": {"text": "cramp risk"}},
        "showlegend": False,
    }
    return {"data": [trace], "layout": layout}


def risk_figure(before: float, after: float) -> dict[str, Any]:
    """Two bars: cramp risk before and after a what-if change."""
    bar = {
        "type": "bar",
        "x": ["current", "what-if"],
        "y": [before, after],
        "marker": {"color": ["#7b8794", "#1f5f99"]},
        "text": [f"{before:.0%}", f"{after:.0%}"],
        "textposition": "outside",
        "hovertemplate": "%{x}: %{y:.0%}<extra></extra>",
    }
    layout = {
        "height": 240,
        "margin": {"l": 50, "r": 10, "t": 20, "b": 30},
        "template": TEMPLATE,
        "yaxis": {"range": [0, 1.1], "tickformat": ".0%", "title": {"text": "cramp risk"}},
        "showlegend": False,
    }
    return {"data": [bar], "layout": layout}


def figure_json(fig: dict[str, Any]) -> str:
    """The figure and the shared config as compact JSON (computed once per cached chart)."""
    return json.dumps({"data": fig["data"], "layout": fig["layout"], "config": CONFIG}, separators=(",", ":"))


def embed(figure: str | dict[str, Any], label: str) -> Markup:
    """An accessible chart placeholder drawn by ``static/app.js``: the figure JSON in a data block.

    ``label`` is the chart's short text alternative; the full text alternative is a table next to it.
    """
    payload = figure if isinstance(figure, str) else figure_json(figure)
    # "</" cannot end the data block early: escape it inside the JSON string.
    safe = payload.replace("</", "<\\/")
    return Markup(
        f'<div class="plot" role="img" aria-label="{escape(label)}">'
        f'<script type="application/json" class="plot-figure">{safe}</script></div>'
    )
