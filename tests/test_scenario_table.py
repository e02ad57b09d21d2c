"""A scenario table (one column per scenario field) gives the same context and simulation as the scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from crampwatch.causes.context import build_context, context_from_columns
from crampwatch.model import parse_scenario
from crampwatch.physiology.feasibility import infeasible_rows
from crampwatch.population import virtual_population
from crampwatch.scenario_table import complete_columns, invalid_rows, scenario_columns, take
from crampwatch.simulator import simulate_batch
from crampwatch.simulator.columns import simulate_columns


@pytest.fixture(scope="module")
def population():
    return list(virtual_population(120, seed=21))


def test_columnar_simulation_equals_the_scenario_batch(population):
    a = simulate_batch(population)
    b = simulate_columns(scenario_columns(population))
    assert a.signals.keys() == b.signals.keys()
    for name, values in a.signals.items():
        np.testing.assert_array_equal(values, b.signals[name], err_msg=name)


def test_context_from_columns_equals_build_context(population):
    a = build_context(population)
    b = context_from_columns(scenario_columns(population))
    for name, value in vars(a).items():
        other = getattr(b, name)
        if isinstance(value, dict):
            for key in value:
                np.testing.assert_array_equal(value[key], other[key], err_msg=f"{name}.{key}")
        else:
            np.testing.assert_array_equal(value, other, err_msg=name)


def test_a_table_with_only_the_required_fields_takes_the_model_defaults():
    scenario = parse_scenario(
        {
            "patient": {
                "sex": "female",
                "age_years": 70,
                "height_cm": 160,
                "pre_weight_kg": 62,
                "dry_weight_kg": 60,
            }
        }
    )
    minimal = {
        "patient.sex": np.array(["female"], dtype=object),
        "patient.age_years": np.array([70.0]),
        "patient.height_cm": np.array([160.0]),
        "patient.pre_weight_kg": np.array([62.0]),
        "patient.dry_weight_kg": np.array([60.0]),
    }
    full = scenario_columns([scenario])
    completed = complete_columns(minimal, 1)
    for path, value in full.items():
        if path == "patient.id":
            continue
        np.testing.assert_array_equal(completed[path], value, err_msg=path)


def test_invalid_rows_name_the_field_and_range(population):
    cols = take(scenario_columns(population), slice(0, 4))
    cols["patient.age_years"] = np.array([70.0, 5.0, np.nan, 70.0])
    cols["patient.pre_weight_kg"] = cols["patient.dry_weight_kg"] + np.array([2.0, 2.0, 2.0, 13.0])
    bad, why = invalid_rows(cols)
    assert bad.tolist() == [False, True, True, True]
    assert why[1] == "patient.age_years: 5 is out of range (allowed 18–110)"
    assert why[2] == "patient.age_years: missing (required)"
    assert why[3].startswith("patient.pre_weight_kg: more than 12 kg above dry_weight_kg")


def test_infeasible_uf_is_flagged_per_row_not_for_the_batch(population):
    cols = take(scenario_columns(population), slice(0, 3))
    cols["prescription.uf_volume_l"] = np.array([2.0, 9.9, 2.0])
    cols["prescription.duration_min"] = np.array([240.0, 60.0, 240.0])
    bad, why = infeasible_rows(cols)
    assert bad.tolist() == [False, True, False]
    assert why[1].startswith("prescription.uf_volume_l: 9.9 L in 60 min is")
