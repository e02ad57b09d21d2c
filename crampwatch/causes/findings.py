"""Result objects of the cause analyzer: Evidence, Recommendation, Finding, Assessment (docs/formats.md)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from crampwatch.causes.sentences import Direction
from crampwatch.causes.thresholds import CAUSE_THRESHOLDS, THRESHOLDS
from crampwatch.signals import T_MIN

Confidence = Literal["high", "moderate", "low"]


def _num(value: Any) -> Any:
    """JSON-safe number: floats rounded to 4 significant decimals, NaN/inf to None."""
    if value is None:
        return None
    if isinstance(value, bool | int | np.integer):
        return value if isinstance(value, bool) else int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        if not math.isfinite(f):
            return None
        return round(f, 4)
    return value


def jsonable(value: Any, number: Callable[[Any], Any] = _num) -> Any:
    """Nested dicts/lists with string keys and each leaf passed through ``number`` (JSON-safe numbers)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, number) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, number) for v in value]
    return number(value)


@dataclass(frozen=True)
class Evidence:
    """One observation compared against a threshold: signal (or context field), value, time, threshold,
    source, and whether it supports the cause, argues against it or is context (``direction``,
    :mod:`crampwatch.causes.sentences`).

    ``estimated`` is true when the value comes from a simulator fill-in or a default lab value.
    """

    signal: str
    value: float | str | None
    threshold: float | str | None
    source: str
    t_min: float | None = None
    estimated: bool = False
    note: str = ""
    direction: Direction = "context"
    #: The side of the threshold that supports the cause (``low``/``high``) when the direction was found
    #: by comparing the value with the threshold; None when it was set. Not part of the JSON.
    sense: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "signal": self.signal,
            "value": _num(self.value),
            T_MIN: _num(self.t_min),
            "threshold": _num(self.threshold),
            "source": self.source,
            "direction": self.direction,
        }
        if self.estimated:
            out["estimated"] = True
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Recommendation:
    """A prescription change or measure with the evidence behind it."""

    action: str
    evidence: str

    def to_dict(self) -> dict[str, str]:
        return {"action": self.action, "evidence": self.evidence}


@dataclass(frozen=True)
class Finding:
    """How strongly one mechanism explains cramps in this session (score 0-1), and why."""

    cause: str
    score: float
    confidence: Confidence
    evidence: list[Evidence] = field(default_factory=list)
    explanation: str = ""
    recommendations: list[Recommendation] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cause": self.cause,
            "score": _num(self.score),
            "confidence": self.confidence,
            "evidence": [e.to_dict() for e in self.evidence],
            "explanation": self.explanation,
            "recommendations": [r.to_dict() for r in self.recommendations],
        }
        if self.missing:
            out["missing_inputs"] = list(self.missing)
        out["thresholds"] = [
            {
                "name": n,
                "value": THRESHOLDS[n].value,
                "unit": THRESHOLDS[n].unit,
                "source": THRESHOLDS[n].source,
            }
            for n in CAUSE_THRESHOLDS.get(self.cause, ())
        ]
        return out


@dataclass(frozen=True)
class Assessment:
    """Ranked causes of cramps for one session plus session metrics. Immutable once built: a calibrated or
    annotated assessment is a new one (``dataclasses.replace``)."""

    session_id: str
    overall_risk: float
    causes: list[Finding]
    metrics: dict[str, Any] = field(default_factory=dict)
    missing_signals: list[str] = field(default_factory=list)
    estimated_signals: list[str] = field(default_factory=list)
    data_quality: list[str] = field(default_factory=list)
    idh_risk: float | None = None
    #: ``"predicted"`` when the trace is wholly simulated with no events or history (then the risk is the
    #: predicted risk of the prescription), else ``"session"`` (see :mod:`crampwatch.causes.risk_kinds`).
    risk_kind: str = "session"
    #: What produced ``overall_risk`` when a unit model was applied (``crampwatch.learn``); None: analyzer.
    risk_model: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "causes", sorted(self.causes, key=lambda f: f.score, reverse=True))

    @property
    def top_cause(self) -> Finding | None:
        """The highest-scoring finding (``None`` when there are none)."""
        return self.causes[0] if self.causes else None

    def finding(self, cause: str) -> Finding:
        """The finding for ``cause``."""
        for f in self.causes:
            if f.cause == cause:
                return f
        raise KeyError(cause)

    def to_dict(self) -> dict[str, Any]:
        """The Assessment JSON (docs/formats.md) plus ``idh_risk``, missing and estimated signals, quality."""
        out = {
            "session_id": self.session_id,
            "overall_risk": _num(self.overall_risk),
            "causes": [f.to_dict() for f in self.causes],
            "metrics": {k: _num(v) for k, v in self.metrics.items()},
            "idh_risk": _num(self.idh_risk),
            "risk_kind": self.risk_kind,
            "missing_signals": list(self.missing_signals),
            "estimated_signals": list(self.estimated_signals),
            "data_quality": list(self.data_quality),
        }
        if self.risk_model is not None:
            out["risk_model"] = jsonable(self.risk_model)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per cause: cause, score, confidence, n_evidence, explanation, first recommendation."""
        rows = [
            {
                "cause": f.cause,
                "score": f.score,
                "confidence": f.confidence,
                "n_evidence": len(f.evidence),
                "explanation": f.explanation,
                "recommendation": f.recommendations[0].action if f.recommendations else "",
            }
            for f in self.causes
        ]
        return pd.DataFrame(
            rows, columns=["cause", "score", "confidence", "n_evidence", "explanation", "recommendation"]
        )

    def evidence_frame(self) -> pd.DataFrame:
        """All evidence items as a table (cause, direction, signal, value, t_min, threshold, source,
        estimated, note)."""
        rows = [{"cause": f.cause, **e.to_dict()} for f in self.causes for e in f.evidence]
        cols = ["cause", "direction", "signal", "value", T_MIN, "threshold", "source", "estimated", "note"]
        return pd.DataFrame(rows).reindex(columns=cols)
