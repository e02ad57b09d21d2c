"""Patient twin: simulator hook, fit, personal thresholds, serialization."""

from __future__ import annotations

import numpy as np

import crampwatch as cw
from crampwatch.simulator import simulate_batch


def _with_patient(scenario: cw.Scenario, **update: float) -> cw.Scenario:
    return scenario.model_copy(update={"patient": scenario.patient.model_copy(update=update)})


def test_patient_blood_volume_sets_the_early_rbv_fall() -> None:
    """A smaller blood volume falls faster at the start (UF / BV); Nadler's value is the default."""
    sc = cw.load_scenario("examples/high_uf.yaml")
    batch = simulate_batch([_with_patient(sc, blood_volume_ml_kg=v) for v in (50.0, 65.0, 90.0)] + [sc])
    rbv_20 = batch.signals["rbv_pct"][:, 20]
    assert rbv_20[0] < rbv_20[1] < rbv_20[2]
    np.testing.assert_allclose(rbv_20[1], rbv_20[3])  # female: Nadler 65 mL/kg
