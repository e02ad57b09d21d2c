"""A patient's recorded sessions as the twin fit sees them, and the session manifest (docs/formats.md).

A :class:`SessionRecord` is one session: its scenario (patient + that session's prescription and labs), its
trace and its events. :func:`observations` extracts the samples the fit compares with the simulator
(whatever a session has: RBV every few minutes, BP every 30 min, missing values allowed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from crampwatch.errors import InputError
from crampwatch.io.traces import looks_like_hemobp, read_events, read_hemobp, read_trace, write_trace
from crampwatch.model import Scenario, dump_scenario, load_scenario
from crampwatch.trace import Trace, empty_events
from crampwatch.twin.priors import OBSERVED

#: Fewest samples of a signal that make it usable in one session (a course needs two points).
MIN_SAMPLES = 2
#: Samples within this many minutes of the start give the session's pre-dialysis value.
PRE_WINDOW_MIN = 15.0


@dataclass
class SessionRecord:
    """One recorded session of the patient: scenario, trace, events (``t_min, kind, ...``), identifier."""

    scenario: Scenario
    trace: Trace
    events: pd.DataFrame = field(default_factory=empty_events)
    session_id: str = ""

    @property
    def cramp_times_min(self) -> np.ndarray:
        ev = self.events if self.events is not None and not self.events.empty else self.trace.events
        if ev is None or ev.empty:
            return np.empty(0)
        return np.sort(
            pd.to_numeric(ev.loc[ev["kind"] == "cramp", "t_min"], errors="coerce").dropna().to_numpy()
        )


@dataclass
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
    t = pd.to_numeric(trace.data["t_min"], errors="coerce").to_numpy(dtype=float)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for sig in OBSERVED:
        if not trace.has(sig.name) or trace.sources.get(sig.name, "measured") not in FIT_SOURCES:
            continue
        v = pd.to_numeric(trace.data[sig.name], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(t) & np.isfinite(v) & (t >= 0.0) & (t <= duration + 1e-9)
        if ok.sum() >= MIN_SAMPLES:
            order = np.argsort(t[ok], kind="stable")
            out[sig.name] = (t[ok][order], v[ok][order])
    return Observations(out)


def pre_dialysis_value(record: SessionRecord, signal: str) -> float | None:
    """The first measured value of ``signal`` within :data:`PRE_WINDOW_MIN` of the start, if any."""
    trace = record.trace
    if not trace.has(signal) or trace.sources.get(signal, "measured") != "measured":
        return None
    t = pd.to_numeric(trace.data["t_min"], errors="coerce").to_numpy(dtype=float)
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
    """Sessions listed in a manifest CSV (columns ``trace,scenario[,events]``, paths relative to it)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"manifest: {p} does not exist", "manifest")
    if p.is_dir():
        raise InputError(f"manifest: {p} is a directory (expected a CSV file)", "manifest")
    try:
        table = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"manifest {p.name}: not valid CSV ({str(exc).splitlines()[0]})", "manifest"
        ) from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("trace", "scenario") if c not in table.columns]
    if missing:
        raise InputError(
            f"manifest {p.name}: missing column {missing[0]} (columns: trace,scenario[,events])", "manifest"
        )
    if table.empty:
        raise InputError(f"manifest {p.name}: no sessions listed (one row per session)", "manifest")
    base = p.parent
    records = []
    for i, row in enumerate(table.itertuples(index=False), start=2):
        records.append(_read_row(base, row._asdict(), f"manifest {p.name} line {i}"))
    check_one_patient(records)
    return records


def _resolve(base: Path, value: str, where: str, column: str) -> Path:
    if not value.strip():
        raise InputError(f"{where}: {column} is empty (a path relative to the manifest)", column)
    path = base / value.strip()
    if not path.is_file():
        raise InputError(f"{where}: {column} file {value.strip()} does not exist", column)
    return path


def _read_row(base: Path, row: dict[str, str], where: str) -> SessionRecord:
    trace_path = _resolve(base, row["trace"], where, "trace")
    scenario = load_scenario(_resolve(base, row["scenario"], where, "scenario"))
    trace, _ = read_hemobp(trace_path) if looks_like_hemobp(trace_path) else read_trace(trace_path)
    events_value = str(row.get("events") or "").strip()
    events = read_events(_resolve(base, events_value, where, "events")) if events_value else trace.events
    sid = trace.session_id or trace_path.stem
    return SessionRecord(scenario=scenario, trace=trace, events=events, session_id=str(sid))


def write_manifest(records: Sequence[SessionRecord], folder: str | Path) -> Path:
    """Write ``records`` as trace CSVs, scenario YAMLs and events CSVs plus ``manifest.csv`` in ``folder``."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, rec in enumerate(records, start=1):
        stem = rec.session_id or f"session{k:02d}"
        write_trace(rec.trace, root / f"{stem}.csv")
        (root / f"{stem}.yaml").write_text(
            yaml.safe_dump(dump_scenario(rec.scenario), sort_keys=False), encoding="utf-8"
        )
        row = {"trace": f"{stem}.csv", "scenario": f"{stem}.yaml", "events": ""}
        if rec.events is not None and not rec.events.empty:
            rec.events.to_csv(root / f"{stem}_events.csv", index=False)
            row["events"] = f"{stem}_events.csv"
        rows.append(row)
    path = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
