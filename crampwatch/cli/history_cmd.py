"""``crampwatch demo-history``: write a synthetic unit history in the HEMOBP table layout."""

from __future__ import annotations

import json

import typer

from crampwatch.cli.app import app, fail, handle_input_errors
from crampwatch.recorded.synthetic import write_synthetic_hemobp


@app.command("demo-history")
@handle_input_errors
def demo_history_command(
    out: str = typer.Option("demo-history", "--out", help="Folder for idp.csv, d1.csv and vip.csv."),
    patients: int = typer.Option(
        1072,
        "--patients",
        help="Patients (1 072 gives the published size: ~165 849 sessions, ~4.37 M records).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random draws."),
) -> None:
    """Synthetic unit history (no patient data) shaped like the HEMOBP data set, for `cohort --recorded`."""
    if not 1 <= patients <= 100_000:
        fail(f"patients: {patients} is out of range (allowed 1–100000)")
    truth = write_synthetic_hemobp(out, patients=patients, seed=seed)
    typer.echo(json.dumps(truth.to_dict(), indent=2))
