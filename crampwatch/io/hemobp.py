"""HEMOBP-style machine exports (Lin et al. Sci Data 2019;6:313): the column mapping to contract signals and
a reader that derives dialysate Na from conductivity and cumulative UF from the UF rate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.io.quality import DataQualityReport, IssueLog
from crampwatch.io.tables import clean_frame, read_table, to_numeric
from crampwatch.signals import (
    CONDUCTIVITY_MS_CM,
    DBP_MMHG,
    DIALYSATE_NA_MMOL_L,
    DIALYSATE_TEMP_C,
    QB_ML_MIN,
    SBP_MMHG,
    T_MIN,
    UF_CUM_L,
    UF_RATE_ML_H,
)
from crampwatch.trace import Trace
from crampwatch.units import MIN_PER_H, ML_PER_L, conductivity_to_na_mmol_l

#: HEMOBP ``vip.csv`` (Lin et al. Sci Data 2019;6:313, figshare 6260654 v3, CC BY 4.0) -> contract names.
HEMOBP_COLUMNS: dict[str, tuple[str, float]] = {
    "time": (T_MIN, 1.0),  # minutes from session start
    "sbp": (SBP_MMHG, 1.0),
    "dbp": (DBP_MMHG, 1.0),
    "uf": (UF_RATE_ML_H, ML_PER_L),  # L/h -> mL/h
    "blood_flow": (QB_ML_MIN, 1.0),
    "conductivity": (CONDUCTIVITY_MS_CM, 1.0),
    "dia_temp_value": (DIALYSATE_TEMP_C, 1.0),
}


def hemobp_to_frame(raw: pd.DataFrame, log: IssueLog) -> pd.DataFrame:
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
            log.add("pid", f"{keys.nunique()} sessions in the file", f"kept the first ({first})")
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
    return T_MIN not in header and {"time", "sbp", "dbp"} <= header


def read_hemobp(path: str | Path, *, strict: bool = False) -> tuple[Trace, DataQualityReport]:
    """Read a HEMOBP-style machine export (columns ``sbp, dbp, uf (L/h), blood_flow, conductivity,
    dia_temp_value, time``) as a Trace (see :data:`HEMOBP_COLUMNS`)."""
    p = Path(path)
    raw = read_table(p)
    pre = IssueLog()
    mapped = hemobp_to_frame(raw, pre)
    for src_col, (dst, factor) in HEMOBP_COLUMNS.items():
        if factor != 1.0 and dst in mapped.columns:
            mapped[dst] = to_numeric(mapped[dst], src_col, pre, strict) * factor
    trace, report = clean_frame(mapped, source="measured", strict=strict, name=f"HEMOBP file {p.name}")
    report = replace(report, issues=pre.issues + report.issues, n_rows_read=len(raw))
    data = trace.data
    t = data[T_MIN].to_numpy(dtype=float)
    derived = derived_signals(
        t,
        data[UF_RATE_ML_H].to_numpy(dtype=float) if UF_RATE_ML_H in data.columns else None,
        data[CONDUCTIVITY_MS_CM].to_numpy(dtype=float) if CONDUCTIVITY_MS_CM in data.columns else None,
        np.zeros(len(t), dtype=np.int64),
    )
    for name, values in derived.items():
        if not np.isnan(values).all():
            data[name] = values
            trace.sources[name] = "estimated"
    return replace(trace, session_id=p.stem), report


def derived_signals(
    t_min: np.ndarray,
    uf_rate_ml_h: np.ndarray | None,
    conductivity_ms_cm: np.ndarray | None,
    group: np.ndarray,
) -> dict[str, np.ndarray]:
    """Signals derived from a machine record, for rows sorted by session (``group``, contiguous) and time:
    ``dialysate_na_mmol_l`` from the conductivity (:func:`conductivity_to_na_mmol_l`) and ``uf_cum_l`` by
    the trapezoid rule over the UF rate, linearly interpolated between recorded rates and held at the first
    and last one (NaN for a session with fewer than two rates)."""
    n = len(t_min)
    out: dict[str, np.ndarray] = {}
    if conductivity_ms_cm is not None:
        out[DIALYSATE_NA_MMOL_L] = np.asarray(conductivity_to_na_mmol_l(conductivity_ms_cm), dtype=float)
    if uf_rate_ml_h is None or n == 0:
        return out
    rate = np.asarray(uf_rate_ml_h, dtype=float)
    start = np.r_[True, group[1:] != group[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))  # first row of each row's session
    last = np.minimum.accumulate(np.where(np.r_[start[1:], True], np.arange(n), n)[::-1])[::-1]
    ok = ~np.isnan(rate)
    prev = np.maximum.accumulate(np.where(ok, np.arange(n), -1))
    nxt = np.minimum.accumulate(np.where(ok, np.arange(n), n)[::-1])[::-1]
    has_prev, has_next = prev >= first, nxt <= last
    p, q = np.clip(prev, 0, n - 1), np.clip(nxt, 0, n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (rate[q] - rate[p]) / (t_min[q] - t_min[p]) * (t_min - t_min[p]) + rate[p]  # as np.interp
    filled = np.where(ok, rate, np.where(has_prev & has_next, between, np.where(has_prev, rate[p], rate[q])))
    step = np.r_[0.0, np.diff(t_min) * (filled[1:] + filled[:-1]) / 2.0]
    step[start] = 0.0
    cum = pd.Series(step).groupby(group).cumsum().to_numpy() / (MIN_PER_H * ML_PER_L)
    enough = pd.Series(ok).groupby(group).transform("sum").to_numpy() >= 2
    out[UF_CUM_L] = np.where(enough, cum, np.nan)
    return out
