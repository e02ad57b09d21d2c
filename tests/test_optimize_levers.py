"""Advice that follows the causes: the cause registry's levers, the optimizer's search of them, the one-line
reason when none helps, merged equal options, and recommendations that never ask for what the prescription
already does."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crampwatch.causes.registry import CAUSE_REGISTRY, CAUSE_SPECS
from crampwatch.prescription_settings import SETTING_BY_NAME


def test_every_lever_is_a_prescription_setting_and_a_typo_fails_at_import_time():
    for spec in CAUSE_SPECS:
        assert all(name in SETTING_BY_NAME for name in spec.levers), spec.id
    with pytest.raises(KeyError, match="dialysate_ca_mmoll"):
        replace(CAUSE_REGISTRY["hypocalcemia"], levers=("dialysate_ca_mmoll",))


def test_the_dialysis_mechanisms_have_levers_and_the_others_none():
    with_levers = {spec.id for spec in CAUSE_SPECS if spec.levers}
    assert with_levers == {
        "hypovolemia",
        "osmotic",
        "hypocalcemia",
        "hypomagnesemia",
        "disequilibrium",
        "underdialysis",
    }
    assert CAUSE_REGISTRY["hypocalcemia"].levers[0] == "dialysate_ca_mmol_l"
    assert CAUSE_REGISTRY["osmotic"].levers == ("dialysate_na_mmol_l",)
