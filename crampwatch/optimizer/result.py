"""Result types of the prescription optimizer and their JSON form (docs/formats.md "Optimization result")."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crampwatch.model import Scenario
from crampwatch.trace import Trace


def _r(x: float, nd: int = 3) -> float | None:
    """Round for JSON; non-finite values become ``None`` (JSON has no NaN)."""
    return round(float(x), nd) if x is not None and math.isfinite(float(x)) else None


@dataclass(frozen=True)
class Outcome:
    """Predicted outcome of one prescription.

    ``risk`` / ``idh_risk`` / ``causes`` are the analyzer's scores of the simulated session of the patient
    as entered: the *predicted* risk of the prescription, the same number ``analyze`` gives for that
    simulation. ``risk_range`` is the 10th-90th percentile over the ensemble of plausible patients
    (widened to include ``risk``), ``ensemble_mean_risk`` the ensemble mean that ranks the options. Dose,
    URR and UF are those of the patient as entered, where the dose and UF constraints are checked.
    ``std_ktv`` is the weekly standard Kt/V (:func:`crampwatch.causes.dose.standard_ktv`).
    """

    risk: float
    risk_range: tuple[float, float]
    idh_risk: float
    sp_ktv: float
    urr_pct: float
    uf_l: float
    uf_required_l: float
    duration_min: float
    std_ktv: float = float("nan")
    ensemble_mean_risk: float = float("nan")
    causes: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class Recommendation:
    """One recommended prescription with its predicted outcome and the reasons for it.

    ``equivalent_changes`` lists other prescriptions that change the same settings and show the same
    predicted risks (each as its changes in clinical text, joined by "; "): one option, several ways.
    """

    scenario: Scenario
    outcome: Outcome
    changes: list[str]
    addresses: list[str]
    rationale: str
    idwg_change_kg: float = 0.0
    #: The changes as clinical text ("Dialysate Na 138 → 144 mmol/L"), same order as ``changes``.
    change_text: list[str] = field(default_factory=list)
    equivalent_changes: list[str] = field(default_factory=list)

    @property
    def prescription(self) -> dict[str, Any]:
        return self.scenario.prescription.model_dump(mode="json", exclude_none=True)

    def to_dict(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "prescription": self.prescription,
            "risk": _r(o.risk),
            "risk_range": [_r(o.risk_range[0]), _r(o.risk_range[1])],
            "ensemble_mean_risk": _r(o.ensemble_mean_risk),
            "idh_risk": _r(o.idh_risk),
            "sp_ktv": _r(o.sp_ktv, 2),
            "uf_l": _r(o.uf_l, 2),
            "changes": list(self.changes),
            "change_descriptions": list(self.change_text),
            "addresses": list(self.addresses),
            "rationale": self.rationale,
            "urr_pct": _r(o.urr_pct, 1),
            "std_ktv": _r(o.std_ktv, 2),
            "uf_required_l": _r(o.uf_required_l, 2),
            "duration_min": _r(o.duration_min, 1),
            "idwg_change_kg": _r(self.idwg_change_kg, 2),
            "causes": {k: _r(v) for k, v in o.causes.items()},
            "equivalent_changes": list(self.equivalent_changes),
        }


@dataclass(frozen=True)
class LeadingCause:
    """A leading cause of the current session: the recommendations that change one of its levers and lower
    it (1-based numbers), or one clinical line per lever saying why none does."""

    cause: str
    score: float
    levers: tuple[str, ...]
    recommendations: tuple[int, ...] = ()
    why_not: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "score": _r(self.score),
            "levers": list(self.levers),
            "recommendations": list(self.recommendations),
            "why_not": list(self.why_not),
        }


@dataclass(frozen=True)
class OptimizationResult:
    """Current prescription, the top recommendations (lowest risk first) and, if none, why not."""

    scenario: Scenario
    current: Outcome
    recommendations: list[Recommendation]
    infeasible: str | None
    notes: list[str] = field(default_factory=list)
    leading_causes: list[LeadingCause] = field(default_factory=list)
    n_candidates: int = 0
    n_simulations: int = 0
    elapsed_s: float = 0.0
    _trace_getter: Callable[[int], Trace] | None = field(default=None, repr=False)
    _trace_cache: dict[int, Trace] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        c = self.current
        return {
            "current": {
                "risk": _r(c.risk),
                "idh_risk": _r(c.idh_risk),
                "sp_ktv": _r(c.sp_ktv, 2),
                "uf_l": _r(c.uf_l, 2),
                "duration_min": _r(c.duration_min, 1),
                "risk_range": [_r(c.risk_range[0]), _r(c.risk_range[1])],
                "ensemble_mean_risk": _r(c.ensemble_mean_risk),
                "urr_pct": _r(c.urr_pct, 1),
                "std_ktv": _r(c.std_ktv, 2),
                "causes": {k: _r(v) for k, v in c.causes.items()},
                "violations": list(c.violations),
            },
            "recommendations": [r.to_dict() for r in self.recommendations],
            "infeasible": self.infeasible,
            "notes": list(self.notes),
            "leading_causes": [lc.to_dict() for lc in self.leading_causes],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def trace(self, index: int) -> Trace | None:
        """Simulated trace (patient as entered): 0 = current prescription, i = recommendation i."""
        if self._trace_getter is None or not 0 <= index <= len(self.recommendations):
            return None
        if index not in self._trace_cache:
            self._trace_cache[index] = self._trace_getter(index)
        return self._trace_cache[index]

    @property
    def traces(self) -> dict[str, Trace]:
        """``{"current": trace, "recommendation 1": trace, ...}`` for side-by-side display."""
        out: dict[str, Trace] = {}
        for i in range(len(self.recommendations) + 1):
            tr = self.trace(i)
            if tr is not None:
                out["current" if i == 0 else f"recommendation {i}"] = tr
        return out
