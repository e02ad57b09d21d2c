"""Shared core of the trace readers: reading a CSV/Parquet table, numbers from text, unit fixes, and
:func:`clean_frame`, which validates a raw table against the signal registry and builds a Trace.

Reading never guesses silently: unsorted or duplicated times, impossible values and unit mix-ups are
listed with their row (1-based data row, the header excluded) and column, and the analysis runs on what is
valid. Input that cannot be analysed at all (empty file, no ``t_min``, text in a numeric column, negative
times, too many rows) raises :class:`~crampwatch.errors.InputError` with a one-line message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.io.quality import DataQualityReport, IssueLog
from crampwatch.signals import (
    DIALYSATE_TEMP_C,
    HCT_PCT,
    ICA_MMOL_L,
    MAX_T_MIN,
    MG_MMOL_L,
    RBV_PCT,
    T_MIN,
    UF_CUM_L,
    UF_RATE_ML_H,
    UREA_MMOL_L,
    implausible,
    range_message,
)
from crampwatch.trace import SIGNALS, SOURCES, Trace, empty_events
from crampwatch.units import (
    CA_MG_DL_PER_MMOL_L,
    MG_MG_DL_PER_MMOL_L,
    MIN_PER_H,
    ML_PER_L,
    PCT_PER_FRACTION,
    S_PER_MIN,
    UREA_MMOL_L_PER_BUN_MG_DL,
    fahrenheit_to_celsius,
)

#: Largest trace accepted: 12 h at one sample per second is 43 200 rows (modelling choice, with margin).
MAX_ROWS = 100_000
#: Text read as "not measured".
NA_TOKENS = {"", "na", "n/a", "nan", "null", "none", "-", "--", "?"}

#: Per-value unit mix-ups: (values taken for the other unit, factor to the contract unit, description).
#: A value that is impossible in the contract unit but plausible in a common other unit is converted and
#: reported; ``factor`` None means degrees Fahrenheit.
UNIT_FIXES: dict[str, tuple[tuple[float, float], float | None, str]] = {
    UF_CUM_L: ((20.0, 12000.0), 1 / ML_PER_L, "looks like mL: divided by 1000"),
    UF_RATE_ML_H: ((0.01, 5.0), ML_PER_L, "looks like L/h: multiplied by 1000"),
    RBV_PCT: ((0.5, 1.3), PCT_PER_FRACTION, "looks like a fraction: multiplied by 100"),
    UREA_MMOL_L: (
        (110.0, 310.0),
        UREA_MMOL_L_PER_BUN_MG_DL,
        f"looks like BUN in mg/dL: / {1 / UREA_MMOL_L_PER_BUN_MG_DL:.5g} to urea mmol/L",
    ),
    ICA_MMOL_L: (
        (3.0, 10.0),
        1 / CA_MG_DL_PER_MMOL_L,
        f"looks like mg/dL: / {CA_MG_DL_PER_MMOL_L:g} to mmol/L",
    ),
    MG_MMOL_L: (
        (3.0, 7.5),
        1 / MG_MG_DL_PER_MMOL_L,
        f"looks like mg/dL: / {MG_MG_DL_PER_MMOL_L:g} to mmol/L",
    ),
    DIALYSATE_TEMP_C: ((86.0, 108.0), None, "looks like deg F: converted to deg C"),
    HCT_PCT: ((0.1, 0.7), PCT_PER_FRACTION, "looks like a fraction: multiplied by 100"),
}

#: Columns named with another unit: alias -> (contract column, factor to the contract unit).
UNIT_ALIASES: dict[str, tuple[str, float]] = {
    "uf_cum_ml": (UF_CUM_L, 1 / ML_PER_L),
    "uf_rate_l_h": (UF_RATE_ML_H, ML_PER_L),
    "uf_rate_ml_min": (UF_RATE_ML_H, MIN_PER_H),
    "bun_mg_dl": (UREA_MMOL_L, UREA_MMOL_L_PER_BUN_MG_DL),
    "ica_mg_dl": (ICA_MMOL_L, 1 / CA_MG_DL_PER_MMOL_L),
    "mg_mg_dl": (MG_MMOL_L, 1 / MG_MG_DL_PER_MMOL_L),
    "t_h": (T_MIN, MIN_PER_H),
    "t_s": (T_MIN, 1 / S_PER_MIN),
}


def read_table(path: Path, *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
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


def to_numeric(series: pd.Series, column: str, log: IssueLog, strict: bool) -> pd.Series:
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
        log.add(column, f"text in a numeric column (e.g. {example!r})", "set to missing", rows)
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
    n_rows_read = len(raw)
    log = IssueLog()
    raw, converted = _named_columns(raw, name, log)
    if T_MIN not in raw.columns:
        raise InputError(f"{name}: missing required column 't_min' (minutes from session start)", T_MIN)
    if len(raw) == 0:
        raise InputError(f"{name}: no data rows (needs at least one row with t_min)", T_MIN)
    if source is not None and source not in SOURCES:
        raise InputError(f"source: {source!r} is not one of {', '.join(SOURCES)}", "source")
    known = [c for c in raw.columns if c in SIGNALS]
    ignored = [c for c in raw.columns if c not in SIGNALS and c not in {T_MIN, "source"}]
    df = pd.DataFrame({T_MIN: to_numeric(raw[T_MIN], T_MIN, log, strict) * converted.get(T_MIN, 1.0)})
    for c in known:
        df[c] = to_numeric(raw[c], c, log, strict) * converted.get(c, 1.0)
    row_no = np.arange(1, len(df) + 1)
    drop = _bad_times(df[T_MIN].to_numpy(), row_no, strict, log)
    _fix_values(df, known, row_no, log)
    row_src = _row_sources(raw, source, row_no, log)
    dropped = row_no[drop].tolist() if drop.any() else []
    keep = ~drop
    df = df.loc[keep].copy()
    if row_src is not None:
        row_src = row_src.loc[keep]
    if len(df) == 0:
        raise InputError(f"{name}: no row has a valid t_min (allowed 0–{MAX_T_MIN:g} min)", T_MIN)
    df, row_src, duplicates = _sorted_unique_times(df, row_no[keep], row_src, log)
    if duplicates:
        dropped = sorted(set(dropped) | set(duplicates))
    report = DataQualityReport(
        n_rows_read=n_rows_read,
        n_rows_used=len(df),
        dropped_rows=dropped,
        issues=log.issues,
        ignored_columns=ignored,
    )
    sources = _column_sources(df, known, source, sidecar, row_src)
    return Trace(df, empty_events(), sources, session_id=None), report


def _named_columns(raw: pd.DataFrame, name: str, log: IssueLog) -> tuple[pd.DataFrame, dict[str, float]]:
    """Column names lower-cased and stripped, columns in other units renamed to the signal; the factor that
    converts each renamed column."""
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    if raw.columns.duplicated().any():
        dup = raw.columns[raw.columns.duplicated()][0]
        raise InputError(f"{name}: column {dup!r} appears twice", dup)
    converted: dict[str, float] = {}
    for alias, (target, factor) in UNIT_ALIASES.items():
        if alias in raw.columns and target not in raw.columns:
            raw = raw.rename(columns={alias: target})
            converted[target] = factor
            log.add(target, f"column {alias!r} is in other units", f"converted to {target} (x {factor:.4g})")
    return raw, converted


def _bad_times(t: np.ndarray, row_no: np.ndarray, strict: bool, log: IssueLog) -> np.ndarray:
    """Rows whose time is negative, beyond :data:`MAX_T_MIN` (an error when ``strict``) or missing."""
    drop = np.zeros(len(t), dtype=bool)
    for bad_t, why, problem in (
        (t < 0, "is negative", "negative time"),
        (t > MAX_T_MIN, "is out of range", f"time beyond {MAX_T_MIN:g} min"),
    ):
        if not bad_t.any():
            continue
        if strict:
            r = int(row_no[bad_t][0])
            raise InputError(f"t_min: {t[bad_t][0]:g} at row {r} {why} (allowed 0–{MAX_T_MIN:g} min)", T_MIN)
        log.add(T_MIN, problem, "row dropped", row_no[bad_t].tolist())
        drop |= bad_t
    nan_t = np.isnan(t)
    if nan_t.any():
        log.add(T_MIN, "missing time", "row dropped", row_no[nan_t].tolist())
        drop |= nan_t
    return drop


def _fix_values(df: pd.DataFrame, known: list[str], row_no: np.ndarray, log: IssueLog) -> None:
    """Unit mix-ups converted, then impossible values set to missing (in place)."""
    for c in known:
        x = df[c].to_numpy(copy=True)
        fix = UNIT_FIXES.get(c)
        if fix is not None:
            (lo, hi), factor, what = fix
            hit = (x >= lo) & (x <= hi)
            if hit.any():
                x[hit] = fahrenheit_to_celsius(x[hit]) if factor is None else x[hit] * factor
                log.add(
                    c, "unit mix-up: " + what.split(":")[0], what.split(": ", 1)[-1], row_no[hit].tolist()
                )
        bad = implausible(c, x)
        if bad.any():
            log.add(
                c, f"impossible value: {range_message(c, x[bad][0])}", "set to missing", row_no[bad].tolist()
            )
            x[bad] = np.nan
        df[c] = x


def _row_sources(
    raw: pd.DataFrame, source: str | None, row_no: np.ndarray, log: IssueLog
) -> pd.Series | None:
    """The ``source`` column of each row (unknown values read as measured), unless ``source`` is given."""
    if "source" not in raw.columns or source is not None:
        return None
    row_src = raw["source"].astype(str).str.strip().str.lower()
    bad_src = ~row_src.isin(SOURCES) & ~row_src.isin(NA_TOKENS)
    if bad_src.any():
        log.add(
            "source",
            f"unknown source (e.g. {row_src[bad_src].iloc[0]!r}; allowed {', '.join(SOURCES)})",
            "treated as measured",
            (row_no[bad_src.to_numpy()]).tolist(),
        )
    return row_src.where(row_src.isin(SOURCES), "measured")


def _sorted_unique_times(
    df: pd.DataFrame, kept_rows: np.ndarray, row_src: pd.Series | None, log: IssueLog
) -> tuple[pd.DataFrame, pd.Series | None, list[int]]:
    """Rows sorted by time (stable) and later duplicates of a time dropped, the index reset; and the file
    rows of the dropped duplicates."""
    tk = df[T_MIN].to_numpy()
    if np.any(np.diff(tk) < 0):
        order = np.argsort(tk, kind="stable")
        out_of_order = kept_rows[np.flatnonzero(np.diff(tk) < 0) + 1].tolist()
        log.add(T_MIN, "times not in increasing order", "rows sorted by t_min", out_of_order)
        df = df.iloc[order]
        kept_rows = kept_rows[order]
        if row_src is not None:
            row_src = row_src.iloc[order]
    dup = df[T_MIN].duplicated(keep="first").to_numpy()
    duplicates: list[int] = []
    if dup.any():
        log.add(T_MIN, "duplicated time", "later duplicate dropped (first kept)", kept_rows[dup].tolist())
        duplicates = kept_rows[dup].tolist()
        df = df.loc[~dup]
        if row_src is not None:
            row_src = row_src.loc[~dup]
    return df.reset_index(drop=True), row_src, duplicates


def _column_sources(
    df: pd.DataFrame,
    known: list[str],
    source: str | None,
    sidecar: dict[str, str] | None,
    row_src: pd.Series | None,
) -> dict[str, str]:
    """The source of each signal with a value: the sidecar's, else ``source``, else the most common row
    source, else measured."""
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
    return sources
