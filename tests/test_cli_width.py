"""``analyze``, ``optimize`` and ``validate`` tables fit an 80-column terminal: cells fold, nothing is cut
off."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from crampwatch.cli.main import app
from crampwatch.model import load_scenario
from crampwatch.simulator import simulate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _check_80(output: str) -> None:
    assert "…" not in output  # Rich's truncation mark
    assert max(len(line) for line in output.splitlines()) <= 80


def test_optimize_table_fits_80_columns():
    r = CliRunner().invoke(
        app,
        ["optimize", str(EXAMPLES / "first_session_high_bun.yaml"), "--ensemble", "1"],
        env={"COLUMNS": "80"},
    )
    assert r.exit_code == 0, r.output
    _check_80(r.stdout)
    assert "predicted" in r.stdout and "Sessions" in r.stdout  # headers wrap inside their column


def test_analyze_table_fits_80_columns(tmp_path):
    sc = load_scenario(EXAMPLES / "high_uf.yaml")
    trace = tmp_path / "t.csv"
    simulate(sc).data.to_csv(trace, index=False)
    r = CliRunner().invoke(
        app, ["analyze", str(trace), "--scenario", str(EXAMPLES / "high_uf.yaml")], env={"COLUMNS": "80"}
    )
    assert r.exit_code == 0, r.output
    _check_80(r.stdout)
    assert "Hypovolemia" in r.stdout and "UF rate" in r.stdout


def test_validate_table_fits_80_columns():
    r = CliRunner().invoke(app, ["validate", "--check", "tv_watson"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    _check_80(r.stdout)
    assert "Watson PE" in r.stdout and "1980;33:27" in r.stdout  # the source stays, under the check
