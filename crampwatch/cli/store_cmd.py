"""``crampwatch user``, ``import`` and ``export``: the clinic database from the shell."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
import yaml

from crampwatch import optional
from crampwatch.causes.sentences import plural
from crampwatch.cli.app import app, fail, handle_input_errors
from crampwatch.errors import InputError
from crampwatch.io.consistency import mismatches
from crampwatch.io.tables import read_table
from crampwatch.io.traces import read_events, read_trace
from crampwatch.model import Scenario, load_scenario, parse_scenario
from crampwatch.roles import ROLES, require_role
from crampwatch.signals import DBP_MMHG, HR_BPM, MAP_MMHG, MAX_T_MIN, SBP_MMHG, T_MIN, UF_CUM_L
from crampwatch.trace import Trace

if TYPE_CHECKING:  # the store needs the app extra, imported by the commands that use it
    from crampwatch.store import Store
    from crampwatch.store.transfer import ImportResult

user_app = typer.Typer(help="Manage the users of the clinic application.", no_args_is_help=True)
app.add_typer(user_app, name="user")

DATABASE_HELP = "Database URL (default: $CRAMPWATCH_DATABASE_URL, else sqlite:///crampwatch.db)."


def _open(url: str | None) -> Store:
    with optional.extra_imports():
        from sqlalchemy.exc import OperationalError
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store import Store

    try:
        return Store.open(url)
    except OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else "cannot connect"
        fail(f"database_url: cannot open the database ({reason})")
        raise  # not reached: fail() exits


# ------------------------------------------------------------------------------------------------- users


@user_app.command("add")
@handle_input_errors
def user_add(
    username: str = typer.Argument(..., metavar="USERNAME", help="Login name (letters, digits, _ . @ -)."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    patient_id: str | None = typer.Option(None, "--patient-id", help="The patient's id (role patient only)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    database_url: str | None = typer.Option(None, "--database-url", help=DATABASE_HELP),
) -> None:
    """Create a user; the password is read from stdin or prompted for (never a command-line argument)."""
    require_role(role)
    password = _read_password(password_stdin)
    store = _open(database_url)
    try:
        user = store.add_user(username, password, role, patient_id=patient_id)  # type: ignore[arg-type]
        store.audit(username=None, action="cli_add_user", detail=f"{user.username} ({user.role})")
    finally:
        store.close()
    suffix = f" for patient {user.patient_id}" if user.patient_id else ""
    typer.echo(f"created {user.role} {user.username}{suffix}")


NO_TERMINAL = (
    "password: no terminal to type it in; pipe it in with --password-stdin, "
    "e.g. printf '%s\\n' \"$PW\" | crampwatch user ... --password-stdin"
)


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice (never a command-line argument)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    first, again = sys.stdin.readline(), sys.stdin.readline()  # the two answers a terminal would give
    if not first or not again:
        raise InputError(NO_TERMINAL, "password")
    if first != again:
        raise InputError("password: the two entries differ", "password")
    return first.rstrip("\r\n")


@user_app.command("passwd")
@handle_input_errors
def user_passwd(
    username: str = typer.Argument(..., metavar="USERNAME", help="The user whose password is set."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    database_url: str | None = typer.Option(None, "--database-url", help=DATABASE_HELP),
) -> None:
    """Set a user's password (read from stdin or prompted for); every login session of the user ends."""
    password = _read_password(password_stdin)
    store = _open(database_url)
    try:
        ended = store.set_password(username, password)
        ended_text = plural(ended, "session", "sessions")
        store.audit(username=None, action="cli_set_password", detail=f"{username}; {ended_text} ended")
    finally:
        store.close()
    typer.echo(f"password of {username} changed; {plural(ended, 'login session', 'login sessions')} ended")


@user_app.command("end-sessions")
@handle_input_errors
def user_end_sessions(
    username: str = typer.Argument(..., metavar="USERNAME", help="The user whose login sessions end."),
    database_url: str | None = typer.Option(None, "--database-url", help=DATABASE_HELP),
) -> None:
    """End every login session of a user (a lost device, a leaving employee)."""
    store = _open(database_url)
    try:
        ended = store.end_user_sessions(username)
        store.audit(username=None, action="cli_end_sessions", detail=f"{username}: {ended} ended")
    finally:
        store.close()
    typer.echo(f"{plural(ended, 'login session', 'login sessions')} of {username} ended")


@user_app.command("list")
@handle_input_errors
def user_list(database_url: str | None = typer.Option(None, "--database-url", help=DATABASE_HELP)) -> None:
    """List users: username, role, patient id (tab separated)."""
    store = _open(database_url)
    try:
        users = store.list_users()
    finally:
        store.close()
    for u in users:
        typer.echo(f"{u.username}\t{u.role}\t{u.patient_id or '-'}")


# ------------------------------------------------------------------------------------------------ import


@app.command("import")
@handle_input_errors
def import_cmd(
    file: Path = typer.Argument(
        ..., help="Scenario (JSON/YAML), trace (CSV/Parquet), FHIR Bundle or export JSON."
    ),
    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario of a trace file (patient + Rx)."),
    events: Path | None = typer.Option(None, "--events", help="Events of a trace file (CSV or JSON list)."),
    started_at: str | None = typer.Option(
        None, "--started-at", help="Session start, ISO 8601 (default now)."
    ),
    session_id: str | None = typer.Option(None, "--session-id", help="Id of the imported session."),
    name: str | None = typer.Option(None, "--name", help="Patient's name, when the patient is new."),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Refuse a trace whose session length, UF volume or patient differs from the scenario "
        "(without it such a trace is stored with a warning).",
    ),
    database_url: str | None = typer.Option(None, "--database-url", help=DATABASE_HELP),
) -> None:
    """Store a patient (scenario), a recorded session (trace + --scenario), a FHIR Bundle or an export."""
    suffix = file.suffix.lower()
    if suffix in (".csv", ".parquet", ".pq"):
        if scenario is None:
            raise InputError(
                "--scenario: required with a trace file (the patient and the prescription)", "scenario"
            )
        sc = load_scenario(scenario)
        trace = read_trace_file(file)
        if events is not None:
            trace = trace.with_events(read_events(events))
        _check_matches(file, trace, sc, strict)
        with _opened(database_url) as store:
            result = _store_session(store, sc, trace, _parse_start(started_at), session_id, name)
        typer.echo(f"imported {result.summary()}")
        return
    if suffix not in (".json", ".yaml", ".yml"):
        raise InputError(
            f"file: {file.name!r} has an unknown type (allowed .json .yaml .yml .csv .parquet)", "file"
        )
    data = _read_document(file)
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store.transfer import import_patient_document, is_export_document

    with _opened(database_url) as store:
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            result = _import_fhir(store, data, name)
        elif is_export_document(data):
            result = import_patient_document(store, data)
        else:
            sc = parse_scenario(data)
            result = _store_patient(store, sc, name)
    typer.echo(f"imported {result.summary()}")


class _opened:
    def __init__(self, url: str | None) -> None:
        self.url = url

    def __enter__(self) -> Store:
        self.store = _open(self.url)
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def _read_document(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"file {path.name}: not valid JSON/YAML ({first})", "file") from None


def _parse_start(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--started-at: {text!r} is not an ISO 8601 date and time", "started_at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _store_patient(store: Store, sc: Scenario, name: str | None) -> ImportResult:
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store.transfer import ImportResult

    existing = store.get_patient(sc.patient.id)
    if existing is None:
        store.add_patient(sc.patient, name=name)
    elif existing.patient != sc.patient:
        raise InputError(
            f"patient.id: {sc.patient.id!r} is stored with other data (allowed the same data or a new id)",
            "patient.id",
        )
    return ImportResult(patient_id=sc.patient.id, patient_created=existing is None)


def _store_session(
    store: Store, sc: Scenario, trace: Trace, started: datetime, session_id: str | None, name: str | None
) -> ImportResult:
    """Store a recorded session once: a trace already stored for this patient is recognised by content."""
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store.transfer import ImportResult, session_content_hash

    content_hash = session_content_hash(sc.patient.id, sc.prescription, trace)
    stored = store.session_id_by_content_hash(content_hash)
    if stored is not None:
        return ImportResult(patient_id=sc.patient.id, sessions_skipped=[stored])
    if session_id is not None and store.get_session(session_id) is not None:
        raise InputError(f"--session-id: {session_id!r} already exists (allowed a new id)", "session_id")
    result = _store_patient_lenient(store, sc, name)
    sid = store.add_session(
        sc.patient.id,
        sc.prescription,
        trace,
        started_at=started,
        session_id=session_id,
        pre_weight_kg=sc.patient.pre_weight_kg,
        post_weight_kg=_post_weight(trace, sc),
        labs=sc.patient.labs,
        content_hash=content_hash,
    )
    return replace(result, sessions_created=[sid])


def _store_patient_lenient(store: Store, sc: Scenario, name: str | None) -> ImportResult:
    """A recorded session of a known patient is added to that patient (the session carries its own labs)."""
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store.transfer import ImportResult

    new = store.get_patient(sc.patient.id) is None
    if new:
        store.add_patient(sc.patient, name=name)
    return ImportResult(patient_id=sc.patient.id, patient_created=new)


def _post_weight(trace: Trace, sc: Scenario) -> float | None:
    """Pre-weight minus the last cumulative UF volume of the trace (1 L of ultrafiltrate ~ 1 kg), if known."""
    uf = trace.signal(UF_CUM_L)
    if uf is None:
        return None
    last = pd.Series(uf).dropna()
    return None if last.empty else float(sc.patient.pre_weight_kg - last.iloc[-1])


# ---------------------------------------------------------------------------------------- trace files


def read_trace_file(path: Path) -> Trace:
    """A Trace from a docs/formats.md trace file (CSV or Parquet), via :mod:`crampwatch.io.traces`.

    Data-quality notes (values set to missing, ignored columns) are printed to stderr; the rest is stored.
    """
    trace, report = read_trace(path)
    for message in report.messages():
        typer.echo(f"note: {path.name}: {message}", err=True)
    return replace(trace, session_id=None)


def _check_matches(path: Path, trace: Trace, scenario: Scenario, strict: bool) -> None:
    """Warn about (``strict``: refuse) a trace that does not match its scenario
    (:mod:`crampwatch.io.consistency`)."""
    raw = read_table(path)
    ids = raw["patient_id"].dropna().astype(str).unique() if "patient_id" in raw.columns else ()
    problems = mismatches(trace, scenario, ids)
    if problems and strict:
        raise InputError(f"trace {path.name} does not match the scenario: {'; '.join(problems)}", "trace")
    for problem in problems:
        typer.echo(f"warning: {path.name} does not match the scenario: {problem}", err=True)


# ------------------------------------------------------------------------------------------------- FHIR


def _fhir() -> Any:
    """:mod:`crampwatch.io.fhir`, imported on use: it needs the optional ``fhir`` extra (``fhir.resources``);
    without it :func:`handle_input_errors` names the extra and how to install it."""
    from crampwatch.io import fhir

    return fhir


def _import_fhir(store: Store, bundle: dict[str, Any], name: str | None) -> ImportResult:
    fhir = _fhir()
    imp = fhir.bundle_to_session(bundle)
    trace = imp.trace
    if trace is None:  # a Bundle without trace Observations: only the session frame (start and end)
        trace = Trace(pd.DataFrame({T_MIN: [0.0, float(imp.scenario.prescription.duration_min)]}))
    trace = trace.with_events(imp.events)
    if store.get_session(imp.session_id) is not None:
        raise InputError(
            f"session_id: {imp.session_id!r} already exists (allowed a new session)", "session_id"
        )
    result = _store_patient_lenient(store, imp.scenario, name)
    sid = store.add_session(
        imp.scenario.patient.id,
        imp.scenario.prescription,
        trace,
        started_at=imp.started_at,
        session_id=imp.session_id,
        pre_weight_kg=imp.scenario.patient.pre_weight_kg,
        post_weight_kg=imp.post_weight_kg,
        labs=imp.scenario.patient.labs,
    )
    n_created = 0
    for report in imp.reports:
        t_min = float(report[T_MIN])
        reported_at = report.get("reported_at") or imp.started_at + timedelta(minutes=t_min)
        if isinstance(reported_at, str):
            reported_at = datetime.fromisoformat(reported_at)
        key_text = f"{sid}|{t_min}|{report.get('muscle')}|{report.get('severity')}|{report.get('note')}"
        _rec, created = store.add_report(
            patient_id=imp.scenario.patient.id,
            reported_at=reported_at,
            muscle=str(report.get("muscle") or "unspecified"),
            severity=report["severity"],
            note=str(report.get("note") or ""),
            session_id=sid,
            t_min=t_min,
            idempotency_key="fhir:" + hashlib.sha256(key_text.encode()).hexdigest()[:40],
        )
        n_created += int(created)
    return replace(
        result,
        sessions_created=[sid],
        reports_created=n_created,
        reports_skipped=len(imp.reports) - n_created,
    )


def _fhir_export(
    store: Store, patient_id: str, session_id: str | None, series: str = "sampled"
) -> dict[str, Any]:
    fhir = _fhir()
    rec = store.get_patient(patient_id)
    if rec is None:
        raise InputError(f"patient_id: {patient_id!r} is not a known patient", "patient_id")
    sessions = store.list_sessions(patient_id)
    if session_id is None:
        if not sessions:
            raise InputError(
                f"patient_id: {patient_id!r} has no session to export as FHIR (use --format json)",
                "patient_id",
            )
        session_id = sessions[-1].id
    session = store.get_session(session_id)
    if session is None or session.patient_id != patient_id:
        raise InputError(f"--session: {session_id!r} is not a session of {patient_id!r}", "session_id")
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store.records import session_scenario

    scenario = session_scenario(rec.patient, session)
    reports = []
    for r in store.list_reports(patient_id):
        if r.session_id != session_id:
            continue
        t_min = r.t_min
        if t_min is None:
            t_min = (r.reported_at - session.started_at).total_seconds() / 60.0
        if 0 <= t_min <= MAX_T_MIN:
            reports.append(
                {
                    T_MIN: t_min,
                    "muscle": r.muscle,
                    "severity": r.severity,
                    "note": r.note,
                    "reported_at": r.reported_at,
                }
            )
    extra = [s for s in session.trace.signals if s not in (SBP_MMHG, DBP_MMHG, MAP_MMHG, HR_BPM)]
    return fhir.session_to_bundle(
        scenario,
        session.trace,
        session_id=session.id,
        started_at=session.started_at,
        reports=reports,
        extra_signals=extra,
        series=series,
    )


# ------------------------------------------------------------------------------------------------ export


@app.command("export")
@handle_input_errors
def export_cmd(
    patient_id: str = typer.Argument(..., metavar="PATIENT_ID", help="The patient to export."),
    fmt: str = typer.Option(
        "json", "--format", help="json (all sessions and reports) or fhir (one session)."
    ),
    out: Path = typer.Option(..., "--out", help="Output file."),
    session: str | None = typer.Option(
        None, "--session", help="FHIR: the session to export (default latest)."
    ),
    series: str = typer.Option(
        "sampled",
        "--fhir-series",
        help="FHIR: trace signals as one SampledData Observation per signal (sampled) or one Observation "
        "per value (points).",
    ),
    database_url: str | None = typer.Option(None, "--database-url", help=DATABASE_HELP),
) -> None:
    """Write a patient's record: JSON (re-importable) or a FHIR R4 Bundle of one session."""
    if fmt not in ("json", "fhir"):
        raise InputError(f"--format: {fmt!r} is not a format (allowed json, fhir)", "format")
    if series not in ("sampled", "points"):
        raise InputError(f"--fhir-series: {series!r} is not a form (allowed sampled, points)", "fhir-series")
    # needs the 'app' extra (crampwatch/optional.py): imported when the command runs
    from crampwatch.store.transfer import export_patient

    with _opened(database_url) as store:
        doc = (
            export_patient(store, patient_id)
            if fmt == "json"
            else _fhir_export(store, patient_id, session, series)
        )
        store.audit(username=None, action="cli_export", patient_id=patient_id, detail=f"{fmt} -> {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    typer.echo(f"wrote {out}")
