"""FHIR R4 import and export of a dialysis session (Patient, Procedure, Observations, QuestionnaireResponse).

Resources are written as FHIR **R4B (4.3.0)** JSON and validated with the ``fhir.resources.R4B`` models
(``fhir.resources`` 8 defaults to R5; R4B has the same JSON for every element used here, so R4 servers
accept the output). Every function here is a pure conversion: no database, no network.

Mapping (codes from peers.md §6; "[verify]" marks LOINC codes taken from LOINC-based value sets rather
than checked on loinc.org):

* ``Patient``: ``gender``; identifier ``{BASE_URL}/patient-id`` holds ``Patient.id``. Clinical attributes
  that FHIR's Patient has no element for (age, height, dry weight, vintage, diabetes, neuropathy, ...) go in
  one complex extension :data:`PATIENT_EXTENSION_URL` whose sub-extensions are named after the
  :class:`crampwatch.model.Patient` fields. On import, ``birthDate`` (age at the session date) and a body
  height Observation (LOINC 8302-2) are used when the extension lacks them.
* ``Procedure``: SNOMED 302497006 Haemodialysis, ``performedPeriod`` = session start/end. FHIR R4 has no
  element (and LOINC no codes) for dialysate composition, UF/Na profiles or dialyzer KoA, so the whole
  prescription is stored as JSON (the contracts.md scenario schema) in the extension
  :data:`PRESCRIPTION_EXTENSION_URL` (``valueString``); ``Procedure.note`` carries a readable summary.
  An extension, not the note, is the machine-readable copy because notes are free text that people edit.
* ``Observation``: pre-dialysis labs (LOINC, UCUM units, ``category`` laboratory), pre/post weight (LOINC
  29463-7 plus a local code telling pre from post), dry weight (local code, as the SIL HD-session map
  does), BP panel 85354-9 with SBP 8480-6 / DBP 8462-4 / MAP 8478-0 components and HR 8867-4 at each trace
  time point (``effectiveDateTime`` = start + ``t_min``), other trace signals (optional) under local codes,
  and trace events (local codes; cramp also SNOMED 55300003). Each has ``partOf`` → the Procedure and a
  ``meta.tag`` telling ``measured``/``simulated``/``estimated``.
* ``QuestionnaireResponse``: one per patient cramp report, answering :data:`CRAMP_QUESTIONNAIRE_URL`
  (items ``time_min``, ``muscle``, ``severity`` 0–10, ``note``); see :func:`cramp_questionnaire`.

Import converts accepted units (weight ``[lb_av]``, height ``m``/``[in_i]``, Ca/glucose/Mg mass <-> molar,
albumin ``g/L``, Hct fraction, ``meq/L``; see :data:`LAB_SPECS`) and rejects any other unit (e.g. a body
weight in ``g``) and out-of-range values. Every imported resource is validated with ``fhir.resources``;
on export each resource shape is validated (the first point of each trace series stands for the rest).
Times keep microseconds; a naive ``datetime`` is taken to be UTC.

Local codes live under :data:`BASE_URL`, an ``example.org`` address (RFC 2606) so they can never clash
with a real terminology. Malformed input raises :class:`crampwatch.errors.InputError` with a one-line
message naming the resource and field.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from crampwatch.errors import InputError
from crampwatch.model import EVENT_KINDS, Labs, Patient, Prescription, Scenario, format_validation_error
from crampwatch.signals import MAX_T_MIN, SIGNAL_SPECS, implausible, plausible_range, range_message
from crampwatch.trace import SIGNALS, Trace, empty_events
from crampwatch.units import (
    AL_UG_L_PER_UMOL_L,
    BUN_MG_DL_PER_UREA_MMOL_L,
    CA_MG_DL_PER_MMOL_L,
    CM_PER_INCH,
    G_L_PER_G_DL,
    GLUCOSE_MG_DL_PER_MMOL_L,
    KG_PER_LB,
    MEQ_PER_MMOL_DIVALENT,
    MG_MG_DL_PER_MMOL_L,
    PCT_PER_FRACTION,
)

FHIR_VERSION = "4.3.0"  # R4B
BASE_URL = "http://crampwatch.example.org/fhir"
PATIENT_EXTENSION_URL = f"{BASE_URL}/StructureDefinition/hd-patient"
PRESCRIPTION_EXTENSION_URL = f"{BASE_URL}/StructureDefinition/hd-prescription"
CODE_SYSTEM_URL = f"{BASE_URL}/CodeSystem/crampwatch"
SOURCE_TAG_SYSTEM = f"{BASE_URL}/CodeSystem/signal-source"
PATIENT_ID_SYSTEM = f"{BASE_URL}/patient-id"
SESSION_ID_SYSTEM = f"{BASE_URL}/session-id"
CRAMP_QUESTIONNAIRE_URL = f"{BASE_URL}/Questionnaire/cramp-report"
CRAMP_QUESTIONNAIRE_VERSION = "1.0.0"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

HEMODIALYSIS_SNOMED = ("302497006", "Hemodialysis")  # peers.md §6.2 (AU Core, SIL HD-session map)
#: Procedure codes read as a dialysis session: haemodialysis and its parent "Dialysis procedure".
DIALYSIS_CODES = {(SNOMED, HEMODIALYSIS_SNOMED[0]), (SNOMED, "108241001")}
CRAMP_SNOMED = ("55300003", "Cramp")  # peers.md §6.2 [verify]
BODY_WEIGHT_LOINC = "29463-7"
BODY_HEIGHT_LOINC = "8302-2"
BP_PANEL_LOINC = "85354-9"
HR_LOINC = "8867-4"

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE_URL)


# ------------------------------------------------------------------------------------------ quantity specs


@dataclass(frozen=True)
class QuantitySpec:
    """How one model field maps to a coded FHIR quantity.

    ``accepted`` maps each accepted UCUM unit to the factor that converts it into ``unit``.
    """

    field: str
    code: str
    display: str
    unit: str
    accepted: dict[str, float]
    alt_codes: tuple[str, ...] = ()
    low: float = -math.inf
    high: float = math.inf


def _lab(
    field_name: str, code: str, display: str, unit: str, accepted: dict[str, float], alt: tuple[str, ...] = ()
) -> QuantitySpec:
    low, high = _model_range(Labs, field_name)
    return QuantitySpec(field_name, code, display, unit, {unit: 1.0, **accepted}, alt, low, high)


def _model_range(model: type[BaseModel], name: str) -> tuple[float, float]:
    low, high = -math.inf, math.inf
    for meta in model.model_fields[name].metadata:
        low = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else low
        high = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else high
    return float(low), float(high)


# Conversion factors from crampwatch.units (molar masses with their sources there).
LAB_SPECS: tuple[QuantitySpec, ...] = (
    _lab(
        "na_mmol_l",
        "2951-2",
        "Sodium [Moles/volume] in Serum or Plasma",
        "mmol/L",
        {"meq/L": 1.0},
        ("2947-0",),
    ),
    _lab("k_mmol_l", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", {"meq/L": 1.0}),
    _lab(
        "bun_mg_dl",
        "3094-0",
        "Urea nitrogen [Mass/volume] in Serum or Plasma",
        "mg/dL",
        {"mmol/L": BUN_MG_DL_PER_UREA_MMOL_L},
    ),
    _lab("urea_mmol_l", "22664-7", "Urea [Moles/volume] in Serum or Plasma", "mmol/L", {}),
    _lab(
        "ca_total_mg_dl",
        "17861-6",
        "Calcium [Mass/volume] in Serum or Plasma",
        "mg/dL",
        {"mmol/L": CA_MG_DL_PER_MMOL_L},
        ("2000-8",),
    ),
    _lab(
        "ica_mmol_l",
        "1994-3",
        "Calcium.ionized [Moles/volume] in Blood",
        "mmol/L",
        {"mg/dL": 1 / CA_MG_DL_PER_MMOL_L},
        ("1995-0",),
    ),
    _lab(
        "albumin_g_dl",
        "1751-7",
        "Albumin [Mass/volume] in Serum or Plasma",
        "g/dL",
        {"g/L": 1 / G_L_PER_G_DL},
    ),
    _lab(
        "mg_mmol_l",
        "2601-3",
        "Magnesium [Moles/volume] in Serum or Plasma",
        "mmol/L",
        {"mg/dL": 1 / MG_MG_DL_PER_MMOL_L, "meq/L": 1 / MEQ_PER_MMOL_DIVALENT},
        ("19123-9",),
    ),
    _lab("hco3_mmol_l", "1963-8", "Bicarbonate [Moles/volume] in Serum or Plasma", "mmol/L", {"meq/L": 1.0}),
    _lab(
        "hct_pct",
        "4544-3",
        "Hematocrit [Volume Fraction] of Blood by Automated count",
        "%",
        {"1": PCT_PER_FRACTION, "L/L": PCT_PER_FRACTION},
        ("20570-8",),
    ),
    _lab(
        "glucose_mg_dl",
        "2345-7",
        "Glucose [Mass/volume] in Serum or Plasma",
        "mg/dL",
        {"mmol/L": GLUCOSE_MG_DL_PER_MMOL_L},
        ("14749-6",),
    ),
    _lab(
        "aluminium_ug_l",
        "5574-9",
        "Aluminum [Mass/volume] in Serum or Plasma [verify]",
        "ug/L",
        {"ng/mL": 1.0, "umol/L": AL_UG_L_PER_UMOL_L},
    ),
)

_W_LOW, _W_HIGH = _model_range(Patient, "pre_weight_kg")
_H_LOW, _H_HIGH = _model_range(Patient, "height_cm")
WEIGHT_SPEC = QuantitySpec(
    "weight_kg",
    BODY_WEIGHT_LOINC,
    "Body weight",
    "kg",
    {"kg": 1.0, "[lb_av]": KG_PER_LB},
    (),
    _W_LOW,
    _W_HIGH,
)
HEIGHT_SPEC = QuantitySpec(
    "height_cm",
    BODY_HEIGHT_LOINC,
    "Body height",
    "cm",
    {"cm": 1.0, "m": 100.0, "[in_i]": CM_PER_INCH},
    (),
    _H_LOW,
    _H_HIGH,
)


def _signal_spec(name: str, accepted: tuple[str, ...] = ()) -> QuantitySpec:
    """The FHIR quantity of a trace signal: UCUM code and plausible range from the signal registry."""
    sig = SIGNAL_SPECS[name]
    code = sig.loinc.code if sig.loinc else name
    display = sig.loinc.display if sig.loinc else sig.label
    units = {sig.ucum: 1.0, **{u: 1.0 for u in accepted}}
    return QuantitySpec(name, code, display, sig.ucum, units, (), *plausible_range(name))


#: Vital signs at each trace time point (LOINC codes and ranges from the signal registry).
VITAL_SPECS: dict[str, QuantitySpec] = {
    "sbp_mmhg": _signal_spec("sbp_mmhg"),
    "dbp_mmhg": _signal_spec("dbp_mmhg"),
    "map_mmhg": _signal_spec("map_mmhg"),
    "hr_bpm": _signal_spec("hr_bpm", ("{beats}/min",)),
}
BP_COMPONENTS = ("sbp_mmhg", "dbp_mmhg", "map_mmhg")

# Common non-UCUM spellings seen in exports, mapped to UCUM codes.
_UNIT_ALIASES = {
    "mmhg": "mm[Hg]",
    "bpm": "/min",
    "beats/min": "/min",
    "1/min": "/min",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "meq/l": "meq/L",
    "mmol/l": "mmol/L",
    "mg/dl": "mg/dL",
    "g/dl": "g/dL",
    "g/l": "g/L",
    "ug/l": "ug/L",
    "µg/l": "ug/L",
    "umol/l": "umol/L",
    "ng/ml": "ng/mL",
    "in": "[in_i]",
}


def signal_ucum(name: str) -> str:
    """UCUM unit of a trace signal (from the signal registry)."""
    return SIGNAL_SPECS[name].ucum


# ----------------------------------------------------------------------------------------- small helpers


def _ref_id(session_id: str, key: str) -> str:
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{session_id}/{key}"))


def _as_utc(moment: datetime) -> datetime:
    """Timezone-aware copy of ``moment``; a naive datetime is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _fhir_datetime(moment: datetime) -> str:
    moment = _as_utc(moment)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec)


def _parse_datetime(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise InputError(f"{where}: expected a date-time, got {value!r}", where)
    text = value.strip().replace("Z", "+00:00")
    if len(text) == 4:  # FHIR allows year-only and year-month dates
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        return _as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise InputError(
            f"{where}: {value!r} is not a FHIR date-time (e.g. 2024-05-01T08:00:00Z)", where
        ) from None


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _quantity(value: float, unit: str) -> dict[str, Any]:
    if not math.isfinite(float(value)):
        raise InputError(f"value: {value!r} {unit} is not a finite number", "value")
    return {"value": float(value), "unit": unit, "system": UCUM, "code": unit}


def _source_tag(source: str) -> dict[str, Any]:
    return {"tag": [_coding(SOURCE_TAG_SYSTEM, source)]}


def _codes(concept: dict[str, Any] | None) -> set[tuple[str, str]]:
    if not isinstance(concept, dict):
        return set()
    return {
        (c.get("system", ""), c.get("code", "")) for c in concept.get("coding", []) if isinstance(c, dict)
    }


def _where(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType', 'resource')}/{resource.get('id', '?')}"


def validate_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate one resource with the ``fhir.resources`` R4B model; raise :class:`InputError` if invalid."""
    if not isinstance(resource, dict):
        raise InputError(f"resource: expected a JSON object, got {type(resource).__name__}", "resource")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise InputError("resourceType: missing", "resourceType")
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError, AttributeError, ImportError):
        raise InputError(f"resourceType: {rtype!r} is not a FHIR R4 resource type", "resourceType") from None
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ())) or "resource"
        msg = " ".join(str(err.get("msg", "invalid")).split())
        raise InputError(f"{_where(resource)}.{loc}: invalid FHIR ({msg})", f"{rtype}.{loc}") from None
    return resource


def _check_range(value: float, spec: QuantitySpec, where: str) -> float:
    if spec.field in SIGNAL_SPECS:
        if not math.isfinite(value) or implausible(spec.field, value):
            raise InputError(f"{where}: {range_message(spec.field, value)}", spec.field)
        return value
    if not math.isfinite(value) or not spec.low <= value <= spec.high:
        raise InputError(
            f"{where}: {value:g} {spec.unit} is out of range for {spec.field} "
            f"(allowed {spec.low:g}–{spec.high:g} {spec.unit})",
            spec.field,
        )
    return value


def _read_quantity(quantity: Any, spec: QuantitySpec, where: str) -> float:
    """The value of a FHIR Quantity in ``spec.unit`` (converted from any accepted unit, range-checked)."""
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        raise InputError(f"{where}: missing value (a Quantity in {spec.unit})", spec.field)
    raw_unit = str(quantity.get("code") or quantity.get("unit") or "").strip()
    unit = raw_unit if raw_unit in spec.accepted else _UNIT_ALIASES.get(raw_unit.lower(), raw_unit)
    if unit not in spec.accepted:
        allowed = ", ".join(spec.accepted)
        raise InputError(
            f"{where}.code: unit {raw_unit or '(none)'!r} is not accepted for {spec.display} "
            f"(allowed {allowed})",
            spec.field,
        )
    try:
        value = float(quantity["value"]) * spec.accepted[unit]
    except (TypeError, ValueError):
        raise InputError(f"{where}.value: {quantity['value']!r} is not a number", spec.field) from None
    return _check_range(value, spec, where)


# ------------------------------------------------------------------------------------------------ Patient

_PATIENT_PLAIN = ("id", "sex", "labs")


def patient_to_fhir(patient: Patient, *, resource_id: str | None = None) -> dict[str, Any]:
    """A FHIR ``Patient`` resource for ``patient`` (labs excluded: they are Observations)."""
    sub: list[dict[str, Any]] = []
    for name, value in patient.model_dump(exclude=set(_PATIENT_PLAIN), exclude_none=True).items():
        if isinstance(value, bool):
            sub.append({"url": name, "valueBoolean": value})
        elif isinstance(value, int | float):
            sub.append({"url": name, "valueDecimal": float(value)})
        else:
            sub.append({"url": name, "valueString": str(value)})
    resource = {
        "resourceType": "Patient",
        "id": resource_id or _ref_id(patient.id, "patient"),
        "extension": [{"url": PATIENT_EXTENSION_URL, "extension": sub}],
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient.id}],
        "gender": patient.sex,
    }
    return validate_resource(resource)


def _extension_value(ext: dict[str, Any]) -> Any:
    for key, value in ext.items():
        if key.startswith("value"):
            return value
    return None


def patient_from_fhir(resource: dict[str, Any], *, as_of: datetime | date | None = None) -> dict[str, Any]:
    """The :class:`~crampwatch.model.Patient` fields found in a FHIR ``Patient`` resource.

    Fields of the crampwatch extension are read first; ``birthDate`` gives ``age_years`` (at ``as_of``,
    default today) when the extension has none. Each value is range-checked; labs are not part of Patient.
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        got = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        raise InputError(f"resourceType: expected 'Patient', got {got!r}", "resourceType")
    validate_resource(resource)
    where = _where(resource)
    fields: dict[str, Any] = {}
    identifiers = resource.get("identifier") or []
    ours = [i.get("value") for i in identifiers if i.get("system") == PATIENT_ID_SYSTEM and i.get("value")]
    anyid = [i.get("value") for i in identifiers if i.get("value")]
    fields["id"] = (ours or anyid or [resource.get("id") or "P000"])[0]
    gender = resource.get("gender")
    if gender not in ("male", "female"):
        raise InputError(f"{where}.gender: {gender!r} is not supported (allowed male, female)", "sex")
    fields["sex"] = gender
    for ext in resource.get("extension") or []:
        if ext.get("url") != PATIENT_EXTENSION_URL:
            continue
        for item in ext.get("extension") or []:
            name = item.get("url")
            if name in Patient.model_fields and name not in _PATIENT_PLAIN:
                fields[name] = _extension_value(item)
    if "age_years" not in fields and resource.get("birthDate"):
        born = _parse_datetime(resource["birthDate"], f"{where}.birthDate")
        ref = (
            _as_utc(as_of) if isinstance(as_of, datetime) else _parse_datetime(as_of or date.today(), "as_of")
        )
        fields["age_years"] = round((ref - born).days / 365.25, 2)
        low, high = _model_range(Patient, "age_years")
        if not low <= fields["age_years"] <= high:
            raise InputError(
                f"{where}.birthDate: age {fields['age_years']:g} years at the session is out of range "
                f"(allowed {low:g}–{high:g})",
                "age_years",
            )
    for name, value in fields.items():
        if name in ("id", "sex") or value is None:
            continue
        _check_patient_field(name, value, where)
    return fields


def _check_patient_field(name: str, value: Any, where: str) -> None:
    """Range-check one numeric Patient field (the rest is checked when the Patient is built)."""
    low, high = _model_range(Patient, name)
    if math.isinf(low) and math.isinf(high):
        return
    loc = f"{where}.extension[hd-patient].{name}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{loc}: {value!r} is not a number (allowed {low:g}–{high:g})", name)
    if not low <= float(value) <= high:
        raise InputError(f"{loc}: {value!r} is out of range (allowed {low:g}–{high:g})", name)


# ------------------------------------------------------------------------------------------------ reports


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
        "code": [_coding(SNOMED, *CRAMP_SNOMED)],
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
        t_min = float(report["t_min"])
    except KeyError:
        raise InputError(
            f"report.t_min: required field is missing (allowed 0–{MAX_T_MIN:g} min)", "t_min"
        ) from None
    except (TypeError, ValueError):
        raise InputError(f"report.t_min: {report['t_min']!r} is not a number", "t_min") from None
    if not 0 <= t_min <= MAX_T_MIN:
        raise InputError(f"report.t_min: {t_min:g} is out of range (allowed 0–{MAX_T_MIN:g} min)", "t_min")
    sev = report.get("severity")
    if isinstance(sev, bool) or not isinstance(sev, int | float) or float(sev) != round(float(sev)):
        raise InputError(f"report.severity: {sev!r} is not a whole number (allowed 0–10)", "severity")
    if not 0 <= sev <= 10:
        raise InputError(f"report.severity: {sev!r} is out of range (allowed 0–10)", "severity")
    reported = report.get("reported_at")
    reported_at = _parse_datetime(reported, "report.reported_at") if reported is not None else None
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
        "id": resource_id or _ref_id(patient_reference, f"report/{t_min}/{muscle}/{severity}/{note}"),
        "questionnaire": f"{CRAMP_QUESTIONNAIRE_URL}|{CRAMP_QUESTIONNAIRE_VERSION}",
        "status": "completed",
        "subject": {"reference": patient_reference},
        "item": items,
    }
    if procedure_reference:
        resource["partOf"] = [{"reference": procedure_reference}]
    if reported_at is not None:
        resource["authored"] = _fhir_datetime(reported_at)
    return validate_resource(resource)


def questionnaire_response_to_cramp_report(resource: dict[str, Any]) -> dict[str, Any]:
    """The cramp report (``t_min, muscle, severity, note, reported_at``) in a ``QuestionnaireResponse``."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "QuestionnaireResponse":
        got = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        raise InputError(f"resourceType: expected 'QuestionnaireResponse', got {got!r}", "resourceType")
    validate_resource(resource)
    where = _where(resource)
    canonical = str(resource.get("questionnaire") or "").split("|")[0]
    if canonical != CRAMP_QUESTIONNAIRE_URL:
        raise InputError(
            f"{where}.questionnaire: {canonical!r} is not {CRAMP_QUESTIONNAIRE_URL}", "questionnaire"
        )
    answers: dict[str, Any] = {}
    for item in resource.get("item") or []:
        values = [_extension_value(a) for a in item.get("answer") or []]
        if values:
            answers[item.get("linkId")] = values[0]
    report = {
        "t_min": answers.get("time_min"),
        "muscle": answers.get("muscle", ""),
        "severity": answers.get("severity"),
        "note": answers.get("note", ""),
        "reported_at": resource.get("authored"),
    }
    if report["t_min"] is None:
        raise InputError(
            f"{where}.item[time_min]: required answer is missing (allowed 0–{MAX_T_MIN:g} min)", "t_min"
        )
    if report["severity"] is None:
        raise InputError(f"{where}.item[severity]: required answer is missing (allowed 0–10)", "severity")
    try:
        t_min, muscle, severity, note, reported_at = _report_fields(report)
    except InputError as exc:
        raise InputError(f"{where}: {exc.message.removeprefix('report.')}", exc.field) from None
    return {"t_min": t_min, "muscle": muscle, "severity": severity, "note": note, "reported_at": reported_at}


# ----------------------------------------------------------------------------------------------- export


def _prescription_summary(p: Prescription, uf_volume_l: float) -> str:
    d = p.dialysate
    na = "profiled" if d.na_profile else f"{d.na_mmol_l:g}"
    profile = p.uf_profile if isinstance(p.uf_profile, str) else "custom"
    return (
        f"Prescription: {p.duration_min:g} min, UF {uf_volume_l:.2f} L ({profile}), "
        f"Qb {p.qb_ml_min:g} mL/min, Qd {p.qd_ml_min:g} mL/min, "
        f"dialyzer KoA {p.dialyzer_koa_ml_min:g} mL/min; "
        f"dialysate Na {na}, "
        f"K {d.k_mmol_l:g}, Ca {d.ca_mmol_l:g}, Mg {d.mg_mmol_l:g}, HCO3 {d.hco3_mmol_l:g} mmol/L, "
        f"{d.temp_c:g} °C. Machine-readable copy in extension {PRESCRIPTION_EXTENSION_URL}."
    )


class _Builder:
    """Collects the entries of one session Bundle with deterministic ids."""

    def __init__(self, session_id: str, started_at: datetime) -> None:
        self.session_id = session_id
        self.started_at = _as_utc(started_at)
        self.entries: list[dict[str, Any]] = []
        self.patient_ref = f"urn:uuid:{_ref_id(session_id, 'patient')}"
        self.procedure_ref = f"urn:uuid:{_ref_id(session_id, 'procedure')}"
        self._validated: set[str] = set()

    def add(self, resource: dict[str, Any], key: str) -> None:
        resource = {
            "resourceType": resource["resourceType"],
            "id": resource.get("id") or _ref_id(self.session_id, key),
            **resource,
        }
        # Trace points of one series are built by the same code and differ only in finite numbers and
        # timestamps: validating the first of each series keeps a 270-point, 26-signal export fast.
        shape = key.rsplit("/", 1)[0] if key.startswith(("bp/", "hr/", "signal/")) else key
        if shape not in self._validated:
            validate_resource(resource)
            self._validated.add(shape)
        self.entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})

    def at(self, t_min: float) -> str:
        return _fhir_datetime(self.started_at + timedelta(minutes=float(t_min)))

    def observation(
        self,
        key: str,
        code: list[dict[str, str]],
        t_min: float,
        category: str,
        source: str = "measured",
        **value: Any,
    ) -> None:
        obs = {
            "resourceType": "Observation",
            "meta": _source_tag(source),
            "status": "final",
            "category": [{"coding": [_coding(OBS_CATEGORY, category)]}],
            "code": {"coding": code},
            "subject": {"reference": self.patient_ref},
            "partOf": [{"reference": self.procedure_ref}],
            "effectiveDateTime": self.at(t_min),
            **value,
        }
        self.add(obs, key)


def session_to_bundle(
    scenario: Scenario,
    trace: Trace | None = None,
    *,
    session_id: str,
    started_at: datetime,
    reports: list[dict[str, Any]] | None = None,
    extra_signals: Sequence[str] = (),
) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle of one session (see the module docstring for the mapping).

    ``trace`` contributes BP (panel) and HR Observations at each time point, ``extra_signals`` (any of
    :data:`crampwatch.trace.SIGNALS`) one Observation per value under local codes, and its events.
    ``reports`` are patient cramp reports (see :func:`cramp_report_to_questionnaire_response`).
    A naive ``started_at`` is taken to be UTC.
    """
    if not session_id or not str(session_id).strip():
        raise InputError("session_id: must not be empty", "session_id")
    for name in extra_signals:
        if name not in SIGNALS:
            raise InputError(
                f"extra_signals: unknown signal {name!r} (allowed: {', '.join(SIGNALS)})", "signals"
            )
    b = _Builder(str(session_id), started_at)
    patient = scenario.patient
    b.add(patient_to_fhir(patient, resource_id=_ref_id(b.session_id, "patient")), "patient")

    end_min = scenario.prescription.duration_min
    if trace is not None and len(trace.t_min) and trace.t_min.max() > 0:
        end_min = float(trace.t_min.max())
    presc = scenario.prescription
    b.add(
        {
            "resourceType": "Procedure",
            "extension": [
                {
                    "url": PRESCRIPTION_EXTENSION_URL,
                    "valueString": json.dumps(presc.model_dump(mode="json", exclude_none=True)),
                }
            ],
            "identifier": [{"system": SESSION_ID_SYSTEM, "value": b.session_id}],
            "status": "completed",
            "code": {"coding": [_coding(SNOMED, *HEMODIALYSIS_SNOMED)], "text": "Hemodialysis session"},
            "subject": {"reference": b.patient_ref},
            "performedPeriod": {"start": b.at(0.0), "end": b.at(end_min)},
            "note": [{"text": _prescription_summary(presc, scenario.uf_volume_l)}],
        },
        "procedure",
    )

    for spec in LAB_SPECS:
        value = getattr(patient.labs, spec.field)
        if value is not None:
            b.observation(
                f"lab/{spec.field}",
                [_coding(LOINC, spec.code, spec.display)],
                0.0,
                "laboratory",
                valueQuantity=_quantity(value, spec.unit),
            )

    post_weight = scenario.post_weight_kg
    if trace is not None and trace.has("uf_cum_l"):
        uf = trace.signal("uf_cum_l")
        post_weight = patient.pre_weight_kg - float(uf[~np.isnan(uf)][-1])
    for key, weight, t_min in (("pre", patient.pre_weight_kg, 0.0), ("post", post_weight, end_min)):
        code = [
            _coding(LOINC, BODY_WEIGHT_LOINC, "Body weight"),
            _coding(CODE_SYSTEM_URL, f"{key}-dialysis-weight", f"{key.capitalize()}-dialysis weight"),
        ]
        b.observation(f"weight/{key}", code, t_min, "vital-signs", valueQuantity=_quantity(weight, "kg"))
    b.observation(
        "weight/dry",
        [_coding(CODE_SYSTEM_URL, "dry-weight", "Dry (target) weight")],
        0.0,
        "exam",  # a target, not a measured vital sign
        valueQuantity=_quantity(patient.dry_weight_kg, "kg"),
    )

    if trace is not None:
        _add_trace(b, trace, extra_signals)
    for i, report in enumerate(reports or []):
        resource = cramp_report_to_questionnaire_response(
            report,
            patient_reference=b.patient_ref,
            procedure_reference=b.procedure_ref,
            resource_id=_ref_id(b.session_id, f"report/{i}"),
        )
        b.add(resource, f"report/{i}")
    return {
        "resourceType": "Bundle",
        "id": _ref_id(b.session_id, "bundle"),
        "type": "collection",
        "timestamp": _fhir_datetime(datetime.now(UTC).replace(microsecond=0)),
        "entry": b.entries,
    }


def _add_trace(b: _Builder, trace: Trace, extra_signals: Sequence[str]) -> None:
    t = trace.t_min
    columns = {name: trace.signal(name) for name in (*VITAL_SPECS, *extra_signals) if trace.has(name)}
    for i, t_min in enumerate(t):
        components = []
        for name in BP_COMPONENTS:
            if name in columns and not np.isnan(columns[name][i]):
                spec = VITAL_SPECS[name]
                components.append(
                    {
                        "code": {"coding": [_coding(LOINC, spec.code, spec.display)]},
                        "valueQuantity": _quantity(columns[name][i], spec.unit),
                    }
                )
        if components:
            source = trace.sources.get(next(n for n in BP_COMPONENTS if n in columns), "measured")
            b.observation(
                f"bp/{i}",
                [_coding(LOINC, BP_PANEL_LOINC, "Blood pressure panel")],
                t_min,
                "vital-signs",
                source,
                component=components,
            )
        if "hr_bpm" in columns and not np.isnan(columns["hr_bpm"][i]):
            spec = VITAL_SPECS["hr_bpm"]
            b.observation(
                f"hr/{i}",
                [_coding(LOINC, spec.code, spec.display)],
                t_min,
                "vital-signs",
                trace.sources.get("hr_bpm", "measured"),
                valueQuantity=_quantity(columns["hr_bpm"][i], spec.unit),
            )
        for name in extra_signals:
            if name in columns and name not in VITAL_SPECS and not np.isnan(columns[name][i]):
                b.observation(
                    f"signal/{name}/{i}",
                    [_coding(CODE_SYSTEM_URL, name, SIGNALS[name])],
                    t_min,
                    "procedure",
                    trace.sources.get(name, "measured"),
                    valueQuantity=_quantity(columns[name][i], signal_ucum(name)),
                )
    for j, row in enumerate(trace.events.itertuples(index=False)):
        code = [_coding(CODE_SYSTEM_URL, f"event-{row.kind}", str(row.kind).replace("_", " "))]
        if row.kind == "cramp":
            code.append(_coding(SNOMED, *CRAMP_SNOMED))
        value: dict[str, Any] = {}
        if row.severity is not None and not pd.isna(row.severity):
            value["valueQuantity"] = {
                "value": float(row.severity),
                "unit": "{score}",
                "system": UCUM,
                "code": "{score}",
            }
        if isinstance(row.note, str) and row.note:
            value["note"] = [{"text": row.note}]
        b.observation(f"event/{j}", code, float(row.t_min), "procedure", **value)


# ----------------------------------------------------------------------------------------------- import


@dataclass
class SessionImport:
    """A session read from a FHIR Bundle.

    ``assumed`` names what the Bundle lacked and was filled with defaults (e.g. ``prescription``);
    ``skipped`` lists resources that were not understood and were ignored.
    """

    scenario: Scenario
    trace: Trace | None
    events: pd.DataFrame
    reports: list[dict[str, Any]]
    session_id: str
    started_at: datetime
    post_weight_kg: float | None = None
    assumed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def load_bundle(data: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """A Bundle mapping from a dict or JSON text; raise :class:`InputError` when it is not one."""
    if isinstance(data, str | bytes | bytearray):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"Bundle: not valid JSON ({str(exc).splitlines()[0]})", "Bundle") from None
    if not isinstance(data, dict):
        raise InputError(f"Bundle: expected a JSON object, got {type(data).__name__}", "Bundle")
    if data.get("resourceType") != "Bundle":
        raise InputError(f"resourceType: expected 'Bundle', got {data.get('resourceType')!r}", "resourceType")
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        raise InputError("Bundle.entry: the Bundle has no entries (needs a Patient and a Procedure)", "entry")
    return data


def _one(
    resources: list[dict[str, Any]], rtype: str, wanted: Iterable[tuple[str, str]] = ()
) -> dict[str, Any]:
    found = [r for r in resources if r.get("resourceType") == rtype]
    wanted = set(wanted)
    if wanted and len(found) > 1:
        found = [r for r in found if _codes(r.get("code")) & wanted] or found
    if not found:
        raise InputError(f"Bundle: no {rtype} resource (a session Bundle needs exactly one)", rtype)
    if len(found) > 1:
        raise InputError(
            f"Bundle: {len(found)} {rtype} resources (a session Bundle needs exactly one)", rtype
        )
    return found[0]


def _minutes(resource: dict[str, Any], started_at: datetime) -> float:
    where = _where(resource)
    moment = resource.get("effectiveDateTime")
    if moment is None and isinstance(resource.get("effectivePeriod"), dict):
        moment = resource["effectivePeriod"].get("start")
    if moment is None:
        raise InputError(f"{where}.effectiveDateTime: required to place the value in the session", "t_min")
    return (_parse_datetime(moment, f"{where}.effectiveDateTime") - started_at).total_seconds() / 60.0


def _source_of(resource: dict[str, Any]) -> str:
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if tag.get("system") == SOURCE_TAG_SYSTEM and tag.get("code") in (
            "measured",
            "simulated",
            "estimated",
        ):
            return str(tag["code"])
    return "measured"


class _Reader:
    """Sorts the Observations of a Bundle into labs, weights, trace points and events."""

    def __init__(self, started_at: datetime) -> None:
        self.started_at = started_at
        self.labs: dict[str, float] = {}
        self.weights: dict[str, list[tuple[float, float]]] = {"pre": [], "post": [], "any": [], "dry": []}
        self.height_cm: float | None = None
        self.points: dict[float, dict[str, float]] = {}
        self.sources: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.skipped: list[str] = []
        self._lab_by_code = {(LOINC, c): s for s in LAB_SPECS for c in (s.code, *s.alt_codes)}
        self._vital_by_code = {(LOINC, s.code): s for s in VITAL_SPECS.values()}

    def read(self, obs: dict[str, Any]) -> None:
        where = _where(obs)
        if obs.get("status") in ("entered-in-error", "cancelled"):
            self.skipped.append(f"{where} (status {obs['status']})")
            return
        if obs.get("dataAbsentReason") and obs.get("valueQuantity") is None and not obs.get("component"):
            self.skipped.append(f"{where} (no value: data absent)")
            return
        codes = _codes(obs.get("code"))
        local = {c for s, c in codes if s == CODE_SYSTEM_URL}
        lab = next((self._lab_by_code[c] for c in codes if c in self._lab_by_code), None)
        if lab is not None:
            self.labs[lab.field] = _read_quantity(obs.get("valueQuantity"), lab, f"{where}.valueQuantity")
        elif (LOINC, BODY_WEIGHT_LOINC) in codes or "dry-weight" in local:
            kind = (
                "dry"
                if "dry-weight" in local
                else "pre"
                if "pre-dialysis-weight" in local
                else ("post" if "post-dialysis-weight" in local else "any")
            )
            value = _read_quantity(obs.get("valueQuantity"), WEIGHT_SPEC, f"{where}.valueQuantity")
            t = _minutes(obs, self.started_at) if kind != "dry" else 0.0
            self.weights[kind].append((t, value))
        elif (LOINC, BODY_HEIGHT_LOINC) in codes:
            self.height_cm = _read_quantity(obs.get("valueQuantity"), HEIGHT_SPEC, f"{where}.valueQuantity")
        elif (LOINC, BP_PANEL_LOINC) in codes or any(c in self._vital_by_code for c in codes):
            self._read_vitals(obs, codes, where)
        elif any(c.startswith("event-") for c in local):
            self._read_event(obs, next(c for c in local if c.startswith("event-")), where)
        elif local & set(SIGNALS):
            name = next(iter(local & set(SIGNALS)))
            spec = _signal_spec(name)
            self._point(obs, name, _read_quantity(obs.get("valueQuantity"), spec, f"{where}.valueQuantity"))
        else:
            shown = ", ".join(sorted(f"{c}" for _, c in codes)) or "no code"
            self.skipped.append(f"{where} ({shown})")

    def _point(self, obs: dict[str, Any], name: str, value: float) -> None:
        t = round(_minutes(obs, self.started_at), 9)
        self.points.setdefault(t, {})[name] = value
        self.sources.setdefault(name, _source_of(obs))

    def _read_vitals(self, obs: dict[str, Any], codes: set[tuple[str, str]], where: str) -> None:
        parts: list[tuple[dict[str, Any], set[tuple[str, str]], str]] = [(obs, codes, where)]
        for k, comp in enumerate(obs.get("component") or []):
            parts.append((comp, _codes(comp.get("code")), f"{where}.component[{k}]"))
        for holder, holder_codes, loc in parts:
            spec = next((self._vital_by_code[c] for c in holder_codes if c in self._vital_by_code), None)
            if spec is not None and (holder is not obs or not obs.get("component")):
                self._point(
                    obs, spec.field, _read_quantity(holder.get("valueQuantity"), spec, f"{loc}.valueQuantity")
                )

    def _read_event(self, obs: dict[str, Any], code: str, where: str) -> None:
        kind = code.removeprefix("event-")
        if kind not in EVENT_KINDS:
            raise InputError(
                f"{where}.code: unknown event {kind!r} (allowed {', '.join(EVENT_KINDS)})", "kind"
            )
        severity = None
        if isinstance(obs.get("valueQuantity"), dict):
            spec = QuantitySpec("severity", "", "severity", "{score}", {"{score}": 1.0, "1": 1.0}, (), 0, 10)
            severity = _read_quantity(obs["valueQuantity"], spec, f"{where}.valueQuantity")
        t_min = _minutes(obs, self.started_at)
        if not 0 <= t_min <= MAX_T_MIN:
            raise InputError(
                f"{where}.effectiveDateTime: {t_min:g} min after the start (allowed 0–{MAX_T_MIN:g})", "t_min"
            )
        note = " ".join(n.get("text", "") for n in obs.get("note") or [])
        self.events.append({"t_min": t_min, "kind": kind, "severity": severity, "note": note})

    def trace(self, session_id: str, events: pd.DataFrame) -> Trace | None:
        if not self.points:
            return None
        data = pd.DataFrame.from_dict(self.points, orient="index").sort_index()
        data.index.name = "t_min"
        data = data.reset_index()
        ordered = ["t_min", *[s for s in SIGNALS if s in data.columns]]
        return Trace(data[ordered], events, dict(self.sources), session_id)


def bundle_to_session(bundle: dict[str, Any] | str | bytes) -> SessionImport:
    """Read a session Bundle (as written by :func:`session_to_bundle`, or any Bundle with one Patient and one
    haemodialysis Procedure) back into a scenario, a trace, events and patient reports.

    The prescription comes from the Procedure's extension; without it, defaults are used with
    ``duration_min`` from ``performedPeriod`` and ``uf_volume_l`` = pre − post weight (listed in
    ``assumed``). Weights, height and labs in Observations override the Patient extension.
    """
    data = load_bundle(bundle)
    resources: list[dict[str, Any]] = []
    for k, entry in enumerate(data["entry"]):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise InputError(f"Bundle.entry[{k}].resource: missing", "entry")
        resources.append(validate_resource(resource))

    procedure = _one(resources, "Procedure", {(SNOMED, HEMODIALYSIS_SNOMED[0])})
    where = _where(procedure)
    code = procedure.get("code") or {}
    if not (_codes(code) & DIALYSIS_CODES or "dialysis" in str(code.get("text", "")).lower()):
        raise InputError(
            f"{where}.code: not a haemodialysis procedure (expected SNOMED {HEMODIALYSIS_SNOMED[0]})", "code"
        )
    period = procedure.get("performedPeriod") or {}
    if not period.get("start"):
        raise InputError(f"{where}.performedPeriod.start: required (the session start time)", "started_at")
    started_at = _parse_datetime(period["start"], f"{where}.performedPeriod.start")
    ids = [i.get("value") for i in procedure.get("identifier") or [] if i.get("system") == SESSION_ID_SYSTEM]
    session_id = str((ids or [procedure.get("id") or "session"])[0])

    patient_resource = _one(resources, "Patient")
    fields = patient_from_fhir(patient_resource, as_of=started_at)
    reader = _Reader(started_at)
    reports: list[dict[str, Any]] = []
    skipped: list[str] = []
    for resource in resources:
        rtype = resource.get("resourceType")
        if rtype == "Observation":
            reader.read(resource)
        elif rtype == "QuestionnaireResponse":
            canonical = str(resource.get("questionnaire") or "").split("|")[0]
            if canonical == CRAMP_QUESTIONNAIRE_URL:
                reports.append(questionnaire_response_to_cramp_report(resource))
            else:
                skipped.append(f"{_where(resource)} (questionnaire {canonical or 'none'})")
        elif rtype not in ("Patient", "Procedure"):
            skipped.append(f"{_where(resource)}")
    skipped = reader.skipped + skipped

    assumed: list[str] = []
    pre, post = _pre_post(reader.weights)
    if pre is not None:
        fields["pre_weight_kg"] = pre
    if reader.weights["dry"]:
        fields["dry_weight_kg"] = reader.weights["dry"][-1][1]
    if reader.height_cm is not None and "height_cm" not in fields:
        fields["height_cm"] = reader.height_cm
    for required in ("age_years", "height_cm", "pre_weight_kg", "dry_weight_kg"):
        if required not in fields:
            raise InputError(
                f"{_where(patient_resource)}: {required} not found in the Bundle "
                f"(Patient extension {PATIENT_EXTENSION_URL} or an Observation)",
                required,
            )
    fields["labs"] = reader.labs

    prescription = _prescription(procedure, period, started_at, fields, post, assumed)
    try:
        scenario = Scenario(patient=Patient.model_validate(fields), prescription=prescription)
    except ValidationError as exc:
        raise InputError(
            f"{_where(patient_resource)}: {format_validation_error(exc, Patient)}", "patient"
        ) from None

    events = (
        pd.DataFrame(reader.events, columns=["t_min", "kind", "severity", "note"])
        if reader.events
        else (empty_events())
    )
    if reader.events:
        events = events.astype({"t_min": float, "severity": float}).sort_values("t_min", kind="stable")
        events = events.reset_index(drop=True)
    trace = reader.trace(session_id, events)
    reports.sort(key=lambda r: r["t_min"])
    return SessionImport(scenario, trace, events, reports, session_id, started_at, post, assumed, skipped)


def _pre_post(weights: dict[str, list[tuple[float, float]]]) -> tuple[float | None, float | None]:
    """Pre- and post-dialysis weight: coded ones first, else earliest / latest uncoded body weight."""
    anyw = sorted(weights["any"])
    pre = min(weights["pre"])[1] if weights["pre"] else (anyw[0][1] if anyw else None)
    post = max(weights["post"])[1] if weights["post"] else (anyw[-1][1] if len(anyw) > 1 else None)
    return pre, post


def _prescription(
    procedure: dict[str, Any],
    period: dict[str, Any],
    started_at: datetime,
    fields: dict[str, Any],
    post: float | None,
    assumed: list[str],
) -> Prescription:
    where = _where(procedure)
    for ext in procedure.get("extension") or []:
        if ext.get("url") != PRESCRIPTION_EXTENSION_URL:
            continue
        try:
            payload = json.loads(ext.get("valueString") or "")
        except json.JSONDecodeError:
            raise InputError(
                f"{where}.extension[hd-prescription].valueString: not valid JSON", "prescription"
            ) from None
        try:
            return Prescription.model_validate(payload)
        except ValidationError as exc:
            msg = format_validation_error(exc, Prescription)
            raise InputError(f"{where}.extension[hd-prescription].{msg}", "prescription") from None
    assumed.append("prescription")
    values: dict[str, Any] = {}
    if period.get("end"):
        end = _parse_datetime(period["end"], f"{where}.performedPeriod.end")
        values["duration_min"] = (end - started_at).total_seconds() / 60.0
    if post is not None:
        values["uf_volume_l"] = max(0.0, float(fields["pre_weight_kg"]) - post)
    try:
        return Prescription.model_validate(values)
    except ValidationError as exc:
        raise InputError(
            f"{where}.performedPeriod: {format_validation_error(exc, Prescription)}", "duration_min"
        ) from None


__all__ = [
    "BASE_URL",
    "CRAMP_QUESTIONNAIRE_URL",
    "FHIR_VERSION",
    "LAB_SPECS",
    "PATIENT_EXTENSION_URL",
    "PRESCRIPTION_EXTENSION_URL",
    "SessionImport",
    "bundle_to_session",
    "cramp_questionnaire",
    "cramp_report_to_questionnaire_response",
    "load_bundle",
    "patient_from_fhir",
    "patient_to_fhir",
    "questionnaire_response_to_cramp_report",
    "session_to_bundle",
    "validate_resource",
]
