"""Labelled sessions for training: from a session manifest (CSV) or from already loaded records.

A session is labelled "cramp" when its events include kind ``cramp`` (events file of the manifest row, else
the trace's own events). Sessions are grouped by ``patient.id`` of their scenario.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.io.traces import looks_like_hemobp, read_events, read_hemobp, read_trace
from crampwatch.learn.inputs import traces_table
from crampwatch.model import Scenario, load_scenario
from crampwatch.trace import Trace

MANIFEST_COLUMNS = ("trace", "scenario")


@dataclass
class LabelledSessions:
    """Input table, cramp labels, patient and session identifiers of a training set."""

    table: pd.DataFrame
    cramp: np.ndarray
    patient_ids: np.ndarray
    session_ids: list[str]


def has_cramp(events: pd.DataFrame | None) -> bool:
    """True when the events include a cramp."""
    return events is not None and not events.empty and bool((events["kind"] == "cramp").any())


def labelled(
    traces: Sequence[Trace], scenarios: Sequence[Scenario], cramp: Sequence[bool], session_ids: Sequence[str]
) -> LabelledSessions:
    """Score the sessions with the analyzer's batch core and attach labels and patients."""
    return LabelledSessions(
        table=traces_table(traces, scenarios),
        cramp=np.asarray(cramp, dtype=int),
        patient_ids=np.array([s.patient.id for s in scenarios]),
        session_ids=list(session_ids),
    )


def read_manifest(path: str | Path) -> LabelledSessions:
    """Sessions of many patients listed in a manifest CSV (columns ``trace,scenario[,events]``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"manifest: {p} does not exist or is not a file", "manifest")
    try:
        rows = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"manifest {p.name}: not valid CSV ({str(exc).splitlines()[0]})", "manifest"
        ) from None
    rows.columns = [str(c).strip().lower() for c in rows.columns]
    missing = [c for c in MANIFEST_COLUMNS if c not in rows.columns]
    if missing:
        raise InputError(
            f"manifest {p.name}: missing column {missing[0]} (columns: trace,scenario[,events])", missing[0]
        )
    if rows.empty:
        raise InputError(f"manifest {p.name}: no sessions listed (one row per session)", "manifest")
    traces, scenarios, labels, ids = [], [], [], []
    for line, row in enumerate(rows.to_dict("records"), start=2):
        where = f"manifest {p.name} line {line}"
        trace_path = _path(p.parent, row["trace"], where, "trace")
        scenarios.append(load_scenario(_path(p.parent, row["scenario"], where, "scenario")))
        trace, _ = read_hemobp(trace_path) if looks_like_hemobp(trace_path) else read_trace(trace_path)
        events_cell = str(row.get("events") or "").strip()
        events = read_events(_path(p.parent, events_cell, where, "events")) if events_cell else trace.events
        traces.append(trace)
        labels.append(has_cramp(events))
        ids.append(str(trace.session_id or trace_path.stem))
    return labelled(traces, scenarios, labels, ids)


def _path(base: Path, cell: str, where: str, column: str) -> Path:
    value = str(cell).strip()
    if not value:
        raise InputError(f"{where}: {column} is empty (a path relative to the manifest)", column)
    path = base / value
    if not path.is_file():
        raise InputError(f"{where}: {column} file {value} does not exist", column)
    return path
