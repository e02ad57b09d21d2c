"""Every name re-exported from ``crampwatch`` resolves to a real object."""

from __future__ import annotations

import pytest

import crampwatch


@pytest.mark.parametrize("name", [n for n in crampwatch.__all__ if n != "__version__"])
def test_public_name_resolves(name):
    assert getattr(crampwatch, name) is not None


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError):
        crampwatch.does_not_exist  # noqa: B018


def test_end_to_end_through_the_public_api():
    from pathlib import Path

    scenario = crampwatch.load_scenario(Path(__file__).resolve().parents[1] / "examples" / "high_uf.yaml")
    trace = crampwatch.simulate(scenario)
    assessment = crampwatch.assess(trace, scenario)
    assert assessment.causes[0].cause == "hypovolemia"
    assert set(crampwatch.SIGNALS) >= {"rbv_pct", "sbp_mmhg"}
