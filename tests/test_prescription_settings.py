"""The prescription-setting registry: one record per setting, read by the optimizer, what-if, CLI, cohort."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from pydantic import ValidationError

from crampwatch.errors import InputError
from crampwatch.model import Prescription, load_scenario
from crampwatch.optimizer.constraints import Constraints, options_for
from crampwatch.optimizer.space import KNOB_SETTINGS, Knobs
from crampwatch.prescription_settings import (
    FORM_SETTINGS,
    SETTING_BY_NAME,
    SETTINGS,
    SettingChanges,
    apply_changes,
    describe_changes,
    settings_of,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_names_are_unique_and_valid_ranges_come_from_the_model():
    assert len(SETTING_BY_NAME) == len(SETTINGS)
    assert SETTING_BY_NAME["qb_ml_min"].valid_range == (50.0, 600.0)
    assert SETTING_BY_NAME["dialysate_na_mmol_l"].valid_range == (120.0, 160.0)
    assert SETTING_BY_NAME["sessions_per_week"].valid_range == (1.0, 7.0)
    for s in SETTINGS:
        if s.search_range is not None:
            assert s.valid_range is not None
            assert s.valid_range[0] <= s.search_range[0] <= s.search_range[1] <= s.valid_range[1], s.name


def test_every_optimizer_knob_is_a_registry_setting():
    knob_fields = {f.name for f in fields(Knobs) if f.init} - {"na_profile"}
    assert set(KNOB_SETTINGS) == knob_fields
    assert all(s.name in SETTING_BY_NAME for s in KNOB_SETTINGS.values())


def test_optimizer_defaults_and_lattice_come_from_the_registry():
    c = Constraints()
    assert c.ca_range_mmol_l == SETTING_BY_NAME["dialysate_ca_mmol_l"].search_range
    assert c.temp_range_c == SETTING_BY_NAME["dialysate_temp_c"].search_range
    assert (c.min_duration_min, c.max_duration_min) == SETTING_BY_NAME["duration_min"].search_range
    sc = load_scenario(EXAMPLES / "stable.yaml")
    opts = options_for(sc, c, allow_high_ca=False)
    assert set(opts.temp_c) >= {35.0, 35.5, 36.0, 36.5, 37.0}
    for knob, s in KNOB_SETTINGS.items():
        values = getattr(opts, "na" if knob == "na_mmol_l" else knob)
        lo, hi = s.valid_range or (float("-inf"), float("inf"))
        for v in values:
            x = v[0] if knob == "na_mmol_l" else v
            if isinstance(x, int | float):
                assert lo <= x <= hi, (knob, x)


def test_describe_changes_gives_code_and_clinical_text():
    before = Prescription(duration_min=210, dialysate={"na_mmol_l": 138})
    after = Prescription(duration_min=255, uf_profile="linear_decreasing", dialysate={"na_mmol_l": 144})
    changes = describe_changes(before, after)
    assert [c.code for c in changes] == [
        "duration_min 210 -> 255",
        "uf_profile constant -> linear_decreasing",
        "dialysate_na_mmol_l 138 -> 144",
    ]
    assert "Dialysate Na 138 → 144 mmol/L" in [c.text for c in changes]
    assert describe_changes(before, before) == []


def test_na_profile_is_one_change_and_uf_volume_resolves_with_the_patient():
    sc = load_scenario(EXAMPLES / "stable.yaml")
    rx = sc.prescription
    profiled = Prescription.model_validate(
        apply_changes(rx, {"dialysate_na_profile": [[0, 144], [rx.duration_min, 136]]})
    )
    (change,) = describe_changes(rx, profiled)
    assert change.setting.name == "dialysate_na_profile"
    assert "144->136 (mean 140)" in change.after
    no_goal = Prescription.model_validate({**rx.model_dump(), "uf_volume_l": None})
    with_goal = Prescription.model_validate({**rx.model_dump(), "uf_volume_l": sc.patient.idwg_kg})
    assert describe_changes(no_goal, with_goal, patient=sc.patient) == []


def test_changes_model_and_apply_changes_reject_bad_values():
    with pytest.raises(ValidationError, match="qb_ml_min"):
        SettingChanges.model_validate({"qb_ml_min": 9000})
    with pytest.raises(ValidationError):
        SettingChanges.model_validate({"not_a_setting": 1})
    with pytest.raises(InputError, match="not_a_setting"):
        apply_changes(Prescription(), {"not_a_setting": 1})
    with pytest.raises(InputError, match="finite"):
        apply_changes(Prescription(), {"qb_ml_min": float("nan")})


def test_settings_round_trip_through_apply_changes():
    a = load_scenario(EXAMPLES / "high_uf.yaml").prescription
    b = load_scenario(EXAMPLES / "low_ca_first_year.yaml").prescription
    b = Prescription.model_validate({**b.model_dump(), "uf_volume_l": 2.0})  # an omitted goal is not a value
    moved = Prescription.model_validate(apply_changes(a, settings_of(b)))
    assert describe_changes(moved, b) == []
    assert all(s.kind != "na_profile" for s in FORM_SETTINGS)
