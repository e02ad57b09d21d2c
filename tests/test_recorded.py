"""Recorded cohorts: the HEMOBP reader on the shipped slice, the batch analysis against ``assess``, outputs,
resume after a killed run, and memory that does not grow with the history."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crampwatch.causes import assess
from crampwatch.causes.registry import CAUSES
from crampwatch.io.hemobp import read_hemobp
from crampwatch.recorded.prepare import prepare_hemobp_partition
from crampwatch.recorded.report import unit_wide_changes
from crampwatch.recorded.run import run_recorded
from crampwatch.scenario_table import scenario_of_row

SLICE = Path(__file__).parent / "data" / "hemobp_slice"
TRUTH = json.loads((SLICE / "truth.json").read_text())
ROOT = Path(__file__).resolve().parents[1]


def _table(out: Path, folder: str = "sessions") -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in sorted((out / folder).glob("part-*.parquet"))]
    table = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return table.sort_values([c for c in ("session_id", "patient_id") if c in table]).reset_index(drop=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("slice-run")
    result = run_recorded(SLICE, out, scheduler="synchronous", partitions=3)
    return out, result


def test_the_reader_reads_every_table_and_counts_each_defect(run):
    out, result = run
    quality = json.loads((out / "quality.json").read_text())["quality"]
    defects = TRUTH["defects"]
    assert quality["patients"] == TRUTH["patients"]
    assert quality["records_rows_read"] == TRUTH["records"]
    assert quality["records_repeated_time"] == defects["duplicate_records"]
    assert quality["session_rows_repeated"] == defects["duplicate_days"]
    assert quality["monitor_days_without_session_row"] == defects["day_without_session_row"]
    table = _table(out)
    assert len(table) == result.sessions == TRUTH["sessions"]
    missing_weight = table["status"].str.startswith("patient.pre_weight_kg: missing")
    assert missing_weight.sum() == defects["missing_start_weight"]
    assert result.analysed == len(table) - missing_weight.sum()
    assert table.loc[table["status"] == "analysed", "overall_risk"].between(0, 1).all()


def test_missing_values_are_read_as_missing_not_zero(run):
    out, _ = run
    with (SLICE / "vip.csv").open() as fh:
        missing_sbp = sum(1 for row in csv.DictReader(fh) if row["sbp"] in ("", "NA"))
    assert missing_sbp >= TRUTH["defects"]["missing_bp"] > 0
    staged = pd.concat(pd.read_parquet(p) for p in (out / "staged" / "records").glob("*.parquet"))
    assert staged["sbp_mmhg"].isna().sum() == missing_sbp
    assert (staged["sbp_mmhg"] > 0).sum() == len(staged) - missing_sbp


def test_out_of_order_and_repeated_rows_give_the_same_table(run, tmp_path):
    out, _ = run
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for name in ("idp.csv", "d1.csv"):
        shutil.copy(SLICE / name, shuffled / name)
    vip = pd.read_csv(SLICE / "vip.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(0)
    vip = vip.iloc[rng.permutation(len(vip))]
    vip = pd.concat([vip, vip.iloc[::10]])  # each repeated row comes after its first copy
    vip.to_csv(shuffled / "vip.csv", index=False)
    again = run_recorded(shuffled, tmp_path / "out", scheduler="synchronous", twins=False, report=False)
    a, b = _table(out), _table(tmp_path / "out")
    pd.testing.assert_frame_equal(a, b)
    assert again.sessions == len(a)


def _single_session_file(rows: pd.DataFrame, path: Path) -> Path:
    rows.drop(columns=["pid", "datatime", "measuretime"]).to_csv(path, index=False)
    return path


def test_each_session_is_analysed_as_assess_analyses_it(run, tmp_path):
    out, _ = run
    table = _table(out)
    vip = pd.read_csv(SLICE / "vip.csv", dtype=str, keep_default_na=False)
    staged = out / "staged"
    patients = pd.read_parquet(staged / "patients.parquet")
    checked = 0
    for k in range(3):
        prep = prepare_hemobp_partition(staged, k, patients)
        ids = prep.ids.loc[prep.ids["status"] == "analysed"].reset_index(drop=True)
        for i in range(0, len(ids), 9):
            sid = ids.at[i, "session_id"]
            pid, day = sid.split("-", 1)
            rows = vip[(vip["pid"] == pid) & (vip["datatime"].str.slice(0, 10) == day)]
            trace, _ = read_hemobp(_single_session_file(rows, tmp_path / f"{sid}.csv"))
            a = assess(trace, scenario_of_row(prep.cols, i))
            row = table.loc[table["session_id"] == sid].iloc[0]
            scores = {f.cause: f.score for f in a.causes}
            assert row["overall_risk"] == pytest.approx(a.overall_risk, abs=1e-9)
            assert row["idh_risk"] == pytest.approx(a.idh_risk, abs=1e-9)
            for cause in CAUSES:
                assert row[f"score_{cause}"] == pytest.approx(scores[cause], abs=1e-9), cause
            assert row["uf_rate_ml_kg_h"] == pytest.approx(a.metrics["uf_rate_ml_kg_h"], rel=1e-9)
            checked += 1
    assert checked >= 20


def test_a_sparse_record_is_analysed_on_the_simulated_grid_as_assess_does(tmp_path):
    d1 = pd.read_csv(SLICE / "d1.csv", dtype=str, keep_default_na=False)
    vip = pd.read_csv(SLICE / "vip.csv", dtype=str, keep_default_na=False)
    first = d1[(d1["pid"] == "2") & (d1["weightstart"] != "NA")].iloc[:1]
    day = first["keyindate"].iloc[0][:10]
    rows = vip[(vip["pid"] == "2") & (vip["datatime"].str.slice(0, 10) == day)].iloc[:6]
    folder = tmp_path / "sparse"
    folder.mkdir()
    shutil.copy(SLICE / "idp.csv", folder / "idp.csv")
    first.to_csv(folder / "d1.csv", index=False)
    rows.to_csv(folder / "vip.csv", index=False)
    run_recorded(folder, tmp_path / "out", scheduler="synchronous", twins=False, report=False)
    row = _table(tmp_path / "out").iloc[0]
    staged = tmp_path / "out" / "staged"
    prep = prepare_hemobp_partition(staged, 0, pd.read_parquet(staged / "patients.parquet"))
    trace, _ = read_hemobp(_single_session_file(rows, tmp_path / "one.csv"))
    a = assess(trace, scenario_of_row(prep.cols, 0))
    assert row["n_records"] == 6
    assert row["overall_risk"] == pytest.approx(a.overall_risk, abs=1e-9)
    assert row["score_hypovolemia"] == pytest.approx(
        next(f.score for f in a.causes if f.cause == "hypovolemia")
    )


def test_a_patient_with_one_session_is_summarised_without_trend_or_twin(run):
    out, _ = run
    patients = _table(out, "patients").set_index("patient_id")
    single = TRUTH["single_session_patients"][0]
    assert patients.at[single, "sessions"] == 1
    assert np.isnan(patients.at[single, "risk_trend_per_30_days"])
    assert np.isnan(patients.at[single, "twin_refill_capacity"])
    fitted = patients["twin_refill_capacity"].notna()
    assert fitted.sum() >= 1
    assert (
        patients.loc[fitted, "twin_refill_capacity_ci_low"] <= patients.loc[fitted, "twin_refill_capacity"]
    ).all()


def test_the_unit_wide_dialysate_change_is_found_in_its_month(run):
    out, _ = run
    changes = _table(out, "changes").assign(date=lambda c: pd.to_datetime(c["date"]))
    sessions = _table(out)
    sessions["session_date"] = pd.to_datetime(sessions["session_date"])
    wide = unit_wide_changes(changes, sessions.loc[sessions["status"] == "analysed"])
    temp = wide.loc[wide["setting"] == "dialysate_temp_c"]
    assert list(temp["month"].dt.strftime("%Y-%m")) == [TRUTH["unit_change"][:7]]
    assert temp["before"].iloc[0] == pytest.approx(36.5) and temp["after"].iloc[0] == pytest.approx(36.0)
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 2
    assert "Dialysate temperature (°C) lowered" in html


def _run_script(source: Path, out: Path) -> list[str]:
    code = (
        "import sys; from crampwatch.recorded.run import run_recorded; "
        f"run_recorded({str(source)!r}, {str(out)!r}, scheduler='synchronous', partitions=4, twins=False, "
        "report=False)"
    )
    return [sys.executable, "-c", code]


def test_a_killed_run_resumes_without_redoing_finished_partitions(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_run_script(SLICE, out), cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "done").glob("*.json"))) < 1:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in (out / "done").glob("*.json")}
    assert 1 <= len(done) < 4
    resumed = run_recorded(SLICE, out, scheduler="synchronous", partitions=4, twins=False, report=False)
    assert resumed.resumed == len(done)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "done").glob("*.json") if p.name in done} == done
    fresh = run_recorded(SLICE, tmp_path / "fresh", scheduler="synchronous", partitions=4, twins=False)
    assert fresh.resumed == 0
    pd.testing.assert_frame_equal(_table(out), _table(tmp_path / "fresh"))


def test_the_command_reports_a_missing_history_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crampwatch",
            "cohort",
            "--recorded",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: recorded:")
    assert "Traceback" not in result.stderr


def _peak_traced_mib(source: Path, out: Path, **options) -> float:
    import tracemalloc

    tracemalloc.start()
    try:
        run_recorded(source, out, scheduler="synchronous", twins=False, report=False, **options)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded_when_the_history_outgrows_the_budget(tmp_path):
    from crampwatch.recorded.synthetic import END, START, write_synthetic_hemobp

    last = (END - START).days // 7 - 1
    for name, patients, weeks in (("warm", 1, 2), ("small", 2, 6), ("large", 8, 6)):
        write_synthetic_hemobp(tmp_path / name, patients=patients, seed=2, weeks=(last - weeks, last))
    budget_mb = 0.25  # a partition gets a quarter of it as text: the large history needs several
    assert (tmp_path / "large" / "vip.csv").stat().st_size > 2 * budget_mb * 2**20 / 4
    _peak_traced_mib(tmp_path / "warm", tmp_path / "o0", memory_mb=budget_mb)  # imports, compiled code
    peak_small = _peak_traced_mib(tmp_path / "small", tmp_path / "o1", memory_mb=budget_mb)
    peak_large = _peak_traced_mib(tmp_path / "large", tmp_path / "o2", memory_mb=budget_mb)
    manifest = json.loads((tmp_path / "o2" / "staged" / "manifest.json").read_text())
    assert manifest["partitions"] >= 2
    peak_whole = _peak_traced_mib(tmp_path / "large", tmp_path / "o3", partitions=1, chunk=10**6)
    assert peak_large < 2.5 * peak_small  # four times the history, not four times the memory
    assert peak_whole > 3.0 * peak_large  # the bound comes from the partitions and chunks


def test_the_learning_table_on_dask_equals_the_one_built_in_process(tmp_path):
    from crampwatch.learn.inputs import traces_table
    from crampwatch.learn.virtual import simulate_unit, unit_scenarios
    from crampwatch.recorded.learning import virtual_unit_inputs
    from crampwatch.recorded.traces import TraceDatasetWriter
    from crampwatch.scenario_table import scenario_columns
    from crampwatch.simulator import simulate_batch
    from crampwatch.trace import Trace

    scenarios = unit_scenarios(8, 3, seed=4)
    table, drivers = simulate_unit(scenarios)
    on_dask, drivers_on_dask = virtual_unit_inputs(scenarios, partitions=3, scheduler="synchronous")
    pd.testing.assert_frame_equal(on_dask, table)
    pd.testing.assert_frame_equal(drivers_on_dask, drivers)
    # a recorded history: the table of its recorded signals, with cramp labels from its events
    batch = simulate_batch(scenarios)
    writer = TraceDatasetWriter(tmp_path / "history")
    sessions = pd.DataFrame({"patient_id": [s.patient.id for s in scenarios]})
    sessions["session_id"] = [f"S{i}" for i in range(len(scenarios))]
    sessions["session_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(scenarios)), "D")
    for name, values in scenario_columns(scenarios).items():
        if name != "patient.id":
            sessions[name] = values
    keep = np.arange(0, len(batch.t_min), 10)
    traces = []
    for i, sid in enumerate(sessions["session_id"]):
        frame = pd.DataFrame(
            {"patient_id": scenarios[i].patient.id, "session_id": sid, "t_min": batch.t_min[keep]}
        )
        for name in ("sbp_mmhg", "rbv_pct", "plasma_na_mmol_l", "mg_mmol_l"):
            frame[name] = batch.signals[name][i, keep]
        traces.append(frame.dropna(subset=["sbp_mmhg"]))
    writer.add(sessions, pd.concat(traces, ignore_index=True))
    writer.close()
    pd.DataFrame({"session_id": ["S1", "S4"], "t_min": [100.0, 50.0], "kind": ["cramp", "cramp"]}).to_parquet(
        tmp_path / "history" / "events.parquet"
    )
    run_recorded(tmp_path / "history", tmp_path / "out", scheduler="synchronous", twins=False, learning=True)
    got = _table(tmp_path / "out", "learning").sort_values("session_id", key=lambda s: s.str[1:].astype(int))
    expected = traces_table(
        [Trace(t.drop(columns=["patient_id", "session_id"]).reset_index(drop=True)) for t in traces],
        scenarios,
    )
    pd.testing.assert_frame_equal(got[list(expected.columns)].reset_index(drop=True), expected, rtol=1e-12)
    assert got.set_index("session_id")["cramp"].to_dict() == {f"S{i}": int(i in (1, 4)) for i in range(24)}


def test_the_store_is_analysed_as_a_recorded_history(tmp_path):
    from datetime import UTC, datetime, timedelta

    from typer.testing import CliRunner

    from crampwatch.cli.main import app
    from crampwatch.population import virtual_population
    from crampwatch.simulator import simulate
    from crampwatch.store import Store

    url = f"sqlite:///{tmp_path / 'unit.db'}"
    scenarios = virtual_population(2, seed=8)
    expected = {}
    with Store.open(url) as store:
        for scenario in scenarios:
            store.add_patient(scenario.patient)
            for day in range(3):
                trace = simulate(scenario)
                sid = store.add_session(
                    scenario.patient.id,
                    scenario.prescription,
                    trace,
                    started_at=datetime(2024, 5, 6, 8, tzinfo=UTC) + timedelta(days=2 * day),
                )
                expected[sid] = assess(trace, scenario).overall_risk
    result = CliRunner().invoke(
        app,
        ["cohort", "--recorded", url, "--out", str(tmp_path / "out"), "--scheduler", "synchronous", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["analysed"] == 6
    table = _table(tmp_path / "out").set_index("session_id")
    for sid, risk in expected.items():
        assert table.at[sid, "overall_risk"] == pytest.approx(risk, abs=1e-9)
