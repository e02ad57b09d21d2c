"""``crampwatch import`` of a trace that does not belong to its scenario: warned about, refused with
``--strict`` (session length, UF volume, patient)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import crampwatch.cli.store_cmd  # noqa: F401  (registers the commands)
from crampwatch.cli.app import app
from crampwatch.io.consistency import mismatches
from crampwatch.io.traces import write_trace
from crampwatch.model import load_scenario
from crampwatch.simulator import simulate
from crampwatch.store import Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
runner = CliRunner()


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> dict[str, Path]:
    """The high-UF example's trace (210 min, 4 L) and the stable example's own trace (240 min, 2 L)."""
    root = tmp_path_factory.mktemp("mismatch")
    out = {}
    for name in ("high_uf", "stable"):
        out[name] = write_trace(simulate(load_scenario(EXAMPLES / f"{name}.yaml")), root / f"{name}.csv")
    return out


def _import(trace: Path, db: str, *extra: str):
    return runner.invoke(
        app, ["import", str(trace), "--scenario", str(EXAMPLES / "stable.yaml"), "--database-url", db, *extra]
    )


def test_a_trace_of_another_prescription_is_warned_about_and_refused_with_strict(traces, tmp_path):
    db = f"sqlite:///{tmp_path / 'import.db'}"
    refused = _import(traces["high_uf"], db, "--strict")
    assert refused.exit_code == 2, refused.output
    assert "does not match the scenario" in refused.output
    assert "session length: the trace runs 210 min, the prescription 240 min" in refused.output
    assert "UF volume: the trace removed 4.00 L, the scenario 2.00 L" in refused.output
    assert "Traceback" not in refused.output
    store = Store.open(url=db)
    try:
        assert store.list_patients() == []  # nothing stored
    finally:
        store.close()
    warned = _import(traces["high_uf"], db)
    assert warned.exit_code == 0, warned.output
    assert warned.output.count("warning: high_uf.csv does not match the scenario") == 2
    assert "imported patient" in warned.output


def test_a_matching_trace_imports_without_a_word(traces, tmp_path):
    db = f"sqlite:///{tmp_path / 'import.db'}"
    ok = _import(traces["stable"], db, "--strict")
    assert ok.exit_code == 0 and "warning" not in ok.output, ok.output


def test_a_trace_naming_another_patient_is_named(traces, tmp_path):
    data = pd.read_csv(traces["stable"])
    data["patient_id"] = "P-OTHER"
    path = tmp_path / "other.csv"
    data.to_csv(path, index=False)
    r = _import(path, f"sqlite:///{tmp_path / 'import.db'}", "--strict")
    assert r.exit_code == 2 and "patient: the trace names P-OTHER, the scenario" in r.output, r.output


def test_mismatches_allow_routine_variation():
    scenario = load_scenario(EXAMPLES / "stable.yaml")
    trace = simulate(scenario)
    assert mismatches(trace, scenario) == []
    short = trace.data[trace.data["t_min"] <= scenario.prescription.duration_min - 10]
    assert mismatches(trace.__class__(short, trace.events, dict(trace.sources)), scenario) == []
