"""``crampwatch analyze TRACE --scenario S [--events E] [--json] [--report R] [--calibration MODEL]``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from crampwatch.causes import CAUSE_REGISTRY, Assessment, assess
from crampwatch.causes.assess import assess_session, filled_trace
from crampwatch.causes.risk_kinds import RISK_KINDS
from crampwatch.causes.sentences import DIRECTION_HEADINGS, evidence_groups, evidence_text
from crampwatch.cli.app import app, handle_input_errors
from crampwatch.clinical_labels import display_label
from crampwatch.io.traces import looks_like_hemobp, read_events, read_hemobp, read_trace
from crampwatch.learn import load_unit_model
from crampwatch.learn.apply import apply_unit_model
from crampwatch.model import load_scenario
from crampwatch.twin import load_twin
from crampwatch.twin.effect import twin_parts, twin_summary


@app.command("analyze")
@handle_input_errors
def analyze(
    trace_path: Path = typer.Argument(
        ..., metavar="TRACE", help="Trace file (.csv or .parquet, docs/formats.md)."
    ),
    scenario: Path = typer.Option(..., "--scenario", "-s", help="Scenario file (patient + prescription)."),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file (.csv or .json)."),
    as_json: bool = typer.Option(False, "--json", help="Print the Assessment JSON."),
    report: Path | None = typer.Option(None, "--report", "-r", help="Write a self-contained HTML report."),
    hemobp: bool = typer.Option(False, "--hemobp", help="TRACE is a HEMOBP-style machine export."),
    no_fill: bool = typer.Option(
        False, "--no-fill", help="Do not estimate missing signals with the simulator."
    ),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="Unit model (crampwatch calibrate): overall risk from this unit's model."
    ),
    twin_path: Path | None = typer.Option(
        None, "--twin", help="Patient twin JSON (crampwatch fit): use the patient's fitted physiology."
    ),
) -> None:
    """Rank the causes of cramps in a recorded or simulated session and say what to change."""
    sc = load_scenario(scenario)
    unit_model = load_unit_model(calibration) if calibration is not None else None
    if not hemobp and looks_like_hemobp(trace_path):
        hemobp = True  # a HEMOBP header (time, sbp, dbp, ...) and no t_min
    trace, quality = read_hemobp(trace_path) if hemobp else read_trace(trace_path)
    ev = read_events(events) if events is not None else None
    twin = None if twin_path is None else load_twin(twin_path)
    assessed = assess_session(trace, sc, events=ev, fill_missing=not no_fill, twin=twin)
    result = assessed.assessment
    twin_lines = [] if twin is None or as_json else _twin_lines(trace, sc, twin, result, ev, not no_fill)
    result = replace(result, data_quality=quality.messages() + result.data_quality)
    if unit_model is not None:
        result = apply_unit_model(result, trace, sc, unit_model, recorded=assessed.recorded)
    if report is not None:
        # imports matplotlib (0.4 s): only when a figure is drawn
        from crampwatch.report import render_html

        shown = trace if ev is None else trace.with_events(ev)
        if not no_fill and result.estimated_signals:
            shown, _ = filled_trace(shown, sc)  # draw the estimated curves (dashed) too
        report.write_text(render_html(result, shown, sc), encoding="utf-8")
    if as_json:
        typer.echo(result.to_json())
        return
    _print(result, report)
    for line in twin_lines:
        Console().print(line, highlight=False)


def _twin_lines(trace: Any, sc: Any, twin: Any, result: Assessment, ev: Any, fill: bool) -> list[str]:
    """The text output's twin section: the twin was used, and which of its parts changed the result."""
    population = assess(trace, sc, events=ev, fill_missing=fill)
    parts = twin_parts(trace, sc, twin, population=population, events=ev, fill_missing=fill)
    return twin_summary(twin, result, population, parts)


def _labels(names: list[str]) -> str:
    return ", ".join(display_label(n) for n in names)


def _print(result: Assessment, report: Path | None) -> None:
    console = Console()
    kind = RISK_KINDS[result.risk_kind].short_label
    table = Table(title=f"Cramp causes for session {result.session_id} ({kind} {result.overall_risk:.2f})")
    if result.risk_model is not None:
        console.print(
            f"overall risk from the {result.risk_model['label']} "
            f"(analyzer's own risk {result.risk_model['analyzer_risk']:.2f})"
        )
    for header, justify in (("#", "right"), ("cause", "left"), ("score", "right"), ("confidence", "left")):
        table.add_column(header, justify=justify, overflow="fold")
    table.add_column("key evidence for", overflow="fold", ratio=1)
    for k, f in enumerate(result.causes, 1):
        key = next((e for e in f.evidence if e.direction == "supports"), None)
        text = "none" if key is None else evidence_text(key.to_dict(), result.metrics)
        table.add_row(str(k), CAUSE_REGISTRY[f.cause].label, f"{f.score:.2f}", f.confidence, text)
    console.print(table)
    m = result.metrics
    if m.get("ekt_v_equilibrated") is not None:
        console.print(
            f"dose: eKt/V {m['ekt_v_equilibrated']:.2f} (equilibrated urea), "
            f"{m['ekt_v_rate']:.2f} (rate equation); spKt/V {m['sp_ktv']:.2f}"
        )
    top = result.top_cause
    if top is not None:
        console.print(f"[bold]{CAUSE_REGISTRY[top.cause].label}[/bold]: {top.explanation}")
        for direction, items in evidence_groups([e.to_dict() for e in top.evidence]):
            console.print(f"{DIRECTION_HEADINGS[direction]}:")
            for e in items:
                console.print(f"  - {evidence_text(e, result.metrics)}", highlight=False)
        if top.recommendations:
            console.print("What to change:")
        for r in top.recommendations:
            console.print(f"  - {r.action} [dim]({r.evidence})[/dim]")
    if result.missing_signals:
        console.print(f"[yellow]missing signals:[/yellow] {_labels(result.missing_signals)}")
    if result.estimated_signals:
        console.print(f"[yellow]estimated by the simulator:[/yellow] {_labels(result.estimated_signals)}")
    for note in result.data_quality:
        console.print(f"[yellow]data quality:[/yellow] {note}")
    if report is not None:
        console.print(f"report written to {report}")
