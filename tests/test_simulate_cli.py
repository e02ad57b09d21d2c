"""``crampwatch simulate``: writes CSV/Parquet traces and a figure; bad input -> one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import crampwatch.cli.main  # noqa: F401  (registers every command)
from crampwatch.cli.app import app
from crampwatch.trace import SIGNALS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "stable.yaml"
runner = CliRunner()


def test_simulate_csv_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "trace.csv"
    png = tmp_path / "trace.png"
    r = runner.invoke(app, ["simulate", str(EXAMPLE), "--out", str(out), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert df.columns[0] == "t_min"
    assert set(SIGNALS) <= set(df.columns)
    assert set(df["source"]) == {"simulated"}
    assert len(df) == 241
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_simulate_parquet(tmp_path: Path) -> None:
    out = tmp_path / "trace.parquet"
    r = runner.invoke(app, ["simulate", str(EXAMPLE), "--out", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert df["rbv_pct"].iloc[0] == 100.0


def test_bad_extension_is_one_line_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["simulate", str(EXAMPLE), "--out", str(tmp_path / "trace.txt")])
    assert r.exit_code == 2
    assert "--out" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_invalid_scenario_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("height_cm: 176", "height_cm: 900"))
    r = runner.invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "t.csv")])
    assert r.exit_code == 2
    assert "height_cm" in r.output
    assert len(r.output.strip().splitlines()) == 1
    missing = runner.invoke(app, ["simulate", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "t.csv")])
    assert missing.exit_code == 2


def test_plot_trace_with_cramp_markers(tmp_path: Path) -> None:
    from crampwatch.model import load_scenario
    from crampwatch.plotting import plot_trace
    from crampwatch.simulator import simulate

    trace = simulate(load_scenario(EXAMPLE))
    events = pd.DataFrame({"t_min": [150.0], "kind": ["cramp"], "severity": [6.0], "note": ["calf"]})
    out = plot_trace(trace.with_events(events), tmp_path / "p.png", title="with a cramp")
    assert out.stat().st_size > 10_000
    partial = trace.data[["t_min", "sbp_mmhg"]].copy()  # a measured trace with one signal still plots
    from crampwatch.trace import Trace

    assert plot_trace(Trace(partial), tmp_path / "q.png").exists()


def test_out_to_missing_folder_is_one_line_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["simulate", str(EXAMPLE), "--out", "/nonexistent/dir/x.csv"])
    assert r.exit_code == 2
    assert "--out" in r.output and "/nonexistent/dir" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert "Traceback" not in r.output


def test_plot_to_missing_folder_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "trace.csv"
    r = runner.invoke(
        app, ["simulate", str(EXAMPLE), "--out", str(out), "--plot", str(tmp_path / "missing" / "x.png")]
    )
    assert r.exit_code == 2
    assert "--plot" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_after_min_adds_the_post_dialysis_phase(tmp_path: Path) -> None:
    out = tmp_path / "trace.csv"
    r = runner.invoke(app, ["simulate", str(EXAMPLE), "--out", str(out), "--after-min", "30"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert len(df) == 241 + 30
    after = df[df["t_min"] > 240]
    assert (after["qb_ml_min"] == 0).all() and (after["uf_rate_ml_h"] == 0).all()
    assert after["urea_mmol_l"].iloc[-1] > df.loc[df["t_min"] == 240, "urea_mmol_l"].iloc[0]


def test_after_min_out_of_range_is_one_line_exit_2(tmp_path: Path) -> None:
    for bad in ("121", "-1", "nan"):
        r = runner.invoke(
            app, ["simulate", str(EXAMPLE), "--out", str(tmp_path / "t.csv"), "--after-min", bad]
        )
        assert r.exit_code == 2, bad
        assert "--after-min" in r.output and "0–120" in r.output
        assert len(r.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
