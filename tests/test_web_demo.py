"""The demo database builder and the ``crampwatch demo`` / ``crampwatch serve`` commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import pytest
from hl7.client import MLLPClient
from live_fixtures import oru
from live_server import START_TIMEOUT_S, free_port
from test_web_helpers import ROOT
from typer.testing import CliRunner

from crampwatch.cli.app import app as cli_app
from crampwatch.demo import build_demo
from crampwatch.errors import InputError
from crampwatch.store import Store

TODAY = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    store = Store.open(url=url)
    info = build_demo(store, n_patients=3, weeks=2, seed=7, today=TODAY)
    yield store, info
    store.close()


def test_demo_contents(demo):
    store, info = demo
    patients = store.list_patients()
    assert len(patients) == 3 and info.n_sessions == 3 * 6
    assert sum(p.n_sessions for p in patients) == info.n_sessions
    assert sum(p.n_cramp_sessions for p in patients) == info.n_cramp_sessions
    assert 0 < info.n_cramp_sessions < info.n_sessions  # cramps are drawn, not forced
    for p in patients:
        sessions = store.list_sessions(p.id)
        assert all(s.overall_risk is not None and s.top_cause for s in sessions)
        assert all(s.started_at < TODAY for s in sessions)
        assert {s.started_at.weekday() for s in sessions} <= {0, 2, 4}
        if p.n_cramp_sessions:
            assert p.recurring_cause is not None
        for r in store.list_reports(p.id):  # every report belongs to a cramp session of that patient
            assert next(s for s in sessions if s.id == r.session_id).had_cramp
    assert store.count_reports() == info.n_reports
    roles = {u.username: u.role for u in store.list_users()}
    assert roles == {
        "clinician": "clinician",
        "nurse": "nurse",
        "admin": "admin",
        "patient1": "patient",
        "patient2": "patient",
        "patient3": "patient",
    }
    for role, username, password in info.credentials:
        assert store.authenticate(username, password).role == role


def test_demo_cramps_follow_the_assessed_risk(demo):
    store, _ = demo
    sessions = [s for p in store.list_patients() for s in store.list_sessions(p.id)]
    cramp_risk = [s.overall_risk for s in sessions if s.had_cramp]
    calm_risk = [s.overall_risk for s in sessions if not s.had_cramp]
    assert sum(cramp_risk) / len(cramp_risk) > sum(calm_risk) / len(calm_risk)


def test_demo_is_reproducible(demo, tmp_path):
    store, info = demo
    other = Store.open(url=f"sqlite:///{tmp_path / 'again.db'}")
    again = build_demo(other, n_patients=3, weeks=2, seed=7, today=TODAY)
    assert (again.n_sessions, again.n_cramp_sessions, again.n_reports) == (
        info.n_sessions,
        info.n_cramp_sessions,
        info.n_reports,
    )
    assert [p.recurring_cause for p in other.list_patients()] == [
        p.recurring_cause for p in store.list_patients()
    ]


def test_demo_rejects_bad_sizes(tmp_path):
    store = Store.open(url=f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(InputError, match="patients"):
        build_demo(store, n_patients=0)
    with pytest.raises(InputError, match="weeks"):
        build_demo(store, n_patients=1, weeks=99)


def test_serve_rejects_bad_port():
    import crampwatch.cli.web_cmd  # noqa: F401  (registers the commands)

    result = CliRunner().invoke(cli_app, ["serve", "--port", "70000"])
    assert result.exit_code == 2 and "port" in result.output


def test_demo_command_serves_and_prints_credentials(tmp_path):
    port, mllp_port = free_port(), free_port()
    url = f"sqlite:///{tmp_path / 'cli-demo.db'}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crampwatch",
            "demo",
            "--no-browser",
            "--port",
            str(port),
            "--patients",
            "2",
            "--weeks",
            "1",
            "--database-url",
            url,
            "--mllp-port",
            str(mllp_port),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + START_TIMEOUT_S
        while "demo-clinician" not in output and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output += line
        assert f"http://127.0.0.1:{port}/" in output and re.search(
            r"clinician\s+clinician / demo-clinician", output
        )
        r = None
        while r is None and time.monotonic() < deadline:
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/api/login",
                    json={"username": "clinician", "password": "demo-clinician"},
                )
            except httpx.TransportError:
                time.sleep(0.2)
        assert r is not None, f"the demo server did not answer within {START_TIMEOUT_S:.0f} s"
        assert r.status_code == 200
        patients = httpx.get(f"http://127.0.0.1:{port}/api/patients", cookies=r.cookies).json()
        assert len(patients) == 2
        # the demo's HL7 listener takes a machine message for a demo patient; the chair appears
        with MLLPClient("127.0.0.1", mllp_port) as client:
            ack = client.send_message(oru("DEMO1", patients[0]["id"]))
        assert b"MSA|AA|DEMO1" in ack
        chairs = httpx.get(f"http://127.0.0.1:{port}/api/chairs", cookies=r.cookies).json()
        assert [c["patient_id"] for c in chairs] == [patients[0]["id"]]
    finally:
        proc.terminate()
        proc.wait(timeout=60)  # a graceful stop removes the demo's files first
