"""``crampwatch user / import / export`` through the Typer app, on SQLite (the Store runs on both)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import crampwatch.cli.store_cmd  # noqa: F401  (registers the commands)
from crampwatch.cli.app import app
from crampwatch.model import dump_scenario
from crampwatch.store import Store
from tests.store_fixtures import make_patient, make_prescription, use_cheap_argon2

runner = CliRunner()


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_argon2(monkeypatch)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("CRAMPWATCH_DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'cli.db'}"


def invoke(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def import_trace(db: str, trace: Path, scenario: Path, events: Path, started_at: str, session_id: str):
    """``crampwatch import`` of a recorded trace with its events for the scenario's patient."""
    return invoke(
        "import",
        str(trace),
        "--scenario",
        str(scenario),
        "--events",
        str(events),
        "--started-at",
        started_at,
        "--session-id",
        session_id,
        "--database-url",
        db,
    )


def one_line_error(result, field: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and field in lines[0], result.output
    assert "Traceback" not in result.output


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(dump_scenario_of("P-CLI")), encoding="utf-8")
    return path


def dump_scenario_of(patient_id: str) -> dict:
    from crampwatch.model import Scenario

    return dump_scenario(Scenario(patient=make_patient(patient_id), prescription=make_prescription()))


@pytest.fixture
def trace_files(tmp_path: Path) -> tuple[Path, Path]:
    t = np.arange(0.0, 245.0, 5.0)
    data = pd.DataFrame(
        {
            "t_min": t,
            "sbp_mmhg": 140 - 0.12 * t,
            "hr_bpm": 70 + 0.03 * t,
            "uf_cum_l": t / 240 * 2.5,
            "rbv_pct": np.where(t % 10 == 0, 100 - 0.04 * t, np.nan),
            "source": "measured",
        }
    )
    trace = tmp_path / "trace.csv"
    data.to_csv(trace, index=False)
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"t_min": 150, "kind": "cramp", "severity": 7, "note": "calf"}]))
    return trace, events


def test_user_add_and_list(db: str) -> None:
    with Store.open(db) as s:
        s.add_patient(make_patient("P1"))
    result = invoke(
        "user",
        "add",
        "dr.a",
        "--role",
        "clinician",
        "--password-stdin",
        "--database-url",
        db,
        stdin="long enough pw\n",
    )
    assert result.exit_code == 0, result.output
    assert "created clinician dr.a" in result.output
    result = invoke(
        "user",
        "add",
        "p1",
        "--role",
        "patient",
        "--patient-id",
        "P1",
        "--database-url",
        db,
        stdin="patient pw 1\npatient pw 1\n",
    )  # prompt + confirmation
    assert result.exit_code == 0, result.output
    with Store.open(db) as s:
        assert s.authenticate("dr.a", "long enough pw").role == "clinician"
        assert s.authenticate("p1", "patient pw 1").patient_id == "P1"
        assert [a.action for a in s.list_audit()] == ["cli_add_user", "cli_add_user"]
    listed = invoke("user", "list", "--database-url", db)
    assert listed.exit_code == 0
    assert listed.output.splitlines() == ["dr.a\tclinician\t-", "p1\tpatient\tP1"]


@pytest.mark.parametrize(
    ("args", "stdin", "field"),
    [
        (["x", "--role", "janitor"], "long enough pw\n", "role"),
        (["x", "--role", "admin"], "short\n", "password"),
        (["x", "--role", "patient"], "long enough pw\n", "patient_id"),
        (["bad name", "--role", "admin"], "long enough pw\n", "username"),
        (["x", "--role", "patient", "--patient-id", "ghost"], "long enough pw\n", "patient_id"),
    ],
)
def test_user_add_errors(db: str, args: list[str], stdin: str, field: str) -> None:
    result = invoke("user", "add", *args, "--password-stdin", "--database-url", db, stdin=stdin)
    one_line_error(result, field)


def test_import_scenario_then_trace_then_export_round_trip(
    db: str, scenario_file: Path, trace_files, tmp_path
) -> None:
    trace, events = trace_files
    result = invoke("import", str(scenario_file), "--name", "Pat Client", "--database-url", db)
    assert result.exit_code == 0, result.output
    assert "patient P-CLI (new)" in result.output
    result = import_trace(db, trace, scenario_file, events, "2026-11-20T08:00:00+01:00", "S-CLI")
    assert result.exit_code == 0, result.output
    with Store.open(db) as s:
        rec = s.get_session("S-CLI")
        assert rec.started_at.isoformat() == "2026-11-20T07:00:00+00:00"
        assert rec.trace.data["sbp_mmhg"].iloc[-1] == pytest.approx(140 - 0.12 * 240)
        assert rec.trace.sources["rbv_pct"] == "measured" and "source" not in rec.trace.data.columns
        assert rec.trace.cramp_times().tolist() == [150.0]
        assert rec.post_weight_kg == pytest.approx(70.0 - 2.5)
        s.add_report(
            patient_id="P-CLI",
            reported_at=rec.started_at,
            muscle="calf",
            severity=4,
            note="n",
            session_id="S-CLI",
            t_min=151,
            idempotency_key="rk",
        )
        s.save_assessment(
            "S-CLI", {"overall_risk": 0.4, "causes": [{"cause": "hypovolemia", "score": 0.5}]}, "t"
        )
        assert s.get_patient("P-CLI").name == "Pat Client"

    out = tmp_path / "export.json"
    result = invoke("export", "P-CLI", "--format", "json", "--out", str(out), "--database-url", db)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["format"] == "crampwatch-export" and len(doc["sessions"]) == 1 and len(doc["reports"]) == 1

    other = f"sqlite:///{tmp_path / 'other.db'}"
    for expected in ("1 session stored", "1 already stored"):  # a second import changes nothing
        result = invoke("import", str(out), "--database-url", other)
        assert result.exit_code == 0 and expected in result.output, result.output
    with Store.open(db) as a, Store.open(other) as b:
        sa, sb = a.get_session("S-CLI"), b.get_session("S-CLI")
        pd.testing.assert_frame_equal(sa.trace.data, sb.trace.data)
        pd.testing.assert_frame_equal(sa.trace.events, sb.trace.events)
        assert (sa.prescription, sa.labs, sa.started_at) == (sb.prescription, sb.labs, sb.started_at)
        assert sa.assessment == sb.assessment
        assert a.get_patient("P-CLI").patient == b.get_patient("P-CLI").patient
        strip = [
            (r.muscle, r.severity, r.t_min, r.reported_at, r.idempotency_key) for r in a.list_reports("P-CLI")
        ]
        assert strip == [
            (r.muscle, r.severity, r.t_min, r.reported_at, r.idempotency_key) for r in b.list_reports("P-CLI")
        ]
        assert b.count_reports() == 1


def test_fhir_export_import_round_trip(db: str, scenario_file: Path, trace_files, tmp_path) -> None:
    trace, events = trace_files
    import_trace(db, trace, scenario_file, events, "2026-11-20T08:00:00Z", "S-F")
    with Store.open(db) as s:
        s.add_report(
            patient_id="P-CLI",
            reported_at=s.get_session("S-F").started_at,
            muscle="thigh",
            severity=6,
            note="",
            session_id="S-F",
            t_min=152,
            idempotency_key="rk",
        )
    bundle = tmp_path / "bundle.json"
    result = invoke("export", "P-CLI", "--format", "fhir", "--out", str(bundle), "--database-url", db)
    assert result.exit_code == 0, result.output
    data = json.loads(bundle.read_text())
    assert data["resourceType"] == "Bundle"
    kinds = {e["resource"]["resourceType"] for e in data["entry"]}
    assert {"Patient", "Procedure", "Observation", "QuestionnaireResponse"} <= kinds
    other = f"sqlite:///{tmp_path / 'fhir.db'}"
    result = invoke("import", str(bundle), "--database-url", other)
    assert result.exit_code == 0, result.output
    with Store.open(db) as a, Store.open(other) as b:
        sa, sb = a.get_session("S-F"), b.get_session("S-F")
        assert sb is not None and sb.started_at == sa.started_at
        np.testing.assert_allclose(sb.trace.signal("sbp_mmhg"), sa.trace.signal("sbp_mmhg"))
        assert sb.trace.cramp_times().tolist() == [150.0]
        assert sb.prescription == sa.prescription
        assert [(r.muscle, r.severity, r.t_min) for r in b.list_reports("P-CLI")] == [("thigh", 6, 152.0)]
    result = invoke("import", str(bundle), "--database-url", other)
    one_line_error(result, "session_id")


def test_import_export_errors(db: str, scenario_file: Path, trace_files, tmp_path) -> None:
    trace, _ = trace_files
    one_line_error(invoke("import", str(trace), "--database-url", db), "--scenario")
    one_line_error(
        invoke("export", "ghost", "--out", str(tmp_path / "x.json"), "--database-url", db), "patient_id"
    )
    one_line_error(
        invoke("export", "ghost", "--format", "xml", "--out", str(tmp_path / "x"), "--database-url", db),
        "--format",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**dump_scenario_of("P-BAD"), "patient": {"sex": "male"}}))
    one_line_error(invoke("import", str(bad), "--database-url", db), "patient")
    one_line_error(invoke("import", str(tmp_path / "missing.yaml"), "--database-url", db), "missing.yaml")
    changed = tmp_path / "changed.yaml"
    invoke("import", str(scenario_file), "--database-url", db)
    data = dump_scenario_of("P-CLI")
    data["patient"]["age_years"] = 80
    changed.write_text(yaml.safe_dump(data))
    one_line_error(invoke("import", str(changed), "--database-url", db), "patient.id")
    no_t = tmp_path / "no_t.csv"
    pd.DataFrame({"sbp_mmhg": [120.0]}).to_csv(no_t, index=False)
    one_line_error(
        invoke("import", str(no_t), "--scenario", str(scenario_file), "--database-url", db), "t_min"
    )
    text_sbp = tmp_path / "text_sbp.csv"
    pd.DataFrame({"t_min": [0.0, 5.0], "sbp_mmhg": ["high", "low"]}).to_csv(text_sbp, index=False)
    one_line_error(
        invoke("import", str(text_sbp), "--scenario", str(scenario_file), "--database-url", db), "sbp_mmhg"
    )
    # Recoverable problems are stored with a note naming them.
    bad_src = tmp_path / "bad_src.csv"
    pd.DataFrame({"t_min": [0.0], "sbp_mmhg": [120.0], "source": ["guessed"]}).to_csv(bad_src, index=False)
    result = invoke("import", str(bad_src), "--scenario", str(scenario_file), "--database-url", db)
    assert result.exit_code == 0 and "note: bad_src.csv" in result.output and "guessed" in result.output
    one_line_error(invoke("user", "list", "--database-url", "mysql://x@y/z"), "database_url")
    unreachable = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2"
    one_line_error(invoke("user", "list", "--database-url", unreachable), "cannot open the database")


def test_user_add_without_a_terminal_names_password_stdin(db: str) -> None:
    one_line_error(
        invoke("user", "add", "dr.b", "--role", "clinician", "--database-url", db, stdin=""),
        "--password-stdin",
    )
    with Store.open(db) as s:
        assert s.get_user("dr.b") is None


def test_user_passwd_ends_sessions(db: str) -> None:
    assert (
        invoke(
            "user",
            "add",
            "dr.c",
            "--role",
            "admin",
            "--password-stdin",
            "--database-url",
            db,
            stdin="first password 1\n",
        ).exit_code
        == 0
    )
    with Store.open(db) as s:
        s.start_login_session("dr.c", "t" * 43, absolute_s=3600)
        assert s.resolve_login_session("t" * 43, idle_s=600).username == "dr.c"
    result = invoke(
        "user", "passwd", "dr.c", "--password-stdin", "--database-url", db, stdin="second password 2\n"
    )
    assert result.exit_code == 0 and "1 login session ended" in result.output, result.output
    with Store.open(db) as s:
        assert s.resolve_login_session("t" * 43, idle_s=600) is None
        assert s.authenticate("dr.c", "second password 2") is not None
        assert s.authenticate("dr.c", "first password 1") is None
        assert s.list_audit(limit=1)[0].action == "cli_set_password"
    one_line_error(
        invoke("user", "passwd", "nobody", "--password-stdin", "--database-url", db, stdin="x" * 12),
        "username",
    )
    one_line_error(
        invoke("user", "passwd", "dr.c", "--password-stdin", "--database-url", db, stdin="short\n"),
        "password",
    )
    s2 = Store.open(db)
    s2.start_login_session("dr.c", "u" * 43, absolute_s=3600)
    s2.close()
    result = invoke("user", "end-sessions", "dr.c", "--database-url", db)
    assert result.exit_code == 0 and "1 login session of dr.c ended" in result.output
