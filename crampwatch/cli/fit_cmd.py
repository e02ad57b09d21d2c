"""``crampwatch fit MANIFEST.csv [--json] [--out TWIN.json]`` and ``crampwatch fit --patient ID
--database-url URL``: fit a patient twin (docs/formats.md "Patient twin")."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from crampwatch.causes.sentences import number, plural
from crampwatch.cli.app import app, fail, handle_input_errors, longest_word
from crampwatch.clinical_labels import label_and_unit, unit_of
from crampwatch.twin import PatientTwin, fit_twin, read_manifest


@app.command("fit")
@handle_input_errors
def fit(
    manifest: Path | None = typer.Argument(
        None, metavar="MANIFEST", help="Session manifest CSV (trace,scenario[,events]; one patient)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the twin JSON."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the twin JSON to this file."),
    patient: str | None = typer.Option(None, "--patient", help="Fit the stored sessions of this patient."),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Database to read the sessions from and store the twin in."
    ),
) -> None:
    """Fit this patient's own physiology (refill capacity, vascular reserve, blood volume, Na set point,
    personal cramp thresholds) to all of their sessions."""
    if (manifest is None) == (patient is None):
        fail("fit: give either MANIFEST or --patient ID (with --database-url)")
    if patient is not None:
        # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
        from crampwatch.store import Store
        from crampwatch.store.twins import fit_and_store_twin

        with Store.open(database_url or os.environ.get("CRAMPWATCH_DATABASE_URL")) as store:
            stored = fit_and_store_twin(store, patient, fitted_by="cli")
        twin = stored.twin
        if not as_json:
            Console().print(f"stored twin version {stored.version} of patient {patient}")
    else:
        twin = fit_twin(read_manifest(manifest))
    if out is not None:
        _write_atomic(out, twin.to_json())
    if as_json:
        typer.echo(twin.to_json())
        return
    _print(twin, out)


def _write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing (temporary file in the same folder, then rename)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        fail(f"out: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _print(twin: PatientTwin, out: Path | None) -> None:
    console = Console()
    sessions = plural(twin.n_sessions, "session", "sessions")
    table = Table(title=f"Patient twin of {twin.patient_id}, fitted on {sessions}")
    for col in ("parameter", "value", "95 % interval", "population", "unit", ""):
        justify = "left" if col in ("parameter", "unit", "") else "right"
        table.add_column(col, justify=justify, min_width=longest_word(col))
    for p in twin.parameters.values():
        unit = "x population" if p["unit"] == "1" else p["unit"]
        flag = "" if p.get("identified", True) else "not identified (prior)"
        lo, hi = p["ci"]
        table.add_row(
            p["label"], number(p["value"]), f"{number(lo)}–{number(hi)}", number(p["population"]), unit, flag
        )
    console.print(table)
    rmse = ", ".join(
        f"{label_and_unit(k)[0].lower()} {number(v)} {unit_of(k)}".rstrip()
        for k, v in twin.fit.get("rmse", {}).items()
    )
    console.print(f"fit error (RMSE): {rmse}")
    for t in twin.personal_thresholds:
        console.print(f"personal threshold: {t['text']}")
    if not twin.personal_thresholds:
        console.print("personal thresholds: none (fewer than 2 cramp sessions after the same fall)")
    for w in twin.warnings:
        console.print(f"[yellow]{w}[/yellow]")
    if out is not None:
        console.print(f"twin written to {out}")
