"""Use a unit model on one assessed session: the overall risk comes from the unit model, the causes keep
their scores, and every finding's evidence names the unit model and that cause's learned weight."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crampwatch.causes.findings import Assessment, Evidence
from crampwatch.causes.scoring import Evaluation
from crampwatch.learn.inputs import PRIOR_COLUMN, score_column, session_inputs, table_from_evaluation
from crampwatch.learn.unit_model import UnitModel
from crampwatch.model import Scenario
from crampwatch.trace import Trace

#: ``Evidence.signal`` of the unit-model weight added to each finding.
WEIGHT_EVIDENCE = "unit_model_weight"


def risk_model_summary(
    model: UnitModel, analyzer_risk: float, signal_risk: float, risk: float, contributions: dict[str, float]
) -> dict[str, Any]:
    """What produced a session's overall risk (the ``risk_model`` block of the Assessment JSON).

    ``analyzer_risk``: the analyzer's overall risk of the session; ``signal_risk``: the analyzer's risk from
    the signals and context alone (the unit model's input, events ignored); ``risk``: the overall risk
    reported.
    """
    return {
        "name": "unit model",
        "label": model.label(),
        "created_at": model.created_at,
        "uses_prior": model.uses_prior,
        "decision": model.decision,
        "analyzer_risk": analyzer_risk,
        "analyzer_risk_from_signals": signal_risk,
        "risk": risk,
        "sessions": model.training.get("sessions"),
        "contributions_log_odds": contributions,
        "cause_weights": model.cause_weights(),
    }


def apply_unit_model(
    assessment: Assessment,
    trace: Trace,
    scenario: Scenario,
    model: UnitModel,
    *,
    model_id: int | None = None,
    recorded: Evaluation | None = None,
) -> Assessment:
    """A new assessment: ``assessment`` with its overall risk from ``model``, each finding citing the
    model's weight of its cause, and ``risk_model`` saying what produced the risk (with ``model_id``, the
    stored model's id). ``assessment`` itself is not changed.

    The unit model reads the session's recorded signals and context as in training (events ignored: they
    are the label). ``recorded`` is the analyzer's evaluation of them
    (:attr:`crampwatch.causes.assess.Assessed.recorded`): given, no features are computed here; else they are
    computed from ``trace`` and ``scenario`` by the training path (:func:`session_inputs`). When the model
    keeps the prior, the analyzer's overall risk stands unchanged.
    """
    row = session_inputs(trace, scenario) if recorded is None else table_from_evaluation(recorded)
    risk = float(model.risk(row)[0])
    contrib = {k: float(v) for k, v in model.contributions(row).iloc[0].items()}
    analyzer_risk = float(assessment.overall_risk)
    overall = analyzer_risk if model.uses_prior else risk
    source = model.label()
    causes = []
    for finding in assessment.causes:
        weight = model.coefficients[score_column(finding.cause)]
        cited = Evidence(
            signal=WEIGHT_EVIDENCE,
            value=weight,
            threshold=None,
            source=source,
            note=(
                f"learned log-odds per unit of {finding.cause} score in this unit, beyond the analyzer's "
                f"risk; adds {contrib[score_column(finding.cause)]:+.2f} to this session's log-odds"
                if not model.uses_prior
                else "not used: the unit model keeps the analyzer's risk"
            ),
        )
        causes.append(replace(finding, evidence=[*finding.evidence, cited]))
    summary = risk_model_summary(model, analyzer_risk, float(row[PRIOR_COLUMN].iloc[0]), overall, contrib)
    if model_id is not None:
        summary["model_id"] = model_id
    return replace(assessment, overall_risk=overall, causes=causes, risk_model=summary)
