"""Plotly figures of a session, rendered to an HTML ``<div>`` (plotly.js is served from ``/static``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

#: Panels of the session chart: (title, [(signal, label)], y-axis unit).
PANELS: list[tuple[str, list[tuple[str, str]], str]] = [
    ("Relative blood volume", [("rbv_pct", "RBV")], "%"),
    ("Blood pressure", [("sbp_mmhg", "systolic"), ("map_mmhg", "mean"), ("dbp_mmhg", "diastolic")], "mmHg"),
    ("Plasma sodium", [("plasma_na_mmol_l", "Na")], "mmol/L"),
    ("Osmolality", [("osm_mosm_kg", "osmolality")], "mOsm/kg"),
    ("Ionized calcium", [("ica_mmol_l", "iCa")], "mmol/L"),
]
EVENT_COLOURS = {"cramp": "#c0392b", "hypotension_symptom": "#8e44ad"}
#: The "plotly_white" template's layout, resolved once (templates are applied by plotly.js from the dict).
TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}


def _signal(trace: Any, name: str) -> np.ndarray | None:
    return trace.signal(name) if trace is not None and trace.has(name) else None


def _event_rows(trace: Any) -> list[dict[str, Any]]:
    events = getattr(trace, "events", None)
    if events is None or events.empty:
        return []
    return events.to_dict("records")


def _values(y: np.ndarray) -> list[float | None]:
    """JSON-ready values rounded to 4 decimals; NaN and infinities become ``None`` (gaps in the line)."""
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(y)
    values = np.round(np.where(finite, y, 0.0), 4).tolist()
    if finite.all():
        return values
    return [v if ok else None for v, ok in zip(values, finite.tolist(), strict=True)]


def session_figure(
    trace: Any,
    *,
    compare: Any | None = None,
    labels: tuple[str, str] = ("session", "what-if"),
    height_px: int = 980,
) -> dict[str, Any]:
    """Stacked timelines (RBV, BP, Na, osmolality, iCa) with event markers; ``compare`` overlays a 2nd run.

    Returns the Plotly figure as a plain dict: the same structure as ``make_subplots(shared_xaxes=True)``
    builds, written directly because plotly.py's per-property validation costs ~0.1 s per page.
    """
    n = len(PANELS)
    gap = 0.035
    height = (1.0 - gap * (n - 1)) / n
    palette = ["#1f6fb2", "#e67e22", "#27ae60"]
    runs = [(trace, labels[0])] + ([(compare, labels[1])] if compare is not None else [])
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "height": height_px,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "template": TEMPLATE,
        "legend": {"orientation": "h", "y": -0.06},
        "hovermode": "x unified",
        "annotations": [],
        "shapes": [],
    }
    for row, (title, signals, unit) in enumerate(PANELS, start=1):
        top = 1.0 - (row - 1) * (height + gap)
        suffix = "" if row == 1 else str(row)
        layout[f"xaxis{suffix}"] = {
            "anchor": f"y{suffix}",
            "domain": [0.0, 1.0],
            "showticklabels": row == n,
            **({"matches": "x"} if row > 1 else {}),
            **({"title": {"text": "minutes from start"}} if row == n else {}),
        }
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [top - height, top]}
        layout["annotations"].append(
            {
                "text": f"{title} ({unit})",
                "x": 0.5,
                "xref": "paper",
                "y": top,
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
        for run_idx, (tr, run_label) in enumerate(runs):
            # Alone: signal colours. Compared: the current run grey and dashed, the what-if in colour.
            baseline = compare is not None and run_idx == 0
            for sig_idx, (name, label) in enumerate(signals):
                y = _signal(tr, name)
                if y is None:
                    continue
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": _values(tr.t_min),
                        "y": _values(y),
                        "xaxis": f"x{suffix}",
                        "yaxis": f"y{suffix}",
                        "name": f"{label} ({run_label})" if compare is not None else label,
                        "line": {
                            "color": "#7f8c8d" if baseline else palette[sig_idx % len(palette)],
                            "width": 2,
                            "dash": "dash" if baseline else "solid",
                        },
                        "hovertemplate": f"%{{x:.0f}} min: %{{y:.2f}} {unit}<extra>{label}</extra>",
                        "showlegend": compare is not None or len(signals) > 1,
                    }
                )
        for ev in _event_rows(trace):
            colour = EVENT_COLOURS.get(str(ev.get("kind")), "#555555")
            layout["shapes"].append(
                {
                    "type": "line",
                    "x0": float(ev["t_min"]),
                    "x1": float(ev["t_min"]),
                    "xref": f"x{suffix}",
                    "y0": 0,
                    "y1": 1,
                    "yref": f"y{suffix} domain",
                    "line": {"color": colour, "width": 2, "dash": "dot"},
                }
            )
    for ev in _event_rows(trace):
        kind = str(ev.get("kind"))
        layout["annotations"].append(
            {
                "x": float(ev["t_min"]),
                "xref": "x",
                "y": 0.98,
                "yref": "y domain",  # inside the top panel, clear of its title
                "text": kind.replace("_", " "),
                "showarrow": False,
                "yanchor": "top",
                "xanchor": "left",
                "xshift": 4,
                "bgcolor": "rgba(255,255,255,0.8)",
                "font": {"color": EVENT_COLOURS.get(kind, "#555555"), "size": 12},
            }
        )
    return {"data": data, "layout": layout}


def session_chart_key(session: Any) -> tuple[Any, ...]:
    """What the chart of a stored session depends on: its id, stored version, size and event markers."""
    events = tuple((float(ev["t_min"]), str(ev.get("kind"))) for ev in _event_rows(session.trace))
    return (session.id, session.created_at, session.trace.data.shape, events)


def history_figure(sessions: list[Any], height_px: int = 260) -> dict[str, Any]:
    """Assessed cramp risk of each session over time; sessions with a cramp marked in red."""
    ordered = sorted(sessions, key=lambda s: s.started_at)
    x = [s.started_at.isoformat() for s in ordered]
    risk = [s.overall_risk for s in ordered]
    text = [s.top_cause or "not assessed" for s in ordered]
    colours = ["#c0392b" if s.had_cramp else "#1f6fb2" for s in ordered]
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "x": x,
        "y": risk,
        "text": text,
        "line": {"color": "#9aa7b4", "width": 1},
        "marker": {"color": colours, "size": 10},
        "hovertemplate": "%{x|%Y-%m-%d}: risk %{y:.0%}<br>top cause %{text}<extra></extra>",
        "name": "risk",
    }
    layout = {
        "height": height_px,
        "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
        "template": TEMPLATE,
        "yaxis": {"range": [0, 1.05], "tickformat": ".0%", "title": {"text": "cramp risk"}},
        "showlegend": False,
    }
    return {"data": [trace], "layout": layout}


def risk_figure(before: float, after: float) -> go.Figure:
    """Two bars: cramp risk before and after a what-if change."""
    fig = go.Figure(
        go.Bar(
            x=["current", "what-if"],
            y=[before, after],
            marker_color=["#7f8c8d", "#1f6fb2"],
            text=[f"{before:.0%}", f"{after:.0%}"],
            textposition="outside",
        )
    )
    fig.update_layout(
        height=260,
        margin={"l": 40, "r": 10, "t": 30, "b": 30},
        template="plotly_white",
        yaxis={"range": [0, 1.1], "tickformat": ".0%", "title": "cramp risk"},
    )
    return fig


def to_div(fig: go.Figure | dict[str, Any]) -> str:
    """The figure as an HTML fragment (a ``<div>`` and the ``<script>`` that draws it), without plotly.js."""
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, config=CONFIG, validate=False)
