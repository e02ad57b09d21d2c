"""``crampwatch cohort``: simulate and score a virtual (or Parquet) cohort on Dask and summarize it."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from crampwatch import cohort
from crampwatch.cli.app import app, handle_input_errors


@app.command("cohort")
@handle_input_errors
def cohort_command(
    patients: int = typer.Option(1000, "--patients", help="Number of virtual patients (one session each)."),
    partitions: int = typer.Option(8, "--partitions", help="Number of Dask partitions."),
    seed: int = typer.Option(0, "--seed", help="Seed of partition 0; partition k uses seed + k."),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Address of a running Dask scheduler (tcp://host:8786); default: start a 2-worker LocalCluster. "
        "'synchronous' runs in this process.",
    ),
    parquet_in: str | None = typer.Option(
        None, "--in", help="Parquet dataset of scenarios to analyze instead of virtual patients."
    ),
    out: str | None = typer.Option(
        None, "--out", help="Write one row per session as a Parquet dataset here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON instead of a table."),
) -> None:
    """Cohort run: prevalence of each top cause, risk distribution, high-risk and IDH fractions."""
    df = cohort.run_cohort(
        None if parquet_in else patients,
        seed=seed,
        partitions=partitions,
        scheduler=scheduler,
        parquet_in=parquet_in,
        out=out,
    )
    summary = cohort.summarize_cohort(df)
    run = df.attrs.get("cohort_run")
    if as_json:
        payload = {"summary": cohort.summary_to_dict(summary)}
        if run is not None:
            payload["run"] = {
                "sessions": run.sessions,
                "seconds": round(run.seconds, 3),
                "sessions_per_s": round(run.sessions_per_s, 1),
                "scheduler": run.scheduler,
            }
        if out:
            payload["out"] = out
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=f"Cohort of {len(df)} sessions")
    if run is not None:
        table.caption = f"{run.scheduler}: {run.seconds:.1f} s, {run.sessions_per_s:.0f} sessions/s"
    table.add_column("group")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for group, metric, value in summary.itertuples(index=False, name=None):
        if metric == "n":
            text = f"{value:.0f}"
        elif metric.endswith("_pct"):
            text = f"{value:.1f} %"
        else:
            text = f"{value:.3f}" if group in ("overall_risk", "mean_score") else f"{value:.2f}"
        table.add_row(group, metric, text)
    Console().print(table)
    if out:
        Console().print(f"rows written to {out}")
