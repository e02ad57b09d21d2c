"""FHIR ``Patient``: gender and identifier, and one complex extension for the clinical fields FHIR's Patient
has no element for (age, height, dry weight, vintage, diabetes, neuropathy, ...), named after the
:class:`crampwatch.model.Patient` fields."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from crampwatch.errors import InputError
from crampwatch.io.fhir.codes import PATIENT_EXTENSION_URL, PATIENT_ID_SYSTEM, model_range
from crampwatch.io.fhir.common import (
    as_utc,
    extension_value,
    parse_datetime,
    ref_id,
    validate_resource,
    where_of,
)
from crampwatch.model import Patient

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
        "id": resource_id or ref_id(patient.id, "patient"),
        "extension": [{"url": PATIENT_EXTENSION_URL, "extension": sub}],
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient.id}],
        "gender": patient.sex,
    }
    return validate_resource(resource)


def patient_from_fhir(resource: dict[str, Any], *, as_of: datetime | date | None = None) -> dict[str, Any]:
    """The :class:`~crampwatch.model.Patient` fields found in a FHIR ``Patient`` resource.

    Fields of the crampwatch extension are read first; ``birthDate`` gives ``age_years`` (at ``as_of``,
    default today) when the extension has none. Each value is range-checked; labs are not part of Patient.
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        got = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        raise InputError(f"resourceType: expected 'Patient', got {got!r}", "resourceType")
    validate_resource(resource)
    where = where_of(resource)
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
                fields[name] = extension_value(item)
    if "age_years" not in fields and resource.get("birthDate"):
        born = parse_datetime(resource["birthDate"], f"{where}.birthDate")
        ref = as_utc(as_of) if isinstance(as_of, datetime) else parse_datetime(as_of or date.today(), "as_of")
        fields["age_years"] = round((ref - born).days / 365.25, 2)
        low, high = model_range(Patient, "age_years")
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
    low, high = model_range(Patient, name)
    if math.isinf(low) and math.isinf(high):
        return
    loc = f"{where}.extension[hd-patient].{name}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{loc}: {value!r} is not a number (allowed {low:g}–{high:g})", name)
    if not low <= float(value) <= high:
        raise InputError(f"{loc}: {value!r} is out of range (allowed {low:g}–{high:g})", name)
