"""``crampwatch watch``: the contract's JSON Lines on the examples and on the sparse machine export, one test
per contract field, and bad input (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import crampwatch.cli.watch_cmd  # noqa: F401  (registers the command)
from crampwatch.causes import CAUSES
from crampwatch.causes.advice import LOWER_UF_MIN, PAUSE_UF_MIN, lower_uf_rate_action, pause_uf_action
from crampwatch.cli.app import app
from crampwatch.io.traces import write_trace
from crampwatch.live.policy import LEVELS
from crampwatch.model import load_scenario
from crampwatch.simulator import simulate
from crampwatch.trace import Trace

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
MACHINE = ROOT / "examples" / "machine"
CONTRACT_KEYS = ("t_min", "cramp_risk_30min", "level", "cause", "action", "forecast_30min")
BAND_KEYS = ("rbv_pct", "rbv_pct_lo", "rbv_pct_hi", "sbp_mmhg", "sbp_mmhg_lo", "sbp_mmhg_hi")
runner = CliRunner()


def invoke(*args: object):
    prefix = ["watch"] if len(app.registered_commands) > 1 else []
    return runner.invoke(app, [*prefix, *map(str, args)])


def sparse_trace(scenario: Path, tmp: Path, every_min: int = 5) -> Path:
    """The example simulated, recorded like a machine: RBV, BP, UF rate and conductivity every few minutes."""
    tr = simulate(load_scenario(scenario))
    cols = ["t_min", "rbv_pct", "sbp_mmhg", "dbp_mmhg", "uf_rate_ml_h", "conductivity_ms_cm"]
    data = tr.data.loc[tr.data["t_min"] % every_min == 0, cols].reset_index(drop=True)
    return write_trace(Trace(data), tmp / f"{scenario.stem}.csv")


def lines(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(x) for x in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def machine_lines() -> list[dict]:
    return lines(invoke(MACHINE / "machine.csv", "--scenario", MACHINE / "patient.yaml", "--json"))


@pytest.fixture(scope="module")
def high_uf_lines(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("watch")
    trace = sparse_trace(ROOT / "examples" / "high_uf.yaml", tmp, every_min=2)
    policy = tmp / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "watch_on": 0.02,
                "watch_off": 0.01,
                "alert_on": 0.04,
                "consecutive_updates": 2,
                "relative_to_start": False,
            }
        )  # fmt: skip
    )
    return lines(
        invoke(trace, "--scenario", ROOT / "examples" / "high_uf.yaml", "--policy", policy, "--json")
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_watch_runs_on_every_example(example: Path, tmp_path: Path) -> None:
    trace = sparse_trace(example, tmp_path)
    out = lines(invoke(trace, "--scenario", example, "--json"))
    times = [d["t_min"] for d in out]
    assert times == list(range(0, int(load_scenario(example).prescription.duration_min) + 1, 5))
    assert all(set(CONTRACT_KEYS) <= set(d) for d in out)


def test_watch_runs_on_the_sparse_machine_export(machine_lines) -> None:
    times = [d["t_min"] for d in machine_lines]
    assert times == list(range(0, 241, 15))  # one line per row of machine.csv (BP every 15 min, no RBV)
    assert all(
        d["forecast_30min"]["rbv_pct"] is not None for d in machine_lines
    )  # RBV forecast from the model


def test_field_t_min_follows_the_trace_rows(machine_lines) -> None:
    assert [d["t_min"] for d in machine_lines] == sorted(d["t_min"] for d in machine_lines)
    assert all(isinstance(d["t_min"], int) for d in machine_lines)


def test_field_cramp_risk_is_a_probability_on_every_line(machine_lines, high_uf_lines) -> None:
    for d in machine_lines + high_uf_lines:
        assert isinstance(d["cramp_risk_30min"], float) and 0.0 <= d["cramp_risk_30min"] <= 1.0
    assert high_uf_lines[0]["cramp_risk_30min"] > 0.0  # from the first line on (prior and prescription)


def test_field_level_follows_the_policy(machine_lines, high_uf_lines) -> None:
    assert {d["level"] for d in machine_lines + high_uf_lines} <= set(LEVELS)
    assert high_uf_lines[0]["level"] == "none"  # two consecutive updates are needed
    assert "alert" in {d["level"] for d in high_uf_lines}
    fired = [d for d in high_uf_lines if d["new_alert"]]
    assert len(fired) == len({d["episode_id"] for d in high_uf_lines if d["level"] == "alert"})


def test_field_cause_is_a_registry_id_or_null(high_uf_lines) -> None:
    assert {d["cause"] for d in high_uf_lines} <= {None, *CAUSES}
    during = [d for d in high_uf_lines if d["level"] == "alert" and d["t_min"] < 210]  # before the end
    assert during and {d["cause"] for d in during} == {"hypovolemia"}
    assert high_uf_lines[-1]["cause"] is None  # the session has ended: no cramp risk left to explain


def test_field_action_comes_from_the_advice_registry(high_uf_lines) -> None:
    assert all(d["action"] is None for d in high_uf_lines if d["level"] == "none")
    actions = {d["action"] for d in high_uf_lines if d["level"] != "none" and d["t_min"] < 210}
    uf_texts = {pause_uf_action(PAUSE_UF_MIN)} | {
        lower_uf_rate_action(r, LOWER_UF_MIN) for r in range(0, 3000, 50)
    }
    assert actions and all(a in uf_texts or a.startswith("Cool the dialysate to") for a in actions)
    for d in high_uf_lines:
        if d["action"] is not None:
            assert d["action_effect"]["cramp_risk_30min"] <= d["cramp_risk_30min"] + 1e-9


def test_field_forecast_30min_is_a_central_band_30_min_ahead(machine_lines, high_uf_lines) -> None:
    for d in machine_lines + high_uf_lines:
        f = d["forecast_30min"]
        assert tuple(f) == BAND_KEYS
        assert f["rbv_pct_lo"] <= f["rbv_pct"] <= f["rbv_pct_hi"]
        assert f["sbp_mmhg_lo"] <= f["sbp_mmhg"] <= f["sbp_mmhg_hi"]
        point = next(p for p in d["forecast"] if p["t_min"] == d["t_min"] + 30)
        assert {k: point[k] for k in BAND_KEYS} == f


def test_truncating_the_trace_keeps_the_earlier_lines(machine_lines, tmp_path: Path) -> None:
    """No look-ahead through the CLI: the replay of the first 9 rows gives the first 9 lines."""
    rows = (MACHINE / "machine.csv").read_text().splitlines()
    short = tmp_path / "first_rows.csv"
    short.write_text("\n".join(rows[:10]) + "\n")
    out = lines(invoke(short, "--scenario", MACHINE / "patient.yaml", "--json"))
    assert out == machine_lines[:9]


@pytest.mark.parametrize(
    ("twin", "field"),
    [(None, "t_min"), ("{}", "twin.patient_id")],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, twin: str | None, field: str) -> None:
    trace = tmp_path / "bad.csv"
    trace.write_text("t_min,rbv_pct\n0,100\n10,97\n5,98\n" if twin is None else "t_min,rbv_pct\n0,100\n")
    extra = []
    if twin is not None:
        (tmp_path / "twin.json").write_text(twin)
        extra = ["--twin", tmp_path / "twin.json"]
    r = invoke(trace, "--scenario", ROOT / "examples" / "stable.yaml", "--json", *extra)
    assert r.exit_code == 2
    assert r.stdout == ""
    message = r.stderr.strip()
    assert len(message.splitlines()) == 1 and message.startswith("error: ") and field in message
    assert "Traceback" not in r.output


def test_bad_policy_is_one_line_exit_2(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"watch_on": 0.5, "alert_on": 0.2}))
    r = invoke(MACHINE / "machine.csv", "--scenario", MACHINE / "patient.yaml", "--policy", policy)
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "watch_off <= watch_on <= alert_on" in r.stderr
