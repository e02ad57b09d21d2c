"""``crampwatch simulate SCENARIO --out TRACE.csv|.parquet [--plot PNG] [--after-min N]``."""

from __future__ import annotations

import math
import os
from pathlib import Path

import typer

from crampwatch.cli.app import app, handle_input_errors
from crampwatch.errors import InputError
from crampwatch.io.traces import write_trace
from crampwatch.model import load_scenario
from crampwatch.simulator import MAX_AFTER_MIN, simulate

TRACE_SUFFIXES = (".csv", ".parquet")


def _check_output(path: Path, option: str, suffixes: tuple[str, ...]) -> None:
    """One-line :class:`InputError` unless ``path`` has an allowed suffix in an existing, writable folder."""
    field = option.lstrip("-").replace("-", "_")
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{option}: {path.name} must end in {' or '.join(suffixes)}", field)
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{option}: folder {folder} does not exist", field)
    if not os.access(folder, os.W_OK):
        raise InputError(f"{option}: folder {folder} is not writable", field)
    if path.is_dir():
        raise InputError(f"{option}: {path} is a folder, not a file", field)


@app.command("simulate")
@handle_input_errors
def simulate_command(
    scenario: Path = typer.Argument(..., metavar="SCENARIO", help="scenario file (YAML or JSON)"),
    out: Path = typer.Option(..., "--out", help="trace file to write (.csv or .parquet)"),
    plot: Path | None = typer.Option(None, "--plot", help="also write an overview figure (.png)"),
    after_min: float = typer.Option(
        0.0,
        "--after-min",
        help=f"also simulate this many minutes after the session, machine off (0–{MAX_AFTER_MIN:g})",
    ),
) -> None:
    """Simulate one session (optionally with the hour after it) and write its trace."""
    if not (math.isfinite(after_min) and 0.0 <= after_min <= MAX_AFTER_MIN):
        raise InputError(
            f"--after-min: {after_min:g} is out of range (allowed 0–{MAX_AFTER_MIN:g} min)", "after_min"
        )
    _check_output(out, "--out", TRACE_SUFFIXES)
    if plot is not None:
        _check_output(plot, "--plot", (".png",))

    sc = load_scenario(scenario)
    trace = simulate(sc, after_min=after_min)
    write_trace(trace, out)
    msg = f"wrote {out} ({len(trace.data)} rows)"
    if plot is not None:
        # imports matplotlib (0.4 s): only when a figure is drawn
        from crampwatch.plotting import plot_trace

        try:
            plot_trace(trace, plot, title=f"{sc.patient.id}: simulated session", weight_kg=sc.post_weight_kg)
        except BaseException:
            out.unlink(missing_ok=True)  # all or nothing: no trace without its figure
            raise
        msg += f" and {plot}"
    typer.echo(msg)
