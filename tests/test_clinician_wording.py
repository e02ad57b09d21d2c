"""The analyzer's explanations are read by clinicians: third person, never "you"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crampwatch.causes import assess
from crampwatch.model import load_scenario
from crampwatch.simulator import simulate

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def _every_trigger(path: Path):
    """The example with every history item a finding can mention: neuropathy, diabetes, no vitamin D,
    first session, a large weight gain and a post-weight below the dry weight."""
    scenario = load_scenario(path)
    patient = scenario.patient.model_copy(
        update={
            "peripheral_neuropathy": True,
            "diabetes": True,
            "active_vitamin_d": False,
            "vintage_months": 0,
            "pre_weight_kg": scenario.patient.dry_weight_kg + 4.5,
        }
    )
    rx = scenario.prescription.model_copy(update={"uf_volume_l": 5.0})
    return scenario.model_copy(update={"patient": patient, "prescription": rx})


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_explanations_never_address_the_reader(path: Path) -> None:
    for scenario in (load_scenario(path), _every_trigger(path)):
        result = assess(simulate(scenario), scenario)
        for finding in result.causes:
            words = re.findall(r"\b(you|your|yours)\b", finding.explanation, re.I)
            assert words == [], f"{finding.cause}: {finding.explanation}"
