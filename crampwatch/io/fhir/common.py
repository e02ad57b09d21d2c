"""Helpers shared by the FHIR modules: ids, date-times, codings, quantities, resource validation."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from crampwatch.errors import InputError
from crampwatch.io.fhir.codes import SOURCE_TAG_SYSTEM, UCUM, UNIT_ALIASES, UUID_NAMESPACE, QuantitySpec
from crampwatch.signals import implausible, range_message


def ref_id(session_id: str, key: str) -> str:
    """A deterministic resource id for ``key`` within a session."""
    return str(uuid.uuid5(UUID_NAMESPACE, f"{session_id}/{key}"))


def as_utc(moment: datetime) -> datetime:
    """Timezone-aware copy of ``moment``; a naive datetime is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def fhir_datetime(moment: datetime) -> str:
    """FHIR dateTime text (UTC offset, microseconds where present)."""
    moment = as_utc(moment)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec)


def parse_datetime(value: Any, where: str) -> datetime:
    """A timezone-aware datetime from a FHIR date or dateTime; :class:`InputError` naming ``where``."""
    if isinstance(value, datetime):
        return as_utc(value)
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
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise InputError(
            f"{where}: {value!r} is not a FHIR date-time (e.g. 2024-05-01T08:00:00Z)", where
        ) from None


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def quantity(value: float, unit: str) -> dict[str, Any]:
    if not math.isfinite(float(value)):
        raise InputError(f"value: {value!r} {unit} is not a finite number", "value")
    return {"value": float(value), "unit": unit, "system": UCUM, "code": unit}


def source_tag(source: str) -> dict[str, Any]:
    return {"tag": [coding(SOURCE_TAG_SYSTEM, source)]}


def codes_of(concept: dict[str, Any] | None) -> set[tuple[str, str]]:
    if not isinstance(concept, dict):
        return set()
    return {
        (c.get("system", ""), c.get("code", "")) for c in concept.get("coding", []) if isinstance(c, dict)
    }


def where_of(resource: dict[str, Any]) -> str:
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
        raise InputError(f"{where_of(resource)}.{loc}: invalid FHIR ({msg})", f"{rtype}.{loc}") from None
    return resource


def check_range(value: float, spec: QuantitySpec, where: str) -> float:
    """``value`` if it lies in the spec's range, else :class:`InputError` naming ``where``, the field and
    the range (for trace signals the registry's message, the same as the trace readers')."""
    if spec.signal:
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


def read_quantity(quantity: Any, spec: QuantitySpec, where: str) -> float:
    """The value of a FHIR Quantity in ``spec.unit`` (converted from any accepted unit, range-checked)."""
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        raise InputError(f"{where}: missing value (a Quantity in {spec.unit})", spec.field)
    raw_unit = str(quantity.get("code") or quantity.get("unit") or "").strip()
    unit = raw_unit if raw_unit in spec.accepted else UNIT_ALIASES.get(raw_unit.lower(), raw_unit)
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
    return check_range(value, spec, where)


def extension_value(ext: dict[str, Any]) -> Any:
    """The ``value[x]`` of an extension or answer."""
    for key, value in ext.items():
        if key.startswith("value"):
            return value
    return None
