"""Machine messages sent by gateways over HTTP: crampwatch's JSON, or FHIR R4 Observations (one, or a
Bundle of them). Both become the same :class:`MachineMessage` as an HL7 v2 ORU^R01, with the same codes
(:mod:`crampwatch.io.machine.codes`), unit checks and plausible ranges.

JSON (``POST /api/live/observations``)::

    {"message_id": "gw-17-000123", "patient_id": "P001", "end_of_treatment": false,
     "observations": [{"signal": "rbv_pct", "value": 91.2, "unit": "%",
                       "observed_at": "2026-12-06T09:35:00Z"}]}

``signal`` is a signal registry name (or give ``system`` and ``code``: ``MDC``/``LN``/``99CW``).

FHIR (``POST /api/live/fhir``): Observations with ``subject.reference`` ``Patient/<store id>``,
``code.coding`` in LOINC (``http://loinc.org``), IEEE 11073 (``urn:iso:std:iso:11073:10101``) or
crampwatch's code system (``CODE_SYSTEM_URL``: registry names, and ``treatment_end``),
``valueQuantity`` with a UCUM ``code``, ``effectiveDateTime``; BP panels by ``component``. The Bundle's
``id`` (or the single Observation's) is the message id for duplicate detection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crampwatch.io.fhir.codes import CODE_SYSTEM_URL
from crampwatch.io.machine.codes import LOCAL_END, LOCAL_SYSTEM, MDC_SYSTEM, signal_of
from crampwatch.io.machine.messages import ERROR, REJECT, MachineMessage, Observation, Refusal, observation
from crampwatch.signals import SIGNAL_SPECS

#: FHIR code system URIs -> the coding systems of the code table.
FHIR_SYSTEMS = {
    "http://loinc.org": "LN",
    "urn:iso:std:iso:11073:10101": MDC_SYSTEM,
    CODE_SYSTEM_URL: LOCAL_SYSTEM,
}
MAX_OBSERVATIONS = 10_000


def _moment(text: Any, where: str) -> datetime:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise Refusal(ERROR, f"{where}: {str(text)[:40]!r} is not an ISO 8601 date-time") from None


def from_json(data: dict[str, Any], who: str) -> MachineMessage:
    """The message of a gateway's JSON body (already checked for shape by the API model)."""
    patient_id = str(data.get("patient_id") or "")
    out: list[Observation] = []
    for k, item in enumerate(data.get("observations") or []):
        where = f"observations[{k}]"
        name = item.get("signal") or signal_of(str(item.get("system") or ""), str(item.get("code") or ""))
        if name not in SIGNAL_SPECS:
            raise Refusal(
                ERROR, f"{where}: {name or item.get('code')!r} is not a known signal or code", patient_id
            )
        when = _moment(item.get("observed_at"), f"{where}.observed_at")
        try:
            out.append(observation(name, item.get("value"), str(item.get("unit") or ""), when, where))
        except Refusal as refusal:
            raise Refusal(refusal.code, refusal.reason, patient_id) from None
    return MachineMessage(
        key=f"json:{who}|{data.get('message_id')}",
        source=f"json:{who}",
        patient_id=patient_id,
        observations=tuple(out),
        end_of_treatment=bool(data.get("end_of_treatment")),
    )


def from_fhir(resource: Any, who: str) -> MachineMessage:
    """The message of a FHIR Observation or a Bundle of Observations (one patient)."""
    if not isinstance(resource, dict) or resource.get("resourceType") not in ("Observation", "Bundle"):
        raise Refusal(REJECT, "resourceType: expected an Observation or a Bundle of Observations")
    if resource["resourceType"] == "Bundle":
        entries = [e.get("resource") for e in resource.get("entry") or [] if isinstance(e, dict)]
    else:
        entries = [resource]
    if not entries or len(entries) > MAX_OBSERVATIONS:
        raise Refusal(REJECT, f"Bundle.entry: expected 1–{MAX_OBSERVATIONS} Observations")
    key = resource.get("id")
    if not key:
        raise Refusal(REJECT, f"{resource['resourceType']}.id: required (it identifies a resent message)")
    patients = {_patient_of(obs, k) for k, obs in enumerate(entries)}
    if len(patients) != 1:
        raise Refusal(ERROR, "subject: every Observation must be of the same patient")
    patient_id = patients.pop()
    out: list[Observation] = []
    ended = False
    for k, obs in enumerate(entries):
        where = f"entry[{k}]" if resource["resourceType"] == "Bundle" else "Observation"
        try:
            ended |= _read_observation(obs, where, out)
        except Refusal as refusal:
            raise Refusal(refusal.code, refusal.reason, patient_id) from None
    return MachineMessage(
        key=f"fhir:{who}|{key}", source=f"fhir:{who}", patient_id=patient_id,
        observations=tuple(out), end_of_treatment=ended,
    )  # fmt: skip


def _patient_of(obs: Any, k: int) -> str:
    if not isinstance(obs, dict) or obs.get("resourceType") != "Observation":
        raise Refusal(REJECT, f"entry[{k}]: not an Observation")
    ref = str((obs.get("subject") or {}).get("reference") or "")
    if not ref.startswith("Patient/") or len(ref) <= len("Patient/"):
        raise Refusal(ERROR, f"entry[{k}].subject.reference: expected 'Patient/<id>'")
    return ref[len("Patient/") :]


def _codes(concept: Any) -> list[tuple[str, str]]:
    codings = (concept or {}).get("coding") or [] if isinstance(concept, dict) else []
    return [(FHIR_SYSTEMS.get(str(c.get("system")), ""), str(c.get("code") or "")) for c in codings]


def _read_observation(obs: dict[str, Any], where: str, out: list[Observation]) -> bool:
    """Append the observation's values to ``out``; True when it ends the treatment."""
    codes = _codes(obs.get("code"))
    if (LOCAL_SYSTEM, LOCAL_END) in codes:
        return True
    when = _moment(obs.get("effectiveDateTime"), f"{where}.effectiveDateTime")
    parts = [(obs, codes, where)]
    parts += [
        (c, _codes(c.get("code")), f"{where}.component[{j}]")
        for j, c in enumerate(obs.get("component") or [])
    ]
    for holder, holder_codes, loc in parts:
        name = next((n for s, c in holder_codes if (n := signal_of(s, c))), None)
        quantity = holder.get("valueQuantity")
        if name is None or not isinstance(quantity, dict):
            continue
        unit = str(quantity.get("code") or quantity.get("unit") or "")
        out.append(observation(name, quantity.get("value"), unit, when, f"{loc}.valueQuantity"))
    return False
