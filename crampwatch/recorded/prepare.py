"""One staged partition made ready for the batch analysis: clean monitor records, and one scenario-table row
per session.

Records are cleaned as the single-session readers clean a trace (:func:`crampwatch.io.tables.clean_frame`):
rows without a usable time are dropped, unit mix-ups converted, impossible values set to missing, rows
sorted by time within their session and a repeated time kept once (the first in file order). The HEMOBP
session row (``d1``) and patient row (``idp``) give the scenario; what they do not record takes the
scenario model's default and is listed as assumed (:data:`ASSUMED_INPUTS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.io.hemobp import derived_signals
from crampwatch.io.tables import UNIT_FIXES
from crampwatch.population import MEAN_HEIGHT_CM
from crampwatch.scenario_table import Columns, complete_columns, invalid_rows, model_default
from crampwatch.signals import (
    CONDUCTIVITY_MS_CM,
    DIALYSATE_NA_MMOL_L,
    DIALYSATE_TEMP_C,
    MAX_T_MIN,
    QB_ML_MIN,
    T_MIN,
    UF_CUM_L,
    UF_RATE_ML_H,
    implausible,
)
from crampwatch.trace import SIGNALS
from crampwatch.units import conductivity_to_na_mmol_l, fahrenheit_to_celsius

#: Inputs of the analysis that a HEMOBP history does not record: the scenario model's defaults stand in.
ASSUMED_INPUTS = (
    "height (the population mean for the sex)",
    "time on dialysis where the first dialysis is not recorded (the time since the patient's first session "
    "in the data)",
    "pre-dialysis laboratory values (typical values)",
    "dialysate flow and dialyzer KoA",
    "dialysate K, Ca, Mg and bicarbonate",
)
#: Signals the HEMOBP reader derives (flagged ``estimated``).
DERIVED = (DIALYSATE_NA_MMOL_L, UF_CUM_L)
#: A previous session's post-dialysis weight is the reference of the weight gain when it is at most this
#: many days earlier (modelling choice: a longer gap is not an interdialytic interval).
MAX_GAP_DAYS = 7


@dataclass(frozen=True)
class PreparedPartition:
    """Sessions of a partition: ``ids`` (one row per session, with ``status``), the scenario table of the
    analysable ones (``cols``, in the order of ``ids[ids.status == 'analysed']``), their cleaned records
    (``records``: ``session`` code into ``cols``, ``t_min``, signals) and data-quality counts."""

    ids: pd.DataFrame
    cols: Columns
    records: pd.DataFrame
    estimated: dict[str, np.ndarray] = field(default_factory=dict)
    quality: dict[str, int] = field(default_factory=dict)


def clean_records(records: pd.DataFrame, quality: dict[str, int]) -> pd.DataFrame:
    """Records (``session``, ``row`` in file order, ``t_min``, signals) cleaned as a single trace is."""
    t = records[T_MIN].to_numpy(dtype=float)
    bad_t = np.isnan(t) | (t < 0) | (t > MAX_T_MIN)
    quality["records_without_usable_time"] = quality.get("records_without_usable_time", 0) + int(bad_t.sum())
    out = records.loc[~bad_t].copy()
    fixed = impossible = 0
    for name in [c for c in out.columns if c in SIGNALS]:
        x = out[name].to_numpy(dtype=float, copy=True)
        fix = UNIT_FIXES.get(name)
        if fix is not None:
            (lo, hi), factor, _ = fix
            hit = (x >= lo) & (x <= hi)
            x[hit] = fahrenheit_to_celsius(x[hit]) if factor is None else x[hit] * factor
            fixed += int(hit.sum())
        bad = implausible(name, x)
        x[bad] = np.nan
        impossible += int(bad.sum())
        out[name] = x
    quality["values_unit_converted"] = quality.get("values_unit_converted", 0) + fixed
    quality["values_impossible"] = quality.get("values_impossible", 0) + impossible
    out = out.sort_values(["session", T_MIN, "row"], kind="stable")
    dup = out.duplicated(["session", T_MIN], keep="first").to_numpy()
    quality["records_repeated_time"] = quality.get("records_repeated_time", 0) + int(dup.sum())
    return out.loc[~dup].reset_index(drop=True)


def _session_rows(sessions: pd.DataFrame, quality: dict[str, int]) -> pd.DataFrame:
    """``d1`` rows of a partition: one per patient and day (the first in file order), in date order, with
    the previous session's post-dialysis weight where the gap is short."""
    dup = sessions.duplicated("session", keep="first")
    quality["session_rows_repeated"] = quality.get("session_rows_repeated", 0) + int(dup.sum())
    s = sessions.loc[~dup.to_numpy()].sort_values(["pid", "day"], kind="stable").reset_index(drop=True)
    day = pd.to_datetime(s["day"], errors="coerce")
    same = s["pid"].eq(s["pid"].shift())
    gap = (day - day.shift()).dt.days
    prev = s["weightend"].shift()
    s["previous_post_weight_kg"] = np.where(same & (gap <= MAX_GAP_DAYS), prev, np.nan)
    s["date"] = day
    return s


def _record_summary(records: pd.DataFrame) -> pd.DataFrame:
    """Per session: number of records, last record time, medians of blood flow (running), conductivity and
    dialysate temperature."""
    g = records.groupby("session", sort=False)
    qb = records[QB_ML_MIN].where(records[QB_ML_MIN] > 0)
    return pd.DataFrame(
        {
            "n_records": g.size(),
            "last_t_min": g[T_MIN].max(),
            "qb": qb.groupby(records["session"], sort=False).median(),
            "conductivity": g[CONDUCTIVITY_MS_CM].median(),
            "dialysate_temp": g[DIALYSATE_TEMP_C].median(),
        }
    )


def hemobp_scenarios(s: pd.DataFrame, patients: pd.DataFrame) -> Columns:
    """The scenario table of HEMOBP sessions (``d1`` rows joined with their records' summary and their
    patient's ``idp`` row)."""
    p = s[["pid"]].merge(patients, on="pid", how="left")
    year = s["date"].dt.year.to_numpy(dtype=float)
    month = year * 12 + s["date"].dt.month.to_numpy(dtype=float) - 1
    sex = p["sex"].to_numpy(dtype=object)
    duration = (s["end_min"] - s["start_min"]) % 1440.0
    duration = duration.where(duration > 0, s["last_t_min"]).to_numpy(dtype=float)
    loss = (s["weightstart"] - s["weightend"]).to_numpy(dtype=float)
    height = np.array([MEAN_HEIGHT_CM.get(x, np.nan) if isinstance(x, str) else np.nan for x in sex])
    cols = {
        "patient.id": s["pid"].to_numpy(dtype=object),
        "patient.sex": np.where(pd.isna(sex), "", sex).astype(object),
        "patient.age_years": year - p["birth_year"].to_numpy(dtype=float),
        "patient.height_cm": height,
        "patient.pre_weight_kg": s["weightstart"].to_numpy(dtype=float),
        "patient.dry_weight_kg": s["dryweight"].to_numpy(dtype=float),
        "patient.previous_post_weight_kg": s["previous_post_weight_kg"].to_numpy(dtype=float),
        "patient.vintage_months": np.maximum(month - p["first_dialysis_month"].to_numpy(dtype=float), 0.0),
        "patient.diabetes": p["diabetes"].to_numpy(dtype=float) == 1.0,
        "prescription.duration_min": duration,
        "prescription.uf_volume_l": np.where(loss >= 0, loss, np.nan),
        "prescription.qb_ml_min": s["qb"].to_numpy(dtype=float),
        "prescription.dialysate.temp_c": s["dialysate_temp"].to_numpy(dtype=float),
    }
    na = np.asarray(conductivity_to_na_mmol_l(s["conductivity"].to_numpy(dtype=float)), dtype=float)
    cols["prescription.dialysate.na_mmol_l"] = na
    for path in (
        "prescription.qb_ml_min",
        "prescription.dialysate.temp_c",
        "prescription.dialysate.na_mmol_l",
    ):
        cols[path] = np.where(np.isnan(cols[path]), float(model_default(path)), cols[path])
    vintage = cols["patient.vintage_months"]
    first_seen = pd.Series(month).groupby(s["pid"].to_numpy()).transform("min").to_numpy()
    cols["patient.vintage_months"] = np.where(np.isnan(vintage), month - first_seen, vintage)
    return complete_columns(cols, len(s))


def staged_part(staged: Path, table: str, k: int) -> Path:
    return staged / table / f"part-{k:05d}.parquet"


def _derive(records: pd.DataFrame) -> pd.DataFrame:
    codes, _ = pd.factorize(records["session"], sort=False)
    derived = derived_signals(
        records[T_MIN].to_numpy(dtype=float),
        records[UF_RATE_ML_H].to_numpy(dtype=float),
        records[CONDUCTIVITY_MS_CM].to_numpy(dtype=float),
        codes,
    )
    return records.assign(**derived)


def prepare_hemobp_partition(staged: Path, k: int, patients: pd.DataFrame) -> PreparedPartition:
    """Partition ``k`` of a staged HEMOBP history (:func:`crampwatch.recorded.hemobp_tables.stage_hemobp`)."""
    quality: dict[str, int] = {}
    records = _derive(clean_records(pd.read_parquet(staged_part(staged, "records", k)), quality))
    s = _session_rows(pd.read_parquet(staged_part(staged, "sessions", k)), quality)
    in_d1 = records["session"].isin(s["session"]).to_numpy()
    quality["monitor_days_without_session_row"] = int(records.loc[~in_d1, "session"].nunique())
    records = records.loc[in_d1]
    s = s.join(_record_summary(records), on="session")
    has_records = s["n_records"].notna().to_numpy()
    quality["sessions_without_monitor_records"] = int((~has_records).sum())
    cols = hemobp_scenarios(s, patients)
    bad, why = invalid_rows(cols)
    status = np.where(~has_records, "no monitor records", np.where(bad, why, "analysed"))
    ids = pd.DataFrame(
        {
            "session_id": (s["pid"] + "-" + s["day"]).to_numpy(dtype=object),
            "patient_id": s["pid"].to_numpy(dtype=object),
            "session_date": s["date"].to_numpy(),
            "status": status.astype(object),
            "n_records": s["n_records"].fillna(0).to_numpy(dtype=np.int64),
            "post_weight_measured_kg": s["weightend"].to_numpy(dtype=float),
        }
    )
    ok = status == "analysed"
    keep = s["session"].to_numpy(dtype=object)[ok]
    code = pd.Series(np.arange(len(keep)), index=keep)
    records = records.loc[records["session"].isin(keep).to_numpy()].copy()
    records["code"] = code.loc[records["session"].to_numpy()].to_numpy()
    cols = {name: np.asarray(v)[ok] for name, v in cols.items()}
    estimated = {name: np.ones(len(keep), dtype=bool) for name in DERIVED}
    return PreparedPartition(ids, cols, records.reset_index(drop=True), estimated, quality)
