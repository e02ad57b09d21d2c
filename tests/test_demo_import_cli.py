"""``crampwatch import`` of one trace twice, and ``crampwatch demo``'s port check and temporary files."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest
from test_web_helpers import EXAMPLES, recorded_trace
from typer.testing import CliRunner

import crampwatch.cli.store_cmd  # noqa: F401  (registers the commands)
import crampwatch.cli.web_cmd as web_cmd
import crampwatch.demo
from crampwatch.cli.app import app
from crampwatch.demo import DemoInfo
from crampwatch.store import Store

runner = CliRunner()


def _trace_csv(tmp_path: Path) -> Path:
    path = tmp_path / "session.csv"
    recorded_trace().data.to_csv(path, index=False)
    return path


def test_importing_the_same_trace_twice_stores_one_session(tmp_path, monkeypatch):
    monkeypatch.delenv("CRAMPWATCH_DATABASE_URL", raising=False)
    db = f"sqlite:///{tmp_path / 'import.db'}"
    trace = _trace_csv(tmp_path)
    args = ["import", str(trace), "--scenario", str(EXAMPLES / "high_uf.yaml"), "--database-url", db]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0 and "1 session stored" in first.output, first.output
    assert second.exit_code == 0 and "0 sessions stored, 1 already stored" in second.output, second.output
    with Store.open(db) as store:
        assert len(store.list_sessions("EX-HIGHUF")) == 1
    # another trace of the same patient is a new session
    changed = tmp_path / "other.csv"
    data = recorded_trace().data
    data["sbp_mmhg"] += 1.0
    data.to_csv(changed, index=False)
    third = runner.invoke(app, ["import", str(changed), *args[2:]])
    assert third.exit_code == 0 and "1 session stored" in third.output
    with Store.open(db) as store:
        assert len(store.list_sessions("EX-HIGHUF")) == 2


@pytest.fixture
def own_tempdir(tmp_path, monkeypatch) -> Path:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def test_demo_on_a_busy_port_fails_before_building(own_tempdir, monkeypatch):
    def must_not_build(*args, **kwargs):
        raise AssertionError("the demo database was built although the port is busy")

    monkeypatch.setattr(crampwatch.demo, "build_demo", must_not_build)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["demo", "--port", str(port), "--no-browser"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "port" in lines[0], result.output
    assert list(own_tempdir.iterdir()) == []


def test_demo_removes_its_temporary_database_on_exit(own_tempdir, monkeypatch):
    seen: list[Path] = []

    def fake_build(store, **kwargs):
        return DemoInfo(0, 0, 0, 0, [("clinician", "c", "p")])

    def fake_run(web_app, host, port):
        seen.extend(own_tempdir.glob("crampwatch-demo-*/demo.db"))

    monkeypatch.setattr(crampwatch.demo, "build_demo", fake_build)
    monkeypatch.setattr(web_cmd, "_run", fake_run)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(app, ["demo", "--port", str(port), "--no-browser"])
    assert result.exit_code == 0, result.output
    assert len(seen) == 1  # the database existed while serving
    assert list(own_tempdir.iterdir()) == []  # and is gone after the demo ended
