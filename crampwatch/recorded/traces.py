"""A recorded history as a partitioned Parquet dataset of traces (docs/formats.md "Recorded history"):

* ``traces/`` — Parquet files in any number and partitioning: ``patient_id``, ``session_id``, ``t_min`` and
  any trace signals (contract names and units), one row per time point;
* ``sessions.parquet`` — one row per session: ``patient_id``, ``session_id``, ``session_date`` and the
  session's scenario, one column per scenario field named by its path in the scenario file
  (``patient.sex``, ``patient.pre_weight_kg``, ``prescription.duration_min``, ...; absent = the model's
  default);
* ``events.parquet`` (optional) — ``session_id``, ``t_min``, ``kind``: counted per session (cramps);
* ``sources.json`` (optional) — signal -> ``measured`` | ``estimated`` (default ``measured``).

Staging streams both tables in record batches into partitions by patient, as for the HEMOBP tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from crampwatch.errors import InputError
from crampwatch.recorded.hemobp_tables import PartitionWriters, partition_of
from crampwatch.recorded.prepare import PreparedPartition, clean_records, staged_part
from crampwatch.scenario_table import FIELDS, complete_columns, invalid_rows
from crampwatch.signals import T_MIN
from crampwatch.trace import SIGNALS

SESSIONS_TABLE = "sessions.parquet"
TRACES_FOLDER = "traces"
EVENTS_TABLE = "events.parquet"
SOURCES_FILE = "sources.json"
#: Rows per record batch when streaming.
BATCH_ROWS = 200_000


def is_trace_dataset(folder: str | Path) -> bool:
    base = Path(folder)
    return (base / SESSIONS_TABLE).is_file() and (base / TRACES_FOLDER).is_dir()


def dataset_files(folder: Path) -> list[Path]:
    files = [folder / SESSIONS_TABLE, *sorted((folder / TRACES_FOLDER).rglob("*.parquet"))]
    files += [folder / n for n in (EVENTS_TABLE, SOURCES_FILE) if (folder / n).is_file()]
    return files


def _signal_columns(schema: pa.Schema) -> list[str]:
    return [n for n in schema.names if n in SIGNALS]


def stage_traces(folder: str | Path, staged: Path, partitions: int) -> dict[str, int]:
    """Stage a trace dataset into ``staged`` (``sessions/``, ``records/``; ``partitions`` files each)."""
    base = Path(folder)
    if not is_trace_dataset(base):
        raise InputError(f"recorded: {base} has no {SESSIONS_TABLE} and {TRACES_FOLDER}/ folder", "recorded")
    traces = ds.dataset(base / TRACES_FOLDER, format="parquet")
    missing = [c for c in ("patient_id", "session_id", T_MIN) if c not in traces.schema.names]
    if missing:
        raise InputError(f"traces: missing column(s) {', '.join(missing)}", missing[0])
    signals = _signal_columns(traces.schema)
    record_schema = pa.schema(
        [("session", pa.string()), ("pid", pa.string()), ("row", pa.int64()), (T_MIN, pa.float64())]
        + [(s, pa.float64()) for s in signals]
    )
    quality: dict[str, int] = {}
    writers = PartitionWriters(staged / "records", record_schema, partitions)
    row = 0
    try:
        for batch in traces.to_batches(
            columns=["patient_id", "session_id", T_MIN, *signals], batch_size=BATCH_ROWS
        ):
            frame = batch.to_pandas()
            out = pd.DataFrame(
                {
                    "session": frame["session_id"].astype(str),
                    "pid": frame["patient_id"].astype(str),
                    "row": np.arange(row, row + len(frame)),
                    T_MIN: pd.to_numeric(frame[T_MIN], errors="coerce").astype(float),
                }
            )
            for s in signals:
                out[s] = pd.to_numeric(frame[s], errors="coerce").astype(float)
            row += len(frame)
            writers.write(out, partition_of(out["pid"], partitions))
    finally:
        writers.close()
    quality["records_rows_read"] = row
    _stage_sessions(base / SESSIONS_TABLE, staged, partitions, quality)
    return quality


def _stage_sessions(path: Path, staged: Path, partitions: int, quality: dict[str, int]) -> None:
    source = pq.ParquetFile(path)
    names = source.schema_arrow.names
    missing = [c for c in ("patient_id", "session_id") if c not in names]
    if missing:
        raise InputError(f"{SESSIONS_TABLE}: missing column(s) {', '.join(missing)}", missing[0])
    keep = ["patient_id", "session_id", *(["session_date"] if "session_date" in names else [])]
    keep += [c for c in names if c in FIELDS]
    writers = None
    rows = 0
    try:
        for batch in source.iter_batches(batch_size=BATCH_ROWS, columns=keep):
            frame = batch.to_pandas()
            frame["patient_id"] = frame["patient_id"].astype(str)
            frame["session_id"] = frame["session_id"].astype(str)
            frame.insert(0, "row", np.arange(rows, rows + len(frame)))
            rows += len(frame)
            if writers is None:
                schema = pa.Schema.from_pandas(frame, preserve_index=False)
                writers = PartitionWriters(staged / "sessions", schema, partitions)
            writers.write(frame, partition_of(frame["patient_id"], partitions))
    finally:
        if writers is not None:
            writers.close()
    quality["sessions_rows_read"] = rows


def _sources(staged_from: Path) -> dict[str, str]:
    path = staged_from / SOURCES_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def prepare_traces_partition(staged: Path, k: int, source: Path) -> PreparedPartition:
    """Partition ``k`` of a staged trace dataset."""
    quality: dict[str, int] = {}
    records = clean_records(pd.read_parquet(staged_part(staged, "records", k)), quality)
    s = pd.read_parquet(staged_part(staged, "sessions", k))
    dup = s.duplicated("session_id", keep="first")
    quality["session_rows_repeated"] = int(dup.sum())
    s = s.loc[~dup.to_numpy()].reset_index(drop=True)
    date = pd.to_datetime(s["session_date"], errors="coerce") if "session_date" in s else pd.NaT
    n_records = records.groupby("session").size()
    has = s["session_id"].map(n_records).notna().to_numpy()
    quality["sessions_without_monitor_records"] = int((~has).sum())
    quality["monitor_days_without_session_row"] = int((~n_records.index.isin(s["session_id"])).sum())
    given = {c: s[c].to_numpy() for c in s.columns if c in FIELDS}
    given["patient.id"] = s["patient_id"].to_numpy(dtype=object)
    cols = complete_columns(given, len(s))
    bad, why = invalid_rows(cols)
    status = np.where(~has, "no monitor records", np.where(bad, why, "analysed"))
    ids = pd.DataFrame(
        {
            "session_id": s["session_id"].to_numpy(dtype=object),
            "patient_id": s["patient_id"].to_numpy(dtype=object),
            "session_date": date,
            "status": status.astype(object),
            "n_records": s["session_id"].map(n_records).fillna(0).to_numpy(dtype=np.int64),
        }
    )
    events = source / EVENTS_TABLE
    if events.is_file():
        ev = pd.read_parquet(events, columns=["session_id", "kind"])
        cramps = ev.loc[ev["kind"] == "cramp"].groupby("session_id").size()
        ids["n_cramps"] = s["session_id"].map(cramps).fillna(0).to_numpy(dtype=np.int64)
    ok = status == "analysed"
    keep = s["session_id"].to_numpy(dtype=object)[ok]
    code = pd.Series(np.arange(len(keep)), index=keep)
    records = records.loc[records["session"].isin(keep).to_numpy()].copy()
    records["code"] = code.loc[records["session"].to_numpy()].to_numpy()
    sources = _sources(source)
    estimated = {n: np.ones(len(keep), dtype=bool) for n, v in sources.items() if v == "estimated"}
    cols = {name: np.asarray(v)[ok] for name, v in cols.items()}
    return PreparedPartition(ids, cols, records.reset_index(drop=True), estimated, quality)


class TraceDatasetWriter:
    """Writes a trace dataset (see the module docstring) part by part: :meth:`add` a block of sessions
    (their scenario-table rows and their long trace rows) at a time."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        (self.folder / TRACES_FOLDER).mkdir(parents=True, exist_ok=True)
        self.parts = 0
        self.sessions: list[pd.DataFrame] = []

    def sources(self, sources: dict[str, str]) -> None:
        """Record how each signal was obtained (``measured``, ``simulated`` or ``estimated``)."""
        (self.folder / SOURCES_FILE).write_text(json.dumps(sources, indent=1))

    def add(self, sessions: pd.DataFrame, traces: pd.DataFrame) -> None:
        traces.to_parquet(self.folder / TRACES_FOLDER / f"part-{self.parts:05d}.parquet", index=False)
        self.parts += 1
        self.sessions.append(sessions)

    def close(self) -> Path:
        table = pd.concat(self.sessions, ignore_index=True) if self.sessions else pd.DataFrame()
        table.to_parquet(self.folder / SESSIONS_TABLE, index=False)
        return self.folder
