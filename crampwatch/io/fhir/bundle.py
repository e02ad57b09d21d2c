"""A dialysis session as a FHIR R4 collection Bundle, and back: :func:`session_to_bundle` and
:func:`bundle_to_session`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from crampwatch.errors import InputError
from crampwatch.io.fhir.codes import (
    CRAMP_QUESTIONNAIRE_URL,
    DIALYSIS_CODES,
    HEMODIALYSIS_SNOMED,
    PATIENT_EXTENSION_URL,
    PRESCRIPTION_EXTENSION_URL,
    SESSION_ID_SYSTEM,
    SNOMED,
)
from crampwatch.io.fhir.common import (
    codes_of,
    coding,
    fhir_datetime,
    parse_datetime,
    ref_id,
    validate_resource,
    where_of,
)
from crampwatch.io.fhir.observations import (
    ObservationReader,
    SessionBuilder,
    add_labs,
    add_trace,
    add_weights,
)
from crampwatch.io.fhir.patient import patient_from_fhir, patient_to_fhir
from crampwatch.io.fhir.questionnaire import (
    cramp_report_to_questionnaire_response,
    questionnaire_response_to_cramp_report,
)
from crampwatch.model import Patient, Prescription, Scenario, format_validation_error
from crampwatch.quantities import post_weight_kg_array
from crampwatch.signals import T_MIN, UF_CUM_L
from crampwatch.trace import SIGNALS, Trace, empty_events
from crampwatch.units import S_PER_MIN


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


#: Forms of the trace signals in a Bundle: one Observation per value, or one SampledData series per signal.
SERIES_FORMS = ("points", "sampled")


def session_to_bundle(
    scenario: Scenario,
    trace: Trace | None = None,
    *,
    session_id: str,
    started_at: datetime,
    reports: list[dict[str, Any]] | None = None,
    extra_signals: Sequence[str] = (),
    series: str = "points",
) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle of one session (see :mod:`crampwatch.io.fhir` for the mapping).

    ``trace`` contributes BP (panel) and HR Observations at each time point, ``extra_signals`` (any of
    :data:`crampwatch.trace.SIGNALS`) one Observation per value (local code, plus LOINC where one
    exists), and its events. With ``series="sampled"`` each of these signals is instead one Observation
    with a SampledData time series (:mod:`crampwatch.io.fhir.sampled`); both forms read back alike.
    ``reports`` are patient cramp reports (see :func:`cramp_report_to_questionnaire_response`).
    A naive ``started_at`` is taken to be UTC.
    """
    if not session_id or not str(session_id).strip():
        raise InputError("session_id: must not be empty", "session_id")
    if series not in SERIES_FORMS:
        raise InputError(f"series: {series!r} is not one of {', '.join(SERIES_FORMS)}", "series")
    for name in extra_signals:
        if name not in SIGNALS:
            raise InputError(
                f"extra_signals: unknown signal {name!r} (allowed: {', '.join(SIGNALS)})", "signals"
            )
    b = SessionBuilder(str(session_id), started_at)
    patient = scenario.patient
    b.add(patient_to_fhir(patient, resource_id=ref_id(b.session_id, "patient")), "patient")

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
            "code": {"coding": [coding(SNOMED, *HEMODIALYSIS_SNOMED)], "text": "Hemodialysis session"},
            "subject": {"reference": b.patient_ref},
            "performedPeriod": {"start": b.at(0.0), "end": b.at(end_min)},
            "note": [{"text": _prescription_summary(presc, scenario.uf_volume_l)}],
        },
        "procedure",
    )

    add_labs(b, patient.labs)
    post_weight = scenario.post_weight_kg
    if trace is not None and trace.has(UF_CUM_L):
        uf = trace.signal(UF_CUM_L)
        post_weight = float(post_weight_kg_array(patient.pre_weight_kg, float(uf[~np.isnan(uf)][-1])))
    add_weights(b, patient.pre_weight_kg, post_weight, patient.dry_weight_kg, end_min)
    if trace is not None:
        add_trace(b, trace, extra_signals, sampled=series == "sampled")
    for i, report in enumerate(reports or []):
        resource = cramp_report_to_questionnaire_response(
            report,
            patient_reference=b.patient_ref,
            procedure_reference=b.procedure_ref,
            resource_id=ref_id(b.session_id, f"report/{i}"),
        )
        b.add(resource, f"report/{i}")
    return {
        "resourceType": "Bundle",
        "id": ref_id(b.session_id, "bundle"),
        "type": "collection",
        "timestamp": fhir_datetime(datetime.now(UTC).replace(microsecond=0)),
        "entry": b.entries,
    }


# ----------------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
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
        found = [r for r in found if codes_of(r.get("code")) & wanted] or found
    if not found:
        raise InputError(f"Bundle: no {rtype} resource (a session Bundle needs exactly one)", rtype)
    if len(found) > 1:
        raise InputError(
            f"Bundle: {len(found)} {rtype} resources (a session Bundle needs exactly one)", rtype
        )
    return found[0]


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

    procedure, period, started_at, session_id = _session_procedure(resources)
    patient_resource = _one(resources, "Patient")
    fields = patient_from_fhir(patient_resource, as_of=started_at)
    reader = ObservationReader(started_at)
    reports, skipped = _read_resources(resources, reader)

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
                f"{where_of(patient_resource)}: {required} not found in the Bundle "
                f"(Patient extension {PATIENT_EXTENSION_URL} or an Observation)",
                required,
            )
    fields["labs"] = reader.labs

    prescription = _prescription(procedure, period, started_at, fields, post, assumed)
    try:
        scenario = Scenario(patient=Patient.model_validate(fields), prescription=prescription)
    except ValidationError as exc:
        raise InputError(
            f"{where_of(patient_resource)}: {format_validation_error(exc, Patient)}", "patient"
        ) from None

    events = (
        pd.DataFrame(reader.events, columns=[T_MIN, "kind", "severity", "note"])
        if reader.events
        else (empty_events())
    )
    if reader.events:
        events = events.astype({T_MIN: float, "severity": float}).sort_values(T_MIN, kind="stable")
        events = events.reset_index(drop=True)
    trace = reader.trace(session_id, events)
    reports.sort(key=lambda r: r[T_MIN])
    return SessionImport(scenario, trace, events, reports, session_id, started_at, post, assumed, skipped)


def _session_procedure(
    resources: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any], datetime, str]:
    """The Bundle's haemodialysis Procedure, its ``performedPeriod``, start time and session id (its
    crampwatch session identifier, else its resource id); InputError naming the element when it is not a
    haemodialysis procedure or has no start."""
    procedure = _one(resources, "Procedure", {(SNOMED, HEMODIALYSIS_SNOMED[0])})
    where = where_of(procedure)
    code = procedure.get("code") or {}
    if not (codes_of(code) & DIALYSIS_CODES or "dialysis" in str(code.get("text", "")).lower()):
        raise InputError(
            f"{where}.code: not a haemodialysis procedure (expected SNOMED {HEMODIALYSIS_SNOMED[0]})", "code"
        )
    period = procedure.get("performedPeriod") or {}
    if not period.get("start"):
        raise InputError(f"{where}.performedPeriod.start: required (the session start time)", "started_at")
    started_at = parse_datetime(period["start"], f"{where}.performedPeriod.start")
    ids = [i.get("value") for i in procedure.get("identifier") or [] if i.get("system") == SESSION_ID_SYSTEM]
    return procedure, period, started_at, str((ids or [procedure.get("id") or "session"])[0])


def _read_resources(
    resources: list[dict[str, Any]], reader: ObservationReader
) -> tuple[list[dict[str, Any]], list[str]]:
    """Observations into ``reader``; the cramp reports (QuestionnaireResponses of the cramp questionnaire);
    and what was skipped (the reader's, then other resources), each named."""
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
                skipped.append(f"{where_of(resource)} (questionnaire {canonical or 'none'})")
        elif rtype not in ("Patient", "Procedure"):
            skipped.append(f"{where_of(resource)}")
    return reports, reader.skipped + skipped


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
    where = where_of(procedure)
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
        end = parse_datetime(period["end"], f"{where}.performedPeriod.end")
        values["duration_min"] = (end - started_at).total_seconds() / S_PER_MIN
    if post is not None:
        values["uf_volume_l"] = max(0.0, float(fields["pre_weight_kg"]) - post)
    try:
        return Prescription.model_validate(values)
    except ValidationError as exc:
        raise InputError(
            f"{where}.performedPeriod: {format_validation_error(exc, Prescription)}", "duration_min"
        ) from None
