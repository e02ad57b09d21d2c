"""Cohort runs on Dask: a real 2-worker LocalCluster must give the same table as the in-process path."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from crampwatch import cohort
from crampwatch.errors import InputError
from crampwatch.model import load_scenario

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))
N, PARTS, SEED = 24, 3, 11


# ------------------------------------------------------------------------------------ pure pieces


def test_split_sizes():
    assert cohort.split_sizes(10, 3) == [4, 3, 3]
    assert cohort.split_sizes(2, 8) == [1, 1]
    assert sum(cohort.split_sizes(100_003, 8)) == 100_003


def test_scenario_frame_round_trip_json_and_flat_columns():
    scenarios = [load_scenario(p) for p in EXAMPLES]
    assert cohort.frame_to_scenarios(cohort.scenarios_to_frame(scenarios)) == scenarios
    flat = pd.json_normalize([s.model_dump(mode="json", exclude_none=True) for s in scenarios], sep=".")
    flat.columns = [
        f"patient.{c}" if not c.startswith(("patient.", "prescription.")) else c for c in flat.columns
    ]
    simple = [s for s in scenarios if s.prescription.dialysate.na_profile is None]
    rows = flat[[s.prescription.dialysate.na_profile is None for s in scenarios]]
    rows = rows.drop(columns=[c for c in rows.columns if "profile" in c and rows[c].map(type).eq(list).any()])
    got = cohort.frame_to_scenarios(rows)
    assert [g.patient for g in got] == [s.patient for s in simple]


def test_frame_to_scenarios_reports_the_bad_row():
    frame = cohort.scenarios_to_frame([load_scenario(EXAMPLES[0])] * 2)
    bad = json.loads(frame.loc[1, "scenario_json"])
    bad["patient"]["age_years"] = 7
    frame.loc[1, "scenario_json"] = json.dumps(bad)
    with pytest.raises(InputError, match=r"^row 1: patient\.age_years"):
        cohort.frame_to_scenarios(frame)
    with pytest.raises(InputError, match="scenario_json"):
        cohort.frame_to_scenarios(pd.DataFrame({"x": [1]}))


def test_summarize_cohort_on_a_known_table():
    df = pd.DataFrame(
        {
            "top_cause": ["hypovolemia"] * 3 + ["osmotic"],
            "overall_risk": [0.2, 0.6, 0.7, 0.4],
            "idh_risk": [0.1, 0.3, 0.9, 0.1],
            "uf_rate_ml_kg_h": [8.0, 14.0, 15.0, 9.0],
            "sp_ktv": [1.1, 1.3, 1.5, 1.4],
            "score_hypovolemia": [0.2, 0.6, 0.7, 0.1],
            "idh": [1.0, 0.0, np.nan, 0.0],
        }
    )
    got = cohort.summary_to_dict(cohort.summarize_cohort(df))
    assert got["sessions"]["n"] == 4
    assert got["top_cause"] == {"hypovolemia_pct": 75.0, "osmotic_pct": 25.0}
    assert got["mean_score"] == {"hypovolemia": pytest.approx(0.4)}
    assert got["overall_risk"]["gt_0.5_pct"] == 50.0
    assert got["overall_risk"]["p50"] == pytest.approx(0.5)
    assert got["idh"]["sessions_pct"] == pytest.approx(100.0 / 3.0)  # of the 3 sessions with SBP
    assert got["idh"]["mean_risk_pct"] == pytest.approx(35.0)
    assert got["idh"]["risk_gt_0.5_pct"] == 25.0
    assert got["dose"]["uf_rate_gt_13_pct"] == 50.0
    assert got["dose"]["sp_ktv_lt_1.2_pct"] == 25.0
    with pytest.raises(InputError, match="idh_risk"):
        cohort.summarize_cohort(df.drop(columns="idh_risk"))


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({}, "exactly one"),
        ({"n_patients": 5, "parquet_in": "x"}, "exactly one"),
        ({"n_patients": 0}, r"n_patients: 0 is out of range"),
        ({"n_patients": 5, "partitions": 0}, r"partitions: 0 is out of range"),
        ({"scenarios": []}, "scenarios: empty"),
    ],
)
def test_run_cohort_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(InputError, match=pattern):
        cohort.run_cohort(**kwargs)


def test_cohort_idh_share_is_the_validation_cards_idh_rate_on_the_same_population():
    """One IDH number: the cohort's % of sessions with IDH is the rate the validation card computes (nadir
    SBP below the definition in the simulated sessions) for the same virtual population."""
    from crampwatch.population import virtual_population, virtual_population_columns
    from crampwatch.simulator import simulate_batch
    from crampwatch.validation.hemodynamics import idh_rate_pct

    n, seed = 150, 5
    table = cohort.analyze_columns(virtual_population_columns(n, seed=seed))
    summary = cohort.summary_to_dict(cohort.summarize_cohort(table))
    card = idh_rate_pct(simulate_batch(virtual_population(n, seed=seed)))
    assert summary["idh"]["sessions_pct"] == pytest.approx(card, abs=2.0)


# --------------------------------------------------------------------------------- real computations


def require_dask() -> None:
    """Dask is the ``cohort`` extra: without it these tests skip, except under CI (which installs it)."""
    missing = [
        m for m in ("dask.dataframe", "distributed") if importlib.util.find_spec(m.split(".")[0]) is None
    ]
    if not missing:
        return
    problem = f"{', '.join(missing)} not installed (pip install -e '.[cohort]')"
    if os.environ.get("CI"):
        pytest.fail(f"{problem}; CI is set, so the cohort tests must run", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="module")
def local_cluster():
    require_dask()
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0", silence_logs=40
    )
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def in_process() -> pd.DataFrame:
    require_dask()
    return cohort.run_cohort(N, seed=SEED, partitions=PARTS, scheduler="synchronous")


def test_in_process_table_shape_and_values(in_process):
    df = in_process
    assert len(df) == N
    assert df["partition"].tolist() == sorted(df["partition"].tolist())
    assert df["session"].is_unique
    for column in ("top_cause", "overall_risk", "idh_risk", "uf_rate_ml_kg_h", "sp_ktv", "age_years"):
        assert column in df.columns
    scores = [c for c in df.columns if c.startswith("score_")]
    assert {c.removeprefix("score_") for c in scores} <= set(cohort.CAUSE_IDS) and scores
    assert df[scores].to_numpy().min() >= 0 and df[scores].to_numpy().max() <= 1
    assert df["overall_risk"].between(0, 1).all() and df["idh_risk"].between(0, 1).all()
    # top_cause is the argmax of the cause scores ("none" when every score is 0)
    matrix = df[scores].to_numpy()
    expected = [s.removeprefix("score_") for s in np.array(scores)[matrix.argmax(axis=1)]]
    expected = [c if m > 0 else "none" for c, m in zip(expected, matrix.max(axis=1), strict=True)]
    assert df["top_cause"].tolist() == expected
    assert df["sp_ktv"].notna().all() and df["sp_ktv"].between(0.3, 4).all()
    # UF rate uses the post-dialysis weight (Flythe 2011)
    post = df["pre_weight_kg"] - df["uf_volume_l"]
    np.testing.assert_allclose(
        df["uf_rate_ml_kg_h"], df["uf_volume_l"] * 1000 / (df["duration_min"] / 60) / post
    )
    # patients differ (the seeds of the partitions differ)
    assert df["age_years"].nunique() > N // 2


def test_in_process_equals_direct_partition_calls(in_process):
    from crampwatch.population import virtual_population

    sizes = cohort.split_sizes(N, PARTS)
    direct = pd.concat(
        [cohort.analyze_scenarios(virtual_population(n, seed=SEED + k)) for k, n in enumerate(sizes)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(in_process.drop(columns=["session", "partition"]), direct)


def test_local_cluster_result_equals_in_process(local_cluster, in_process):
    distributed_df = cohort.run_cohort(
        N, seed=SEED, partitions=PARTS, scheduler=local_cluster.scheduler_address
    )
    pd.testing.assert_frame_equal(distributed_df, in_process)
    run = distributed_df.attrs["cohort_run"]
    assert run.sessions == N and run.seconds > 0 and run.scheduler.startswith("cluster at tcp://")
    other_seed = cohort.run_cohort(N, seed=SEED + 100, partitions=PARTS, scheduler="synchronous")
    assert not np.allclose(other_seed["age_years"], in_process["age_years"])


def test_chunking_does_not_change_results():
    scenarios = [load_scenario(p) for p in EXAMPLES]
    whole = cohort.analyze_scenarios(scenarios)
    pd.testing.assert_frame_equal(cohort.analyze_scenarios(scenarios, chunk=2), whole)


def test_parquet_in_and_out(tmp_path, local_cluster):
    scenarios = [load_scenario(p) for p in EXAMPLES] * 2
    src = cohort.write_scenarios_parquet(scenarios, tmp_path / "in", partitions=3)
    assert len(list(src.glob("*.parquet"))) == 3
    out = tmp_path / "out"
    df = cohort.run_cohort(parquet_in=str(src), out=str(out), scheduler=local_cluster.scheduler_address)
    assert len(df) == len(scenarios)
    assert df["patient_id"].tolist() == [s.patient.id for s in scenarios]
    assert len(list(out.glob("*.parquet"))) == 3
    assert df["partition"].tolist() == [0] * 4 + [1] * 3 + [2] * 3  # one Dask partition per file
    assert df["session"].is_unique
    back = pd.read_parquet(out).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    expected = cohort.analyze_scenarios(scenarios)
    pd.testing.assert_frame_equal(df.drop(columns=["session", "partition"]), expected)


def _cli():
    """A Typer app holding only the cohort command (the full app also needs every other command module)."""
    import typer

    from crampwatch.cli import cohort_cmd
    from crampwatch.cli.app import app

    assert any(c.name == "cohort" for c in app.registered_commands)
    single = typer.Typer()
    single.command("cohort")(cohort_cmd.cohort_command)
    return single


def test_cli_cohort_json_and_table(local_cluster, monkeypatch):
    cli = _cli()
    runner = CliRunner()
    address = local_cluster.scheduler_address
    result = runner.invoke(cli, ["--patients", "12", "--partitions", "2", "--scheduler", address, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["summary"]["sessions"]["n"] == 12
    assert sum(payload["summary"]["top_cause"].values()) == pytest.approx(100.0)
    result = runner.invoke(cli, ["--patients", "6", "--partitions", "2", "--scheduler", "synchronous"])
    assert result.exit_code == 0, result.output
    assert "Cohort of 6 sessions" in result.output and "Leading cause, % of sessions" in result.output
    assert "top_cause" not in result.output and "_pct" not in result.output  # words, not identifiers
    result = runner.invoke(cli, ["--patients", "0"])
    assert result.exit_code == 2
    assert (
        "'--patients'" in result.output and "n_patients" not in result.output
    )  # the option, not the parameter
    monkeypatch.setattr(cohort, "CONNECT_TIMEOUT_S", 1)
    result = runner.invoke(cli, ["--scheduler", "tcp://127.0.0.1:1", "--patients", "2"])
    assert result.exit_code == 2
    assert "scheduler: cannot connect" in result.output
