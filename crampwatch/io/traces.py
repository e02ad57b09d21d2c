"""Trace and event files (contracts.md): CSV / Parquet readers and writers, the HEMOBP machine-export mapping,
and a data-quality report.

Reading never guesses silently: unsorted or duplicated times, impossible values and unit mix-ups are
listed with their row (1-based data row, the header excluded) and column, and the analysis runs on what is
valid. Input that cannot be analysed at all (empty file, no ``t_min``, text in a numeric column, negative
times, too many rows) raises :class:`~crampwatch.errors.InputError` with a one-line message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crampwatch.causes.features import conductivity_to_na_mmol_l
from crampwatch.errors import InputError
from crampwatch.model import EVENT_KINDS
from crampwatch.trace import SIGNALS, SOURCES, Trace, empty_events

#: Largest trace accepted: 12 h at one sample per second is 43 200 rows (modelling choice, with margin).
MAX_ROWS = 100_000
#: Longest session time accepted, minutes (matches ``Event.t_min``).
MAX_T_MIN = 720.0
#: Text read as "not measured".
NA_TOKENS = {"", "na", "n/a", "nan", "null", "none", "-", "--", "?"}

#: Plausible range of each signal (outside = impossible, set to missing). Wide limits of what a patient or
#: machine can show (modelling choices).
RANGES: dict[str, tuple[float, float]] = {
    "sbp_mmhg": (30, 300),
    "dbp_mmhg": (10, 200),
    "map_mmhg": (20, 250),
    "hr_bpm": (20, 250),
    "rbv_pct": (50, 130),
    "uf_cum_l": (-0.5, 12),
    "uf_rate_ml_h": (0, 5000),
    "plasma_na_mmol_l": (100, 180),
    "plasma_k_mmol_l": (1, 10),
    "osm_mosm_kg": (220, 420),
    "ica_mmol_l": (0.3, 2.5),
    "mg_mmol_l": (0.1, 3),
    "hco3_mmol_l": (5, 50),
    "urea_mmol_l": (0.3, 110),
    "brain_urea_mmol_l": (0.3, 110),
    "dialysate_na_mmol_l": (110, 170),
    "dialysate_temp_c": (30, 42),
    "qb_ml_min": (0, 700),
    "conductivity_ms_cm": (10, 18),
    "hct_pct": (10, 70),
    "plasma_volume_l": (0.5, 10),
    "interstitial_volume_l": (1, 40),
    "intracellular_volume_l": (5, 60),
    "refill_ml_min": (-100, 200),
    "brain_osm_gradient_mosm_kg": (-50, 80),
    "total_ca_mmol_l": (1, 4),
}

#: Per-value unit mix-ups: (test, factor, description). A value that is impossible in the contract unit but
#: plausible in a common other unit is converted and reported.
UNIT_FIXES: dict[str, tuple[tuple[float, float], float, str]] = {
    "uf_cum_l": ((20.0, 12000.0), 0.001, "looks like mL: divided by 1000"),
    "uf_rate_ml_h": ((0.01, 5.0), 1000.0, "looks like L/h: multiplied by 1000"),
    "rbv_pct": ((0.5, 1.3), 100.0, "looks like a fraction: multiplied by 100"),
    "urea_mmol_l": ((110.0, 310.0), 0.357, "looks like BUN in mg/dL: x 0.357 to urea mmol/L"),
    "ica_mmol_l": ((3.0, 10.0), 1 / 4.008, "looks like mg/dL: / 4.008 to mmol/L"),
    "mg_mmol_l": ((3.0, 7.5), 1 / 2.431, "looks like mg/dL: / 2.431 to mmol/L (Mg 24.31 g/mol)"),
    "dialysate_temp_c": ((86.0, 108.0), float("nan"), "looks like deg F: converted to deg C"),
    "hct_pct": ((0.1, 0.7), 100.0, "looks like a fraction: multiplied by 100"),
}


#: Columns named with another unit: alias -> (contract column, factor to the contract unit).
UNIT_ALIASES: dict[str, tuple[str, float]] = {
    "uf_cum_ml": ("uf_cum_l", 0.001),
    "uf_rate_l_h": ("uf_rate_ml_h", 1000.0),
    "uf_rate_ml_min": ("uf_rate_ml_h", 60.0),
    "bun_mg_dl": ("urea_mmol_l", 0.357),  # BUN mg/dL x 0.357 = urea mmol/L
    "ica_mg_dl": ("ica_mmol_l", 1 / 4.008),
    "mg_mg_dl": ("mg_mmol_l", 1 / 2.431),
    "t_h": ("t_min", 60.0),
    "t_s": ("t_min", 1 / 60.0),
}


@dataclass
class DataIssue:
    """One data-quality finding: the rows (1-based data rows) and column concerned, what and what was done."""

    column: str | None
    problem: str
    action: str
    rows: list[int] = field(default_factory=list)

    def message(self) -> str:
        where = f"column {self.column}" if self.column else "file"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (+{len(self.rows) - 5} more)" if len(self.rows) > 5 else ""
            where += f", row{'s' if len(self.rows) > 1 else ''} {shown}{more}"
        return f"{where}: {self.problem}; {self.action}"


@dataclass
class DataQualityReport:
    """What a reader found and did: rows read/used, dropped rows, and every issue."""

    n_rows_read: int = 0
    n_rows_used: int = 0
    dropped_rows: list[int] = field(default_factory=list)
    issues: list[DataIssue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def add(self, column: str | None, problem: str, action: str, rows: list[int] | None = None) -> None:
        self.issues.append(DataIssue(column, problem, action, list(rows or [])))

    def messages(self) -> list[str]:
        out = [i.message() for i in self.issues]
        if self.ignored_columns:
            out.append(f"ignored unknown columns: {', '.join(self.ignored_columns)}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows_read": self.n_rows_read,
            "n_rows_used": self.n_rows_used,
            "dropped_rows": self.dropped_rows,
            "issues": self.messages(),
        }


# ------------------------------------------------------------------------------------------------ reading


def _read_table(path: Path, *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    if path.stat().st_size == 0:
        raise InputError(
            f"trace file {path.name}: the file is empty (needs a header with t_min and rows)", "trace"
        )
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise InputError(
                f"trace file {path.name}: not a readable Parquet file ({type(exc).__name__})", "trace"
            ) from None
        if len(df) > max_rows:
            raise InputError(f"trace: {len(df)} rows is too many (allowed 1–{max_rows} rows)", "trace")
        return df
    if suffix not in {".csv", ".txt", ".tsv"}:
        raise InputError(
            f"trace file {path.name}: unknown extension {suffix!r} (allowed .csv, .parquet)", "trace"
        )
    try:
        df = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            nrows=max_rows + 1,
            sep="\t" if suffix == ".tsv" else ",",
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError:
        raise InputError(
            f"trace file {path.name}: the file is empty (needs a header with t_min and rows)", "trace"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"trace file {path.name}: not valid CSV ({first})", "trace") from None
    if len(df) > max_rows:
        raise InputError(f"trace: more than {max_rows} rows (allowed 1–{max_rows} rows)", "trace")
    return df


def _to_numeric(series: pd.Series, column: str, report: DataQualityReport, strict: bool) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    text = series.astype(str).str.strip()
    blank = text.str.lower().isin(NA_TOKENS) | series.isna()
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad.to_numpy())]
        example = text[bad].iloc[0]
        if strict:
            raise InputError(
                f"{column}: text {example!r} in a numeric column at row {rows[0]} (allowed numbers or empty)",
                column,
            )
        report.add(column, f"text in a numeric column (e.g. {example!r})", "set to missing", rows)
    return values.astype(float)


def clean_frame(
    raw: pd.DataFrame,
    *,
    source: str | None = None,
    strict: bool = True,
    name: str = "trace",
    sidecar: dict[str, str] | None = None,
) -> tuple[Trace, DataQualityReport]:
    """Validate a raw trace table and build a :class:`Trace` (see module docstring)."""
    report = DataQualityReport(n_rows_read=len(raw))
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    if raw.columns.duplicated().any():
        dup = raw.columns[raw.columns.duplicated()][0]
        raise InputError(f"{name}: column {dup!r} appears twice", dup)
    converted: dict[str, float] = {}
    for alias, (target, factor) in UNIT_ALIASES.items():
        if alias in raw.columns and target not in raw.columns:
            raw = raw.rename(columns={alias: target})
            converted[target] = factor
            report.add(
                target, f"column {alias!r} is in other units", f"converted to {target} (x {factor:.4g})"
            )
    if "t_min" not in raw.columns:
        raise InputError(f"{name}: missing required column 't_min' (minutes from session start)", "t_min")
    if len(raw) == 0:
        raise InputError(f"{name}: no data rows (needs at least one row with t_min)", "t_min")
    if source is not None and source not in SOURCES:
        raise InputError(f"source: {source!r} is not one of {', '.join(SOURCES)}", "source")
    known = [c for c in raw.columns if c in SIGNALS]
    report.ignored_columns = [c for c in raw.columns if c not in SIGNALS and c not in {"t_min", "source"}]
    df = pd.DataFrame(
        {"t_min": _to_numeric(raw["t_min"], "t_min", report, strict) * converted.get("t_min", 1.0)}
    )
    for c in known:
        df[c] = _to_numeric(raw[c], c, report, strict) * converted.get(c, 1.0)
    row_no = np.arange(1, len(df) + 1)
    t = df["t_min"].to_numpy()
    drop = np.zeros(len(df), dtype=bool)
    for bad_t, why, problem in (
        (t < 0, "is negative", "negative time"),
        (t > MAX_T_MIN, "is out of range", f"time beyond {MAX_T_MIN:g} min"),
    ):
        if not bad_t.any():
            continue
        if strict:
            r = int(row_no[bad_t][0])
            raise InputError(
                f"t_min: {t[bad_t][0]:g} at row {r} {why} (allowed 0–{MAX_T_MIN:g} min)", "t_min"
            )
        report.add("t_min", problem, "row dropped", row_no[bad_t].tolist())
        drop |= bad_t
    nan_t = np.isnan(t)
    if nan_t.any():
        report.add("t_min", "missing time", "row dropped", row_no[nan_t].tolist())
        drop |= nan_t
    # unit mix-ups, then impossible values
    for c in known:
        x = df[c].to_numpy(copy=True)
        fix = UNIT_FIXES.get(c)
        if fix is not None:
            (lo, hi), factor, what = fix
            hit = (x >= lo) & (x <= hi)
            if hit.any():
                x[hit] = (x[hit] - 32.0) * 5.0 / 9.0 if np.isnan(factor) else x[hit] * factor
                report.add(
                    c, "unit mix-up: " + what.split(":")[0], what.split(": ", 1)[-1], row_no[hit].tolist()
                )
        lo, hi = RANGES.get(c, (-np.inf, np.inf))
        bad = ~np.isnan(x) & ((x < lo) | (x > hi))
        if bad.any():
            report.add(
                c,
                f"impossible value (e.g. {x[bad][0]:g}; allowed {lo:g}–{hi:g})",
                "set to missing",
                row_no[bad].tolist(),
            )
            x[bad] = np.nan
        df[c] = x
    # row sources
    row_src = None
    if "source" in raw.columns and source is None:
        row_src = raw["source"].astype(str).str.strip().str.lower()
        bad_src = ~row_src.isin(SOURCES) & ~row_src.isin(NA_TOKENS)
        if bad_src.any():
            report.add(
                "source",
                f"unknown source (e.g. {row_src[bad_src].iloc[0]!r}; allowed {', '.join(SOURCES)})",
                "treated as measured",
                (row_no[bad_src.to_numpy()]).tolist(),
            )
            row_src = row_src.where(~bad_src, "measured")
        row_src = row_src.where(row_src.isin(SOURCES), "measured")
    if drop.any():
        report.dropped_rows = row_no[drop].tolist()
    keep = ~drop
    df = df.loc[keep].copy()
    kept_rows = row_no[keep]
    if row_src is not None:
        row_src = row_src.loc[keep]
    if len(df) == 0:
        raise InputError(f"{name}: no row has a valid t_min (allowed 0–{MAX_T_MIN:g} min)", "t_min")
    tk = df["t_min"].to_numpy()
    if np.any(np.diff(tk) < 0):
        order = np.argsort(tk, kind="stable")
        out_of_order = kept_rows[np.flatnonzero(np.diff(tk) < 0) + 1].tolist()
        report.add("t_min", "times not in increasing order", "rows sorted by t_min", out_of_order)
        df = df.iloc[order]
        kept_rows = kept_rows[order]
        if row_src is not None:
            row_src = row_src.iloc[order]
    dup = df["t_min"].duplicated(keep="first").to_numpy()
    if dup.any():
        report.add(
            "t_min", "duplicated time", "later duplicate dropped (first kept)", kept_rows[dup].tolist()
        )
        report.dropped_rows = sorted(set(report.dropped_rows) | set(kept_rows[dup].tolist()))
        df = df.loc[~dup]
        if row_src is not None:
            row_src = row_src.loc[~dup]
    df = df.reset_index(drop=True)
    report.n_rows_used = len(df)
    sources: dict[str, str] = {}
    for c in known:
        present = df[c].notna().to_numpy()
        if not present.any():
            continue
        if sidecar and c in sidecar and sidecar[c] in SOURCES:
            sources[c] = sidecar[c]
        elif source is not None:
            sources[c] = source
        elif row_src is not None:
            vals = row_src.to_numpy()[present]
            sources[c] = pd.Series(vals).mode().iloc[0] if len(vals) else "measured"
        else:
            sources[c] = "measured"
    return Trace(df, empty_events(), sources, session_id=None), report


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sources.json")


def read_trace(
    path: str | Path, *, source: str | None = None, strict: bool = True
) -> tuple[Trace, DataQualityReport]:
    """Read a CSV or Parquet trace (contracts.md). ``source`` overrides the per-row ``source`` column and
    the ``<file>.sources.json`` sidecar; ``strict=False`` drops bad rows instead of raising."""
    p = Path(path)
    raw = _read_table(p)
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
    trace.session_id = p.stem
    return trace, report


def write_trace(trace: Trace, path: str | Path) -> Path:
    """Write ``trace`` as CSV or Parquet (by extension) with a per-row ``source`` column; when signals have
    different sources a ``<file>.sources.json`` sidecar records each signal's source."""
    p = Path(path)
    df = trace.data.copy()
    cols = ["t_min", *[c for c in df.columns if c in SIGNALS]]
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


def read_events(path: str | Path) -> pd.DataFrame:
    """Events from a CSV (``t_min, kind, severity, note``) or a JSON list of objects (contracts.md)."""
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
    for col in ("t_min", "kind"):
        if col not in df.columns:
            raise InputError(f"{name}: missing required column {col!r}", f"events.{col}")
    t = pd.to_numeric(df["t_min"].astype(str).str.strip(), errors="coerce")
    bad = t.isna() | (t < 0) | (t > MAX_T_MIN)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"events.t_min: {df['t_min'].iloc[i]!r} at row {i + 1} is not a time "
            f"(allowed 0–{MAX_T_MIN:g} min)",
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
    out = pd.DataFrame({"t_min": t.astype(float), "kind": kind, "severity": sev.astype(float), "note": note})
    return out.sort_values("t_min", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ HEMOBP

#: HEMOBP ``vip.csv`` (Lin et al. Sci Data 2019;6:313, figshare 6260654 v3, CC BY 4.0) -> contract names.
HEMOBP_COLUMNS: dict[str, tuple[str, float]] = {
    "time": ("t_min", 1.0),  # minutes from session start
    "sbp": ("sbp_mmhg", 1.0),
    "dbp": ("dbp_mmhg", 1.0),
    "uf": ("uf_rate_ml_h", 1000.0),  # L/h -> mL/h
    "blood_flow": ("qb_ml_min", 1.0),
    "conductivity": ("conductivity_ms_cm", 1.0),
    "dia_temp_value": ("dialysate_temp_c", 1.0),
}


def hemobp_to_frame(raw: pd.DataFrame, report: DataQualityReport) -> pd.DataFrame:
    """Map a HEMOBP monitor table to contract columns; keep the first session when several are present.

    ``dialysate_na_mmol_l`` is derived from conductivity (:func:`conductivity_to_na_mmol_l`) and
    ``uf_cum_l`` by integrating the UF rate (trapezoid); both are flagged ``estimated``.
    """
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in ("time", "sbp", "dbp") if c not in raw.columns]
    if missing:
        raise InputError(
            f"HEMOBP file: missing column(s) {', '.join(missing)} (expected sbp, dbp, uf, blood_flow, "
            "conductivity, dia_temp_value, time)",
            missing[0],
        )
    key_cols = [c for c in ("pid", "datatime") if c in raw.columns]
    if key_cols:
        keys = raw["pid"].astype(str) if "pid" in raw.columns else pd.Series("", index=raw.index)
        if "datatime" in raw.columns:
            keys = keys + "|" + raw["datatime"].astype(str).str.slice(0, 10)
        first = keys.iloc[0]
        if (keys != first).any():
            report.add("pid", f"{keys.nunique()} sessions in the file", f"kept the first ({first})")
            raw = raw.loc[keys == first]
    out = pd.DataFrame(index=raw.index)
    for src_col, (dst, _) in HEMOBP_COLUMNS.items():
        if src_col in raw.columns:
            out[dst] = raw[src_col]
    return out.reset_index(drop=True)


def looks_like_hemobp(path: str | Path) -> bool:
    """True when a CSV's header has HEMOBP columns (``time``, ``sbp``, ``dbp``) and no ``t_min``."""
    p = Path(path)
    if p.suffix.lower() not in {".csv", ".txt"} or not p.is_file():
        return False
    try:
        with p.open(encoding="utf-8", errors="replace") as fh:
            header = {c.strip().lower() for c in fh.readline().split(",")}
    except OSError:
        return False
    return "t_min" not in header and {"time", "sbp", "dbp"} <= header


def read_hemobp(path: str | Path, *, strict: bool = False) -> tuple[Trace, DataQualityReport]:
    """Read a HEMOBP-style machine export (columns ``sbp, dbp, uf (L/h), blood_flow, conductivity,
    dia_temp_value, time``) as a Trace (see :data:`HEMOBP_COLUMNS`)."""
    p = Path(path)
    raw = _read_table(p)
    pre = DataQualityReport()
    mapped = hemobp_to_frame(raw, pre)
    for src_col, (dst, factor) in HEMOBP_COLUMNS.items():
        if factor != 1.0 and dst in mapped.columns:
            mapped[dst] = _to_numeric(mapped[dst], src_col, pre, strict) * factor
    trace, report = clean_frame(mapped, source="measured", strict=strict, name=f"HEMOBP file {p.name}")
    report.issues = pre.issues + report.issues
    report.n_rows_read = len(raw)
    data = trace.data
    if "conductivity_ms_cm" in data.columns and data["conductivity_ms_cm"].notna().any():
        data["dialysate_na_mmol_l"] = conductivity_to_na_mmol_l(data["conductivity_ms_cm"].to_numpy())
        trace.sources["dialysate_na_mmol_l"] = "estimated"
    if "uf_rate_ml_h" in data.columns and data["uf_rate_ml_h"].notna().sum() >= 2:
        ok = data["uf_rate_ml_h"].notna().to_numpy()
        t = data["t_min"].to_numpy()
        rate = np.interp(t, t[ok], data["uf_rate_ml_h"].to_numpy()[ok])
        cum = np.concatenate([[0.0], np.cumsum(np.diff(t) * (rate[1:] + rate[:-1]) / 2.0)]) / 60000.0
        data["uf_cum_l"] = cum
        trace.sources["uf_cum_l"] = "estimated"
    trace.session_id = p.stem
    return trace, report
