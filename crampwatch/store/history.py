"""The store's sessions as a recorded history (:mod:`crampwatch.recorded.traces`), read page by page, so
that ``crampwatch cohort --recorded DATABASE_URL`` analyses them like any other history.

Each session becomes its scenario (:func:`crampwatch.store.records.session_scenario`: the patient as on
that day plus its prescription) and its trace; a signal counts as ``estimated`` in the history when any
session stored it so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from crampwatch.errors import InputError
from crampwatch.recorded.traces import TraceDatasetWriter
from crampwatch.scenario_table import scenario_columns
from crampwatch.store import codec
from crampwatch.store.records import session_scenario
from crampwatch.store.repository import Store
from crampwatch.store.schema import SessionRow

#: Sessions read from the database at a time (bounds memory).
PAGE_SESSIONS = 200


def export_history(store: Store, folder: str | Path, page: int = PAGE_SESSIONS) -> Path:
    """Write every stored session into ``folder`` as a trace dataset; returns the folder."""
    patients = {p.id: store.get_patient(p.id) for p in store.list_patients()}
    with store._read() as s:
        ids = s.scalars(select(SessionRow.id).order_by(SessionRow.patient_id, SessionRow.started_at)).all()
    sources: dict[str, str] = {}
    writer = None
    for start in range(0, len(ids), page):
        with store._read() as s:
            rows = s.scalars(select(SessionRow).where(SessionRow.id.in_(ids[start : start + page]))).all()
            rows = sorted(rows, key=lambda r: (r.patient_id, r.started_at))
            scenarios = [session_scenario(patients[r.patient_id].patient, r) for r in rows]
            traces = []
            for r in rows:
                frame = codec.parquet_to_frame(r.trace_parquet)
                traces.append(frame.assign(patient_id=r.patient_id, session_id=r.id))
                for name, source in (r.trace_sources or {}).items():
                    if sources.get(name) != "estimated":
                        sources[name] = source
            sessions = pd.DataFrame(
                {
                    "patient_id": [r.patient_id for r in rows],
                    "session_id": [r.id for r in rows],
                    "session_date": [pd.Timestamp(r.started_at).tz_localize(None) for r in rows],
                }
            )
        cols = scenario_columns(scenarios)
        for name, values in cols.items():
            if name != "patient.id":
                sessions[name] = np.asarray(values)
        if writer is None:
            writer = TraceDatasetWriter(folder)
        writer.add(sessions, pd.concat(traces, ignore_index=True))
    if writer is None:
        raise InputError("recorded: the store holds no session", "recorded")
    writer.sources(sources)
    return writer.close()
