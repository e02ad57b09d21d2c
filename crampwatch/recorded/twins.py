"""Patient twins of a recorded history: each patient with at least :data:`TWIN_MIN_SESSIONS` analysed
sessions gets a twin (:func:`crampwatch.twin.fit_twin`) fitted to the measured signals of the latest
:data:`TWIN_SESSIONS` of them (modelling choice: four weeks of dialysis describe the patient as he is now,
and bound the cost of the fit). The partitions are fitted in parallel, one task each."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.recorded.prepare import PreparedPartition
from crampwatch.scenario_table import scenario_of_row
from crampwatch.signals import T_MIN
from crampwatch.trace import SIGNALS, Trace
from crampwatch.twin import fit_twin
from crampwatch.twin.sessions import SessionRecord

TWIN_MIN_SESSIONS = 6
TWIN_SESSIONS = 12
#: Twin parameters copied into the patient summary (name in the twin -> column).
TWIN_COLUMNS = {"refill_capacity": "twin_refill_capacity", "blood_volume_l": "twin_blood_volume_l"}


def _record(prep: PreparedPartition, i: int, rows: pd.DataFrame, session_id: str) -> SessionRecord:
    names = [c for c in rows.columns if c in SIGNALS and rows[c].notna().any()]
    data = rows[[T_MIN, *names]].reset_index(drop=True)
    sources = {n: ("estimated" if n in prep.estimated else "measured") for n in names}
    return SessionRecord(
        scenario=scenario_of_row(prep.cols, i), trace=Trace(data, sources=sources), session_id=session_id
    )


def fit_partition_twins(prep: PreparedPartition) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Twin columns per patient (``patient_id``, :data:`TWIN_COLUMNS` with interval bounds, sessions used)
    and the twins as dicts by patient."""
    ids = prep.ids.loc[prep.ids["status"] == "analysed"].reset_index(drop=True)
    by_code = prep.records.groupby("code", sort=False)
    rows, twins = [], {}
    for pid, g in ids.groupby("patient_id", sort=True):
        if len(g) < TWIN_MIN_SESSIONS:
            continue
        latest = g.sort_values("session_date").index[-TWIN_SESSIONS:]
        records = [
            _record(prep, int(i), by_code.get_group(int(i)), str(ids.at[i, "session_id"]))
            for i in latest
            if int(i) in by_code.groups
        ]
        try:
            twin = fit_twin(records)
        except (InputError, ValueError, np.linalg.LinAlgError) as exc:
            rows.append({"patient_id": pid, "twin_note": f"not fitted ({type(exc).__name__}: {exc})"})
            continue
        row: dict[str, Any] = {"patient_id": pid, "twin_sessions": twin.n_sessions, "twin_note": ""}
        for name, column in TWIN_COLUMNS.items():
            p = twin.parameters.get(name, {})
            row[column] = p.get("value", np.nan)
            row[f"{column}_ci_low"], row[f"{column}_ci_high"] = p.get("ci", [np.nan, np.nan])
        rows.append(row)
        twins[str(pid)] = twin.to_dict()
    return pd.DataFrame(rows), twins
