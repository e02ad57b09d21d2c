"""FHIR R4 import/export: round trips, validation with fhir.resources, and malformed input."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from crampwatch.errors import InputError
from crampwatch.io import fhir
from crampwatch.model import Patient, load_scenario, parse_scenario
from crampwatch.trace import Trace

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))
START = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)


def _scenario():
    return parse_scenario(
        {
            "patient": {
                "id": "P 001/ü",  # not a valid FHIR id: must survive as an identifier
                "sex": "female",
                "age_years": 71.5,
                "height_cm": 158,
                "pre_weight_kg": 63.4,
                "dry_weight_kg": 60.0,
                "vintage_months": 8,
                "diabetes": True,
                "peripheral_neuropathy": None,
                "active_vitamin_d": True,
                "access": "catheter",
                "critical_rbv_pct": 88,
                "labs": {
                    "na_mmol_l": 134,
                    "k_mmol_l": 5.6,
                    "urea_mmol_l": 25.0,
                    "ica_mmol_l": 1.05,
                    "albumin_g_dl": 3.2,
                    "mg_mmol_l": 0.7,
                    "hco3_mmol_l": 19,
                    "hct_pct": 31.5,
                    "glucose_mg_dl": 180,
                    "aluminium_ug_l": 12,
                },
            },
            "prescription": {
                "duration_min": 225,
                "uf_volume_l": 3.2,
                "uf_profile": [[0, 1.4], [90, 1.0], [180, 0.6]],
                "qb_ml_min": 280,
                "dialysate": {"na_profile": [[0, 145], [120, 138]], "ca_mmol_l": 1.5, "temp_c": 35.5},
            },
        }
    )


def _trace() -> Trace:
    t = np.array([0.0, 7.5, 15.25, 100 / 3, 60.0, 120.0, 180.0, 225.0])
    data = pd.DataFrame(
        {
            "t_min": t,
            "sbp_mmhg": 150 - 0.2 * t,
            "dbp_mmhg": 82 - 0.05 * t,
            "map_mmhg": np.where(t > 100, np.nan, 105 - 0.1 * t),
            "hr_bpm": 72 + 0.07 * t,
            "uf_cum_l": t / 225 * 3.1,
        }
    )
    events = pd.DataFrame(
        {
            "t_min": [150.0, 155.0],
            "kind": ["cramp", "saline_bolus"],
            "severity": [8.0, np.nan],
            "note": ["right calf", ""],
        }
    )
    sources = {
        "sbp_mmhg": "simulated",
        "dbp_mmhg": "simulated",
        "map_mmhg": "simulated",
        "hr_bpm": "estimated",
    }
    return Trace(data, events, sources, "S-42")


REPORTS = [
    {"t_min": 152.0, "muscle": "calf", "severity": 7, "note": "could not stretch it out"},
    {"t_min": 40.5, "muscle": "hand", "severity": 3, "reported_at": START + timedelta(minutes=45)},
]


def _bundle(**kwargs):
    return fhir.session_to_bundle(
        _scenario(), _trace(), session_id="S-42", started_at=START, reports=REPORTS, **kwargs
    )


def _entries(bundle, rtype):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


# ------------------------------------------------------------------------------------------ export shape


def test_bundle_resources_validate_with_fhir_resources_r4b():
    bundle = _bundle()
    Bundle.model_validate(bundle)  # the whole Bundle
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    assert bundle["type"] == "collection"
    json.dumps(bundle)  # plain JSON types only


def test_bundle_codes_and_links():
    bundle = _bundle()
    (patient,) = _entries(bundle, "Patient")
    (procedure,) = _entries(bundle, "Procedure")
    assert procedure["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "302497006",
        "display": "Hemodialysis",
    }
    assert procedure["performedPeriod"]["start"].startswith("2026-01-05T07:30:00")
    assert procedure["performedPeriod"]["end"].startswith("2026-01-05T11:15:00")  # 225 min later
    patient_ref = f"urn:uuid:{patient['id']}"
    procedure_ref = f"urn:uuid:{procedure['id']}"
    assert procedure["subject"]["reference"] == patient_ref
    observations = _entries(bundle, "Observation")
    loinc = {c["code"] for o in observations for c in o["code"]["coding"] if c["system"] == fhir.LOINC}
    assert {"2951-2", "2823-3", "22664-7", "1995-0", "29463-7", "85354-9", "8867-4"} <= loinc
    for obs in observations:
        assert obs["partOf"] == [{"reference": procedure_ref}]
        assert obs["subject"] == {"reference": patient_ref}
        quantity = obs.get("valueQuantity")
        if quantity:
            assert quantity["system"] == "http://unitsofmeasure.org"
    hr = [o for o in observations if o["code"]["coding"][0]["code"] == "8867-4"]
    assert len(hr) == 8 and hr[1]["effectiveDateTime"].startswith("2026-01-05T07:37:30")
    assert hr[0]["valueQuantity"]["code"] == "/min"
    bp = [o for o in observations if o["code"]["coding"][0]["code"] == "85354-9"]
    assert {c["code"]["coding"][0]["code"] for c in bp[0]["component"]} == {"8480-6", "8462-4", "8478-0"}
    assert len(bp[-1]["component"]) == 2  # MAP is missing after 100 min
    qrs = _entries(bundle, "QuestionnaireResponse")
    assert len(qrs) == 2
    assert all(q["questionnaire"].startswith(fhir.CRAMP_QUESTIONNAIRE_URL) for q in qrs)
    assert all(q["partOf"] == [{"reference": procedure_ref}] for q in qrs)


def test_export_is_deterministic_apart_from_timestamp():
    a, b = _bundle(), _bundle()
    a.pop("timestamp")
    b.pop("timestamp")
    assert a == b


def test_questionnaire_definition_validates():
    q = fhir.cramp_questionnaire()
    assert q["url"] == fhir.CRAMP_QUESTIONNAIRE_URL
    assert [i["linkId"] for i in q["item"]] == ["time_min", "muscle", "severity", "note"]


# -------------------------------------------------------------------------------------------- round trip


def test_round_trip_scenario_trace_events_reports():
    scenario, trace = _scenario(), _trace()
    text = json.dumps(_bundle())
    back = fhir.bundle_to_session(text)
    assert back.session_id == "S-42"
    assert back.started_at == START
    assert back.scenario == scenario  # patient (all fields), labs and full prescription
    assert back.assumed == [] and back.skipped == []
    assert back.post_weight_kg == pytest.approx(63.4 - 3.1)
    got = back.trace.data
    np.testing.assert_allclose(got["t_min"], trace.t_min, atol=1e-6)
    for name in ("sbp_mmhg", "dbp_mmhg", "map_mmhg", "hr_bpm"):
        np.testing.assert_allclose(got[name], trace.data[name], rtol=1e-12, equal_nan=True)
    assert back.trace.sources["sbp_mmhg"] == "simulated"
    assert back.trace.sources["hr_bpm"] == "estimated"
    assert "uf_cum_l" not in got.columns  # only BP/HR unless asked for
    pd.testing.assert_frame_equal(back.events, trace.events, check_dtype=False)
    pd.testing.assert_frame_equal(back.trace.events, trace.events, check_dtype=False)
    assert [r["t_min"] for r in back.reports] == [40.5, 152.0]
    assert back.reports[0]["reported_at"] == START + timedelta(minutes=45)
    assert back.reports[1] == {**REPORTS[0], "reported_at": None}


def test_round_trip_extra_signals():
    back = fhir.bundle_to_session(_bundle(extra_signals=["uf_cum_l"]))
    np.testing.assert_allclose(back.trace.data["uf_cum_l"], _trace().data["uf_cum_l"], rtol=1e-12)
    with pytest.raises(InputError, match="extra_signals"):
        _bundle(extra_signals=["nonsense"])


@settings(max_examples=25, deadline=None)
@given(
    times_ms=st.lists(st.integers(0, 600 * 60_000), min_size=1, max_size=12, unique=True),
    sbp=st.floats(40, 300),
    hr=st.floats(15, 250),
)
def test_round_trip_any_vitals(times_ms, sbp, hr):
    """Any BP/HR values at any times (FHIR dateTime keeps microseconds; we test a 1 ms grid)."""
    t = np.array(sorted(times_ms)) / 60_000
    data = pd.DataFrame({"t_min": t, "sbp_mmhg": sbp - 0.01 * t, "hr_bpm": np.full(len(t), hr)})
    data.loc[data["sbp_mmhg"] < 40, "sbp_mmhg"] = np.nan
    bundle = fhir.session_to_bundle(_scenario(), Trace(data), session_id="h", started_at=START)
    back = fhir.bundle_to_session(bundle).trace.data
    np.testing.assert_allclose(back["t_min"], t, atol=1e-6)
    np.testing.assert_allclose(back["hr_bpm"], hr, rtol=1e-12)
    if data["sbp_mmhg"].notna().any():
        np.testing.assert_allclose(back["sbp_mmhg"], data["sbp_mmhg"], rtol=1e-12, equal_nan=True)
    else:
        assert "sbp_mmhg" not in back.columns


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_round_trip_example_scenarios_without_trace(path):
    scenario = load_scenario(path)
    start = datetime(2025, 6, 1, 14, 5, 9, 250000, tzinfo=timezone(timedelta(hours=2)))
    bundle = fhir.session_to_bundle(scenario, session_id=path.stem, started_at=start)
    back = fhir.bundle_to_session(bundle)
    assert back.scenario == scenario
    assert back.trace is None
    assert back.started_at == start
    assert back.post_weight_kg == pytest.approx(scenario.post_weight_kg)


def test_patient_alone_round_trips():
    patient = _scenario().patient
    fields = fhir.patient_from_fhir(fhir.patient_to_fhir(patient))
    assert Patient.model_validate(fields) == patient.model_copy(update={"labs": type(patient.labs)()})


def test_cramp_report_round_trip_and_checks():
    qr = fhir.cramp_report_to_questionnaire_response(REPORTS[1], patient_reference="Patient/p1")
    report = fhir.questionnaire_response_to_cramp_report(qr)
    assert report == {
        "t_min": 40.5,
        "muscle": "hand",
        "severity": 3,
        "note": "",
        "reported_at": REPORTS[1]["reported_at"],
    }
    with pytest.raises(InputError, match="severity.*0–10"):
        fhir.cramp_report_to_questionnaire_response(
            {"t_min": 3, "severity": 11}, patient_reference="Patient/p"
        )
    with pytest.raises(InputError, match="severity.*whole number"):
        fhir.cramp_report_to_questionnaire_response(
            {"t_min": 3, "severity": 2.5}, patient_reference="Patient/p"
        )
    with pytest.raises(InputError, match="t_min"):
        fhir.cramp_report_to_questionnaire_response({"severity": 2}, patient_reference="Patient/p")
    other = {**qr, "questionnaire": "http://example.org/Questionnaire/phq9"}
    with pytest.raises(InputError, match="questionnaire"):
        fhir.questionnaire_response_to_cramp_report(other)
    no_severity = {**qr, "item": [i for i in qr["item"] if i["linkId"] != "severity"]}
    with pytest.raises(InputError, match=r"item\[severity\]"):
        fhir.questionnaire_response_to_cramp_report(no_severity)


# ------------------------------------------------------------------------------- bundles from elsewhere


def _foreign_bundle():
    """A Bundle as another system might send it: no crampwatch extensions, birthDate, pounds, mEq/L."""

    def obs(oid, code, minutes, quantity):
        return {
            "resource": {
                "resourceType": "Observation",
                "id": oid,
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "effectiveDateTime": (START + timedelta(minutes=minutes)).isoformat(),
                "valueQuantity": quantity,
            }
        }

    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "pt1",
                    "gender": "male",
                    "birthDate": "1960-01-05",
                }
            },
            {
                "resource": {
                    "resourceType": "Procedure",
                    "id": "hd1",
                    "status": "completed",
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "302497006"}]},
                    "subject": {"reference": "Patient/pt1"},
                    "performedPeriod": {"start": "2026-01-05T07:30:00Z", "end": "2026-01-05T11:30:00Z"},
                }
            },
            obs("w-pre", "29463-7", 0, {"value": 176.37, "unit": "lb", "code": "[lb_av]"}),
            obs("w-post", "29463-7", 240, {"value": 77.5, "unit": "kg"}),
            obs("h", "8302-2", 0, {"value": 1.75, "code": "m", "system": "http://unitsofmeasure.org"}),
            obs("na", "2951-2", 0, {"value": 136, "unit": "mEq/L"}),
            obs("ca", "2000-8", 0, {"value": 2.2, "code": "mmol/L"}),
            obs("hr", "8867-4", 30, {"value": 80, "unit": "bpm"}),
            obs("sbp", "8480-6", 30, {"value": 132, "unit": "mmHg"}),
            obs("chol", "2093-3", 0, {"value": 180, "unit": "mg/dL"}),
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "dry",
                    "status": "final",
                    "code": {"coding": [{"system": fhir.CODE_SYSTEM_URL, "code": "dry-weight"}]},
                    "valueQuantity": {"value": 77.0, "code": "kg"},
                }
            },
        ],
    }


def test_foreign_bundle_converts_units_and_fills_defaults():
    got = fhir.bundle_to_session(_foreign_bundle())
    patient = got.scenario.patient
    assert patient.id == "pt1" and patient.sex == "male"
    assert patient.age_years == pytest.approx(66.0, abs=0.01)
    assert patient.height_cm == pytest.approx(175.0)
    assert patient.pre_weight_kg == pytest.approx(80.0, abs=0.01)  # 176.37 lb
    assert patient.dry_weight_kg == 77.0
    assert patient.labs.na_mmol_l == 136
    assert patient.labs.ca_total_mg_dl == pytest.approx(2.2 * 4.008)
    assert got.assumed == ["prescription"]
    assert got.scenario.prescription.duration_min == 240
    assert got.scenario.prescription.uf_volume_l == pytest.approx(2.5, abs=0.01)
    assert got.session_id == "hd1"
    assert got.trace.data.to_dict("list") == {"t_min": [30.0], "sbp_mmhg": [132.0], "hr_bpm": [80.0]}
    assert got.skipped == ["Observation/chol (2093-3)"]
    absent = _with_obs(_foreign_bundle(), "hr", valueQuantity=None, dataAbsentReason={"text": "cuff failed"})
    got = fhir.bundle_to_session(absent)
    assert "hr_bpm" not in got.trace.data.columns
    assert "Observation/hr (no value: data absent)" in got.skipped


# ------------------------------------------------------------------------------------------ bad input


def _with_obs(bundle, oid, **changes):
    bundle = copy.deepcopy(bundle)
    for entry in bundle["entry"]:
        if entry["resource"].get("id") == oid:
            entry["resource"].update(changes)
    return bundle


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda b: "{not json", r"^Bundle: not valid JSON"),
        (lambda b: json.dumps([1, 2]), r"^Bundle: expected a JSON object"),
        (lambda b: {**b, "resourceType": "Patient"}, r"^resourceType: expected 'Bundle', got 'Patient'"),
        (lambda b: {**b, "entry": []}, r"^Bundle.entry: "),
        (lambda b: {**b, "entry": b["entry"][1:]}, r"^Bundle: no Patient resource"),
        (lambda b: {**b, "entry": b["entry"][:1] + b["entry"][2:]}, r"^Bundle: no Procedure resource"),
        (lambda b: {**b, "entry": b["entry"] + b["entry"][:1]}, r"^Bundle: 2 Patient resources"),
        (
            lambda b: _with_obs(b, "w-pre", valueQuantity={"value": 80000, "code": "g"}),
            r"^Observation/w-pre\.valueQuantity\.code: unit 'g' is not accepted for Body weight",
        ),
        (
            lambda b: _with_obs(b, "na", valueQuantity={"value": 300, "code": "mmol/L"}),
            r"^Observation/na\.valueQuantity: 300 mmol/L is out of range for na_mmol_l \(allowed 110–170",
        ),
        (
            lambda b: _with_obs(b, "hr", valueQuantity={"value": 0, "code": "/min"}),
            r"^Observation/hr\.valueQuantity: 0 /min is out of range for hr_bpm",
        ),
        (
            lambda b: _with_obs(b, "na", valueQuantity={"unit": "mmol/L"}),
            r"^Observation/na\.valueQuantity: missing value",
        ),
        (
            lambda b: _with_obs(
                b, "hd1", code={"coding": [{"system": "http://snomed.info/sct", "code": "80146002"}]}
            ),
            r"^Procedure/hd1\.code: not a haemodialysis procedure",
        ),
        (lambda b: _with_obs(b, "hr", valueQuantity=None), r"^Observation/hr\.valueQuantity: missing value"),
        (lambda b: _with_obs(b, "hr", colour="red"), r"^Observation/hr\.colour: invalid FHIR"),
        (
            lambda b: _with_obs(b, "hr", valueQuantity={"value": "fast", "code": "/min"}),
            r"^Observation/hr\.valueQuantity\.value: invalid FHIR",
        ),
        (
            lambda b: _with_obs(b, "pt1", gender="unknown"),
            r"^Patient/pt1\.gender: 'unknown' is not supported",
        ),
        (lambda b: _with_obs(b, "pt1", birthDate="1999-13-40"), r"^Patient/pt1\.birthDate: invalid FHIR"),
        (lambda b: _with_obs(b, "pt1", birthDate=None), r"^Patient/pt1: age_years not found"),
        (
            lambda b: _with_obs(b, "pt1", birthDate="2020-02-01"),
            r"^Patient/pt1\.birthDate: age 5\.9\d* years at the session is out of range \(allowed 18–110\)",
        ),
        (
            lambda b: _with_obs(b, "hd1", performedPeriod={"end": "2026-01-05T11:30:00Z"}),
            r"^Procedure/hd1\.performedPeriod\.start: required",
        ),
        (
            lambda b: _with_obs(
                b, "hd1", performedPeriod={"start": "2026-01-05T07:30:00Z", "end": "2026-01-05T07:35:00Z"}
            ),
            r"^Procedure/hd1\.performedPeriod: duration_min",
        ),
        (
            lambda b: _with_obs(b, "sbp", effectiveDateTime=None),
            r"^Observation/sbp\.effectiveDateTime: required",
        ),
    ],
)
def test_malformed_bundles_raise_one_line_input_errors(mutate, pattern):
    with pytest.raises(InputError, match=pattern) as info:
        fhir.bundle_to_session(mutate(_foreign_bundle()))
    assert "\n" not in info.value.message


def test_out_of_range_extension_and_bad_prescription_name_the_resource():
    bundle = _bundle()
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    for item in patient["extension"][0]["extension"]:
        if item["url"] == "age_years":
            item["valueDecimal"] = 7
    with pytest.raises(InputError, match=r"^Patient/.*extension\[hd-patient\]\.age_years: 7 is out of range"):
        fhir.bundle_to_session(bundle)
    bundle = _bundle()
    procedure = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure")
    presc = json.loads(procedure["extension"][0]["valueString"])
    presc["qb_ml_min"] = 5000
    procedure["extension"][0]["valueString"] = json.dumps(presc)
    with pytest.raises(InputError, match=r"^Procedure/.*extension\[hd-prescription\]\.qb_ml_min"):
        fhir.bundle_to_session(bundle)


def test_validate_resource_rejects_unknown_type():
    with pytest.raises(InputError, match="resourceType: 'Spaceship'"):
        fhir.validate_resource({"resourceType": "Spaceship"})
