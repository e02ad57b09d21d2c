"""``crampwatch simulate SCENARIO --out TRACE.csv|.parquet [--plot PNG]``."""

from __future__ import annotations

from pathlib import Path

import typer

from crampwatch.cli.app import app, handle_input_errors
from crampwatch.errors import InputError
from crampwatch.model import load_scenario

TRACE_SUFFIXES = (".csv", ".parquet")


@app.command("simulate")
@handle_input_errors
def simulate_command(
    scenario: Path = typer.Argument(..., help="scenario file (YAML or JSON)"),
    out: Path = typer.Option(..., "--out", help="trace file to write (.csv or .parquet)"),
    plot: Path | None = typer.Option(None, "--plot", help="also write an overview figure (.png)"),
) -> None:
    """Simulate one session and write its trace."""
    if out.suffix.lower() not in TRACE_SUFFIXES:
        raise InputError(f"--out: {out.name} must end in .csv or .parquet", "out")
    if plot is not None and plot.suffix.lower() != ".png":
        raise InputError(f"--plot: {plot.name} must end in .png", "plot")
    from crampwatch.io.traces import write_trace
    from crampwatch.simulator import simulate

    sc = load_scenario(scenario)
    trace = simulate(sc)
    write_trace(trace, out)
    msg = f"wrote {out} ({len(trace.data)} rows)"
    if plot is not None:
        from crampwatch.plotting import plot_trace

        plot_trace(trace, plot, title=f"{sc.patient.id}: simulated session")
        msg += f" and {plot}"
    typer.echo(msg)
