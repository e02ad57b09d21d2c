"""Conversions between crampwatch objects and what the database stores (Parquet bytes, JSON documents)."""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError

from crampwatch.errors import InputError
from crampwatch.model import Event, format_validation_error
from crampwatch.signals import T_MIN
from crampwatch.trace import EVENT_COLUMNS, SOURCES, Trace, empty_events

#: zstd keeps a 240-min, 1-min-step, 25-signal trace at a few tens of kB (modelling choice).
PARQUET_COMPRESSION = "zstd"
_EMPTY_EVENTS = empty_events()


def trace_to_parquet(trace: Trace) -> bytes:
    """``trace.data`` as the bytes of one Parquet file (column order and dtypes preserved)."""
    if not isinstance(trace, Trace):
        raise InputError(f"trace: expected a crampwatch.trace.Trace, got {type(trace).__name__}", "trace")
    data = trace.data
    t = pd.to_numeric(data[T_MIN], errors="coerce").to_numpy(dtype=float)
    if len(t) == 0:
        raise InputError("trace.t_min: the trace has no rows (allowed at least 1 time point)", "trace.t_min")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError(
            "trace.t_min: missing, negative or non-finite time (allowed t_min >= 0)", "trace.t_min"
        )
    for name, source in trace.sources.items():
        if source not in SOURCES:
            raise InputError(
                f"trace.sources.{name}: {source!r} is not a source (allowed {', '.join(SOURCES)})",
                f"trace.sources.{name}",
            )
    if data.columns.duplicated().any() or not all(isinstance(c, str) for c in data.columns):
        raise InputError("trace: column names must be unique text (t_min and signal names)", "trace")
    try:
        table = pa.Table.from_pandas(data.reset_index(drop=True), preserve_index=False)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression=PARQUET_COMPRESSION)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"trace: cannot be stored as Parquet ({first})", "trace") from None
    return sink.getvalue()


def parquet_to_frame(blob: bytes) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(blob)).to_pandas()


def validate_event(event: Any, field: str = "events") -> Event:
    """An :class:`Event` from an ``Event`` or a mapping; :class:`InputError` when invalid."""
    if isinstance(event, Event):
        return event
    if not isinstance(event, Mapping):
        raise InputError(f"{field}: expected an event mapping, got {type(event).__name__}", field)
    try:
        return Event.model_validate(dict(event))
    except ValidationError as exc:
        raise InputError(format_validation_error(exc, Event, field), field) from None


def events_from_frame(events: pd.DataFrame | None, field: str = "trace.events") -> list[Event]:
    """Validated events from a Trace's events table (NaN severity = none, NaN note = empty)."""
    if events is None or events.empty:
        return []
    out = []
    for i, row in enumerate(events.to_dict(orient="records")):
        clean = {k: row.get(k) for k in EVENT_COLUMNS if k in row}
        if _is_missing(clean.get("severity")):
            clean["severity"] = None
        if _is_missing(clean.get("note")):
            clean["note"] = ""
        out.append(validate_event(clean, f"{field}[{i}]"))
    return out


def events_to_frame(events: Iterable[Event]) -> pd.DataFrame:
    """A Trace events table (columns ``t_min, kind, severity, note``), sorted by time."""
    rows = [e.model_dump() for e in events]
    if not rows:
        return _EMPTY_EVENTS.copy()  # building the typed empty table costs ~1 ms, a copy ~0.05 ms
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame[T_MIN] = frame[T_MIN].astype(float)
    frame["severity"] = pd.to_numeric(frame["severity"], errors="coerce").astype(float)
    frame["kind"] = frame["kind"].astype(object)
    frame["note"] = frame["note"].astype(object)
    return frame.sort_values(T_MIN, kind="stable").reset_index(drop=True)


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON: numpy scalars unwrapped, NaN/inf -> ``None``, models and dataclasses dumped.

    PostgreSQL's ``json`` type rejects NaN, so it never reaches the database.
    """
    if isinstance(obj, BaseModel):
        return to_jsonable(obj.model_dump(mode="json"))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | np.ndarray):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    raise InputError(f"assessment: value of type {type(obj).__name__} cannot be stored as JSON", "assessment")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
