"""``crampwatch watch TRACE --scenario S [--twin T] [--calibration M] [--policy P] [--json]``: replay a
recorded session through the live early warning, one update per time point of the trace."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from crampwatch.causes import CAUSE_REGISTRY
from crampwatch.cli.app import app, handle_input_errors
from crampwatch.errors import InputError
from crampwatch.io.quality import DataQualityReport
from crampwatch.io.traces import looks_like_hemobp, read_hemobp, read_trace
from crampwatch.learn import load_unit_model
from crampwatch.live import AlertPolicy, LiveEngine, LiveUpdate
from crampwatch.model import load_scenario
from crampwatch.signals import RBV_PCT, SBP_MMHG, SIGNAL_SPECS, T_MIN
from crampwatch.trace import Trace
from crampwatch.twin import load_twin

#: Minutes between the rows of the table printed without ``--json`` (level changes are always printed).
TABLE_EVERY_MIN = 30.0


@app.command("watch")
@handle_input_errors
def watch(
    trace_path: Path = typer.Argument(
        ..., metavar="TRACE", help="Trace file (.csv or .parquet) in time order."
    ),
    scenario: Path = typer.Option(..., "--scenario", "-s", help="Scenario file (patient + prescription)."),
    twin_path: Path | None = typer.Option(None, "--twin", help="Patient twin JSON (crampwatch fit)."),
    calibration: Path | None = typer.Option(None, "--calibration", help="Unit model (crampwatch calibrate)."),
    policy_path: Path | None = typer.Option(None, "--policy", help="Alert policy JSON of the unit."),
    hemobp: bool = typer.Option(False, "--hemobp", help="TRACE is a HEMOBP-style machine export."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line per time point."),
) -> None:
    """Replay a session as a live stream: 30-min cramp risk, warning level, cause, action and forecast."""
    sc = load_scenario(scenario)
    twin = load_twin(twin_path) if twin_path is not None else None
    unit_model = load_unit_model(calibration) if calibration is not None else None
    policy = AlertPolicy.from_json(_read_text(policy_path), "policy") if policy_path is not None else None
    if not hemobp and looks_like_hemobp(trace_path):
        hemobp = True
    trace, quality = read_hemobp(trace_path) if hemobp else read_trace(trace_path)
    _check_in_order(quality)
    engine = LiveEngine(sc, twin=twin, unit_model=unit_model, policy=policy)
    updates = []
    for t, values in rows(trace):
        u = engine.observe(t, values)
        if as_json:
            typer.echo(json.dumps(u.to_dict(), allow_nan=False))
        else:
            updates.append(u)
    if not as_json:
        _print(updates, quality)


def rows(trace: Trace) -> list[tuple[float, dict[str, float]]]:
    """The trace's time points with their recorded signal values (registry names, NaN left out)."""
    names = [c for c in trace.data.columns if c in SIGNAL_SPECS]
    table = trace.data[[T_MIN, *names]].to_numpy(dtype=float, na_value=float("nan"))
    out = []
    for row in table:
        values = {name: float(v) for name, v in zip(names, row[1:], strict=True) if v == v}
        out.append((float(row[0]), values))
    return out


def _check_in_order(quality: DataQualityReport) -> None:
    for issue in quality.issues:
        if issue.column == T_MIN and issue.rows and "order" in issue.problem:
            raise InputError(
                f"t_min: rows are not in time order (row {issue.rows[0]}); a stream is replayed as recorded",
                T_MIN,
            )


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"policy: {path} does not exist", "policy")
    return path.read_text(encoding="utf-8")


def _print(updates: list[LiveUpdate], quality: DataQualityReport) -> None:
    console = Console()
    table = Table(title="Live early warning (replay)")
    for header in (
        "min",
        "cramp risk 30 min",
        "level",
        "cause",
        "action",
        "RBV in 30 min (%)",
        "SBP in 30 min",
    ):
        table.add_column(header, overflow="fold")
    last_level, last_t = None, -1e9
    for u in updates:
        if u.level == last_level and u.t_min - last_t < TABLE_EVERY_MIN:
            continue
        last_level, last_t = u.level, u.t_min
        f = u.forecast_30min
        table.add_row(
            f"{u.t_min:g}",
            f"{u.cramp_risk_30min:.2f}",
            u.level,
            CAUSE_REGISTRY[u.cause].label if u.cause else "",
            u.action or "",
            _band(f, RBV_PCT, "{:.1f}"),
            _band(f, SBP_MMHG, "{:.0f}"),
        )
    console.print(table)
    alerts = [u for u in updates if u.new_alert]
    console.print(
        f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
        + (f", first at {alerts[0].t_min:g} min" if alerts else "")
    )
    for note in quality.messages():
        console.print(f"[yellow]data quality:[/yellow] {note}")


def _band(f: dict, name: str, fmt: str) -> str:
    if f.get(name) is None:
        return ""
    return f"{fmt.format(f[name])} ({fmt.format(f[name + '_lo'])}–{fmt.format(f[name + '_hi'])})"
