"""Scenario validation: ranges, one-line messages naming the field, profiles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crampwatch.errors import InputError, require_range
from crampwatch.labs import estimate_ica_mmol_l
from crampwatch.model import Event, load_scenario, parse_scenario
from crampwatch.units import BUN_MG_DL_PER_UREA_MMOL_L

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

BASE = {
    "patient": {
        "sex": "male",
        "age_years": 62,
        "height_cm": 172,
        "pre_weight_kg": 74.0,
        "dry_weight_kg": 71.0,
    },
    "prescription": {"duration_min": 240},
}


def _with(section: str, **values) -> dict:
    data = json.loads(json.dumps(BASE))
    data[section].update(values)
    return data


@pytest.mark.parametrize(
    ("section", "field", "value", "expected"),
    [
        ("patient", "pre_weight_kg", 0, "patient.pre_weight_kg"),
        ("patient", "age_years", -3, "patient.age_years"),
        ("prescription", "duration_min", -10, "prescription.duration_min"),
        ("prescription", "qb_ml_min", 0, "prescription.qb_ml_min"),
        ("patient", "sex", "x", "patient.sex"),
    ],
)
def test_impossible_values_name_the_field_and_range(section, field, value, expected):
    with pytest.raises(InputError) as info:
        parse_scenario(_with(section, **{field: value}))
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message
    if field != "sex":
        assert "allowed" in message


def test_plasma_sodium_300_is_rejected_with_range():
    data = _with("patient", labs={"na_mmol_l": 300})
    with pytest.raises(InputError, match=r"patient\.labs\.na_mmol_l: 300 .*allowed 110–170"):
        parse_scenario(data)


def test_unknown_field_and_missing_field():
    with pytest.raises(InputError, match="patient.weight: unknown field"):
        parse_scenario(_with("patient", weight=70))
    data = json.loads(json.dumps(BASE))
    del data["patient"]["sex"]
    with pytest.raises(InputError, match="patient.sex: required field is missing"):
        parse_scenario(data)


def test_uf_volume_defaults_to_weight_difference_and_profiles_keep_the_volume():
    s = parse_scenario(BASE)
    assert s.uf_volume_l == pytest.approx(3.0)
    assert s.post_weight_kg == pytest.approx(71.0)
    t = np.linspace(0, 240, 24001)[:-1]
    for profile in ("constant", "linear_decreasing", "step", [[0, 2.0], [60, 1.0], [180, 0.25]]):
        s = parse_scenario(_with("prescription", uf_profile=profile))
        frac = s.prescription.uf_fraction(t)
        assert frac.mean() == pytest.approx(1.0, abs=2e-3)
        assert frac.min() >= 0
    assert s.prescription.uf_fraction(np.array([240.0, 300.0])).tolist() == [0.0, 0.0]


def test_decreasing_profile_front_loads_removal():
    s = parse_scenario(_with("prescription", uf_profile="linear_decreasing"))
    frac = s.prescription.uf_fraction(np.array([0.0, 120.0, 239.0]))
    assert frac[0] == pytest.approx(1.5) and frac[1] == pytest.approx(1.0) and frac[2] < 0.51


def test_sodium_profile_interpolates_and_is_validated():
    s = parse_scenario(_with("prescription", dialysate={"na_profile": [[0, 148], [240, 136]]}))
    assert s.prescription.dialysate_na_at(np.array([0, 120, 240])).tolist() == [148, 142, 136]
    assert s.prescription.mean_dialysate_na() == pytest.approx(142, abs=1e-6)
    with pytest.raises(InputError, match="na_profile"):
        parse_scenario(_with("prescription", dialysate={"na_profile": [[0, 148], [240, 200]]}))
    with pytest.raises(InputError, match="na_profile"):
        parse_scenario(_with("prescription", dialysate={"na_profile": [[100, 140], [50, 138]]}))


def test_unknown_neuropathy_and_urea_conversion():
    s = parse_scenario(_with("patient", peripheral_neuropathy="unknown", labs={"urea_mmol_l": 25.0}))
    assert s.patient.peripheral_neuropathy is None
    assert s.patient.labs.bun() == pytest.approx(25.0 * BUN_MG_DL_PER_UREA_MMOL_L)
    values, assumed = s.patient.labs.resolved()
    assert "bun_mg_dl" not in assumed and "na_mmol_l" in assumed
    assert values["urea_mmol_l"] == pytest.approx(25.0)


def test_ionized_calcium_estimate_is_in_the_normal_range_for_normal_labs():
    assert 1.1 <= estimate_ica_mmol_l(9.0, 3.8) <= 1.3
    assert estimate_ica_mmol_l(8.0, 3.8) < estimate_ica_mmol_l(9.0, 3.8)


def test_examples_load():
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) == 5
    for path in files:
        assert load_scenario(path).patient.id.startswith("EX-")


def test_malformed_scenario_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("patient: [unclosed\n")
    with pytest.raises(InputError, match="not valid JSON/YAML"):
        load_scenario(bad)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(InputError, match="expected a mapping"):
        load_scenario(listing)


def test_event_kinds_and_require_range():
    assert Event(t_min=30, kind="cramp", severity=6).kind == "cramp"
    with pytest.raises(ValueError):
        Event(t_min=30, kind="sneeze")
    assert require_range("x", 5, 0, 10) == 5.0
    with pytest.raises(InputError, match=r"x: nan is out of range"):
        require_range("x", float("nan"), 0, 10)
