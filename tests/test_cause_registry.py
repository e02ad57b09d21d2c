"""The cause registry: every surface reads a cause's label, texts, thresholds, scorer, builder and weight
from one record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crampwatch.causes import CAUSE_REGISTRY, CAUSES, RISK_WEIGHTS, THRESHOLDS, assess, ids
from crampwatch.causes.thresholds import th
from crampwatch.kinetics import mermelstein_uf_thresholds_ml_h
from crampwatch.kinetics.hemodynamics import mermelstein_thresholds_core
from crampwatch.model import load_scenario
from crampwatch.simulator import simulate
from crampwatch.web import services

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONTRACT_IDS = (
    "hypovolemia",
    "osmotic",
    "hypocalcemia",
    "hypomagnesemia",
    "disequilibrium",
    "encephalopathy",
    "neuropathy",
    "underdialysis",
)


def test_registry_holds_the_contract_causes_with_complete_records():
    assert CAUSES == CONTRACT_IDS == tuple(CAUSE_REGISTRY) == ids.CAUSE_IDS
    assert all(getattr(ids, c.upper()) == c for c in CAUSES)  # one constant per cause identifier
    labels = set()
    for spec in CAUSE_REGISTRY.values():
        assert spec.label and spec.clinician_text and spec.patient_label and spec.patient_text
        assert 0 < spec.risk_weight <= 1 and RISK_WEIGHTS[spec.id] == spec.risk_weight
        assert all(name in THRESHOLDS for name in spec.thresholds), spec.id
        labels.add(spec.label)
    assert len(labels) == len(CAUSES)


def test_findings_and_pages_read_the_registry():
    sc = load_scenario(EXAMPLES / "high_uf.yaml")
    a = assess(simulate(sc), sc)
    assert [f.cause for f in sorted(a.causes, key=lambda f: CAUSES.index(f.cause))] == list(CAUSES)
    for f in a.causes:
        names = [t["name"] for t in f.to_dict()["thresholds"]]
        assert names == list(CAUSE_REGISTRY[f.cause].thresholds)
    for cause, spec in CAUSE_REGISTRY.items():
        assert services.plain_cause(cause) == (spec.patient_label, spec.patient_text)


def test_mermelstein_threshold_is_defined_once():
    m = mermelstein_uf_thresholds_ml_h(70.0, "male")
    core = mermelstein_thresholds_core(np.array([70.0]), np.array([True]))
    assert m["risk_20pct"] == pytest.approx(3 * 70 + 500 + 70) == core["risk_20pct"][0]
    assert th("mermelstein_20pct") == 500.0 and th("mermelstein_40pct") == 630.0
