"""``crampwatch cohort``: simulate and score a virtual (or Parquet) cohort on Dask and summarize it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from crampwatch import cohort
from crampwatch.cli.app import app, fail, handle_input_errors
from crampwatch.recorded.run import DEFAULT_MEMORY_MB, run_recorded


@app.command("cohort")
@handle_input_errors
def cohort_command(
    patients: int = typer.Option(
        1000, "--patients", min=1, max=100_000_000, help="Number of virtual patients (one session each)."
    ),
    partitions: int = typer.Option(8, "--partitions", min=1, help="Number of Dask partitions."),
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
    recorded: str | None = typer.Option(
        None,
        "--recorded",
        help="A recorded history to analyse instead of a virtual cohort: a folder with the HEMOBP tables "
        "(idp.csv, d1.csv, vip.csv), a Parquet dataset of traces with patient_id/session_id, or a database "
        "URL (the store). Results go to --out (default recorded-cohort).",
    ),
    workers: int = typer.Option(2, "--workers", help="Worker processes of the LocalCluster (--recorded)."),
    memory_mb: int = typer.Option(
        DEFAULT_MEMORY_MB, "--memory-mb", help="Memory budget of one partition's task, MB (--recorded)."
    ),
    twins: bool = typer.Option(True, "--twins/--no-twins", help="Fit patient twins (--recorded)."),
    learning_table: bool = typer.Option(
        False, "--learning-table", help="Also write the unit cramp model's input table (--recorded)."
    ),
) -> None:
    """Cohort run: prevalence of each top cause, risk distribution, high-risk and IDH fractions; with
    --recorded, a unit's recorded history (session table, patient summary, twins, unit report)."""
    if recorded is not None:
        _recorded(
            recorded, out or "recorded-cohort", scheduler, workers, memory_mb, twins, learning_table, as_json
        )
        return
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
        typer.echo(json.dumps(_summary_payload(summary, run, out), indent=2))
        return
    Console().print(_summary_table(summary, run, len(df)))
    if out:
        Console().print(f"rows written to {out}")


def _summary_payload(
    summary: pd.DataFrame, run: cohort.CohortRun | None, out: str | None
) -> dict[str, Any]:
    """The ``--json`` output of a virtual cohort: its summary, how it ran, where the rows went."""
    payload: dict[str, Any] = {"summary": cohort.summary_to_dict(summary)}
    if run is not None:
        payload["run"] = {
            "sessions": run.sessions,
            "seconds": round(run.seconds, 3),
            "sessions_per_s": round(run.sessions_per_s, 1),
            "scheduler": run.scheduler,
        }
    if out:
        payload["out"] = out
    return payload


def _summary_table(summary: pd.DataFrame, run: cohort.CohortRun | None, sessions: int) -> Table:
    """The summary of a virtual cohort as a table (groups in bold, percentages with %)."""
    table = Table(title=f"Cohort of {sessions} sessions")
    if run is not None:
        table.caption = f"{run.scheduler}: {run.seconds:.1f} s, {run.sessions_per_s:.0f} sessions/s"
    table.add_column("")
    table.add_column("value", justify="right")
    previous = None
    for group, metric, value in summary.itertuples(index=False, name=None):
        if group != previous:
            table.add_row(f"[bold]{cohort.GROUP_LABELS.get(group, group.replace('_', ' '))}[/bold]", "")
            previous = group
        if metric == "n":
            text = f"{value:.0f}"
        elif metric.endswith("_pct"):
            text = f"{value:.1f} %"
        else:
            text = f"{value:.2f}"
        table.add_row(f"  {cohort.metric_label(group, metric)}", text)
    return table


def _recorded(
    source: str,
    out: str,
    scheduler: str | None,
    workers: int,
    memory_mb: int,
    twins: bool,
    learning: bool,
    as_json: bool,
) -> None:
    if not 1 <= workers <= 256:
        fail(f"workers: {workers} is out of range (allowed 1–256)")
    if not 1 <= memory_mb <= 1_000_000:
        fail(f"memory_mb: {memory_mb} is out of range (allowed 1–1000000 MB)")
    if "://" in source:  # a database URL: the store's sessions, exported page by page
        # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
        from crampwatch.store import Store
        from crampwatch.store.history import export_history

        with Store.open(source) as store:
            source = str(export_history(store, Path(out) / "store-history"))
    columns = (TextColumn("partitions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), disable=as_json) as bar:
        task = bar.add_task("partitions", total=None)
        run = run_recorded(
            source,
            out,
            scheduler=scheduler,
            workers=workers,
            memory_mb=memory_mb,
            twins=twins,
            learning=learning,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        typer.echo(json.dumps(run.to_dict(), indent=2))
        return
    Console().print(
        f"{run.analysed} of {run.sessions} sessions analysed in {run.seconds:.1f} s "
        f"({run.sessions_per_s:.0f} sessions/s, {run.scheduler}; {run.resumed} of {run.partitions} "
        f"partitions were already done). Session table {out}/sessions, patients {out}/patients, "
        f"report {out}/report.html"
    )
