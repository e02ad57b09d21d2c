"""Reading the HEMOBP tables (:mod:`crampwatch.recorded.layout`) into staged partitions, and one staged
partition into sessions to analyse.

Staging streams ``d1.csv`` and ``vip.csv`` in blocks and writes each row to the Parquet partition of its
patient (a stable hash of ``pid``), so every patient's sessions and monitor records end up in one partition
and no more than a block of the history is in memory. ``idp.csv`` (one row per patient) is read whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from crampwatch.errors import InputError
from crampwatch.io.hemobp import HEMOBP_COLUMNS
from crampwatch.recorded.layout import (
    MONITOR_COLUMNS,
    MONITOR_FILE,
    NA_VALUES,
    PATIENT_COLUMNS,
    PATIENTS_FILE,
    SESSION_COLUMNS,
    SESSIONS_FILE,
)
from crampwatch.signals import T_MIN

#: Rows read per block when streaming a CSV (bounds the memory of staging).
BLOCK_ROWS = 250_000

_DAY = re.compile(r"^\s*\"?(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\"?\s*$")

RECORD_SCHEMA = pa.schema(
    [("session", pa.string()), ("pid", pa.string()), ("row", pa.int64()), (T_MIN, pa.float64())]
    + [(dst, pa.float64()) for src, (dst, _) in HEMOBP_COLUMNS.items() if src != "time"]
)
SESSION_SCHEMA = pa.schema(
    [
        ("session", pa.string()),
        ("pid", pa.string()),
        ("row", pa.int64()),
        ("day", pa.string()),
        ("start_min", pa.float64()),
        ("end_min", pa.float64()),
        ("weightstart", pa.float64()),
        ("weightend", pa.float64()),
        ("dryweight", pa.float64()),
        ("temperature", pa.float64()),
    ]
)


def hemobp_files(folder: str | Path) -> dict[str, Path]:
    """The three HEMOBP files in ``folder`` (names matched without regard to case);
    :class:`InputError` naming any that is missing."""
    base = Path(folder)
    if not base.is_dir():
        raise InputError(
            f"recorded: {base} is not a folder with {PATIENTS_FILE}, {SESSIONS_FILE}, {MONITOR_FILE}",
            "recorded",
        )
    by_lower = {p.name.lower(): p for p in base.iterdir() if p.is_file()}
    out = {}
    for name in (PATIENTS_FILE, SESSIONS_FILE, MONITOR_FILE):
        if name not in by_lower:
            raise InputError(
                f"recorded: {base} has no {name} (a HEMOBP folder holds "
                f"{PATIENTS_FILE}, {SESSIONS_FILE}, {MONITOR_FILE})",
                name,
            )
        out[name] = by_lower[name]
    return out


def is_hemobp_folder(folder: str | Path) -> bool:
    base = Path(folder)
    return base.is_dir() and {n.lower() for n in (PATIENTS_FILE, SESSIONS_FILE, MONITOR_FILE)} <= {
        p.name.lower() for p in base.iterdir()
    }


def _blocks(path: Path, columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
    """Text blocks of a CSV with the expected ``columns`` (extra columns ignored)."""
    header = pd.read_csv(path, nrows=0, dtype=str).columns
    names = {str(c).strip().strip('"').lower(): c for c in header}
    missing = [c for c in columns if c.lower() not in names]
    if missing:
        raise InputError(
            f"{path.name}: missing column(s) {', '.join(missing)} (expected {', '.join(columns)})", missing[0]
        )
    usecols = [names[c.lower()] for c in columns]
    reader = pd.read_csv(path, dtype=str, usecols=usecols, keep_default_na=False, chunksize=BLOCK_ROWS)
    for block in reader:
        yield block.rename(columns={names[c.lower()]: c for c in columns})[list(columns)]


def _na(text: pd.Series) -> pd.Series:
    s = text.str.strip().str.strip('"')
    return s.where(~s.isin(NA_VALUES))


def patient_ids(text: pd.Series) -> pd.Series:
    """Patient identifiers as text, the same in every table (``417``, ``"417"`` and ``417.0`` agree)."""
    s = _na(text)
    num = pd.to_numeric(s, errors="coerce")
    whole = num.notna() & (num == np.floor(num))
    return s.where(~whole, num.where(whole).astype("Int64").astype(str))


def numbers(text: pd.Series) -> tuple[np.ndarray, int]:
    """Numbers of a text column (NaN for missing) and how many cells held text that is not a number."""
    s = _na(text)
    num = pd.to_numeric(s, errors="coerce")
    return num.to_numpy(dtype=float), int((num.isna() & s.notna()).sum())


def days(text: pd.Series) -> pd.Series:
    """The calendar day (``YYYY-MM-DD``) of date or date-time text; missing when unreadable."""
    parts = text.str.extract(_DAY)
    ok = parts.notna().all(axis=1)
    y, m, d = (pd.to_numeric(parts[i], errors="coerce") for i in range(3))
    out = y.astype("Int64").astype(str) + "-" + m.astype("Int64").astype(str).str.zfill(2) + "-"
    out = out + d.astype("Int64").astype(str).str.zfill(2)
    valid = ok & m.between(1, 12) & d.between(1, 31)
    return out.where(valid)


def clock_minutes(text: pd.Series) -> np.ndarray:
    """Minutes after midnight of a clock time (``07:40``, ``07:40:00`` or a date-time ending in one)."""
    parts = text.str.extract(_CLOCK)
    h, m = (pd.to_numeric(parts[i], errors="coerce") for i in range(2))
    sec = pd.to_numeric(parts[2], errors="coerce").fillna(0.0)
    ok = h.between(0, 23) & m.between(0, 59)
    return np.where(ok, h * 60.0 + m + sec / 60.0, np.nan)


def partition_of(pids: pd.Series, partitions: int) -> np.ndarray:
    """The staged partition of each patient identifier (a stable hash)."""
    keys = pids.fillna("").astype(str).to_numpy(dtype=object)
    return (pd.util.hash_array(keys) % np.uint64(partitions)).astype(np.int64)


class PartitionWriters:
    """One Parquet writer per staged partition, opened on first use; every partition file exists after
    :meth:`close` (empty when no row went there)."""

    def __init__(self, folder: Path, schema: pa.Schema, partitions: int) -> None:
        self.folder, self.schema, self.partitions = folder, schema, partitions
        folder.mkdir(parents=True, exist_ok=True)
        self.writers: dict[int, pq.ParquetWriter] = {}

    def path(self, k: int) -> Path:
        return self.folder / f"part-{k:05d}.parquet"

    def write(self, frame: pd.DataFrame, part: np.ndarray) -> None:
        order = np.argsort(part, kind="stable")
        part_sorted = part[order]
        bounds = np.flatnonzero(np.diff(part_sorted)) + 1
        for idx in np.split(order, bounds):
            if len(idx) == 0:
                continue
            k = int(part[idx[0]])
            if k not in self.writers:
                self.writers[k] = pq.ParquetWriter(self.path(k), self.schema)
            table = pa.Table.from_pandas(frame.iloc[idx], schema=self.schema, preserve_index=False)
            self.writers[k].write_table(table)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        for k in range(self.partitions):
            if k not in self.writers:
                pq.write_table(self.schema.empty_table(), self.path(k))


def _count(quality: dict[str, int], name: str, value: int) -> None:
    quality[name] = quality.get(name, 0) + int(value)


def _record_block(block: pd.DataFrame, first_row: int, quality: dict[str, int]) -> pd.DataFrame:
    pid = patient_ids(block["pid"])
    day = days(block["datatime"])
    out = pd.DataFrame(
        {"session": pid + "|" + day, "pid": pid, "row": np.arange(first_row, first_row + len(block))}
    )
    bad_text = 0
    t, n_bad = numbers(block["time"])
    out[T_MIN] = t
    bad_text += n_bad
    for src, (dst, factor) in HEMOBP_COLUMNS.items():
        if src == "time":
            continue
        values, n_bad = numbers(block[src])
        out[dst] = values * factor
        bad_text += n_bad
    _count(quality, "monitor_cells_with_text", bad_text)
    keep = out["session"].notna().to_numpy()
    _count(quality, "monitor_rows_without_patient_or_day", int((~keep).sum()))
    return out.loc[keep]


def _session_block(block: pd.DataFrame, first_row: int, quality: dict[str, int]) -> pd.DataFrame:
    pid = patient_ids(block["pid"])
    day = days(block["keyindate"])
    out = pd.DataFrame(
        {
            "session": pid + "|" + day,
            "pid": pid,
            "row": np.arange(first_row, first_row + len(block)),
            "day": day,
            "start_min": clock_minutes(block["dialysisstart"].astype(str)),
            "end_min": clock_minutes(block["dialysisend"].astype(str)),
        }
    )
    for name in ("weightstart", "weightend", "dryweight", "temperature"):
        out[name], n_bad = numbers(block[name])
        _count(quality, "session_cells_with_text", n_bad)
    keep = out["session"].notna().to_numpy()
    _count(quality, "session_rows_without_patient_or_day", int((~keep).sum()))
    return out.loc[keep]


def read_patients(path: Path) -> pd.DataFrame:
    """``idp.csv``: ``pid``, ``sex`` (male/female, missing when not F/M), ``birth_year``,
    ``first_dialysis_month`` (months since year 0), ``diabetes`` (1/0/NaN)."""
    raw = pd.concat(list(_blocks(path, PATIENT_COLUMNS)), ignore_index=True)
    gender = _na(raw["gender"]).str.upper().str[:1]
    birth = pd.to_numeric(_na(raw["birthday"]).str.extract(r"(\d{4})")[0], errors="coerce")
    first = _na(raw["first_dialysis"]).str.extract(r"(\d{4})[-/](\d{1,2})")
    month = pd.to_numeric(first[0], errors="coerce") * 12 + pd.to_numeric(first[1], errors="coerce") - 1
    dm, _ = numbers(raw["DM"])
    return pd.DataFrame(
        {
            "pid": patient_ids(raw["pid"]),
            "sex": gender.map({"M": "male", "F": "female"}),
            "birth_year": birth.to_numpy(dtype=float),
            "first_dialysis_month": month.to_numpy(dtype=float),
            "diabetes": np.where(np.isin(dm, [0.0, 1.0]), dm, np.nan),
        }
    ).drop_duplicates("pid", keep="first")


def stage_hemobp(folder: str | Path, staged: Path, partitions: int) -> dict[str, int]:
    """Stage the HEMOBP tables of ``folder`` into ``staged`` (``patients.parquet``, ``sessions/``,
    ``records/``, ``partitions`` files each); returns the data-quality counts of reading."""
    files = hemobp_files(folder)
    quality: dict[str, int] = {}
    patients = read_patients(files[PATIENTS_FILE])
    staged.mkdir(parents=True, exist_ok=True)
    patients.to_parquet(staged / "patients.parquet", index=False)
    _count(quality, "patients", len(patients))
    for name, columns, schema, build in (
        ("sessions", SESSION_COLUMNS, SESSION_SCHEMA, _session_block),
        ("records", MONITOR_COLUMNS, RECORD_SCHEMA, _record_block),
    ):
        writers = PartitionWriters(staged / name, schema, partitions)
        path = files[SESSIONS_FILE if name == "sessions" else MONITOR_FILE]
        first_row = 0
        try:
            for block in _blocks(path, columns):
                frame = build(block, first_row, quality)
                first_row += len(block)
                writers.write(frame, partition_of(frame["pid"], partitions))
        finally:
            writers.close()
        _count(quality, f"{name}_rows_read", first_row)
    return quality
