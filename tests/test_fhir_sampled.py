"""FHIR trace signals as SampledData: one Observation per signal, round trip, size, schema validity, and
import of both forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from fhir.resources.R4B.bundle import Bundle

from crampwatch.errors import InputError
from crampwatch.io import fhir
from crampwatch.io.hemobp import read_hemobp
from crampwatch.model import load_scenario
from crampwatch.signals import DBP_MMHG, HR_BPM, MAP_MMHG, SBP_MMHG
from crampwatch.simulator import simulate

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2024, 3, 4, 7, 30, tzinfo=UTC)
VITALS = (SBP_MMHG, DBP_MMHG, MAP_MMHG, HR_BPM)


@pytest.fixture(scope="module")
def session():
    base = load_scenario(ROOT / "examples" / "high_uf.yaml")
    scenario = base.model_copy(
        update={"prescription": base.prescription.model_copy(update={"duration_min": 240.0})}
    )
    return scenario, simulate(scenario)


def _bundle(scenario, trace, series: str) -> dict:
    extra = [s for s in trace.signals if s not in VITALS]
    return fhir.session_to_bundle(
        scenario, trace, session_id="S-1", started_at=START, extra_signals=extra, series=series
    )


def _assert_same_trace(a, b) -> None:
    assert sorted(a.signals) == sorted(b.signals)
    np.testing.assert_array_equal(a.data["t_min"].to_numpy(), b.data["t_min"].to_numpy())
    for name in a.signals:
        np.testing.assert_array_equal(a.data[name].to_numpy(), b.data[name].to_numpy(), err_msg=name)
    assert {k: a.sources[k] for k in a.signals} == {k: b.sources[k] for k in b.signals}


def test_a_4_hour_session_is_one_observation_per_signal_within_300_kb_and_reads_back_exactly(session):
    scenario, trace = session
    assert scenario.prescription.duration_min == 240
    bundle = _bundle(scenario, trace, "sampled")
    series = [e["resource"] for e in bundle["entry"] if "valueSampledData" in e["resource"]]
    assert len(series) == len(trace.signals)
    codes = [
        next(c["code"] for c in r["code"]["coding"] if c["system"] == fhir.CODE_SYSTEM_URL) for r in series
    ]
    assert sorted(codes) == sorted(trace.signals)
    assert len(json.dumps(bundle, indent=1)) <= 300 * 1024
    _assert_same_trace(trace, fhir.bundle_to_session(bundle).trace)


def test_the_sampled_bundle_is_valid_against_the_r4_models(session):
    scenario, trace = session
    bundle = _bundle(scenario, trace, "sampled")
    Bundle.model_validate(bundle)
    sbp = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"].get("valueSampledData") and e["resource"]["code"]["coding"][0]["code"] == SBP_MMHG
    )
    sd = sbp["valueSampledData"]
    assert sd["origin"]["code"] == "mm[Hg]" and sd["period"] == 60_000 and sd["dimensions"] == 1
    assert any(c.get("code") == "8480-6" for c in sbp["code"]["coding"])  # LOINC systolic BP


def test_both_forms_import_to_the_same_trace(session):
    scenario, trace = session
    points = fhir.bundle_to_session(_bundle(scenario, trace, "points")).trace
    sampled = fhir.bundle_to_session(_bundle(scenario, trace, "sampled")).trace
    _assert_same_trace(points, sampled)


def test_uneven_record_times_and_gaps_survive_the_round_trip(tmp_path):
    trace, _ = read_hemobp(ROOT / "examples" / "machine" / "machine.csv")
    data = trace.data.copy()
    data.loc[data.index[[2, 5]], SBP_MMHG] = np.nan
    data.loc[data.index[3], "t_min"] += 7.0  # 7 min off the 15-min grid
    trace = type(trace)(data.sort_values("t_min").reset_index(drop=True), trace.events, trace.sources, "M1")
    scenario = load_scenario(ROOT / "examples" / "machine" / "patient.yaml")
    back = fhir.bundle_to_session(_bundle(scenario, trace, "sampled")).trace
    np.testing.assert_array_equal(back.data["t_min"].to_numpy(), trace.data["t_min"].to_numpy())
    np.testing.assert_array_equal(back.data[SBP_MMHG].to_numpy(), trace.data[SBP_MMHG].to_numpy())


def test_a_broken_series_is_refused_with_the_field_named(session):
    scenario, trace = session
    bundle = _bundle(scenario, trace, "sampled")
    obs = next(e["resource"] for e in bundle["entry"] if "valueSampledData" in e["resource"])
    obs["valueSampledData"]["data"] = "120 abc 118"
    with pytest.raises(InputError, match=r"valueSampledData\.data: 'abc' at sample 1 is not a number"):
        fhir.bundle_to_session(bundle)
    with pytest.raises(InputError, match="series"):
        fhir.session_to_bundle(scenario, trace, session_id="S", started_at=START, series="wave")
