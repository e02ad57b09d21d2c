"""``crampwatch analyze`` through typer's CliRunner: output formats and bad input (exit 2, no traceback)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from helpers_traces import BASE, make
from typer.testing import CliRunner

import crampwatch.cli.analyze_cmd  # noqa: F401  (registers the command)
from crampwatch.cli.app import app
from crampwatch.io.traces import write_trace
from crampwatch.model import dump_scenario

runner = CliRunner()


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    trace, sc = make("hypovolemia")
    tp = write_trace(trace, tmp_path / "session.csv")
    sp = tmp_path / "scenario.yaml"
    sp.write_text(yaml.safe_dump(dump_scenario(sc)))
    ep = tmp_path / "events.csv"
    ep.write_text("t_min,kind,severity,note\n175,cramp,7,calf\n")
    return {"trace": tp, "scenario": sp, "events": ep, "dir": tmp_path}


def _invoke(*args: str):
    # Typer runs a lone registered command without its name; with several, the name selects it.
    prefix = ["analyze"] if len(app.registered_commands) > 1 else []
    return runner.invoke(app, [*prefix, *map(str, args)])


def test_json_output(files: dict[str, Path]) -> None:
    r = _invoke(
        files["trace"], "--scenario", files["scenario"], "--events", files["events"], "--json", "--no-fill"
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["session_id"] == "session"
    assert d["causes"][0]["cause"] == "hypovolemia"
    assert d["metrics"]["n_cramps"] == 1
    assert any(e["signal"] == "cramp_event" for e in d["causes"][0]["evidence"])


def test_table_output_and_report(files: dict[str, Path]) -> None:
    report = files["dir"] / "r.html"
    r = _invoke(files["trace"], "--scenario", files["scenario"], "--report", report)
    assert r.exit_code == 0, r.output
    assert "Hypovolemia" in r.stdout and "Lower the UF rate" in r.stdout  # the registry's clinician label
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and "hypovolemia" in html


def test_text_output_and_report_show_evidence_apart_by_direction(files: dict[str, Path]) -> None:
    report = files["dir"] / "r.html"
    r = _invoke(files["trace"], "--scenario", files["scenario"], "--report", report, "--no-fill")
    assert r.exit_code == 0, r.output
    d = json.loads(_invoke(files["trace"], "--scenario", files["scenario"], "--json", "--no-fill").stdout)
    top = d["causes"][0]
    lines = r.stdout.splitlines()
    html = report.read_text()
    for direction, heading in (("supports", "For"), ("against", "Against"), ("context", "Context")):
        items = [e for e in top["evidence"] if e["direction"] == direction]
        assert (f"{heading}:" in lines) is bool(items)
        assert (f"<tbody class='evidence-{direction}'>" in html) is bool(items)
    for_part = re.split(r"\n(?:Against|Context|What to change):\n", r.stdout.split("\nFor:\n")[1])[0]
    assert for_part.count("  - ") == sum(e["direction"] == "supports" for e in top["evidence"])


def test_hemobp_input(files: dict[str, Path]) -> None:
    p = files["dir"] / "vip.csv"
    p.write_text(
        "sbp,dbp,dia_temp_value,conductivity,uf,blood_flow,time\n"
        "150,80,36.5,14.0,1.2,300,0\n120,70,36.5,14.0,1.2,300,60\n95,60,36.5,14.0,1.2,300,120\n"
        "85,55,36.5,14.0,1.2,300,180\n"
    )
    for flag in (["--hemobp"], []):  # the HEMOBP header is also recognised without the flag
        r = _invoke(p, "--scenario", files["scenario"], *flag, "--json", "--no-fill")
        assert r.exit_code == 0, r.output
        d = json.loads(r.stdout)
        assert d["causes"][0]["cause"] == "hypovolemia"
        assert d["metrics"]["uf_rate_ml_h"] == pytest.approx(1200)


BAD_TRACES = {
    "empty": "",
    "missing_t": "time,sbp_mmhg\n0,140\n",
    "text": "t_min,sbp_mmhg\n0,140\n5,abc\n",
    "negative": "t_min,sbp_mmhg\n-3,140\n0,139\n",
    "not_csv": '\x00\x01\x02garbage"\n"unterminated',
}


@pytest.mark.parametrize("name", sorted(BAD_TRACES))
def test_bad_trace_exits_2_with_one_line(files: dict[str, Path], name: str) -> None:
    p = files["dir"] / f"{name}.csv"
    p.write_text(BAD_TRACES[name])
    r = _invoke(p, "--scenario", files["scenario"], "--json")
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    err = r.stderr.strip()
    assert err.startswith("error:") and "\n" not in err


def test_million_rows_exit_2(files: dict[str, Path]) -> None:
    p = files["dir"] / "big.csv"
    with p.open("w") as fh:
        fh.write("t_min,sbp_mmhg\n")
        fh.writelines(f"{i * 0.01},120\n" for i in range(1_000_000))
    r = _invoke(p, "--scenario", files["scenario"], "--json")
    assert r.exit_code == 2 and "rows" in r.stderr and "Traceback" not in r.output


def test_other_bad_inputs_exit_2(files: dict[str, Path]) -> None:
    bad_events = files["dir"] / "bad_events.csv"
    bad_events.write_text("t_min,kind\n10,sneeze\n")
    bad_scenario = files["dir"] / "bad.yaml"
    data = json.loads(json.dumps(BASE))
    data["patient"]["pre_weight_kg"] = 0
    bad_scenario.write_text(yaml.safe_dump(data))
    for args in (
        [files["trace"], "--scenario", files["dir"] / "missing.yaml"],
        [files["dir"] / "missing.csv", "--scenario", files["scenario"]],
        [files["trace"], "--scenario", files["scenario"], "--events", bad_events],
        [files["trace"], "--scenario", bad_scenario],
    ):
        r = _invoke(*args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output and r.stderr.startswith("error:")


def test_report_draws_estimated_signals(files: dict[str, Path]) -> None:
    p = files["dir"] / "sbp_only.csv"
    p.write_text(
        "t_min,sbp_mmhg,uf_cum_l\n"
        + "".join(f"{t},{150 - t / 4},{4.2 * t / 210}\n" for t in range(0, 211, 5))
    )
    report = files["dir"] / "est.html"
    r = _invoke(p, "--scenario", files["scenario"], "--report", report, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert "rbv_pct" in d["estimated_signals"]
    assert "RBV (estimated)" in report.read_text()
