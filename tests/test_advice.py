"""The analyzer's advice never asks for what the prescription already does: each rule names the current
value and leaves out what is already in place, checked rule by rule and over a virtual population."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crampwatch.causes import assess
from crampwatch.causes.advice import (
    blood_volume_guided_uf_action,
    cool_dialysate_action,
    dialysate_mg_action,
    extend_session_action,
    front_loaded,
    gentle_first_sessions_action,
    increase_dose_action,
    limit_weight_gain_action,
    lower_bicarbonate_action,
    raise_na_action,
)
from crampwatch.io.traces import read_events, read_hemobp
from crampwatch.model import Scenario, dump_scenario, load_scenario, parse_scenario
from crampwatch.population import virtual_population
from crampwatch.simulator import simulate_batch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_a_longer_session_is_asked_only_for_the_targets_not_reached_yet():
    # 3.7 L from a 79.9 kg patient: UFR <= 13 needs 214 min, <= 10 needs 278 min
    assert extend_session_action(3.6975, 79.9025, 240.0) == (
        "Lower the UF rate: extend the session from 240 to at least 278 min for UFR <= 10 mL/kg/h, "
        "or add a session"
    )
    both = extend_session_action(3.6975, 79.9025, 180.0)
    assert (
        both is not None
        and "from 180 to at least 214 min for UFR <= 13" in both
        and "(278 min for <= 10)" in both
    )
    assert extend_session_action(3.6975, 79.9025, 280.0) is None


def test_each_rule_leaves_out_what_the_prescription_already_does():
    assert cool_dialysate_action(36.0) is None and cool_dialysate_action(35.5) is None
    assert cool_dialysate_action(37.0) == "Cool the dialysate from 37 to 35–36 °C"
    assert raise_na_action(140.0, 138.0) is None  # already inside 138–142
    assert raise_na_action(140.0, 134.0).startswith("Raise dialysate Na from 134 into 138–142 mmol/L")
    assert dialysate_mg_action(1.0) is None
    assert dialysate_mg_action(0.5) == "Raise dialysate Mg from 0.5 to 0.75 mmol/L while serum Mg stays low"
    assert dialysate_mg_action(0.25).startswith("Raise dialysate Mg from 0.25 to 0.5 mmol/L")
    assert lower_bicarbonate_action(30.0) is None
    assert lower_bicarbonate_action(32.0).startswith("Lower dialysate bicarbonate from 32 to 30 mmol/L")
    assert lower_bicarbonate_action(40.0).startswith("Lower dialysate bicarbonate from 40 to 32 mmol/L")
    assert "gradient" not in limit_weight_gain_action(-1.0)
    assert "from +2.0 mmol/L to 0 or below" in limit_weight_gain_action(2.0)
    assert "decreasing UF profile" not in blood_volume_guided_uf_action(True)
    assert "decreasing UF profile" in blood_volume_guided_uf_action(False)
    gentle = gentle_first_sessions_action(150.0, 120.0)
    assert "Qb" not in gentle and "session time" not in gentle and "URR < 40 %" in gentle
    assert "Qb from 350 to 200 mL/min" in gentle_first_sessions_action(350.0, 240.0)
    at_max = increase_dose_action(1.0, 300.0, 450.0, 1200.0)
    assert "longer than" not in at_max and "Qb above" not in at_max and "spKt/V 1.00" in at_max
    assert front_loaded("linear_decreasing", 240.0) and not front_loaded("constant", 240.0)
    assert front_loaded([[0, 1.4], [60, 1.2], [120, 0.9], [180, 0.5]], 240.0)


def test_the_machine_example_no_longer_asks_for_a_session_it_already_has():
    machine = EXAMPLES / "machine"
    sc = load_scenario(machine / "patient.yaml")
    trace, _ = read_hemobp(machine / "machine.csv")
    a = assess(trace, sc, events=read_events(machine / "events.csv"))
    actions = [r.action for f in a.causes for r in f.recommendations]
    extend = [x for x in actions if "extend the session" in x]
    assert extend == [
        "Lower the UF rate: extend the session from 240 to at least 278 min for UFR <= 10 mL/kg/h, "
        "or add a session"
    ]
    _check_actions(actions, sc)


def _variant(name: str, *, labs=None, rx=None, dialysate=None) -> Scenario:
    data = dump_scenario(load_scenario(EXAMPLES / f"{name}.yaml"))
    data["patient"]["labs"].update(labs or {})
    data["prescription"].update(rx or {})
    data["prescription"]["dialysate"].update(dialysate or {})
    return parse_scenario(data)


def _number(text: str) -> float:
    return float(text.replace("+", ""))


def _check_actions(actions: list[str], sc: Scenario) -> set[str]:
    """Every action against the prescription it was given for; returns the rules that fired."""
    rx, dial = sc.prescription, sc.prescription.dialysate
    fired: set[str] = set()
    checks = {
        r"extend the session from ([\d.]+) to at least (\d+) min": lambda a, b: a == rx.duration_min < b,
        r"Cool the dialysate from ([\d.]+) to": lambda a: a == dial.temp_c > 36.0,
        r"Raise dialysate Na from (\d+) into (\d+)–": lambda a, b: round(rx.mean_dialysate_na()) == a < b,
        r"Raise dialysate Mg from ([\d.]+) to ([\d.]+)": lambda a, b: a == dial.mg_mmol_l < b,
        r"Raise dialysate Ca from ([\d.]+) to ([\d.]+)": lambda a, b: a == dial.ca_mmol_l < b,
        r"Lower dialysate bicarbonate from ([\d.]+) to ([\d.]+)": lambda a, b: a == dial.hco3_mmol_l > b,
        r"Qb from ([\d.]+) to ([\d.]+) mL/min": lambda a, b: a == rx.qb_ml_min > b,
        r"session time from ([\d.]+) to ([\d.]+)–": lambda a, b: a == rx.duration_min > b,
        r"a session longer than ([\d.]+) min": lambda a: a == rx.duration_min < 300,
        r"Qb above ([\d.]+) mL/min": lambda a: a == rx.qb_ml_min < 450,
        r"gradient from ([+-][\d.]+) mmol/L": lambda a: a > 0,
        r"and a decreasing UF profile": lambda: not front_loaded(rx.uf_profile, rx.duration_min),
    }
    for action in actions:
        for pattern, ok in checks.items():
            m = re.search(pattern, action)
            if m:
                fired.add(pattern)
                assert ok(*(_number(g) for g in m.groups())), (action, rx.model_dump())
    return fired


#: Prescriptions that already do what a rule would ask, with the finding that triggers the rule.
ALREADY_DONE = {
    "cool dialysate": _variant("high_uf", dialysate={"temp_c": 35.5}),
    "decreasing UF profile": _variant("high_uf", rx={"uf_profile": "linear_decreasing"}),
    "highest Mg": _variant("stable", labs={"mg_mmol_l": 0.5}, dialysate={"mg_mmol_l": 1.0}),
    "lowest bicarbonate": _variant("stable", labs={"hco3_mmol_l": 28.0}, dialysate={"hco3_mmol_l": 30.0}),
    "gentle first session": _variant("first_session_high_bun", rx={"qb_ml_min": 200, "duration_min": 150}),
}


@pytest.fixture(scope="module")
def assessed() -> list[tuple[Scenario, list[str]]]:
    scenarios = [load_scenario(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    scenarios += list(ALREADY_DONE.values()) + virtual_population(60, seed=11)
    batch = simulate_batch(scenarios)
    out = []
    for i, sc in enumerate(scenarios):
        a = assess(batch.trace(i), sc)
        out.append((sc, [r.action for f in a.causes for r in f.recommendations]))
    return out


def test_no_advice_asks_for_what_the_prescription_already_does(assessed):
    fired: set[str] = set()
    for sc, actions in assessed:
        fired |= _check_actions(actions, sc)
    # the population and the examples exercise the rules that change a setting
    for pattern in (
        "extend the session",
        "Cool the dialysate",
        "Raise dialysate Na",
        "Raise dialysate Mg",
        "Raise dialysate Ca",
        "Lower dialysate bicarbonate",
        "Qb from",
        "session time from",
        "and a decreasing UF profile",
    ):
        assert any(pattern in p for p in fired), pattern


@pytest.mark.parametrize("case", list(ALREADY_DONE))
def test_a_prescription_that_already_does_it_is_not_asked_to(assessed, case):
    sc = ALREADY_DONE[case]
    actions = " | ".join(next(a for s, a in assessed if s is sc))
    forbidden = {
        "cool dialysate": "Cool the dialysate",
        "decreasing UF profile": "decreasing UF profile",
        "highest Mg": "Raise dialysate Mg",
        "lowest bicarbonate": "Lower dialysate bicarbonate",
        "gentle first session": "Qb from",
    }[case]
    assert forbidden not in actions
