"""``crampwatch calibrate MANIFEST.csv --out MODEL.json [--json]`` and
``crampwatch calibrate --database-url URL --out MODEL.json``: learn the unit's cramp model."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from crampwatch.causes.registry import CAUSE_REGISTRY
from crampwatch.cli.app import app, fail, handle_input_errors
from crampwatch.learn import UnitModel, train_unit_model
from crampwatch.learn.sources import read_manifest


@app.command("calibrate")
@handle_input_errors
def calibrate(
    manifest: Path | None = typer.Argument(
        None,
        metavar="MANIFEST",
        help="Session manifest CSV (columns trace,scenario,events; many patients).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Write the unit model (JSON) here."),
    as_json: bool = typer.Option(False, "--json", help="Print the model file JSON."),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="Train on the clinic database's sessions and store the model there (inactive).",
    ),
    activate: bool = typer.Option(
        False, "--activate", help="With --database-url: make the stored model the active one at once."
    ),
) -> None:
    """Learn the unit's own cramp pattern from labelled sessions (a session with a cramp event is "cramp")."""
    if (manifest is None) == (database_url is None):
        fail("give either MANIFEST or --database-url (exactly one)")
    if activate and database_url is None:
        fail("--activate: only with --database-url (a model is activated in the database it is stored in)")
    if out.exists() and out.is_dir():
        fail(f"--out: {out} is a directory (expected a file path)")
    stored = None
    if manifest is not None:
        data = read_manifest(manifest)
        model = train_unit_model(data.table, data.cramp, data.patient_ids, source=manifest.name)
        model.save(out)
    else:
        # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
        from crampwatch.store import Store
        from crampwatch.store.unit_models import save_unit_model, train_from_store

        with Store.open(database_url) as store:
            model = train_from_store(store)
            model.save(out)
            stored = save_unit_model(store, model.to_dict(), trained_by="cli", activate=activate)
    if as_json:
        typer.echo(model.to_json())
        return
    _print(model, out, stored, activate)


def _print(model: UnitModel, out: Path, stored: int | None, active: bool = False) -> None:
    tr = model.training
    console = Console()
    console.print(
        f"{tr['sessions']} sessions of {tr['patients']} patients, {tr['cramp_sessions']} with cramps "
        f"({100 * tr['cramp_rate']:.1f} %)"
    )
    table = Table(title="Patient-grouped cross-validation")
    table.add_column("")
    table.add_column("AUROC", justify="right")
    table.add_column("Brier", justify="right")
    table.add_column("log loss", justify="right")
    rows = [("analyzer risk (prior)", tr["prior"])]
    if "cv_model" in tr:
        rows.insert(0, ("unit model", tr["cv_model"]))
    for name, m in rows:
        auc = "n/a" if m["auroc"] is None else f"{m['auroc']:.3f}"
        table.add_row(name, auc, f"{m['brier']:.4f}", f"{m['log_loss']:.4f}")
    console.print(table)
    console.print(f"Decision: {model.decision}")
    weights = Table(
        title="Learned weight of each cause (log-odds per unit score, beyond the analyzer's risk)"
    )
    weights.add_column("cause")
    weights.add_column("prior weight", justify="right")
    weights.add_column("learned", justify="right")
    for w in model.cause_weights():
        label = CAUSE_REGISTRY[w["cause"]].label if w["cause"] in CAUSE_REGISTRY else w["cause"]
        weights.add_row(label, f"{w['prior_weight']:.2f}", f"{w['learned_log_odds_per_score']:+.2f}")
    console.print(weights)
    console.print(
        f"model written to {out}" + _stored_text(stored, active)
    )


def _stored_text(stored: int | None, active: bool) -> str:
    if stored is None:
        return ""
    if active:
        return f"; stored as unit model {stored} and made active"
    return f"; stored as unit model {stored}, inactive (activate it on the model page or with --activate)"
