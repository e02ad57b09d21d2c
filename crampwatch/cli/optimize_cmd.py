"""``crampwatch optimize SCENARIO [--json] [--plot PNG]``: the prescription that stops the cramps."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from crampwatch.causes import CAUSE_REGISTRY
from crampwatch.causes.risk_kinds import RISK_KINDS
from crampwatch.cli.app import app, handle_input_errors, longest_word
from crampwatch.model import load_scenario
from crampwatch.optimizer import Constraints, OptimizationResult, optimize
from crampwatch.twin import load_twin

_DEFAULTS = Constraints()


def _fmt(x: float | None, nd: int = 2) -> str:
    return "–" if x is None or x != x else f"{x:.{nd}f}"


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.0f}"


def outcome_table(result: OptimizationResult) -> Table:
    """Current vs recommended prescriptions; every column folds instead of truncating (80 columns)."""
    first = any(n.startswith("First session") for n in result.notes)
    predicted = RISK_KINDS["predicted"]
    table = Table(
        title=f"Prescription options for {result.scenario.patient.id}",
        caption=f"Risk: {predicted.short_label}, % (range over plausible versions of the patient); IDH: "
        "intradialytic hypotension risk, %. Every option removes the UF goal (see each option).",
        show_lines=False,
    )
    # short words only: at 80 columns a header folds between words, never inside one
    columns = (
        ("", "left"),
        ("Risk %", "right"),
        ("IDH %", "right"),
        ("URR %" if first else "spKt/V", "right"),
        ("stdKt/V", "right"),
        ("Time (min)", "right"),
        ("Sessions per week", "right"),
    )
    for header, justify in columns:
        table.add_column(header, justify=justify, overflow="fold", min_width=longest_word(header))
    rows = [("current", result.current, result.scenario)] + [
        (f"option {i}", r.outcome, r.scenario) for i, r in enumerate(result.recommendations, 1)
    ]
    for label, o, sc in rows:
        table.add_row(
            label,
            f"{_pct(o.risk)} ({_pct(o.risk_range[0])}–{_pct(o.risk_range[1])})",
            _pct(o.idh_risk),
            _fmt(o.urr_pct, 0) if first else _fmt(o.sp_ktv),
            _fmt(o.std_ktv),
            _fmt(o.duration_min, 0),
            str(sc.prescription.sessions_per_week),
        )
    return table


def render(result: OptimizationResult, console: Console) -> None:
    """Rich tables: current vs recommended prescriptions, then what changed and why."""
    c = result.current
    console.print(outcome_table(result))
    if c.violations:
        console.print("[yellow]Current prescription outside the constraints:[/] " + "; ".join(c.violations))
    for i, r in enumerate(result.recommendations, 1):
        body = "\n".join(f"• {ch}" for ch in r.change_text) or "• no change"
        if r.addresses:
            body += "\n[bold]addresses:[/] " + ", ".join(CAUSE_REGISTRY[a].label for a in r.addresses)
        body += "\n" + r.rationale
        console.print(Panel(body, title=f"option {i}", expand=True))
    for lead in result.leading_causes:
        if lead.why_not:
            label = CAUSE_REGISTRY[lead.cause].label
            body = "\n".join(f"• {line}" for line in lead.why_not)
            console.print(Panel(body, title=f"{label} ({lead.score:.2f}): no option acts on it", expand=True))
    if result.infeasible:
        console.print(Panel(result.infeasible, title="no feasible prescription", style="red"))
    for note in result.notes:
        console.print(f"[dim]{note}[/]")


@app.command("optimize")
@handle_input_errors
def optimize_command(
    scenario: Path = typer.Argument(..., metavar="SCENARIO", help="scenario file (YAML or JSON)"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON (docs/formats.md)"),
    plot: Path | None = typer.Option(None, "--plot", help="write current vs recommended traces to this PNG"),
    max_duration_min: float = typer.Option(
        _DEFAULTS.max_duration_min, help="unit's maximum session time, min"
    ),
    min_duration_min: float | None = typer.Option(
        None, help="shortest session allowed, min (default 180, or the maximum if lower)"
    ),
    target_sp_ktv: float = typer.Option(_DEFAULTS.target_sp_ktv, help="per-session spKt/V target"),
    allow_extra_session: bool = typer.Option(False, help="allow one more session a week"),
    top_k: int = typer.Option(3, help="number of recommendations"),
    ensemble: int = typer.Option(8, help="plausible patients per candidate"),
    seed: int = typer.Option(0, help="random seed of the patient ensemble"),
    twin_path: Path | None = typer.Option(
        None, "--twin", help="patient twin JSON (crampwatch fit): ensemble drawn from the twin's uncertainty"
    ),
) -> None:
    """Search the prescription that lowers the predicted cramp risk without losing dose or UF."""
    sc = load_scenario(scenario)
    constraints = Constraints(
        target_sp_ktv=target_sp_ktv,
        max_duration_min=max_duration_min,
        min_duration_min=min_duration_min,
        allow_extra_session=allow_extra_session,
    )
    twin = None if twin_path is None else load_twin(twin_path)
    result = optimize(sc, constraints=constraints, n_ensemble=ensemble, top_k=top_k, seed=seed, twin=twin)
    if plot is not None:
        # imports matplotlib (0.4 s): only when a figure is drawn
        from crampwatch.optimizer.plot import plot_result

        plot_result(result, plot)
    if json_out:
        typer.echo(result.to_json())
    else:
        render(result, Console())
