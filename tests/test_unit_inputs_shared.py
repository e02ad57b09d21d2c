"""The analyzer and the unit model share one feature pass per signal set: applying a unit model to an analysed
session computes no features again, and the inputs it reads equal those training computes from the trace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crampwatch.causes.scoring as scoring
from crampwatch.causes.assess import assess, assess_session
from crampwatch.learn.apply import apply_unit_model
from crampwatch.learn.inputs import table_from_evaluation, traces_table
from crampwatch.learn.unit_model import TERMS, UnitModel
from crampwatch.model import load_scenario
from crampwatch.simulator import simulate
from crampwatch.trace import Trace


@pytest.fixture(scope="module")
def session() -> tuple[Trace, object]:
    scenario = load_scenario("examples/high_uf.yaml")
    return simulate(scenario), scenario


def _model() -> UnitModel:
    """A unit model that departs from the prior on every input (weights are arbitrary, not trained)."""
    rng = np.random.default_rng(0)
    return UnitModel(
        intercept=-0.2,
        coefficients={t: float(w) for t, w in zip(TERMS, rng.normal(0.0, 0.05, len(TERMS)), strict=True)},
        fill=dict.fromkeys(TERMS, 0.0),
        uses_prior=False,
        decision="",
        created_at="2026-01-01T00:00:00Z",
    )


@pytest.fixture
def passes(monkeypatch) -> list[int]:
    """Counts the feature passes (calls of the features function) and the sessions in each."""
    seen: list[int] = []
    compute = scoring.compute_features

    def counted(t_min, signals, ctx):
        seen.append(ctx.n)
        return compute(t_min, signals, ctx)

    monkeypatch.setattr(scoring, "compute_features", counted)
    return seen


def _sparse(trace: Trace) -> Trace:
    """The session as a unit without a lab line records it: BP and RBV only, every 5th row, plus rows after
    the end of dialysis, out of order, and a mean arterial pressure the reader estimated."""
    data = trace.data[["t_min", "sbp_mmhg", "dbp_mmhg", "rbv_pct"]].iloc[::5].copy()
    data["map_mmhg"] = (data["sbp_mmhg"] + 2.0 * data["dbp_mmhg"]) / 3.0 + 4.0
    after = data.tail(3).assign(t_min=data["t_min"].max() + np.array([20.0, 40.0, 60.0]))
    data = pd.concat([data, after]).sample(frac=1.0, random_state=1).reset_index(drop=True)
    sources = {c: "measured" for c in data.columns if c != "t_min"} | {"map_mmhg": "estimated"}
    return Trace(data, sources=sources, session_id="sparse")


def test_a_recorded_session_is_evaluated_once_with_a_unit_model(session, passes):
    trace, scenario = session
    assessed = assess_session(trace, scenario)
    assert assessed.assessment.estimated_signals == []
    assert passes == [1]
    applied = apply_unit_model(assessed.assessment, trace, scenario, _model(), recorded=assessed.recorded)
    assert passes == [1]  # the unit model read the analyzer's own pass
    # computing the inputs from the trace (the training path) gives the same risk, with one more pass
    again = apply_unit_model(assessed.assessment, trace, scenario, _model())
    assert passes == [1, 1]
    assert applied.overall_risk == again.overall_risk
    assert applied.risk_model == again.risk_model
    assert applied.overall_risk != assessed.assessment.overall_risk


def test_a_session_with_estimated_signals_adds_no_pass_for_the_unit_model(session, passes):
    trace, scenario = session
    sparse = _sparse(trace)
    alone = assess(sparse, scenario)
    analyzer_passes = len(passes)
    assert alone.estimated_signals and analyzer_passes == 2  # filled-in and recorded-only, the analyzer's own
    passes.clear()
    assessed = assess_session(sparse, scenario)
    apply_unit_model(assessed.assessment, sparse, scenario, _model(), recorded=assessed.recorded)
    assert len(passes) == analyzer_passes
    assert assessed.assessment == alone


@pytest.mark.parametrize("fill", [True, False])
def test_training_and_application_read_the_same_inputs(session, fill):
    """The input row training computes from a trace file equals the one read from the analyzer's pass,
    for a full record and for a sparse, unsorted one with post-dialysis rows and a reader-estimated signal."""
    trace, scenario = session
    for tr in (trace, _sparse(trace)):
        trained = traces_table([tr], [scenario])
        applied = table_from_evaluation(assess_session(tr, scenario, fill_missing=fill).recorded)
        pd.testing.assert_frame_equal(applied, trained, check_exact=False, rtol=1e-12, atol=0.0)
    # the estimated signal is not an input: the row without it is the same
    sparse = _sparse(trace)
    without = Trace(sparse.data.drop(columns=["map_mmhg"]), sources=dict(sparse.sources), session_id="s")
    pd.testing.assert_frame_equal(
        traces_table([without], [scenario]), traces_table([sparse], [scenario]), check_exact=True
    )


def test_a_twin_session_leaves_the_unit_model_its_own_pass(session):
    trace, scenario = session

    class Twin:  # the analyzer's personal-model protocol, changing nothing
        def personalize(self, sc):
            return sc

        def evidence(self, cause):
            return []

    assessed = assess_session(trace, scenario, twin=Twin())
    assert assessed.recorded is None
