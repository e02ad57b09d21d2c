"""``crampwatch weekly``: weekly urea kinetics and dose adequacy for one prescription."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from crampwatch.cli.app import app, handle_input_errors
from crampwatch.kinetics import KDOQI_MIN_SP_KTV
from crampwatch.quantities import cutoff
from crampwatch.weekly import MODELS, simulate_week
from crampwatch.weekly.week import MODEL_LABELS

#: Weekly standard Kt/V minimum (the registry's cut-off, KDOQI 2015). Shown as a reference line only.
KDOQI_MIN_STD_KTV = cutoff("std_ktv_min")


@app.command("weekly")
@handle_input_errors
def weekly(
    duration_h: float = typer.Option(..., "--duration-h", help="Session length, hours."),
    qb: float = typer.Option(..., "--qb", help="Blood flow Qb, mL/min."),
    qd: float = typer.Option(..., "--qd", help="Dialysate flow Qd, mL/min."),
    koa: float = typer.Option(..., "--koa", help="Dialyzer urea KoA, mL/min."),
    hct: float = typer.Option(..., "--hct", help="Hematocrit, %."),
    generation_mg_day: float = typer.Option(
        ..., "--generation-mg-day", help="Urea nitrogen generation rate G, mg/day."
    ),
    v_l: float = typer.Option(..., "--v-l", help="Post-dialysis urea distribution volume V, litres."),
    kr: float = typer.Option(0.0, "--kr", help="Residual kidney urea clearance Kr, mL/min."),
    days: str = typer.Option("mon,wed,fri", "--days", help="Treatment days, comma separated (mon..sun)."),
    model: str = typer.Option("single_pool", "--model", help=f"One of: {', '.join(MODELS)}."),
    fluid_gain_l_day: float = typer.Option(
        0.0, "--fluid-gain-l-day", help="Interdialytic fluid gain, L/day (variable_volume, two_pool)."
    ),
    blood_water: str = typer.Option(
        "session",
        "--blood-water",
        help="Clearance convention: session (the session simulator's, default) or meyer (Meyer's simulator).",
    ),
    catheter: bool = typer.Option(
        False, "--catheter", help="Central venous catheter access (recirculation)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Weekly periodic steady state of urea: clearance, TAC, peaks, spKt/V, eKt/V, standard Kt/V, URR."""
    result = simulate_week(
        duration_h=duration_h,
        qb_ml_min=qb,
        qd_ml_min=qd,
        koa_ml_min=koa,
        hct_pct=hct,
        generation_mg_day=generation_mg_day,
        v_l=v_l,
        kr_ml_min=kr,
        days=days,
        model=model,
        fluid_gain_l_day=fluid_gain_l_day,
        blood_water=blood_water,
        access="catheter" if catheter else "fistula",
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    days = "/".join(d.capitalize() for d in result.days)
    table = Table(title=f"Weekly urea kinetics ({MODEL_LABELS.get(result.model, result.model)}, {days})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("note")
    table.add_row("avg dialyzer clearance", f"{result.avg_clearance_ml_min:.1f} mL/min", "")
    table.add_row("time-averaged BUN (TAC)", f"{result.tac_mg_dl:.1f} mg/dL", "")
    table.add_row("average pre-dialysis BUN", f"{result.avg_peak_mg_dl:.1f} mg/dL", "")
    sp_note = f"below KDOQI minimum {KDOQI_MIN_SP_KTV:g}" if result.sp_ktv < KDOQI_MIN_SP_KTV else ""
    table.add_row("spKt/V per session", f"{result.sp_ktv:.2f}", sp_note)
    table.add_row("eKt/V per session", f"{result.ekt_v:.2f}", "Daugirdas rate equation")
    std_note = f"below KDOQI 2015 minimum {KDOQI_MIN_STD_KTV}" if result.std_ktv < KDOQI_MIN_STD_KTV else ""
    table.add_row("standard Kt/V per week", f"{result.std_ktv:.2f}", std_note)
    table.add_row("URR per session", f"{result.urr_pct:.1f} %", "")
    Console().print(table)
