"""assess_history: a recurring mechanism across a patient's sessions and cramp vs no-cramp differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
from helpers_traces import make, scenario, stable_signals

from crampwatch.causes import assess, assess_history
from crampwatch.trace import Trace


def _session(uf_l: float, cramp_at: float | None, sid: str) -> tuple[Trace, object]:
    """One session of the same patient; a larger UF volume gives a steeper RBV and BP fall."""
    t = np.arange(0.0, 241.0)
    s = stable_signals(t, uf_l)
    depth = 4.0 * uf_l  # RBV fall (points) grows with UF volume
    s["rbv_pct"] = 100.0 - depth * (t / 240.0) ** 0.9
    s["sbp_mmhg"] = 145.0 - (8.0 * uf_l) * (t / 240.0) ** 2
    events = pd.DataFrame(
        {
            "t_min": [cramp_at] if cramp_at is not None else [],
            "kind": ["cramp"] * (cramp_at is not None),
            "severity": [6.0] * (cramp_at is not None),
            "note": [""] * (cramp_at is not None),
        }
    )
    sc = scenario({"patient": {"pre_weight_kg": 75.0 + uf_l}, "prescription": {"uf_volume_l": uf_l}})
    return Trace(pd.DataFrame({"t_min": t, **s}), events, session_id=sid), sc


def test_recurrent_hypovolemia_is_found_and_explains_the_cramps() -> None:
    sessions = [
        _session(4.6, 200.0, "s1"),
        _session(2.0, None, "s2"),
        _session(4.4, 190.0, "s3"),
        _session(4.8, 210.0, "s4"),
        _session(1.8, None, "s5"),
        _session(4.5, 205.0, "s6"),
    ]
    h = assess_history(sessions, fill_missing=False)
    assert h.recurrent[0] == "hypovolemia"
    assert h.dominant_cause == "hypovolemia"
    assert h.cramp_sessions == ["s1", "s3", "s4", "s6"]
    assert h.no_cramp_sessions == ["s2", "s5"]
    top = h.differences.iloc[:4]
    assert {"hypovolemia", "uf_rate_ml_kg_h", "rbv_min_pct", "sbp_nadir_mmhg"} & set(top["feature"])
    hyp = h.differences.set_index("feature").loc["hypovolemia"]
    assert hyp["mean_cramp"] > hyp["mean_no_cramp"] + 0.3
    uf = h.differences.set_index("feature").loc["uf_rate_ml_kg_h"]
    assert uf["difference"] > 5.0
    d = h.to_dict()
    assert d["n_sessions"] == 6 and d["recurrent"][0] == "hypovolemia"


def test_no_recurrence_in_calm_sessions() -> None:
    h = assess_history([_session(2.0, None, f"c{i}") for i in range(3)], fill_missing=False)
    assert h.recurrent == []
    assert h.cramp_sessions == [] and h.differences.empty


def test_recurrent_low_dose_raises_underdialysis() -> None:
    trace, sc = make("underdialysis")
    first = assess(trace, sc, fill_missing=False)
    h = assess_history([(trace, sc)] * 4, fill_missing=False)
    later = h.assessments[-1]
    assert later.finding("underdialysis").score > first.finding("underdialysis").score
    assert "underdialysis" in h.recurrent


def test_history_accepts_ready_assessments() -> None:
    a1 = assess(*make("osmotic"), fill_missing=False)
    a2 = assess(*make("osmotic"), fill_missing=False)
    h = assess_history([a1, a2])
    assert h.recurrent == ["osmotic"]
