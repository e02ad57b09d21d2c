"""Observations of a session: the writer (labs, weights, BP/HR and other trace signals, events) and the
reader that sorts a Bundle's Observations back into labs, weights, trace points and events.

Trace signals are written and read through one table, :data:`~crampwatch.io.fhir.codes.TRACE_SPECS`
(built from the signal registry): each value is one Observation with crampwatch's local code and, where
one exists, its LOINC code, the registry's UCUM unit, and a ``meta.tag`` telling its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.io.fhir.codes import (
    BODY_HEIGHT_LOINC,
    BODY_WEIGHT_LOINC,
    BP_COMPONENTS,
    BP_PANEL_LOINC,
    CODE_SYSTEM_URL,
    CRAMP_SNOMED,
    HEIGHT_SPEC,
    LAB_SPECS,
    LOINC,
    OBS_CATEGORY,
    SNOMED,
    SOURCE_TAG_SYSTEM,
    TRACE_SPECS,
    UCUM,
    VITAL_SPECS,
    WEIGHT_SPEC,
    QuantitySpec,
)
from crampwatch.io.fhir.common import (
    as_utc,
    codes_of,
    coding,
    fhir_datetime,
    parse_datetime,
    quantity,
    read_quantity,
    ref_id,
    source_tag,
    validate_resource,
    where_of,
)
from crampwatch.io.fhir.sampled import sampled_observations, sampled_points
from crampwatch.model import EVENT_KINDS, Labs
from crampwatch.signals import HR_BPM, MAX_T_MIN, SIGNAL_SPECS, T_MIN
from crampwatch.trace import SIGNALS, SOURCES, Trace
from crampwatch.units import S_PER_MIN


class SessionBuilder:
    """Collects the entries of one session Bundle with deterministic ids."""

    def __init__(self, session_id: str, started_at: datetime) -> None:
        self.session_id = session_id
        self.started_at = as_utc(started_at)
        self.entries: list[dict[str, Any]] = []
        self.patient_ref = f"urn:uuid:{ref_id(session_id, 'patient')}"
        self.procedure_ref = f"urn:uuid:{ref_id(session_id, 'procedure')}"
        self._validated: set[str] = set()

    def add(self, resource: dict[str, Any], key: str) -> None:
        """Append ``resource`` with a deterministic id (validated once per series of trace points)."""
        resource = {
            "resourceType": resource["resourceType"],
            "id": resource.get("id") or ref_id(self.session_id, key),
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
        """FHIR dateTime ``t_min`` minutes after the session start."""
        return fhir_datetime(self.started_at + timedelta(minutes=float(t_min)))

    def observation(
        self,
        key: str,
        code: list[dict[str, str]],
        t_min: float,
        category: str,
        source: str = "measured",
        **value: Any,
    ) -> None:
        """Append an Observation of the session with ``code``, time, category, source tag and value."""
        obs = {
            "resourceType": "Observation",
            "meta": source_tag(source),
            "status": "final",
            "category": [{"coding": [coding(OBS_CATEGORY, category)]}],
            "code": {"coding": code},
            "subject": {"reference": self.patient_ref},
            "partOf": [{"reference": self.procedure_ref}],
            "effectiveDateTime": self.at(t_min),
            **value,
        }
        self.add(obs, key)


def signal_codings(name: str) -> list[dict[str, str]]:
    """Codings of a trace signal: crampwatch's local code, plus its LOINC code where one exists."""
    sig = SIGNAL_SPECS[name]
    out = [coding(CODE_SYSTEM_URL, name, sig.label)]
    if sig.loinc is not None:
        out.append(coding(LOINC, sig.loinc.code, sig.loinc.display))
    return out


def add_labs(b: SessionBuilder, labs: Labs) -> None:
    """One laboratory Observation per pre-dialysis lab that is present (LOINC, UCUM; see ``LAB_SPECS``)."""
    for spec in LAB_SPECS:
        value = getattr(labs, spec.field)
        if value is not None:
            b.observation(
                f"lab/{spec.field}",
                [coding(LOINC, spec.code, spec.display)],
                0.0,
                "laboratory",
                valueQuantity=quantity(value, spec.unit),
            )


def add_weights(b: SessionBuilder, pre_kg: float, post_kg: float, dry_kg: float, end_min: float) -> None:
    """Pre- and post-dialysis body weight (LOINC 29463-7 plus a local code) and the dry (target) weight."""
    for key, weight, t_min in (("pre", pre_kg, 0.0), ("post", post_kg, end_min)):
        code = [
            coding(LOINC, BODY_WEIGHT_LOINC, "Body weight"),
            coding(CODE_SYSTEM_URL, f"{key}-dialysis-weight", f"{key.capitalize()}-dialysis weight"),
        ]
        b.observation(f"weight/{key}", code, t_min, "vital-signs", valueQuantity=quantity(weight, "kg"))
    b.observation(
        "weight/dry",
        [coding(CODE_SYSTEM_URL, "dry-weight", "Dry (target) weight")],
        0.0,
        "exam",  # a target, not a measured vital sign
        valueQuantity=quantity(dry_kg, "kg"),
    )


def add_trace(
    b: SessionBuilder, trace: Trace, extra_signals: Sequence[str], *, sampled: bool = False
) -> None:
    """BP panel and HR Observations at each time point, one Observation per value of each of
    ``extra_signals``, and one per event; with ``sampled``, one SampledData Observation per signal
    (:mod:`crampwatch.io.fhir.sampled`) instead of the time points."""
    if sampled:
        add_sampled(b, trace, [*VITAL_SPECS, *(s for s in extra_signals if s not in VITAL_SPECS)])
        add_events(b, trace)
        return
    t = trace.t_min
    columns = {name: trace.signal(name) for name in (*VITAL_SPECS, *extra_signals) if trace.has(name)}
    for i, t_min in enumerate(t):
        components = []
        for name in BP_COMPONENTS:
            if name in columns and not np.isnan(columns[name][i]):
                spec = VITAL_SPECS[name]
                components.append(
                    {
                        "code": {"coding": [coding(LOINC, spec.code, spec.display)]},
                        "valueQuantity": quantity(columns[name][i], spec.unit),
                    }
                )
        if components:
            source = trace.sources.get(next(n for n in BP_COMPONENTS if n in columns), "measured")
            b.observation(
                f"bp/{i}",
                [coding(LOINC, BP_PANEL_LOINC, "Blood pressure panel")],
                t_min,
                "vital-signs",
                source,
                component=components,
            )
        if HR_BPM in columns and not np.isnan(columns[HR_BPM][i]):
            spec = VITAL_SPECS[HR_BPM]
            b.observation(
                f"hr/{i}",
                [coding(LOINC, spec.code, spec.display)],
                t_min,
                "vital-signs",
                trace.sources.get(HR_BPM, "measured"),
                valueQuantity=quantity(columns[HR_BPM][i], spec.unit),
            )
        for name in extra_signals:
            if name in columns and name not in VITAL_SPECS and not np.isnan(columns[name][i]):
                b.observation(
                    f"signal/{name}/{i}",
                    signal_codings(name),
                    t_min,
                    "procedure",
                    trace.sources.get(name, "measured"),
                    valueQuantity=quantity(columns[name][i], TRACE_SPECS[name].unit),
                )
    add_events(b, trace)


def add_sampled(b: SessionBuilder, trace: Trace, signals: Sequence[str]) -> None:
    """One Observation per signal of the session, its values as a SampledData series."""
    category = {name: "vital-signs" if name in VITAL_SPECS else "procedure" for name in signals}
    for name, start, value in sampled_observations(trace, signals):
        b.observation(
            f"series/{name}",
            signal_codings(name),
            start,
            category[name],
            trace.sources.get(name, "measured"),
            **value,
        )


def add_events(b: SessionBuilder, trace: Trace) -> None:
    """One Observation per event of the trace."""
    for j, row in enumerate(trace.events.itertuples(index=False)):
        code = [coding(CODE_SYSTEM_URL, f"event-{row.kind}", str(row.kind).replace("_", " "))]
        if row.kind == "cramp":
            code.append(coding(SNOMED, *CRAMP_SNOMED))
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


def minutes_after_start(resource: dict[str, Any], started_at: datetime) -> float:
    """Minutes from ``started_at`` to the Observation's effective time."""
    where = where_of(resource)
    moment = resource.get("effectiveDateTime")
    if moment is None and isinstance(resource.get("effectivePeriod"), dict):
        moment = resource["effectivePeriod"].get("start")
    if moment is None:
        raise InputError(f"{where}.effectiveDateTime: required to place the value in the session", T_MIN)
    return (parse_datetime(moment, f"{where}.effectiveDateTime") - started_at).total_seconds() / S_PER_MIN


def source_of(resource: dict[str, Any]) -> str:
    """``measured``, ``simulated`` or ``estimated`` from the crampwatch source tag (default measured)."""
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if tag.get("system") == SOURCE_TAG_SYSTEM and tag.get("code") in SOURCES:
            return str(tag["code"])
    return "measured"


class ObservationReader:
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
        """File one Observation as a lab, weight, height, trace point or event (or note it as skipped)."""
        where = where_of(obs)
        if obs.get("status") in ("entered-in-error", "cancelled"):
            self.skipped.append(f"{where} (status {obs['status']})")
            return
        if obs.get("dataAbsentReason") and obs.get("valueQuantity") is None and not obs.get("component"):
            self.skipped.append(f"{where} (no value: data absent)")
            return
        codes = codes_of(obs.get("code"))
        local = {c for s, c in codes if s == CODE_SYSTEM_URL}
        if obs.get("valueSampledData") is not None:
            self._read_series(obs, codes, local, where)
            return
        lab = next((self._lab_by_code[c] for c in codes if c in self._lab_by_code), None)
        signal = next((c for c in local if c in TRACE_SPECS), None)
        if any(c.startswith("event-") for c in local):
            self._read_event(obs, next(c for c in local if c.startswith("event-")), where)
        elif signal is not None:  # a trace signal under crampwatch's code (may also carry a LOINC code)
            spec = TRACE_SPECS[signal]
            self._point(obs, signal, read_quantity(obs.get("valueQuantity"), spec, f"{where}.valueQuantity"))
        elif lab is not None:
            self.labs[lab.field] = read_quantity(obs.get("valueQuantity"), lab, f"{where}.valueQuantity")
        elif (LOINC, BODY_WEIGHT_LOINC) in codes or "dry-weight" in local:
            kind = (
                "dry"
                if "dry-weight" in local
                else "pre"
                if "pre-dialysis-weight" in local
                else ("post" if "post-dialysis-weight" in local else "any")
            )
            value = read_quantity(obs.get("valueQuantity"), WEIGHT_SPEC, f"{where}.valueQuantity")
            t = minutes_after_start(obs, self.started_at) if kind != "dry" else 0.0
            self.weights[kind].append((t, value))
        elif (LOINC, BODY_HEIGHT_LOINC) in codes:
            self.height_cm = read_quantity(obs.get("valueQuantity"), HEIGHT_SPEC, f"{where}.valueQuantity")
        elif (LOINC, BP_PANEL_LOINC) in codes or any(c in self._vital_by_code for c in codes):
            self._read_vitals(obs, codes, where)
        else:
            shown = ", ".join(sorted(f"{c}" for _, c in codes)) or "no code"
            self.skipped.append(f"{where} ({shown})")

    def _read_series(
        self, obs: dict[str, Any], codes: set[tuple[str, str]], local: set[str], where: str
    ) -> None:
        name = next((c for c in local if c in TRACE_SPECS), None)
        if name is None:
            spec = next((self._vital_by_code[c] for c in codes if c in self._vital_by_code), None)
            name = None if spec is None else spec.field
        if name is None:
            shown = ", ".join(sorted(f"{c}" for _, c in codes)) or "no code"
            self.skipped.append(f"{where} (time series of {shown})")
            return
        start = minutes_after_start(obs, self.started_at)
        for t, value in sampled_points(obs, name, start):
            self.points.setdefault(round(t, 9), {})[name] = value
        self.sources.setdefault(name, source_of(obs))

    def _point(self, obs: dict[str, Any], name: str, value: float) -> None:
        t = round(minutes_after_start(obs, self.started_at), 9)
        self.points.setdefault(t, {})[name] = value
        self.sources.setdefault(name, source_of(obs))

    def _read_vitals(self, obs: dict[str, Any], codes: set[tuple[str, str]], where: str) -> None:
        parts: list[tuple[dict[str, Any], set[tuple[str, str]], str]] = [(obs, codes, where)]
        for k, comp in enumerate(obs.get("component") or []):
            parts.append((comp, codes_of(comp.get("code")), f"{where}.component[{k}]"))
        for holder, holder_codes, loc in parts:
            spec = next((self._vital_by_code[c] for c in holder_codes if c in self._vital_by_code), None)
            if spec is not None and (holder is not obs or not obs.get("component")):
                self._point(
                    obs, spec.field, read_quantity(holder.get("valueQuantity"), spec, f"{loc}.valueQuantity")
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
            severity = read_quantity(obs["valueQuantity"], spec, f"{where}.valueQuantity")
        t_min = minutes_after_start(obs, self.started_at)
        if not 0 <= t_min <= MAX_T_MIN:
            raise InputError(
                f"{where}.effectiveDateTime: {t_min:g} min after the start (allowed 0–{MAX_T_MIN:g})", T_MIN
            )
        note = " ".join(n.get("text", "") for n in obs.get("note") or [])
        self.events.append({T_MIN: t_min, "kind": kind, "severity": severity, "note": note})

    def trace(self, session_id: str, events: pd.DataFrame) -> Trace | None:
        """The trace points read so far as a Trace (None when there are none)."""
        if not self.points:
            return None
        data = pd.DataFrame.from_dict(self.points, orient="index").sort_index()
        data.index.name = T_MIN
        data = data.reset_index()
        ordered = [T_MIN, *[s for s in SIGNALS if s in data.columns]]
        return Trace(data[ordered], events, dict(self.sources), session_id)
