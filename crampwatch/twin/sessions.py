"""A patient's recorded sessions as the twin fit sees them, and the one-patient rule of the session manifest
(docs/formats.md).

A :class:`SessionRecord` is one session: its scenario (patient + that session's prescription and labs), its
trace and its events (from a session manifest: :mod:`crampwatch.io.manifest`). :func:`observations`
extracts the samples the fit compares with the simulator (whatever a session has: RBV every few minutes,
BP every 30 min, missing values allowed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.io.manifest import RecordedSession, read_session_manifest
from crampwatch.signals import RBV_PCT, T_MIN
from crampwatch.twin.priors import OBSERVED

#: Fewest samples of a signal that make it usable in one session (a course needs two points).
MIN_SAMPLES = 2
#: Samples within this many minutes of the start give the session's pre-dialysis value.
PRE_WINDOW_MIN = 15.0


@dataclass(frozen=True)
class SessionRecord(RecordedSession):
    """One recorded session of the patient: scenario, trace, events (``t_min, kind, ...``), identifier."""

    @property
    def cramp_times_min(self) -> np.ndarray:
        ev = self.events if self.events is not None and not self.events.empty else self.trace.events
        if ev is None or ev.empty:
            return np.empty(0)
        return np.sort(
            pd.to_numeric(ev.loc[ev["kind"] == "cramp", T_MIN], errors="coerce").dropna().to_numpy()
        )


@dataclass(frozen=True)
class Observations:
    """Samples of one session per fitted signal: ``t_min`` and ``value`` arrays (measured, finite, within
    the session)."""

    samples: dict[str, tuple[np.ndarray, np.ndarray]]

    @property
    def n(self) -> int:
        return sum(len(t) for t, _ in self.samples.values())


#: Trace sources a fit reads: measured signals, and whole simulated sessions (demonstration data, said in
#: the twin's warnings); signals estimated to fill a gap in a recording are never evidence.
FIT_SOURCES = ("measured", "simulated")


def simulated_signals(record: SessionRecord) -> list[str]:
    """Fitted signals of ``record`` that come from a simulation rather than a measurement."""
    return [
        s.name
        for s in OBSERVED
        if record.trace.has(s.name) and record.trace.sources.get(s.name) == "simulated"
    ]


def observations(record: SessionRecord) -> Observations:
    """The samples of each fitted signal (:data:`FIT_SOURCES`; estimated columns are not evidence)."""
    trace = record.trace
    duration = record.scenario.prescription.duration_min
    t = pd.to_numeric(trace.data[T_MIN], errors="coerce").to_numpy(dtype=float)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for sig in OBSERVED:
        if not trace.has(sig.name) or trace.sources.get(sig.name, "measured") not in FIT_SOURCES:
            continue
        v = pd.to_numeric(trace.data[sig.name], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(t) & np.isfinite(v) & (t >= 0.0) & (t <= duration + 1e-9)
        if sig.name == RBV_PCT:  # 100 % at the start by definition (the reference), not a measurement
            ok &= t > 0.0
        if ok.sum() >= MIN_SAMPLES:
            order = np.argsort(t[ok], kind="stable")
            out[sig.name] = (t[ok][order], v[ok][order])
    return Observations(out)


def pre_dialysis_value(record: SessionRecord, signal: str) -> float | None:
    """The first measured value of ``signal`` within :data:`PRE_WINDOW_MIN` of the start, if any."""
    trace = record.trace
    if not trace.has(signal) or trace.sources.get(signal, "measured") != "measured":
        return None
    t = pd.to_numeric(trace.data[T_MIN], errors="coerce").to_numpy(dtype=float)
    v = pd.to_numeric(trace.data[signal], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(t) & np.isfinite(v) & (t <= PRE_WINDOW_MIN)
    return float(v[ok][np.argmin(t[ok])]) if ok.any() else None


def check_one_patient(records: Sequence[SessionRecord]) -> str:
    """The patient id shared by every session; :class:`InputError` when sessions of several patients mix."""
    if not records:
        raise InputError("sessions: at least one session is required", "sessions")
    ids = list(dict.fromkeys(r.scenario.patient.id for r in records))
    if len(ids) > 1:
        raise InputError(
            f"patient.id: the sessions belong to {len(ids)} patients ({', '.join(ids[:3])}); "
            "a twin is fitted to the sessions of one patient",
            "patient.id",
        )
    return ids[0]


def read_manifest(path: str | Path) -> list[SessionRecord]:
    """Sessions of one patient listed in a manifest CSV (:mod:`crampwatch.io.manifest`)."""
    records = [
        SessionRecord(s.scenario, s.trace, s.events, s.session_id) for s in read_session_manifest(path)
    ]
    check_one_patient(records)
    return records
