"""Cause analyzer: why does this patient cramp, and what should change (one module per mechanism).

``assess`` ranks the mechanisms of one session; ``score_batch`` is the vectorized core shared with the
optimizer; ``assess_history`` aggregates a patient's sessions.
"""

from crampwatch.causes.assess import assess
from crampwatch.causes.findings import Assessment, Evidence, Finding, Recommendation
from crampwatch.causes.history import HistorySummary, assess_history
from crampwatch.causes.registry import CAUSE_REGISTRY, CAUSES, CauseSpec
from crampwatch.causes.scoring import RISK_WEIGHTS, score_batch, stack_traces
from crampwatch.causes.thresholds import THRESHOLDS, Threshold

__all__ = [
    "CAUSES",
    "CAUSE_REGISTRY",
    "CauseSpec",
    "RISK_WEIGHTS",
    "THRESHOLDS",
    "Assessment",
    "Evidence",
    "Finding",
    "HistorySummary",
    "Recommendation",
    "Threshold",
    "assess",
    "assess_history",
    "score_batch",
    "stack_traces",
]
