"""The unit model and its JSON file: versioned, with its feature list, training summary and date (no pickle).

A file is only used by the code that understands it: another ``format_version``, another feature list,
inputs computed another way (:data:`INPUTS`) or a model trained on another analyzer prior (other risk
weights or score exponent) raises
:class:`~crampwatch.errors.InputError` with one line (CLI exit 2, HTTP 422).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from crampwatch.causes.findings import jsonable
from crampwatch.causes.registry import CAUSES
from crampwatch.causes.scoring import RISK_SCORE_EXPONENT, RISK_WEIGHTS
from crampwatch.errors import InputError
from crampwatch.learn.fit import prior_logit
from crampwatch.learn.inputs import (
    FEATURE_LABELS,
    FEATURE_NAMES,
    INTERACTION_NAMES,
    PRIOR_COLUMN,
    THRESHOLD_NAMES,
    all_extra_columns,
    input_table,
    score_column,
)

FORMAT = "crampwatch-unit-model"
FORMAT_VERSION = 1
#: Name of the logit-of-the-prior term among the coefficients.
PRIOR_TERM = "prior_logit"
#: Coefficient names in file order: the prior term, :data:`FEATURE_NAMES`, then the threshold and interaction
#: terms (their coefficients are 0 unless cross-validation supported them).
TERMS: tuple[str, ...] = (PRIOR_TERM, *FEATURE_NAMES, *THRESHOLD_NAMES, *INTERACTION_NAMES)
#: What the inputs are computed from (:mod:`crampwatch.learn.inputs`). A file whose ``inputs`` differ (files
#: written before it was recorded have none: their inputs kept rows after the end of dialysis and signals a
#: reader estimated) was trained on other numbers and is refused.
INPUTS = (
    "analyzer features of the recorded signals: rows up to the end of dialysis, "
    "signals a reader or the simulator estimated left out"
)
#: Largest model file read (modelling choice: a model is a few kB).
MAX_FILE_BYTES = 2_000_000


def prior_signature() -> dict[str, Any]:
    """The analyzer prior a model was trained around: its noisy-OR weights and score exponent."""
    return {"risk_weights": dict(RISK_WEIGHTS), "score_exponent": RISK_SCORE_EXPONENT}


@dataclass(frozen=True)
class UnitModel:
    """A unit's cramp-risk model: ``logit p = logit(prior) + intercept + sum coef_k x_k``.

    ``uses_prior`` is False when cross-validation showed no gain (or there were too few sessions): the unit
    model then returns the prior unchanged and ``decision`` says why. ``fill`` holds the training mean used
    for a missing input.
    """

    intercept: float
    coefficients: dict[str, float]
    fill: dict[str, float]
    uses_prior: bool
    decision: str
    created_at: str
    training: dict[str, Any] = field(default_factory=dict)
    alpha: float = math.nan

    # ------------------------------------------------------------------------------------- prediction

    def _matrix(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [c for c in (PRIOR_COLUMN, *FEATURE_NAMES) if c not in table.columns]
        if missing:
            raise InputError(f"inputs: missing column {missing[0]!r}", missing[0])
        prior = table[PRIOR_COLUMN].to_numpy(dtype=float)
        features = table[list(FEATURE_NAMES)].to_numpy(dtype=float)
        X = np.column_stack([prior_logit(prior), features, all_extra_columns(features)])
        fill = np.array([self.fill[t] for t in TERMS])
        return prior, np.where(np.isnan(X), fill, X)

    def risk(self, table: pd.DataFrame) -> np.ndarray:
        """Cramp risk of each session of an input table (:mod:`crampwatch.learn.inputs`)."""
        prior, X = self._matrix(table)
        if self.uses_prior:
            return prior.copy()
        coef = np.array([self.coefficients[t] for t in TERMS])
        return expit(prior_logit(prior) + self.intercept + X @ coef)

    def batch_risk(self, t_min: np.ndarray, signals: Any, scenarios: Any) -> np.ndarray:
        """Cramp risk of simulated or recorded sessions on one grid (arguments as for ``score_batch``)."""
        return self.risk(input_table(t_min, signals, scenarios))

    def contributions(self, table: pd.DataFrame) -> pd.DataFrame:
        """Per session and term, the change in log-odds of cramp against the prior (0: prior kept)."""
        _, X = self._matrix(table)
        coef = np.array([0.0 if self.uses_prior else self.coefficients[t] for t in TERMS])
        return pd.DataFrame(X * coef, columns=list(TERMS), index=table.index)

    # ------------------------------------------------------------------------------------ description

    def cause_weights(self) -> list[dict[str, Any]]:
        """Each cause's prior noisy-OR weight and its learned log-odds weight (per unit of score) here."""
        return [
            {
                "cause": c,
                "prior_weight": RISK_WEIGHTS[c],
                "learned_log_odds_per_score": self.coefficients[score_column(c)],
                "odds_ratio_at_full_score": math.exp(
                    max(-50.0, min(50.0, self.coefficients[score_column(c)]))
                ),
            }
            for c in CAUSES
        ]

    def feature_weights(self) -> list[dict[str, Any]]:
        """Learned log-odds per unit of each key feature and of the prior's logit."""
        out = [
            {
                "feature": PRIOR_TERM,
                "label": "Analyzer risk (log-odds)",
                "unit": "log-odds",
                "learned_log_odds_per_unit": self.coefficients[PRIOR_TERM],
            }
        ]
        for name in (*FEATURE_NAMES, *THRESHOLD_NAMES, *INTERACTION_NAMES):
            if name.startswith("score_"):
                continue
            label, unit = FEATURE_LABELS[name]
            out.append(
                {
                    "feature": name,
                    "label": label,
                    "unit": unit,
                    "learned_log_odds_per_unit": self.coefficients[name],
                }
            )
        return out

    def label(self) -> str:
        """One line naming the model: what produced the risk."""
        n = self.training.get("sessions")
        base = f"unit model of {self.created_at[:10]}" + (f" ({n} sessions)" if n else "")
        return base + (" – keeps the analyzer's risk" if self.uses_prior else "")

    # --------------------------------------------------------------------------------------- the file

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "offset": "logit of the analyzer's overall_risk",
            "prior": prior_signature(),
            "inputs": INPUTS,
            "features": list(TERMS),
            "uses_prior": self.uses_prior,
            "decision": self.decision,
            "alpha": _num(self.alpha),
            "intercept": _num(self.intercept),
            "coefficients": {t: _num(self.coefficients[t]) for t in TERMS},
            "fill": {t: _num(self.fill[t]) for t in TERMS},
            "cause_weights": [{k: _num(v) for k, v in w.items()} for w in self.cause_weights()],
            "feature_weights": [{k: _num(v) for k, v in w.items()} for w in self.feature_weights()],
            "training": jsonable(self.training, _num),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> UnitModel:
        """Validate a model-file mapping; another version, feature list or prior is an InputError."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(
                f"model file: not a crampwatch unit model (expected format {FORMAT!r})", "format"
            )
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise InputError(
                f"model file: format_version {version!r} is not supported (allowed {FORMAT_VERSION}); "
                "retrain with crampwatch calibrate",
                "format_version",
            )
        if data.get("features") != list(TERMS):
            raise InputError(
                "model file: features differ from this analyzer's "
                f"({', '.join(TERMS)}); retrain with crampwatch calibrate",
                "features",
            )
        if data.get("inputs") != INPUTS:
            raise InputError(
                "model file: trained on inputs computed another way (this analyzer reads the "
                f"{INPUTS}); retrain with crampwatch calibrate",
                "inputs",
            )
        if data.get("prior") != prior_signature():
            raise InputError(
                "model file: trained around another analyzer prior (risk weights or score exponent differ); "
                "retrain with crampwatch calibrate",
                "prior",
            )
        coefficients = _numbers(data.get("coefficients"), "coefficients")
        fill = _numbers(data.get("fill"), "fill")
        intercept = data.get("intercept")
        if not _finite(intercept):
            raise InputError("model file: intercept must be a finite number", "intercept")
        uses_prior = data.get("uses_prior")
        if not isinstance(uses_prior, bool):
            raise InputError("model file: uses_prior must be true or false", "uses_prior")
        created = data.get("created_at")
        if not isinstance(created, str) or not created:
            raise InputError("model file: created_at must be a date-time text", "created_at")
        training = data.get("training") or {}
        if not isinstance(training, dict):
            raise InputError("model file: training must be an object", "training")
        alpha = data.get("alpha")
        return cls(
            intercept=float(intercept),
            coefficients=coefficients,
            fill=fill,
            uses_prior=uses_prior,
            decision=str(data.get("decision") or ""),
            created_at=created,
            training=training,
            alpha=float(alpha) if _finite(alpha) else math.nan,
        )

    def save(self, path: str | Path) -> Path:
        """Write the JSON file whole (a temporary file renamed into place: never half-written)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.to_json() + "\n", encoding="utf-8")
        tmp.replace(target)
        return target


def load_unit_model(path: str | Path) -> UnitModel:
    """Read and validate a model file (one-line InputError when it is not a usable model)."""
    p = Path(path)
    if p.is_file() and p.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"model file: larger than {MAX_FILE_BYTES} bytes", "calibration")
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"model file: not valid JSON (line {exc.lineno})", "calibration") from None
    return UnitModel.from_dict(data)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(value: Any, name: str) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) != set(TERMS):
        raise InputError(f"model file: {name} must give a number for each of the features", name)
    bad = next((k for k, v in value.items() if not _finite(v)), None)
    if bad is not None:
        raise InputError(f"model file: {name}.{bad} must be a finite number", f"{name}.{bad}")
    return {k: float(v) for k, v in value.items()}


def _num(value: Any) -> Any:
    """JSON-safe number of a model file: floats to 8 significant digits, NaN/inf to None."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return float(f"{f:.8g}") if math.isfinite(f) else None
    return value
