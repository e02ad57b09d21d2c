"""The analyzer and the optimizer with a patient twin: same chart, different physiology, different advice."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crampwatch.causes import assess
from crampwatch.causes.sentences import number
from crampwatch.cli.main import app
from crampwatch.errors import InputError
from crampwatch.io.traces import write_trace
from crampwatch.model import dump_scenario
from crampwatch.optimizer import optimize
from crampwatch.twin import fit_twin
from crampwatch.twin.virtual import virtual_sessions

TRUTHS = {"slow": 0.35, "fast": 2.5}


@pytest.fixture(scope="module")
def pair():
    """Two patients with identical charts (same person, prescriptions, weights, labs) whose plasma refill
    differs seven-fold; each twin is fitted to that patient's own recorded sessions."""
    out = {}
    for name, refill in TRUTHS.items():
        records = virtual_sessions({"refill_capacity": refill}, 6, seed=4, critical_rbv_pct=88.0)
        out[name] = (records, fit_twin(records))
    assert out["slow"][0][-1].scenario == out["fast"][0][-1].scenario  # identical charts
    return out


def test_same_chart_different_refill_gives_different_advice(pair) -> None:
    scenario = pair["slow"][0][-1].scenario
    results = {name: optimize(scenario, twin=twin, n_ensemble=3, top_k=1) for name, (_, twin) in pair.items()}
    slow, fast = results["slow"], results["fast"]
    assert slow.current.risk > fast.current.risk + 0.1  # the slow refiller is predicted to cramp more
    assert slow.current.causes["hypovolemia"] > fast.current.causes["hypovolemia"]
    slow_rec, fast_rec = slow.recommendations[0], fast.recommendations[0]
    assert (slow_rec.changes != fast_rec.changes) or abs(slow_rec.outcome.risk - fast_rec.outcome.risk) > 0.1
    for name, res in results.items():  # the reason: each twin's own refill capacity, stated in the notes
        value = pair[name][1].parameters["refill_capacity"]["value"]
        assert any(f"plasma refill capacity {value:.2f} x population" in n for n in res.notes)


def test_assessment_cites_the_twin(pair) -> None:
    records, twin = pair["slow"]
    rec = records[-1]
    plain = assess(rec.trace, rec.scenario, events=rec.events)
    personal = assess(rec.trace, rec.scenario, events=rec.events, twin=twin)
    hypo = personal.finding("hypovolemia")
    cited = {e.signal: e for e in hypo.evidence if e.source.startswith("patient twin")}
    assert cited["refill_capacity"].value == twin.parameters["refill_capacity"]["value"]
    assert "95 % interval" in cited["refill_capacity"].note
    assert not any(e.source.startswith("patient twin") for e in plain.finding("hypovolemia").evidence)


def test_twin_of_another_patient_is_refused(pair) -> None:
    _, twin = pair["slow"]
    other = virtual_sessions({}, 1, seed=4, patient_index=9)[0]
    with pytest.raises(InputError, match="fitted to patient"):
        assess(other.trace, other.scenario, twin=twin)


def test_cli_analyze_with_twin(tmp_path, pair) -> None:
    import yaml

    records, twin = pair["fast"]
    rec = records[-1]
    trace, scen, twin_file = tmp_path / "s.csv", tmp_path / "s.yaml", tmp_path / "twin.json"
    write_trace(rec.trace, trace)
    scen.write_text(yaml.safe_dump(dump_scenario(rec.scenario)), encoding="utf-8")
    twin_file.write_text(twin.to_json(), encoding="utf-8")
    res = CliRunner().invoke(
        app, ["analyze", str(trace), "--scenario", str(scen), "--twin", str(twin_file), "--json"]
    )
    assert res.exit_code == 0, res.output
    evidence = [e for c in json.loads(res.output)["causes"] for e in c["evidence"]]
    assert any(e["signal"] == "refill_capacity" for e in evidence)
    twin_file.write_text("{not json", encoding="utf-8")
    bad = CliRunner().invoke(app, ["analyze", str(trace), "--scenario", str(scen), "--twin", str(twin_file)])
    assert bad.exit_code == 2 and "twin" in bad.output and len(bad.output.strip().splitlines()) == 1


def test_cli_analyze_text_says_the_twin_was_used_and_what_it_changed(tmp_path, pair) -> None:
    import yaml

    records, twin = pair["slow"]
    rec = records[-1]
    # a session with blood pressure only: the simulator fills RBV with this patient's physiology
    kept = ["t_min", "sbp_mmhg"]
    partial = rec.trace.__class__(rec.trace.data[kept], rec.trace.events, {k: "measured" for k in kept[1:]})
    trace, scen, twin_file = tmp_path / "s.csv", tmp_path / "s.yaml", tmp_path / "twin.json"
    write_trace(partial, trace)
    scen.write_text(yaml.safe_dump(dump_scenario(rec.scenario)), encoding="utf-8")
    twin_file.write_text(twin.to_json(), encoding="utf-8")
    res = CliRunner().invoke(app, ["analyze", str(trace), "--scenario", str(scen), "--twin", str(twin_file)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    with_twin = assess(partial, rec.scenario, twin=twin).overall_risk
    population = assess(partial, rec.scenario).overall_risk
    assert f"Patient twin used (fitted on 6 sessions): overall risk {with_twin:.2f} with the twin, " in text
    assert f"{population:.2f} with the population patient" in text
    refill = twin.parameters["refill_capacity"]["value"]
    assert f"changed the result: plasma refill capacity {number(refill)} × population" in text, text
    assert "Hypovolemia" in text.split("changed the result: plasma refill capacity")[1]


def test_the_twin_is_what_the_analyzer_asks_for() -> None:
    """The analyzer names a typed protocol, not the twin layer above it; the twin satisfies it."""
    from crampwatch.causes.personal import PersonalModel
    from crampwatch.twin import PatientTwin

    assert issubclass(PatientTwin, PersonalModel)
    assert not issubclass(dict, PersonalModel)
