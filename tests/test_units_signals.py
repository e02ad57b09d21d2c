"""One home for units and signals: conversions, the conductivity relation on every path, and the registry
that every reader uses."""

from __future__ import annotations

import tokenize
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import crampwatch
from crampwatch import clinical_labels, kinetics, signals, units
from crampwatch.errors import InputError
from crampwatch.io import fhir
from crampwatch.io.traces import read_hemobp, read_trace, write_trace
from crampwatch.model import load_scenario
from crampwatch.simulator import simulate
from crampwatch.trace import SIGNALS, Trace

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_molar_conversions() -> None:
    # urea carries two N (14.007 g/mol): 28.014 mg N per mmol -> 2.8014 mg/dL BUN per mmol/L urea
    assert abs(units.BUN_MG_DL_PER_UREA_MMOL_L - 2.8014) < 1e-12
    assert kinetics.bun_mg_dl_to_urea_mmol_l(kinetics.urea_mmol_l_to_bun_mg_dl(21.3)) == pytest.approx(21.3)
    assert round(units.UREA_MMOL_L_PER_BUN_MG_DL, 3) == 0.357  # the clinical rounding
    assert units.MG_MG_DL_PER_MMOL_L == 2.4305 and units.CA_MG_DL_PER_MMOL_L == 4.008
    assert units.fahrenheit_to_celsius(98.6) == pytest.approx(37.0)


def test_conductivity_relation_is_one_relation_both_ways() -> None:
    na = np.array([130.0, 135.0, 138.0, 140.0, 145.0])
    c = units.na_to_conductivity_ms_cm(na)
    assert c[1] == pytest.approx(13.6) and c[3] == pytest.approx(14.1)
    np.testing.assert_allclose(units.conductivity_to_na_mmol_l(c), na, atol=1e-9)


def _na_from_conductivity(trace: Trace) -> np.ndarray:
    return units.conductivity_to_na_mmol_l(trace.signal("conductivity_ms_cm"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_simulated_conductivity_reads_back_as_dialysate_na(tmp_path: Path, path: Path) -> None:
    """simulate -> write -> read (CSV, Parquet, HEMOBP, FHIR) -> dialysate Na within 0.1 mmol/L."""
    sc = load_scenario(path)
    trace = simulate(sc)
    na = trace.signal("dialysate_na_mmol_l")
    assert np.max(np.abs(_na_from_conductivity(trace) - na)) < 0.1
    for ext in ("csv", "parquet"):
        back, _ = read_trace(write_trace(trace, tmp_path / f"t.{ext}"))
        assert np.max(np.abs(_na_from_conductivity(back) - na)) < 0.1, ext
    # a machine export has conductivity but no dialysate Na: the HEMOBP reader derives it
    machine = pd.DataFrame(
        {
            "time": trace.t_min,
            "sbp": trace.signal("sbp_mmhg"),
            "dbp": trace.signal("dbp_mmhg"),
            "conductivity": trace.signal("conductivity_ms_cm"),
        }
    )
    machine.to_csv(tmp_path / "vip.csv", index=False)
    hemobp, _ = read_hemobp(tmp_path / "vip.csv")
    assert np.max(np.abs(hemobp.signal("dialysate_na_mmol_l") - na)) < 0.1
    every_10 = Trace(trace.data.iloc[::10].reset_index(drop=True), sources=dict(trace.sources))
    bundle = fhir.session_to_bundle(
        sc, every_10, session_id="c", started_at=START, extra_signals=["conductivity_ms_cm"]
    )
    via_fhir = fhir.bundle_to_session(bundle).trace
    assert np.max(np.abs(_na_from_conductivity(via_fhir) - na[::10])) < 0.1


def test_signal_registry_is_complete_and_ordered() -> None:
    assert list(SIGNALS) == list(signals.SIGNAL_SPECS)
    assert crampwatch.SIGNALS is SIGNALS
    for name, spec in signals.SIGNAL_SPECS.items():
        assert spec.low < spec.high and spec.unit and spec.ucum and spec.label, name
        assert "_" not in spec.display_label and spec.display_label.endswith(f"({spec.unit})")
    assert clinical_labels.display_label("rbv_pct") == "Relative blood volume (%)"
    assert signals.signal("sbp_mmhg").loinc.code == "8480-6"
    assert signals.signal("t_min").high == signals.MAX_T_MIN


def test_every_signal_has_a_name_constant() -> None:
    """Code names signals through these constants: a misspelt constant fails at import."""
    for name in signals.SIGNAL_SPECS:
        assert getattr(signals, name.upper()) == name
        assert name.upper() in signals.__all__
    assert signals.TIME.name == signals.T_MIN and "T_MIN" in signals.__all__  # the time axis, not a signal
    constants = {k for k, v in vars(signals).items() if k.isupper() and isinstance(v, str)}
    assert constants == {n.upper() for n in signals.SIGNAL_SPECS} | {"T_MIN"}


def test_every_reported_quantity_has_a_clinical_label() -> None:
    sc = load_scenario(ROOT / "examples" / "high_uf.yaml")
    a = crampwatch.assess(simulate(sc), sc)
    names = {e.signal for f in a.causes for e in f.evidence} | set(a.metrics)
    for name in names:
        label = clinical_labels.display_label(name)
        assert "_" not in label and label[0].isupper(), (name, label)
    labels = clinical_labels.display_labels()
    assert labels["uf_rate_ml_kg_h"]["display"] == "UF rate per kg (mL/kg/h)"
    assert labels["hr_bpm"]["short"] == "HR"


def _csv_message(tmp_path: Path, name: str, value: float) -> str:
    p = tmp_path / f"{name}.csv"
    p.write_text(f"t_min,{name}\n0,{value}\n")
    _, report = read_trace(p)
    return " | ".join(report.messages())


def _fhir_message(name: str, value: float) -> str:
    sc = load_scenario(ROOT / "examples" / "stable.yaml")
    data = pd.DataFrame({"t_min": [0.0, 10.0], name: [value, value]})
    # build a valid Bundle, then put the implausible value into the Observation
    ok = signals.signal(name).low + 1.0
    bundle = fhir.session_to_bundle(
        sc, Trace(data.assign(**{name: ok})), session_id="r", started_at=START, extra_signals=[name]
    )
    for entry in bundle["entry"]:
        res = entry["resource"]
        holders = [res, *(res.get("component") or [])] if res["resourceType"] == "Observation" else []
        for holder in holders:
            q = holder.get("valueQuantity")
            if q and q.get("value") == ok:
                q["value"] = value
    with pytest.raises(InputError) as info:
        fhir.bundle_to_session(bundle)
    return info.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sbp_mmhg", 900.0),
        ("hr_bpm", 3.0),
        ("plasma_na_mmol_l", 30.0),
        ("rbv_pct", 160.0),
        ("uf_cum_l", 15000.0),
    ],
)
def test_csv_and_fhir_readers_reject_the_same_values_with_the_same_message(
    tmp_path: Path, name: str, value: float
) -> None:
    expected = signals.range_message(name, value)
    assert expected in _csv_message(tmp_path, name, value)
    assert expected in _fhir_message(name, value)
    low, high = signals.plausible_range(name)
    inside = (low + high) / 2
    assert "impossible" not in _csv_message(tmp_path, name, inside)


def test_no_conversion_constant_is_typed_outside_units() -> None:
    """Conversion factors live in crampwatch/units.py only (no second copy to drift)."""
    factors = {"0.357", "2.8014", "2.80112", "2.431", "2.4305", "4.008", "18.016", "0.45359237", "26.98"}
    found = []
    for path in (ROOT / "crampwatch").rglob("*.py"):
        if path.name == "units.py":
            continue
        with path.open("rb") as fh:
            for tok in tokenize.tokenize(fh.readline):
                if tok.type == tokenize.NUMBER and tok.string in factors:
                    found.append(f"{path.relative_to(ROOT)}:{tok.start[0]} {tok.string}")
    assert not found, found


def test_fhir_trace_signals_carry_loinc_where_one_exists_and_read_back_as_signals() -> None:
    sc = load_scenario(ROOT / "examples" / "stable.yaml")
    trace = simulate(sc)
    few = Trace(trace.data.iloc[::60].reset_index(drop=True), sources=dict(trace.sources))
    names = ["plasma_na_mmol_l", "rbv_pct"]
    bundle = fhir.session_to_bundle(sc, few, session_id="l", started_at=START, extra_signals=names)
    codings = {}
    for entry in bundle["entry"]:
        res = entry["resource"]
        local = [
            c["code"] for c in res.get("code", {}).get("coding", []) if c["system"] == fhir.CODE_SYSTEM_URL
        ]
        if res["resourceType"] == "Observation" and local and local[0] in names:
            codings[local[0]] = {c["system"]: c["code"] for c in res["code"]["coding"]}
    assert codings["plasma_na_mmol_l"][fhir.LOINC] == signals.signal("plasma_na_mmol_l").loinc.code
    assert fhir.LOINC not in codings["rbv_pct"]  # no LOINC code for relative blood volume: local code only
    back = fhir.bundle_to_session(bundle)
    np.testing.assert_allclose(
        back.trace.signal("plasma_na_mmol_l"), few.signal("plasma_na_mmol_l"), rtol=1e-12
    )
    assert back.scenario.patient.labs == sc.patient.labs  # the time series did not overwrite the lab
