"""The fixed-step batch integrator against scipy solve_ivp on the same right-hand side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crampwatch.model import load_scenario
from crampwatch.simulator import simulate_batch, simulate_reference

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def batch() -> tuple[list, object]:
    scs = [load_scenario(f) for f in EXAMPLES]
    return scs, simulate_batch(scs)


@pytest.mark.parametrize("i", range(len(EXAMPLES)), ids=[f.stem for f in EXAMPLES])
def test_batch_matches_solve_ivp(batch: tuple, i: int) -> None:
    scs, res = batch
    ref = simulate_reference(scs[i], method="DOP853", rtol=1e-9, baro_iterations=12).data  # tight
    fix = res.trace(i).data
    assert len(ref) == len(fix)
    assert np.max(np.abs(fix["rbv_pct"] - ref["rbv_pct"])) < 0.2
    assert np.max(np.abs(fix["sbp_mmhg"] - ref["sbp_mmhg"])) < 1.0
    assert np.max(np.abs(fix["plasma_na_mmol_l"] - ref["plasma_na_mmol_l"])) < 0.1
    assert np.max(np.abs(fix["urea_mmol_l"] - ref["urea_mmol_l"]) / ref["urea_mmol_l"]) < 0.005
    assert np.max(np.abs(fix["ica_mmol_l"] - ref["ica_mmol_l"])) < 0.005


def test_reference_methods_agree() -> None:
    sc = load_scenario(EXAMPLES[-1])
    a = simulate_reference(sc, method="LSODA", rtol=1e-6, record_every_min=10.0).data
    b = simulate_reference(sc, method="Radau", rtol=1e-6, record_every_min=10.0).data
    np.testing.assert_allclose(a["rbv_pct"], b["rbv_pct"], atol=1e-3)
    np.testing.assert_allclose(a["sbp_mmhg"], b["sbp_mmhg"], atol=1e-2)


def test_matched_accuracy_reference_is_as_accurate_as_the_batch(batch: tuple) -> None:
    """The default scipy reference (one solve_ivp per constant-control interval) stays within the batch's
    error bounds against the tight solution, with and without a post-dialysis phase."""
    scs, _ = batch
    sc = scs[1]
    tight = simulate_reference(sc, method="DOP853", rtol=1e-9, baro_iterations=12, after_min=30).data
    ref = simulate_reference(sc, after_min=30).data
    assert len(ref) == len(tight) == sc.prescription.duration_min + 31
    assert np.max(np.abs(ref["rbv_pct"] - tight["rbv_pct"])) < 0.2
    assert np.max(np.abs(ref["sbp_mmhg"] - tight["sbp_mmhg"])) < 1.0


def test_stacked_reference_matches_the_per_session_reference(batch: tuple) -> None:
    """All examples stacked into one state vector (different durations, so the solve is split wherever any
    session's controls change) give each session's tight solution, within a small fraction of the batch's
    error (the solver controls the error of the whole stacked vector, not of each session)."""
    from crampwatch.simulator.reference import simulate_reference_stacked

    scs, res = batch
    stacked = simulate_reference_stacked(scs, method="DOP853", rtol=1e-8, baro_iterations=12)
    assert not stacked.failed.any()
    np.testing.assert_allclose(stacked.t_min, res.t_min)
    for i, sc in enumerate(scs):
        tight = simulate_reference(sc, method="DOP853", rtol=1e-9, baro_iterations=12).data
        got = stacked.trace(i).data
        assert len(got) == len(tight)
        assert np.max(np.abs(got["rbv_pct"] - tight["rbv_pct"])) < 1e-3
        assert np.max(np.abs(got["sbp_mmhg"] - tight["sbp_mmhg"])) < 1e-2
        assert np.max(np.abs(got["plasma_na_mmol_l"] - tight["plasma_na_mmol_l"])) < 1e-2
    np.testing.assert_allclose(stacked.summary["delivered_ktv"], res.summary["delivered_ktv"], rtol=0.01)


def test_compiled_rhs_reference_equals_the_interpreted_one() -> None:
    """The numba-compiled right-hand side called from solve_ivp is the same function as the interpreted
    one (fused multiply-add aside): same steps, same records to round-off."""
    pytest.importorskip("numba")
    sc = load_scenario(EXAMPLES[0])
    a = simulate_reference(sc, after_min=20).data
    b = simulate_reference(sc, after_min=20, compiled_rhs=True).data
    assert len(a) == len(b)
    for name in ("rbv_pct", "sbp_mmhg", "plasma_na_mmol_l", "urea_mmol_l"):
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=1e-8)
