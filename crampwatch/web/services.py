"""What the pages and the API do with the store and the analysis layers (one place, used by both)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crampwatch.causes import CAUSE_REGISTRY, assess
from crampwatch.causes.assess import assess_session
from crampwatch.model import Patient, Scenario, parse_scenario
from crampwatch.optimizer import optimize
from crampwatch.prescription_settings import (
    FORM_SETTINGS,
    SETTING_BY_NAME,
    UF_PROFILE_NAMES,
    PrescriptionSetting,
    apply_changes,
    describe_changes,
    settings_of,
)
from crampwatch.simulator import simulate
from crampwatch.store.records import session_scenario
from crampwatch.store.twins import latest_twin
from crampwatch.twin import PatientTwin
from crampwatch.version import MODEL_VERSION
from crampwatch.web import model_service

#: What-if form inputs, and every setting the what-if accepts (form, API, optimizer suggestions): the
#: prescription-setting registry.
WHATIF_FIELDS: dict[str, PrescriptionSetting] = {s.name: s for s in FORM_SETTINGS}
ALL_FIELDS: dict[str, PrescriptionSetting] = SETTING_BY_NAME
UF_PROFILES = UF_PROFILE_NAMES


def model_version() -> str:
    """Version tag stored with each assessment."""
    return MODEL_VERSION


def patient_twin(store: Any, patient_id: str) -> tuple[PatientTwin | None, str]:
    """(the patient's newest stored twin or None, the version tag of assessments made with it)."""
    stored = latest_twin(store, patient_id)
    if stored is None:
        return None, model_version()
    return stored.twin, f"{model_version()}+twin{stored.version}"


def has_directions(assessment: dict[str, Any]) -> bool:
    """Whether every evidence item of a stored assessment says its direction (assessments stored by
    earlier versions do not, and are made again)."""
    return all("direction" in e for c in assessment.get("causes", []) for e in c.get("evidence", []))


def assessment_for(store: Any, session: Any, patient: Patient) -> dict[str, Any]:
    """The stored assessment of a session, or a fresh one (then stored).

    A stored assessment is reused only when the same unit model (or none) produced its overall risk, and
    the patient's newest twin (if any) its findings; the assessment uses that twin.
    """
    twin, version = patient_twin(store, patient.id)
    same_twin = twin is None or session.assessment_model_version == version
    if (
        session.assessment
        and same_twin
        and has_directions(session.assessment)
        and model_service.model_id_of(session.assessment) == model_service.usable_model_id(store)
    ):
        return session.assessment
    scenario = session_scenario(patient, session)
    assessed = assess_session(session.trace, scenario, events=session.trace.events, twin=twin)
    assessment = model_service.apply_active(store, assessed, session.trace, scenario)
    result = {**assessment.to_dict(), "session_id": session.id}
    store.save_assessment(session.id, result, version)
    return result


@dataclass(frozen=True)
class WhatIf:
    """Baseline and changed prescription, both simulated and assessed the same way."""

    before_scenario: Scenario
    after_scenario: Scenario
    before_trace: Any
    after_trace: Any
    before: dict[str, Any]
    after: dict[str, Any]
    changes: list[str]
    #: The changes as clinical text ("Dialysate Na 138 → 144 mmol/L").
    change_text: list[str]


def what_if(
    patient: Patient, session: Any, changes: dict[str, Any], twin: PatientTwin | None = None
) -> WhatIf:
    """Re-simulate the session with ``changes`` to its prescription (as the patient ``twin`` when given);
    raise InputError on bad values."""
    base = session_scenario(patient, session)
    if twin is not None:
        base = twin.personalize(base)
    changed = parse_scenario(
        {
            "patient": base.patient.model_dump(mode="json"),
            "prescription": apply_changes(base.prescription, changes),
        }
    )
    changes = describe_changes(base.prescription, changed.prescription, patient=base.patient)
    before_trace = simulate(base)
    after_trace = simulate(changed)
    return WhatIf(
        before_scenario=base,
        after_scenario=changed,
        before_trace=before_trace,
        after_trace=after_trace,
        before=assess(before_trace, base).to_dict(),
        after=assess(after_trace, changed).to_dict(),
        changes=[c.code for c in changes],
        change_text=[c.text for c in changes],
    )


def optimize_session(patient: Patient, session: Any, store: Any = None) -> dict[str, Any]:
    """Run ``crampwatch.optimizer.optimize`` on the session's scenario.

    With ``store``, the store's active unit model gives the predicted risks and the patient's newest twin
    is the patient (its ensemble drawn from the twin's uncertainty). Each recommendation gets ``whatif``:
    the what-if settings that reproduce its prescription.
    """
    active = model_service.active_model(store) if store is not None else None
    unit = active.model if active is not None else None
    twin = patient_twin(store, patient.id)[0] if store is not None else None
    result = optimize(
        session_scenario(patient, session), risk_model=None if unit is None else unit.batch_risk, twin=twin
    )
    out = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    for rec in out.get("recommendations") or []:
        rec["whatif"] = whatif_settings(rec.get("prescription") or {})
    return out


def whatif_form_values(settings: dict[str, Any]) -> dict[str, str]:
    """What-if settings as form values (profiles as JSON text), for htmx ``hx-vals``."""
    return {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in settings.items()}


def whatif_settings(prescription: dict[str, Any]) -> dict[str, Any]:
    """The what-if settings of a prescription mapping (profiles included), for "try this" buttons."""
    return settings_of(prescription)


def cramp_frequency(n_sessions: int, n_cramp_sessions: int) -> float | None:
    """Fraction of sessions with at least one cramp (None without sessions)."""
    return n_cramp_sessions / n_sessions if n_sessions else None


#: Cause id -> (plain name, what helps), in words a patient understands: the cause registry's texts.
CAUSE_TEXT: dict[str, tuple[str, str]] = {
    c.id: (c.patient_label, c.patient_text) for c in CAUSE_REGISTRY.values()
}
RELIEF_TEXT = (
    "During a cramp: tell the nurse straight away, stretch the muscle gently (for a calf cramp, pull your "
    "toes towards you), and warm it (a warm pack or massage). Most cramps pass within minutes."
)


def plain_cause(cause_id: str | None) -> tuple[str, str]:
    if not cause_id:
        return (
            "No clear cause found yet",
            "Keep reporting cramps: each report helps the team find the cause.",
        )
    return CAUSE_TEXT.get(cause_id, (cause_id.replace("_", " ").capitalize(), "Ask your care team."))
