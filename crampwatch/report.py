"""Self-contained HTML report of an Assessment: timelines with cramp markers and thresholds, ranked causes,
evidence tables, explanations, recommendations and sources. Plotly's JavaScript is embedded inline, so the
file opens offline."""

from __future__ import annotations

import html
import math
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from crampwatch.causes.findings import Assessment
from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.model import Scenario
from crampwatch.trace import SIGNALS, Trace

#: Timeline panels: (title, [(signal, label)], [(threshold name or value, label)]).
PANELS: list[tuple[str, list[tuple[str, str]], list[tuple[str | float, str]]]] = [
    ("Relative blood volume, %", [("rbv_pct", "RBV")], [("rbv_critical_pct", "critical RBV ~88 %")]),
    (
        "Blood pressure, mmHg",
        [("sbp_mmhg", "SBP"), ("dbp_mmhg", "DBP"), ("map_mmhg", "MAP")],
        [("idh_nadir_sbp_mmhg", "SBP 90")],
    ),
    (
        "Sodium, mmol/L",
        [("plasma_na_mmol_l", "plasma Na"), ("dialysate_na_mmol_l", "dialysate Na")],
        [("hyponatremia_mmol_l", "Na 135")],
    ),
    (
        "Ionized Ca / Mg, mmol/L",
        [("ica_mmol_l", "iCa"), ("mg_mmol_l", "Mg")],
        [("ica_low_mmol_l", "iCa 1.1"), ("mg_low_mmol_l", "Mg 0.7")],
    ),
    ("Urea, mmol/L", [("urea_mmol_l", "plasma urea"), ("brain_urea_mmol_l", "brain urea")], []),
]
PRECIADO = [(60, "rbv_low_1h_pct", 96.0), (120, "rbv_low_2h_pct", 94.0), (180, "rbv_low_3h_pct", 92.0)]
CONF_COLOURS = {"high": "#1f77b4", "moderate": "#ff7f0e", "low": "#9e9e9e"}


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return "–" if not math.isfinite(x) else f"{x:.4g}"
    return _esc(x)


def timeline_figure(trace: Trace) -> go.Figure:
    """Stacked timelines of the key signals with thresholds, favourable RBV ranges and cramp markers."""
    panels = [p for p in PANELS if any(trace.has(s) for s, _ in p[1])] or PANELS[:1]
    fig = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        subplot_titles=[p[0] for p in panels],
    )
    t = trace.t_min
    for row, (_, sigs, ths) in enumerate(panels, 1):
        for name, label in sigs:
            y = trace.signal(name)
            if y is None:
                continue
            src = trace.sources.get(name, "measured")
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=y,
                    mode="lines",
                    name=f"{label} ({src})",
                    line={"dash": "dash" if src == "estimated" else "solid"},
                ),
                row=row,
                col=1,
            )
        for th_name, label in ths:
            value = THRESHOLDS[th_name].value if isinstance(th_name, str) else th_name
            fig.add_hline(
                y=value,
                line={"dash": "dot", "color": "#c62828", "width": 1},
                row=row,
                col=1,
                annotation_text=label,
                annotation_position="bottom right",
            )
        if sigs[0][0] == "rbv_pct":
            for tm, lo_name, hi in PRECIADO:
                lo = THRESHOLDS[lo_name].value
                fig.add_shape(
                    type="rect",
                    x0=tm - 5,
                    x1=tm + 5,
                    y0=lo,
                    y1=hi,
                    fillcolor="rgba(46,125,50,0.25)",
                    line={"width": 0},
                    row=row,
                    col=1,
                )
    for tc in trace.cramp_times():
        fig.add_vline(x=float(tc), line={"color": "#6a1b9a", "width": 2}, annotation_text="cramp")
    fig.update_xaxes(title_text="minutes from start", row=len(panels), col=1)
    fig.update_layout(
        height=230 * len(panels) + 80,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h"},
    )
    return fig


def causes_figure(assessment: Assessment) -> go.Figure:
    """Horizontal bars of the cause scores, coloured by confidence."""
    causes = list(reversed(assessment.causes))
    fig = go.Figure(
        go.Bar(
            x=[f.score for f in causes],
            y=[f.cause for f in causes],
            orientation="h",
            marker={"color": [CONF_COLOURS[f.confidence] for f in causes]},
            text=[f"{f.score:.2f} ({f.confidence})" for f in causes],
            textposition="auto",
        )
    )
    fig.update_layout(
        xaxis={"range": [0, 1], "title": "score (0-1)"},
        height=320,
        margin={"l": 120, "r": 20, "t": 20, "b": 40},
    )
    return fig


def _evidence_table(f: Any) -> str:
    rows = "".join(
        f"<tr><td>{_esc(e.signal)}</td><td>{_fmt(e.value)}</td><td>{_fmt(e.t_min)}</td><td>{_fmt(e.threshold)}</td>"
        f"<td>{_esc(e.source)}</td><td>{'estimated' if e.estimated else ''} {_esc(e.note)}</td></tr>"
        for e in f.evidence
    )
    return (
        "<table><thead><tr><th>signal</th><th>value</th><th>t (min)</th><th>threshold</th><th>source</th>"
        f"<th>note</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def render_html(assessment: Assessment, trace: Trace, scenario: Scenario) -> str:
    """A complete, self-contained HTML page for ``assessment`` of ``trace`` (offline: Plotly inlined)."""
    cfg = {"displaylogo": False, "responsive": True}
    timeline = timeline_figure(trace).to_html(full_html=False, include_plotlyjs=False, config=cfg)
    bars = causes_figure(assessment).to_html(full_html=False, include_plotlyjs=False, config=cfg)
    p = scenario.patient
    sections = []
    for f in assessment.causes:
        recs = "".join(
            f"<li>{_esc(r.action)} <span class='ev'>({_esc(r.evidence)})</span></li>"
            for r in f.recommendations
        )
        sections.append(
            f"<section class='cause'><h3>{_esc(f.cause)} — score {f.score:.2f}, "
            f"{f.confidence} confidence</h3>"
            f"<p>{_esc(f.explanation)}</p>{_evidence_table(f)}"
            + (f"<h4>What to change</h4><ul>{recs}</ul>" if recs else "")
            + "</section>"
        )
    sources = sorted(
        {e.source for f in assessment.causes for e in f.evidence}
        | {r.evidence for f in assessment.causes for r in f.recommendations}
    )
    metrics = "".join(f"<tr><td>{_esc(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in assessment.metrics.items())
    notes = "".join(f"<li>{_esc(n)}</li>" for n in assessment.data_quality)
    missing = ", ".join(assessment.missing_signals) or "none"
    estimated = ", ".join(assessment.estimated_signals) or "none"
    signals = ", ".join(
        f"{_esc(s)} ({_esc(trace.sources.get(s, 'measured'))})" for s in trace.signals if s in SIGNALS
    )
    top = assessment.top_cause
    headline = f"Most likely cause: <b>{_esc(top.cause)}</b> (score {top.score:.2f})" if top else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>crampwatch report {_esc(assessment.session_id)}</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }}
.ev {{ color: #666; font-size: .9em; }} .cause {{ border-top: 1px solid #ddd; margin-top: 1em; }}
.risk {{ font-size: 1.3em; }}
</style></head><body>
<h1>Why does this patient cramp?</h1>
<p>Session <b>{_esc(assessment.session_id)}</b> · patient {_esc(p.id)} ({_esc(p.sex)}, {p.age_years:g} y,
dry weight {p.dry_weight_kg:g} kg, vintage {p.vintage_months:g} months)</p>
<p class="risk">Overall cramp risk <b>{assessment.overall_risk:.2f}</b>
· hypotension risk {assessment.idh_risk or 0.0:.2f} · {headline}</p>
<h2>Ranked causes</h2>{bars}
<h2>Session timeline</h2>
<p>Cramp events are purple lines; red dotted lines are thresholds; green boxes are the favourable RBV ranges
(Preciado 2019); dashed curves were estimated by the simulator.</p>{timeline}
<p>Signals: {signals or "none"}. Missing: {_esc(missing)}. Estimated: {_esc(estimated)}.</p>
{("<h3>Data quality</h3><ul>" + notes + "</ul>") if notes else ""}
<h2>Findings</h2>{"".join(sections)}
<h2>Session metrics</h2><table>{metrics}</table>
<h2>Sources</h2><ul>{"".join(f"<li>{_esc(s)}</li>" for s in sources)}</ul>
<p class="ev">Decision support only: findings rank mechanisms from recorded signals and published thresholds;
they do not replace clinical judgement.</p>
</body></html>
"""
