"""What a patient twin changed in an assessment: each personalized part of the twin applied alone.

``crampwatch analyze --twin`` says that the twin was used and which of its parts moved the result: the
session is assessed with the population patient, with the whole twin, and with each part alone (refill
capacity, vascular reserve and blood volume as fitted multiples, the personal critical RBV, the Na set point
standing in for a missing plasma Na lab). A part "changed the result" when alone it moves the overall risk
or a cause score as shown (two decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from crampwatch.causes import Assessment, assess
from crampwatch.causes.registry import CAUSE_REGISTRY
from crampwatch.causes.sentences import number, plural
from crampwatch.model import Scenario, with_changes
from crampwatch.trace import Trace
from crampwatch.twin.priors import FITTED
from crampwatch.twin.result import PatientTwin


def _differ(a: float, b: float) -> bool:
    """Whether two scores differ as they are shown (two decimals)."""
    return f"{a:.2f}" != f"{b:.2f}"


@dataclass(frozen=True)
class TwinPart:
    """One personalized part of the twin and what it does to the assessment on its own."""

    label: str
    value_text: str
    risk_population: float
    risk_with_part: float
    #: (cause label, score with the population patient, score with this part) for causes it moved.
    moved: tuple[tuple[str, float, float], ...]

    @property
    def changed(self) -> bool:
        return _differ(self.risk_with_part, self.risk_population) or bool(self.moved)


def _part_scenarios(twin: PatientTwin, scenario: Scenario) -> list[tuple[str, str, Scenario]]:
    """(label, value in words, scenario with only that part of the twin) for each part."""
    patient = scenario.patient
    full = twin.personalize_patient(patient)
    out = []
    for k, p in enumerate(FITTED):
        theta = np.ones(len(FITTED))
        theta[k] = twin.multipliers[k]
        one = twin.personalize_patient(patient, theta)
        one = with_changes(one, critical_rbv_pct=patient.critical_rbv_pct, labs=patient.labs)
        fitted = twin.parameters.get(p.name, {})
        note = "" if fitted.get("identified", True) else ", not identified by the sessions"
        out.append((p.label, f"{number(float(twin.multipliers[k]))} × population{note}", one))
    if full.critical_rbv_pct != patient.critical_rbv_pct:
        alone = with_changes(patient, critical_rbv_pct=full.critical_rbv_pct)
        out.append(("personal critical RBV", f"{number(full.critical_rbv_pct)} %", alone))
    if full.labs != patient.labs:
        alone = with_changes(patient, labs=full.labs)
        out.append(
            ("Na set point for the missing plasma Na lab", f"{number(full.labs.na_mmol_l)} mmol/L", alone)
        )
    return [(label, text, with_changes(scenario, patient=p)) for label, text, p in out]


def _moved(base: Assessment, other: Assessment) -> tuple[tuple[str, float, float], ...]:
    before = {f.cause: f.score for f in base.causes}
    return tuple(
        (CAUSE_REGISTRY[f.cause].label, before[f.cause], f.score)
        for f in other.causes
        if _differ(f.score, before[f.cause])
    )


def twin_parts(
    trace: Trace, scenario: Scenario, twin: PatientTwin, *, population: Assessment, **assess_args: Any
) -> list[TwinPart]:
    """Each personalized part of ``twin`` applied alone, against the ``population`` assessment of the same
    session (``assess_args``: the events and fill-in options that assessment used)."""
    twin.check_patient(scenario.patient)
    parts = []
    for label, text, alone in _part_scenarios(twin, scenario):
        result = assess(trace, alone, **assess_args)
        parts.append(
            TwinPart(label, text, population.overall_risk, result.overall_risk, _moved(population, result))
        )
    return parts


def twin_summary(
    twin: PatientTwin, with_twin: Assessment, population: Assessment, parts: list[TwinPart]
) -> list[str]:
    """Lines for the text output: the twin was used, the risk with and without it, and each part that
    changed the result (with what it moved), then the parts that did not."""
    lines = [
        f"Patient twin used (fitted on {plural(twin.n_sessions, 'session', 'sessions')}): overall risk "
        f"{with_twin.overall_risk:.2f} with the twin, {population.overall_risk:.2f} with the population "
        "patient."
    ]
    changed = [p for p in parts if p.changed]
    for p in changed:
        moved = "; ".join(f"{cause} {a:.2f} → {b:.2f}" for cause, a, b in p.moved)
        lines.append(
            f"  changed the result: {p.label} {p.value_text} (alone: risk {p.risk_population:.2f} → "
            f"{p.risk_with_part:.2f}" + (f"; {moved}" if moved else "") + ")"
        )
    unchanged = [p.label for p in parts if not p.changed]
    if unchanged:
        lines.append(f"  no change alone: {', '.join(unchanged)}")
    if not changed:
        lines.append("  no part of the twin changed this session's result")
    return lines


__all__ = ["TwinPart", "twin_parts", "twin_summary"]
