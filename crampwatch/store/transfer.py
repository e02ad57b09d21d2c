"""Whole-patient export to, and import from, a JSON document (``crampwatch export --format json``).

Document layout (``"format": "crampwatch-export"``, ``"version": 1``)::

    {"format": "crampwatch-export", "version": 1, "exported_at": ISO-8601,
     "patient": {"id", "name", "recurring_cause", "data": <Patient JSON (docs/formats.md scenario schema)>},
     "sessions": [{"id", "started_at", "prescription", "pre_weight_kg", "post_weight_kg", "labs",
                   "trace": {"t_min": [...], "<signal>": [...]}, "sources": {...}, "events": [...],
                   "assessment": {...} | null, "assessment_model_version": str | null}],
     "reports": [{"idempotency_key", "session_id", "reported_at", "t_min", "muscle", "severity", "note"}]}

Missing trace values are ``null``. Import validates the whole document before writing anything; it is
resumable: sessions already stored for the same patient are skipped and reports are idempotent by key.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from crampwatch.causes.sentences import plural
from crampwatch.errors import InputError
from crampwatch.model import Labs, Patient, Prescription, format_validation_error
from crampwatch.signals import T_MIN
from crampwatch.store.codec import events_from_frame, to_jsonable
from crampwatch.store.repository import Store
from crampwatch.trace import EVENT_COLUMNS, Trace

EXPORT_FORMAT = "crampwatch-export"
EXPORT_VERSION = 1


@dataclass(frozen=True)
class ImportResult:
    """What an import stored (ids) and what it left alone because it was already there."""

    patient_id: str
    patient_created: bool = False
    sessions_created: list[str] = field(default_factory=list)
    sessions_skipped: list[str] = field(default_factory=list)
    reports_created: int = 0
    reports_skipped: int = 0

    def summary(self) -> str:
        return (
            f"patient {self.patient_id} ({'new' if self.patient_created else 'already stored'}), "
            f"{plural(len(self.sessions_created), 'session', 'sessions')} stored, "
            f"{len(self.sessions_skipped)} already stored, "
            f"{plural(self.reports_created, 'report', 'reports')} stored, "
            f"{self.reports_skipped} already stored"
        )


def session_content_hash(patient_id: str, prescription: Prescription, trace: Trace) -> str:
    """SHA-256 of what makes a recorded session itself: patient, prescription, signals and events.

    The start time is left out on purpose: an import without ``--started-at`` stamps "now", and the same
    file imported twice must still be recognised.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(["crampwatch-session-v1", patient_id], sort_keys=True).encode())
    digest.update(json.dumps(prescription.model_dump(mode="json"), sort_keys=True).encode())
    data = trace.data
    digest.update(json.dumps([str(c) for c in data.columns]).encode())
    digest.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    events = trace.events[EVENT_COLUMNS].to_dict(orient="records")
    digest.update(json.dumps(to_jsonable(events), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def export_patient(store: Store, patient_id: str) -> dict[str, Any]:
    """The export document of one patient (all sessions and reports)."""
    rec = store.get_patient(patient_id)
    if rec is None:
        raise InputError(f"patient_id: {patient_id!r} is not a known patient", "patient_id")
    sessions = []
    for summary in store.list_sessions(patient_id):
        s = store.get_session(summary.id)
        assert s is not None
        sessions.append(
            {
                "id": s.id,
                "started_at": s.started_at.isoformat(),
                "prescription": s.prescription.model_dump(mode="json", exclude_none=True),
                "pre_weight_kg": s.pre_weight_kg,
                "post_weight_kg": s.post_weight_kg,
                "labs": None if s.labs is None else s.labs.model_dump(mode="json", exclude_none=True),
                "trace": {c: _column(s.trace.data[c]) for c in s.trace.data.columns},
                "sources": dict(s.trace.sources),
                "events": to_jsonable(s.trace.events[EVENT_COLUMNS].to_dict(orient="records")),
                "assessment": s.assessment,
                "assessment_model_version": s.assessment_model_version,
            }
        )
    reports = [
        {
            "idempotency_key": r.idempotency_key,
            "session_id": r.session_id,
            "reported_at": r.reported_at.isoformat(),
            T_MIN: r.t_min,
            "muscle": r.muscle,
            "severity": r.severity,
            "note": r.note,
        }
        for r in store.list_reports(patient_id)
    ]
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "patient": {
            "id": rec.id,
            "name": rec.name,
            "recurring_cause": rec.recurring_cause,
            "data": rec.patient.model_dump(mode="json", exclude_none=True),
        },
        "sessions": sessions,
        "reports": reports,
    }


def is_export_document(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == EXPORT_FORMAT


def import_patient_document(store: Store, doc: dict[str, Any]) -> ImportResult:
    """Store the patient, sessions and reports of an export document (see the module docstring)."""
    if doc.get("version") != EXPORT_VERSION:
        raise InputError(
            f"version: {doc.get('version')!r} is not supported (allowed {EXPORT_VERSION})", "version"
        )
    p = _mapping(doc.get("patient"), "patient")
    patient = _model(p.get("data"), Patient, "patient.data")
    name = p.get("name")
    sessions = [
        _parse_session(_mapping(s, f"sessions[{i}]"), i) for i, s in enumerate(_list(doc, "sessions"))
    ]
    reports = [_mapping(r, f"reports[{i}]") for i, r in enumerate(_list(doc, "reports"))]
    for i, r in enumerate(reports):
        r["reported_at"] = _datetime(r.get("reported_at"), f"reports[{i}].reported_at")

    existing = store.get_patient(patient.id)
    for s in sessions:  # check everything before the first write
        stored = store.get_session(s["session_id"])
        if stored is not None and stored.patient_id != patient.id:
            raise InputError(f"sessions: id {s['session_id']!r} belongs to another patient", "session_id")
    if existing is None:
        store.add_patient(patient, name=name)
    if p.get("recurring_cause") and (existing is None or existing.recurring_cause is None):
        store.update_patient_summary(patient.id, str(p["recurring_cause"]))
    created_ids: list[str] = []
    skipped_ids: list[str] = []
    for s in sessions:
        if store.get_session(s["session_id"]) is not None:
            skipped_ids.append(s["session_id"])
            continue
        assessment = s.pop("assessment")
        version = s.pop("assessment_model_version") or "imported"
        sid = store.add_session(patient.id, **s)
        if assessment:
            store.save_assessment(sid, assessment, version)
        created_ids.append(sid)
    n_created = 0
    for i, r in enumerate(reports):
        _rec, created = store.add_report(
            patient_id=patient.id,
            reported_at=r["reported_at"],
            muscle=r.get("muscle"),
            severity=r.get("severity"),
            note=r.get("note") or "",
            session_id=r.get("session_id"),
            t_min=r.get(T_MIN),
            idempotency_key=r.get("idempotency_key") or f"import:{patient.id}:{i}",
        )
        n_created += int(created)
    return ImportResult(
        patient_id=patient.id,
        patient_created=existing is None,
        sessions_created=created_ids,
        sessions_skipped=skipped_ids,
        reports_created=n_created,
        reports_skipped=len(reports) - n_created,
    )


# ----------------------------------------------------------------------------------------------- helpers


def _column(series: pd.Series) -> list[Any]:
    values = series.tolist()
    return [None if isinstance(v, float) and math.isnan(v) else to_jsonable(v) for v in values]


def _parse_session(s: dict[str, Any], i: int) -> dict[str, Any]:
    where = f"sessions[{i}]"
    sid = s.get("id")
    if not isinstance(sid, str) or not sid:
        raise InputError(f"{where}.id: required text", "session_id")
    trace_cols = _mapping(s.get("trace"), f"{where}.trace")
    try:
        data = pd.DataFrame({k: pd.array(v, dtype=_dtype(v)) for k, v in trace_cols.items()})
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where}.trace: {exc}", "trace") from None
    if T_MIN not in data.columns:
        raise InputError(f"{where}.trace.t_min: required column is missing", "trace.t_min")
    events = pd.DataFrame(s.get("events") or [], columns=EVENT_COLUMNS)
    events_from_frame(events)  # validates
    sources = _mapping(s.get("sources") or {}, f"{where}.sources")
    trace = Trace(data, events, {str(k): str(v) for k, v in sources.items()}, sid)
    labs = s.get("labs")
    return {
        "prescription": _model(s.get("prescription"), Prescription, f"{where}.prescription"),
        "trace": trace,
        "started_at": _datetime(s.get("started_at"), f"{where}.started_at"),
        "session_id": sid,
        "pre_weight_kg": s.get("pre_weight_kg"),
        "post_weight_kg": s.get("post_weight_kg"),
        "labs": None if labs is None else _model(labs, Labs, f"{where}.labs"),
        "assessment": s.get("assessment"),
        "assessment_model_version": s.get("assessment_model_version"),
    }


def _dtype(values: list[Any]) -> Any:
    if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
        return np.float64
    return object


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected an object", where)
    return dict(value)


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key) or []
    if not isinstance(value, list):
        raise InputError(f"{key}: expected a list", key)
    return value


def _model(value: Any, model: type, where: str) -> Any:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected an object", where)
    try:
        return model.model_validate(value)  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise InputError(format_validation_error(exc, model, where), where) from None


def _datetime(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{where}: {value!r} is not an ISO 8601 date and time", where) from None
