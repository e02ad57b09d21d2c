"""Patient cramp reports as FHIR ``QuestionnaireResponse`` answering the cramp-report ``Questionnaire``
(items ``time_min``, ``muscle``, ``severity`` 0–10, ``note``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crampwatch.errors import InputError
from crampwatch.io.fhir.codes import (
    CRAMP_QUESTIONNAIRE_URL,
    CRAMP_QUESTIONNAIRE_VERSION,
    CRAMP_SNOMED,
    SNOMED,
)
from crampwatch.io.fhir.common import (
    coding,
    extension_value,
    fhir_datetime,
    parse_datetime,
    ref_id,
    validate_resource,
    where_of,
)
from crampwatch.signals import MAX_T_MIN, T_MIN


def cramp_questionnaire() -> dict[str, Any]:
    """The ``Questionnaire`` that cramp reports answer (canonical :data:`CRAMP_QUESTIONNAIRE_URL`)."""
    resource = {
        "resourceType": "Questionnaire",
        "id": "cramp-report",
        "url": CRAMP_QUESTIONNAIRE_URL,
        "version": CRAMP_QUESTIONNAIRE_VERSION,
        "name": "CrampReport",
        "title": "Muscle cramp during dialysis",
        "status": "active",
        "subjectType": ["Patient"],
        "code": [coding(SNOMED, *CRAMP_SNOMED)],
        "item": [
            {
                "linkId": "time_min",
                "text": "Minutes after the start of the session when the cramp began",
                "type": "decimal",
                "required": True,
            },
            {
                "linkId": "muscle",
                "text": "Which muscle (e.g. calf, foot, thigh, hand)",
                "type": "string",
                "required": False,
            },
            {
                "linkId": "severity",
                "text": "How bad was it? 0 = none, 10 = worst imaginable",
                "type": "integer",
                "required": True,
            },
            {"linkId": "note", "text": "Anything else", "type": "text", "required": False},
        ],
    }
    return validate_resource(resource)


def _report_fields(report: dict[str, Any]) -> tuple[float, str, int, str, datetime | None]:
    if not isinstance(report, dict):
        raise InputError("report: expected a mapping with t_min, muscle, severity, note", "report")
    try:
        t_min = float(report[T_MIN])
    except KeyError:
        raise InputError(
            f"report.t_min: required field is missing (allowed 0–{MAX_T_MIN:g} min)", T_MIN
        ) from None
    except (TypeError, ValueError):
        raise InputError(f"report.t_min: {report[T_MIN]!r} is not a number", T_MIN) from None
    if not 0 <= t_min <= MAX_T_MIN:
        raise InputError(f"report.t_min: {t_min:g} is out of range (allowed 0–{MAX_T_MIN:g} min)", T_MIN)
    sev = report.get("severity")
    if isinstance(sev, bool) or not isinstance(sev, int | float) or float(sev) != round(float(sev)):
        raise InputError(f"report.severity: {sev!r} is not a whole number (allowed 0–10)", "severity")
    if not 0 <= sev <= 10:
        raise InputError(f"report.severity: {sev!r} is out of range (allowed 0–10)", "severity")
    reported = report.get("reported_at")
    reported_at = parse_datetime(reported, "report.reported_at") if reported is not None else None
    return t_min, str(report.get("muscle") or ""), int(sev), str(report.get("note") or ""), reported_at


def cramp_report_to_questionnaire_response(
    report: dict[str, Any],
    *,
    patient_reference: str,
    procedure_reference: str | None = None,
    resource_id: str | None = None,
) -> dict[str, Any]:
    """A ``QuestionnaireResponse`` for one cramp report.

    ``report`` has ``t_min`` (minutes from session start, 0–720), ``muscle`` (text), ``severity`` (whole
    number 0–10), optional ``note`` and ``reported_at`` (datetime or ISO text).
    """
    t_min, muscle, severity, note, reported_at = _report_fields(report)
    items: list[dict[str, Any]] = [
        {"linkId": "time_min", "answer": [{"valueDecimal": t_min}]},
    ]
    if muscle:
        items.append({"linkId": "muscle", "answer": [{"valueString": muscle}]})
    items.append({"linkId": "severity", "answer": [{"valueInteger": severity}]})
    if note:
        items.append({"linkId": "note", "answer": [{"valueString": note}]})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": resource_id or ref_id(patient_reference, f"report/{t_min}/{muscle}/{severity}/{note}"),
        "questionnaire": f"{CRAMP_QUESTIONNAIRE_URL}|{CRAMP_QUESTIONNAIRE_VERSION}",
        "status": "completed",
        "subject": {"reference": patient_reference},
        "item": items,
    }
    if procedure_reference:
        resource["partOf"] = [{"reference": procedure_reference}]
    if reported_at is not None:
        resource["authored"] = fhir_datetime(reported_at)
    return validate_resource(resource)


def questionnaire_response_to_cramp_report(resource: dict[str, Any]) -> dict[str, Any]:
    """The cramp report (``t_min, muscle, severity, note, reported_at``) in a ``QuestionnaireResponse``."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "QuestionnaireResponse":
        got = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        raise InputError(f"resourceType: expected 'QuestionnaireResponse', got {got!r}", "resourceType")
    validate_resource(resource)
    where = where_of(resource)
    canonical = str(resource.get("questionnaire") or "").split("|")[0]
    if canonical != CRAMP_QUESTIONNAIRE_URL:
        raise InputError(
            f"{where}.questionnaire: {canonical!r} is not {CRAMP_QUESTIONNAIRE_URL}", "questionnaire"
        )
    answers: dict[str, Any] = {}
    for item in resource.get("item") or []:
        values = [extension_value(a) for a in item.get("answer") or []]
        if values:
            answers[item.get("linkId")] = values[0]
    report = {
        T_MIN: answers.get("time_min"),
        "muscle": answers.get("muscle", ""),
        "severity": answers.get("severity"),
        "note": answers.get("note", ""),
        "reported_at": resource.get("authored"),
    }
    if report[T_MIN] is None:
        raise InputError(
            f"{where}.item[time_min]: required answer is missing (allowed 0–{MAX_T_MIN:g} min)", T_MIN
        )
    if report["severity"] is None:
        raise InputError(f"{where}.item[severity]: required answer is missing (allowed 0–10)", "severity")
    try:
        t_min, muscle, severity, note, reported_at = _report_fields(report)
    except InputError as exc:
        raise InputError(f"{where}: {exc.message.removeprefix('report.')}", exc.field) from None
    return {T_MIN: t_min, "muscle": muscle, "severity": severity, "note": note, "reported_at": reported_at}
