"""Every name re-exported from ``crampwatch`` resolves to a real object."""

from __future__ import annotations

import importlib
import re

import pytest

import crampwatch


@pytest.mark.parametrize("name", sorted(crampwatch._EXPORTS))
def test_public_name_is_the_object_of_its_home_module(name):
    """``crampwatch.X`` is the very object its module defines (not a copy or a stand-in), and a function or
    class is callable."""
    home = importlib.import_module(crampwatch._EXPORTS[name])
    value = getattr(crampwatch, name)
    assert value is getattr(home, name)
    if not isinstance(value, dict | tuple | list | float | int | str):
        assert callable(value), name


def test_versions_are_version_strings():
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", crampwatch.__version__)
    assert isinstance(crampwatch.MODEL_VERSION, str) and crampwatch.MODEL_VERSION
    assert set(crampwatch.__all__) == set(crampwatch._EXPORTS) | {"MODEL_VERSION", "__version__"}


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
