"""Self-contained HTML report of an Assessment: the ranked causes, a session timeline (inline SVG: no
script, opens offline), evidence tables, explanations, recommendations and sources.

Every quantity is shown by its clinical label with unit from the signal registry (:mod:`crampwatch.signals`);
causes the session gives no support for (score 0) are listed in one line instead of a section each.
"""

from __future__ import annotations

import html
import math
from typing import Any

from crampwatch.causes.findings import Assessment, Finding
from crampwatch.causes.registry import CAUSE_REGISTRY
from crampwatch.causes.risk_kinds import RISK_KINDS
from crampwatch.causes.sentences import DIRECTION_HEADINGS, evidence_groups, evidence_text, number
from crampwatch.clinical_labels import display_label, unit_of
from crampwatch.model import Scenario
from crampwatch.plotting import figure_svg, panels_for, session_figure
from crampwatch.trace import SIGNALS, Trace

CONF_COLOURS = {"high": "#1f5fa0", "moderate": "#c25e00", "low": "#767676"}


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return "–" if not math.isfinite(x) else number(x)
    return _esc(x)


def _with_unit(value: Any, name: str) -> str:
    unit = unit_of(name)
    text = _fmt(value)
    return (
        f"{text} {_esc(unit)}"
        if unit and isinstance(value, int | float) and not isinstance(value, bool)
        else text
    )


def cause_label(cause: str) -> str:
    """Clinical name of a cause identifier, from the cause registry (``osmotic`` -> ``Osmotic (sodium)``)."""
    spec = CAUSE_REGISTRY.get(cause)
    return spec.label if spec is not None else cause.replace("_", " ").capitalize()


def _cause_table(supported: list[Finding]) -> str:
    rows = "".join(
        f"<tr><th scope='row'><a href='#cause-{_esc(f.cause)}'>{_esc(cause_label(f.cause))}</a></th>"
        f"<td class='num'>{f.score:.2f}</td>"
        f"<td><span class='bar' style='width:{100 * f.score:.0f}%;background:{CONF_COLOURS[f.confidence]}'>"
        f"</span></td><td>{_esc(f.confidence)}</td></tr>"
        for f in supported
    )
    return (
        "<table class='causes'><caption>Cause scores (0–1) and confidence</caption><thead><tr><th>cause</th>"
        f"<th>score</th><th class='barcol'></th><th>confidence</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _evidence_table(f: Finding, metrics: dict[str, Any]) -> str:
    """The evidence of a finding in three groups: for, against, context (each item in the words the pages
    and the CLI use, with its source and note)."""
    groups = evidence_groups([e.to_dict() for e in f.evidence])
    body = "".join(
        f"<tbody class='evidence-{d}'><tr><th colspan='3' scope='rowgroup'>{DIRECTION_HEADINGS[d]}</th></tr>"
        + "".join(
            f"<tr><td>{_esc(evidence_text(e, metrics))}</td><td>{_esc(e['source'])}</td>"
            f"<td>{'estimated ' if e.get('estimated') else ''}{_esc(e.get('note', ''))}</td></tr>"
            for e in items
        )
        + "</tbody>"
        for d, items in groups
    )
    head = "<thead><tr><th>evidence</th><th>source</th><th>note</th></tr></thead>"
    return f"<table class='evidence'>{head}{body}</table>"


def _finding_section(f: Finding, metrics: dict[str, Any]) -> str:
    recs = "".join(
        f"<li>{_esc(r.action)} <span class='ev'>({_esc(r.evidence)})</span></li>" for r in f.recommendations
    )
    return (
        f"<section class='cause' id='cause-{_esc(f.cause)}'><h3>{_esc(cause_label(f.cause))} — score "
        f"{f.score:.2f}, {_esc(f.confidence)} confidence</h3><p>{_esc(f.explanation)}</p>"
        + _evidence_table(f, metrics)
        + (f"<h4>What to change</h4><ul>{recs}</ul>" if recs else "")
        + "</section>"
    )


def _timeline(trace: Trace, scenario: Scenario) -> str:
    panels = panels_for(trace)
    fig = session_figure(trace, title=" ", weight_kg=scenario.post_weight_kg, show_source=True)
    svg = figure_svg(fig)
    shown = sorted(
        {s for p in panels for s in (*p.signals, p.twin) if s and trace.has(s)}, key=list(SIGNALS).index
    )
    alt = (
        "Session timeline with shared time axis: "
        + "; ".join(p.title for p in panels)
        + f". Cramps at {', '.join(f'{t:g}' for t in trace.cramp_times()) or 'no time recorded'} min."
    )
    summary = "".join(
        f"<tr><td>{_esc(display_label(s))}</td><td class='num'>{_fmt(float(v[0]))}</td>"
        f"<td class='num'>{_fmt(float(v[-1]))}</td><td class='num'>{_fmt(float(min(v)))}</td></tr>"
        for s in shown
        if len(v := trace.data[s].dropna().to_numpy()) > 0
    )
    return (
        f"<figure role='img' aria-label='{_esc(alt)}'>{svg}<figcaption>{_esc(alt)}</figcaption></figure>"
        "<details><summary>Timeline values</summary><table><thead><tr><th>signal</th><th>start</th>"
        f"<th>end</th><th>lowest</th></tr></thead><tbody>{summary}</tbody></table></details>"
    )


def _signal_list(names: list[str], trace: Trace | None = None) -> str:
    if not names:
        return "none"
    if trace is None:
        return ", ".join(_esc(display_label(n)) for n in names)
    return ", ".join(f"{_esc(display_label(n))} ({_esc(trace.sources.get(n, 'measured'))})" for n in names)


def render_html(assessment: Assessment, trace: Trace, scenario: Scenario) -> str:
    """A complete, self-contained HTML page for ``assessment`` of ``trace`` (no script, no external file)."""
    p = scenario.patient
    supported = [f for f in assessment.causes if f.score > 0]
    zero = [f for f in assessment.causes if f.score <= 0]
    sources = sorted(
        {e.source for f in supported for e in f.evidence}
        | {r.evidence for f in supported for r in f.recommendations}
    )
    metrics = "".join(
        f"<tr><td>{_esc(display_label(k))}</td><td class='num'>{_with_unit(v, k)}</td></tr>"
        for k, v in assessment.metrics.items()
    )
    notes = "".join(f"<li>{_esc(n)}</li>" for n in assessment.data_quality)
    signals_shown = [s for s in trace.signals if s in SIGNALS]
    top = assessment.top_cause
    headline = (
        f"Most likely cause: <b>{_esc(cause_label(top.cause))}</b> (score {top.score:.2f})"
        if top is not None and top.score > 0
        else "No cause is supported by this session."
    )
    not_supported = (
        "<p class='ev'>Not supported by this session (score 0): "
        + ", ".join(f"<span id='cause-{_esc(f.cause)}'>{_esc(cause_label(f.cause))}</span>" for f in zero)
        + ".</p>"
        if zero
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>crampwatch report {_esc(assessment.session_id)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; }}
body, td, th {{ color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; white-space: nowrap; }}
.ev {{ color: #595959; font-size: .9em; }} .cause {{ border-top: 1px solid #ddd; margin-top: 1em; }}
.risk {{ font-size: 1.3em; }} figure {{ margin: 0; }} figure svg {{ max-width: 100%; height: auto; }}
table.causes .barcol {{ width: 40%; }} .bar {{ display: inline-block; height: .9em; }}
caption {{ text-align: left; color: #595959; }}
table.evidence tbody th {{ background: #f3f3f3; }} .evidence-supports th {{ color: #a93226; }}
.evidence-against th {{ color: #186a3b; }}
</style></head><body>
<h1>Why does this patient cramp?</h1>
<p>Session <b>{_esc(assessment.session_id)}</b> · patient {_esc(p.id)} ({_esc(p.sex)}, {p.age_years:g} years,
dry weight {p.dry_weight_kg:g} kg, {p.vintage_months:g} months on dialysis)</p>
<p class="risk">{_esc(RISK_KINDS[assessment.risk_kind].label)} <b>{assessment.overall_risk:.2f}</b>
· hypotension risk {assessment.idh_risk or 0.0:.2f} · {headline}</p>
<h2>Ranked causes</h2>{_cause_table(supported) if supported else ""}{not_supported}
<h2>Session timeline</h2>
<p>Cramps are purple lines (severity 0–10 on the top panel); dotted lines are the analyzer's thresholds; green
boxes are the favourable RBV ranges (Preciado 2019); dashed curves were estimated by the simulator.</p>
{_timeline(trace, scenario)}
<p>Signals: {_signal_list(signals_shown, trace)}. Missing: {_signal_list(assessment.missing_signals)}.
Estimated: {_signal_list(assessment.estimated_signals)}.</p>
{("<h3>Data quality</h3><ul>" + notes + "</ul>") if notes else ""}
<h2>Findings</h2>{"".join(_finding_section(f, assessment.metrics) for f in supported) or "<p>None.</p>"}
<h2>Session metrics</h2><table>{metrics}</table>
<h2>Sources</h2><ul>{"".join(f"<li>{_esc(s)}</li>" for s in sources)}</ul>
<p class="ev">Decision support only: findings rank mechanisms from recorded signals and published thresholds;
they do not replace clinical judgement.</p>
</body></html>
"""


__all__ = ["cause_label", "render_html"]
