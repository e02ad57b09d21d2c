"""Event files (docs/formats.md): ``t_min, kind, severity, note`` as CSV or a JSON list of objects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.model import EVENT_KINDS
from crampwatch.signals import MAX_T_MIN, T_MIN
from crampwatch.trace import empty_events


def read_events(path: str | Path) -> pd.DataFrame:
    """Events from a CSV (``t_min, kind, severity, note``) or a JSON list of objects (docs/formats.md)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    if p.stat().st_size == 0:
        raise InputError(f"events file {p.name}: the file is empty", "events")
    if p.suffix.lower() == ".json":
        try:
            items = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"events file {p.name}: not valid JSON ({exc.msg})", "events") from None
        if isinstance(items, dict) and "events" in items:
            items = items["events"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InputError(f"events file {p.name}: expected a JSON list of objects", "events")
        df = pd.DataFrame(items)
    else:
        try:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(
                f"events file {p.name}: not valid CSV ({str(exc).splitlines()[0]})", "events"
            ) from None
    return validate_events(df, name=f"events file {p.name}")


def validate_events(df: pd.DataFrame, *, name: str = "events") -> pd.DataFrame:
    """Check and normalise an events table (columns ``t_min, kind, severity, note``)."""
    if df.empty:
        return empty_events()
    df = df.rename(columns=lambda c: str(c).strip())
    for col in (T_MIN, "kind"):
        if col not in df.columns:
            raise InputError(f"{name}: missing required column {col!r}", f"events.{col}")
    t = pd.to_numeric(df[T_MIN].astype(str).str.strip(), errors="coerce")
    bad = t.isna() | (t < 0) | (t > MAX_T_MIN)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"events.t_min: {df[T_MIN].iloc[i]!r} at row {i + 1} is not a time (allowed 0–{MAX_T_MIN:g} min)",
            "events.t_min",
        )
    kind = df["kind"].astype(str).str.strip().str.lower()
    bad_k = ~kind.isin(EVENT_KINDS)
    if bad_k.any():
        i = int(np.flatnonzero(bad_k.to_numpy())[0])
        raise InputError(
            f"events.kind: {df['kind'].iloc[i]!r} at row {i + 1} is not one of {', '.join(EVENT_KINDS)}",
            "events.kind",
        )
    sev = (
        pd.to_numeric(df["severity"].astype(str).str.strip().replace({"": None}), errors="coerce")
        if "severity" in df.columns
        else pd.Series(np.nan, index=df.index)
    )
    bad_sev = (sev < 0) | (sev > 10)
    if bad_sev.any():
        i = int(np.flatnonzero(bad_sev.to_numpy())[0])
        raise InputError(
            f"events.severity: {sev.iloc[i]:g} at row {i + 1} is out of range (allowed 0–10)",
            "events.severity",
        )
    note = df["note"].astype(str) if "note" in df.columns else pd.Series("", index=df.index)
    out = pd.DataFrame({T_MIN: t.astype(float), "kind": kind, "severity": sev.astype(float), "note": note})
    return out.sort_values(T_MIN, kind="stable").reset_index(drop=True)
