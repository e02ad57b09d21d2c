"""``crampwatch weekly``: JSON keys, Rich table, one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest
import typer
from test_weekly import WEEK
from typer.testing import CliRunner

import crampwatch.cli.weekly_cmd  # noqa: F401  (registers the command)
from crampwatch.cli.app import app
from crampwatch.weekly import simulate_week

#: Command-line option of each simulate_week argument; BASE passes the prescription WEEK.
OPTIONS = {
    "duration_h": "--duration-h",
    "qb_ml_min": "--qb",
    "qd_ml_min": "--qd",
    "koa_ml_min": "--koa",
    "hct_pct": "--hct",
    "generation_mg_day": "--generation-mg-day",
    "v_l": "--v-l",
}
BASE = [arg for name, value in WEEK.items() for arg in (OPTIONS[name], str(value))]


def _invoke(args: list[str]):
    """Run ``crampwatch weekly ARGS`` (Typer runs a lone registered command without its name)."""
    is_group = isinstance(typer.main.get_command(app), typer.core.TyperGroup)
    return CliRunner().invoke(app, (["weekly"] if is_group else []) + args)


def test_json_output_has_contract_keys_and_matches_library() -> None:
    res = _invoke([*BASE, "--kr", "2", "--days", "mon,wed,fri", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    for key in ("avg_clearance_ml_min", "tac_mg_dl", "avg_peak_mg_dl", "std_ktv", "sp_ktv"):
        assert isinstance(data[key], float), key
    lib = simulate_week(**WEEK, kr_ml_min=2)
    assert data["tac_mg_dl"] == pytest.approx(lib.tac_mg_dl, rel=1e-12)
    assert data["days"] == ["mon", "wed", "fri"]


def test_table_output() -> None:
    res = _invoke([*BASE, "--days", "tue,thu,sat"])
    assert res.exit_code == 0, res.output
    assert "standard Kt/V" in res.stdout
    assert "TAC" in res.stdout
    lib = simulate_week(**WEEK, days="tue,thu,sat")
    assert f"{lib.tac_mg_dl:.1f}" in res.stdout


def test_two_pool_with_fluid_gain() -> None:
    res = _invoke([*BASE, "--model", "two_pool", "--fluid-gain-l-day", "1.5", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["uf_l_sessions"] == pytest.approx([4.5, 3.0, 3.0])


@pytest.mark.parametrize(
    ("replace", "value", "field"),
    [
        ("--qb", "0", "qb_ml_min"),
        ("--v-l", "-5", "v_l"),
        ("--days", "", "days"),
        ("--days", "mon,funday", "days"),
        ("--hct", "95", "hct_pct"),
    ],
)
def test_bad_input_exits_2_with_one_line(replace: str, value: str, field: str) -> None:
    args = list(BASE)
    if replace in args:
        args[args.index(replace) + 1] = value
    else:
        args += [replace, value]
    res = _invoke(args)
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error:")
    assert field in lines[0]
    assert "Traceback" not in res.output
