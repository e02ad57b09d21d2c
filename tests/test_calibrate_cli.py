"""``crampwatch calibrate`` and ``crampwatch analyze --calibration`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from crampwatch.cli.main import app
from crampwatch.io.traces import write_trace
from crampwatch.learn.inputs import input_table
from crampwatch.learn.virtual import rule_drivers, rule_logit, unit_scenarios
from crampwatch.model import dump_scenario
from crampwatch.simulator import simulate_batch
from crampwatch.trace import Trace

runner = CliRunner()
#: Columns written to the session files (a machine export records these; fewer columns read faster).
COLUMNS = [
    "t_min",
    "rbv_pct",
    "sbp_mmhg",
    "dbp_mmhg",
    "uf_cum_l",
    "plasma_na_mmol_l",
    "osm_mosm_kg",
    "ica_mmol_l",
    "mg_mmol_l",
    "hco3_mmol_l",
    "urea_mmol_l",
]


@pytest.fixture(scope="module")
def unit_dir(tmp_path_factory) -> Path:
    """A manifest of 60 sessions of 20 patients whose cramps follow the plasma-Na fall (top quarter)."""
    folder = tmp_path_factory.mktemp("unit")
    scenarios = unit_scenarios(20, 3, seed=5)
    batch = simulate_batch(scenarios)
    table = input_table(batch.t_min, batch.signals, scenarios)
    eta = rule_logit("sodium", table, rule_drivers(batch.t_min, batch.signals))
    cramp = eta > np.quantile(eta, 0.75)
    rows = ["trace,scenario,events"]
    for i, sc in enumerate(scenarios):
        trace = batch.trace(i)
        trace = Trace(trace.data[COLUMNS], sources={c: "measured" for c in COLUMNS[1:]}, session_id=f"s{i}")
        write_trace(trace, folder / f"s{i}.csv")
        (folder / f"s{i}.yaml").write_text(yaml.safe_dump(dump_scenario(sc)))
        kind = "cramp" if cramp[i] else "other"
        (folder / f"e{i}.csv").write_text(f"t_min,kind,severity,note\n150,{kind},5,\n")
        rows.append(f"s{i}.csv,s{i}.yaml,e{i}.csv")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder


def _run(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def test_calibrate_then_analyze_with_the_unit_model(unit_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.json"
    r = _run("calibrate", unit_dir / "manifest.csv", "--out", out, "--json")
    assert r.exit_code == 0, r.output
    printed = json.loads(r.output)
    assert printed == json.loads(out.read_text())
    assert printed["training"]["sessions"] == 60 and printed["training"]["patients"] == 20
    assert printed["training"]["cramp_sessions"] == 15
    assert printed["uses_prior"] is False, printed["decision"]
    assert printed["training"]["cv_model"]["auroc"] > printed["training"]["prior"]["auroc"]

    r = _run(
        "analyze", unit_dir / "s0.csv", "--scenario", unit_dir / "s0.yaml", "--calibration", out, "--json"
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    block = result["risk_model"]
    assert block["name"] == "unit model" and block["risk"] == result["overall_risk"]
    assert block["analyzer_risk"] != result["overall_risk"]
    for cause in result["causes"]:
        weight = [e for e in cause["evidence"] if e["signal"] == "unit_model_weight"]
        assert len(weight) == 1 and weight[0]["source"].startswith("unit model of")
    plain = _run("analyze", unit_dir / "s0.csv", "--scenario", unit_dir / "s0.yaml", "--json")
    assert "risk_model" not in json.loads(plain.output)
    assert {c["cause"]: c["score"] for c in json.loads(plain.output)["causes"]} == {
        c["cause"]: c["score"] for c in result["causes"]
    }  # the causes keep their scores


def test_calibrate_prints_the_comparison(unit_dir: Path, capsys) -> None:
    from crampwatch.cli.calibrate_cmd import _print
    from crampwatch.learn import train_unit_model
    from crampwatch.learn.virtual import virtual_unit

    u = virtual_unit("sodium", 20, 3, seed=1)
    _print(train_unit_model(u.table, u.cramp, u.patient_ids), Path("m.json"), 3)
    text = capsys.readouterr().out
    assert "60 sessions of 20 patients" in text and "analyzer risk (prior)" in text
    assert "Hypomagnesemia" in text and "hypomagnesemia" not in text  # the cause's label, not its id
    assert "Decision:" in text and "stored as unit model 3" in text


def _one_line_error(r) -> str:
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in r.output
    return lines[0]


def test_bad_input_is_one_line_exit_2(unit_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    assert "does not exist" in _one_line_error(_run("calibrate", tmp_path / "nope.csv", "--out", out))
    bad = tmp_path / "bad.csv"
    bad.write_text("trace,events\ns0.csv,e0.csv\n")
    assert "missing column scenario" in _one_line_error(_run("calibrate", bad, "--out", out))
    missing = tmp_path / "missing.csv"
    missing.write_text(f"trace,scenario\n{unit_dir / 's0.csv'},absent.yaml\n")
    assert "absent.yaml does not exist" in _one_line_error(_run("calibrate", missing, "--out", out))
    assert "exactly one" in _one_line_error(_run("calibrate", "--out", out))
    assert not out.exists()  # nothing half-written
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "crampwatch-unit-model", "format_version": 99}))
    line = _one_line_error(
        _run("analyze", unit_dir / "s0.csv", "--scenario", unit_dir / "s0.yaml", "--calibration", other)
    )
    assert "format_version 99 is not supported (allowed 1)" in line
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    line = _one_line_error(
        _run("analyze", unit_dir / "s0.csv", "--scenario", unit_dir / "s0.yaml", "--calibration", broken)
    )
    assert "not valid JSON" in line
