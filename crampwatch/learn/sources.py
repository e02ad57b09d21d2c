"""Labelled sessions for training: from a session manifest (CSV) or from already loaded records.

A session is labelled "cramp" when its events include kind ``cramp`` (the events file of its manifest row;
a manifest for training needs the ``events`` column). Sessions are grouped by their scenario's ``patient.id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.io.manifest import EVENTS_COLUMN, parse_manifest, read_manifest_sessions
from crampwatch.learn.inputs import traces_table
from crampwatch.model import Scenario
from crampwatch.trace import Trace


@dataclass(frozen=True)
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
    """Sessions of many patients listed in a manifest CSV (:mod:`crampwatch.io.manifest`); the ``events``
    column is required, since it carries the labels."""
    manifest = parse_manifest(path)
    manifest.require_column(EVENTS_COLUMN, "a session's label comes from its events file")
    sessions = read_manifest_sessions(manifest)
    return labelled(
        [s.trace for s in sessions],
        [s.scenario for s in sessions],
        [has_cramp(s.events) for s in sessions],
        [s.session_id for s in sessions],
    )
