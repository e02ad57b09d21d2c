"""Trace files (docs/formats.md): CSV / Parquet readers and writers with per-signal sources.

Validation against the signal registry is in :mod:`crampwatch.io.tables`; events are read by
:mod:`crampwatch.io.events` and HEMOBP exports by :mod:`crampwatch.io.hemobp` (both re-exported here).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from crampwatch.errors import InputError
from crampwatch.io.events import read_events, validate_events
from crampwatch.io.hemobp import HEMOBP_COLUMNS, hemobp_to_frame, looks_like_hemobp, read_hemobp
from crampwatch.io.quality import DataIssue, DataQualityReport
from crampwatch.io.tables import MAX_ROWS, UNIT_ALIASES, UNIT_FIXES, clean_frame, read_table
from crampwatch.signals import T_MIN
from crampwatch.trace import SIGNALS, Trace


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sources.json")


def read_trace(
    path: str | Path, *, source: str | None = None, strict: bool = True
) -> tuple[Trace, DataQualityReport]:
    """Read a CSV or Parquet trace (docs/formats.md). ``source`` overrides the per-row ``source`` column and
    the ``<file>.sources.json`` sidecar; ``strict=False`` drops bad rows instead of raising."""
    p = Path(path)
    raw = read_table(p)
    sidecar = None
    sp = _sidecar_path(p)
    if sp.exists():
        try:
            loaded = json.loads(sp.read_text(encoding="utf-8"))
            sidecar = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            sidecar = None
    trace, report = clean_frame(
        raw, source=source, strict=strict, name=f"trace file {p.name}", sidecar=sidecar
    )
    return replace(trace, session_id=p.stem), report


def write_trace(trace: Trace, path: str | Path) -> Path:
    """Write ``trace`` as CSV or Parquet (by extension) with a per-row ``source`` column; when signals have
    different sources a ``<file>.sources.json`` sidecar records each signal's source."""
    p = Path(path)
    df = trace.data.copy()
    cols = [T_MIN, *[c for c in df.columns if c in SIGNALS]]
    df = df[cols]
    srcs = {c: trace.sources.get(c, "measured") for c in cols[1:] if df[c].notna().any()}
    uniform = set(srcs.values())
    if len(uniform) <= 1:
        df["source"] = uniform.pop() if uniform else "measured"
    else:
        rank = {"measured": 0, "simulated": 1, "estimated": 2}
        per_row = np.zeros(len(df), dtype=int)
        for c, s in srcs.items():
            per_row = np.where(df[c].notna().to_numpy(), np.maximum(per_row, rank.get(s, 0)), per_row)
        names = np.array(["measured", "simulated", "estimated"])
        df["source"] = names[per_row]
        _sidecar_path(p).write_text(json.dumps(srcs, indent=1), encoding="utf-8")
    suffix = p.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        df.to_parquet(p, index=False)
    elif suffix == ".csv":
        df.to_csv(p, index=False)
    else:
        raise InputError(f"trace file {p.name}: unknown extension {suffix!r} (allowed .csv, .parquet)", "out")
    return p


__all__ = [
    "HEMOBP_COLUMNS",
    "MAX_ROWS",
    "UNIT_ALIASES",
    "UNIT_FIXES",
    "DataIssue",
    "DataQualityReport",
    "clean_frame",
    "hemobp_to_frame",
    "looks_like_hemobp",
    "read_events",
    "read_hemobp",
    "read_trace",
    "validate_events",
    "write_trace",
]
