"""A synthetic unit history in the HEMOBP table layout (:mod:`crampwatch.recorded.layout`), of the published
data set's size: ~1 072 patients, ~165 849 treatment days, ~4.37 million monitor records.

Nothing here is patient data. Patients are drawn by :func:`crampwatch.population.virtual_population`; each
is followed for a run of consecutive treatment days (three a week, a few missed) whose length is drawn
log-normally so that the mean is the published 154.7 sessions per patient; weights follow the drawn
interdialytic gain per day off dialysis (longer after the weekend); the dry weight is adjusted now and then.
Blood pressure is the session model's (:func:`crampwatch.simulator.columns.simulate_columns`) plus
oscillometric measurement noise (SD 6 mmHg systolic, 4 diastolic; modelling choice within the AAMI/ISO
81060-2 limit of 8 mmHg), read every 6-12 minutes (the published 26 records per session).

The unit changes its standard dialysate on :data:`UNIT_CHANGE` (Na 140 -> 138 mmol/L, temperature 36.5 ->
36.0 °C; a fifth of the patients keep an individual dialysate Na), so the history holds a prescription change
with a known date. The files carry the defects of real exports at known counts (:class:`Defects`): missing
values, exact duplicate rows, sessions whose rows are out of order, treatment days listed twice, monitor
records of a day without a session row, and one patient with a single session.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crampwatch.physiology.feasibility import infeasible_rows
from crampwatch.population import virtual_population
from crampwatch.recorded.layout import (
    MONITOR_COLUMNS,
    MONITOR_FILE,
    PATIENTS_FILE,
    SESSION_COLUMNS,
    SESSIONS_FILE,
)
from crampwatch.scenario_table import Columns, scenario_columns, take
from crampwatch.signals import DBP_MMHG, SBP_MMHG
from crampwatch.simulator.columns import simulate_columns
from crampwatch.units import na_to_conductivity_ms_cm

#: Observation window of the published data set.
START = date(2013, 6, 1)
END = date(2018, 5, 31)
#: Date of the unit-wide dialysate change, and the standard dialysate before and after it.
UNIT_CHANGE = date(2016, 1, 4)
STANDARD_BEFORE = {"na_mmol_l": 140.0, "temp_c": 36.5}
STANDARD_AFTER = {"na_mmol_l": 138.0, "temp_c": 36.0}
#: Share of patients with an individual dialysate Na that the unit-wide change leaves alone.
INDIVIDUAL_NA_SHARE = 0.2
#: Mean sessions per patient of the published data set (165 849 / 1 072) and the spread of the follow-up.
MEAN_SESSIONS = 165_849 / 1_072
FOLLOW_UP_LOG_SD = 1.0
#: Share of scheduled treatment days missed.
MISSED_SHARE = 0.03
#: Minutes between monitor records (uniform integers, mean 9: ~26 records per session, as published).
RECORD_INTERVAL_MIN = (6, 12)
#: Sessions simulated at once (bounds memory: ~110 kB per session).
SIM_CHUNK = 2000


@dataclass(frozen=True)
class Defects:
    """Shares of rows or sessions given each defect of real exports (modelling choice)."""

    missing_bp: float = 0.004  # monitor records without SBP/DBP
    duplicate_records: float = 0.003  # monitor records written twice
    shuffled_sessions: float = 0.01  # sessions whose records are out of order
    duplicate_days: float = 0.001  # treatment days listed twice in d1
    missing_end_weight: float = 0.005  # sessions without a post-dialysis weight
    missing_start_weight: float = 0.001  # sessions without a pre-dialysis weight (cannot be analysed)
    day_without_session_row: float = 0.001  # monitor records of a day d1 does not list


@dataclass(frozen=True)
class HistoryTruth:
    """What the generator put into the files (for tests and benchmarks)."""

    patients: int = 0
    sessions: int = 0
    records: int = 0
    unit_change: str = UNIT_CHANGE.isoformat()
    single_session_patients: list[str] = field(default_factory=list)
    defects: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _session_counts(rng: np.random.Generator, n: int, max_slots: int) -> np.ndarray:
    """Sessions per patient: log-normal, mean :data:`MEAN_SESSIONS` after the cut at ``max_slots`` (or
    near ``max_slots`` when that is lower)."""
    z = rng.normal(0.0, FOLLOW_UP_LOG_SD, n)
    target = MEAN_SESSIONS / (1.0 - MISSED_SHARE)
    lo, hi = -5.0, 10.0
    for _ in range(60):  # the log-mean that gives the target mean after the cut
        mu = 0.5 * (lo + hi)
        mean = np.clip(np.exp(mu + z), 1, max_slots).mean()
        lo, hi = (mu, hi) if mean < target else (lo, mu)
    counts = np.clip(np.round(np.exp(mu + z)), 1, max_slots).astype(int)
    counts[0] = 1  # one patient with a single session
    return counts


def _schedule(rng: np.random.Generator, counts: np.ndarray, weeks: int) -> list[np.ndarray]:
    """Treatment dates (days since :data:`START`) of each patient: Mon/Wed/Fri or Tue/Thu/Sat slots."""
    first_monday = (7 - START.weekday()) % 7
    out = []
    for k, n in enumerate(counts):
        days = np.array([0, 2, 4]) if rng.random() < 0.5 else np.array([1, 3, 5])
        slots = (first_monday + 7 * np.arange(weeks)[:, None] + days[None, :]).ravel()
        start = rng.integers(0, max(1, len(slots) - n + 1))
        chosen = slots[start : start + n]
        keep = rng.random(len(chosen)) >= MISSED_SHARE
        keep[0] = True
        out.append(chosen[keep] if k else chosen[:1])
    return out


def _patient_sessions(
    rng: np.random.Generator, base: Columns, dates: list[np.ndarray]
) -> tuple[Columns, pd.DataFrame]:
    """Scenario table and session facts (dates, weights, dialysate) of the sessions of the patients of
    ``base`` (``dates[i]``: treatment days of patient i)."""
    idx = np.concatenate([np.full(len(d), i) for i, d in enumerate(dates)])
    day = np.concatenate(dates)
    cols = take(base, idx)
    n = len(idx)
    gap = np.concatenate([np.r_[2, np.diff(d)] for d in dates]).clip(1, 7)
    gain_per_day = base["patient.dry_weight_kg"][idx] * rng.normal(1.75, 0.5, len(dates)).clip(0.5, 3.0)[idx]
    idwg = (gain_per_day / 100.0 * gap * np.exp(rng.normal(0.0, 0.25, n))).clip(0.2, 6.0)
    steps = np.where(rng.random(n) < 0.02, rng.choice([-0.5, 0.5], n), 0.0)
    drift = pd.Series(steps).groupby(idx).cumsum().to_numpy()
    dry = (base["patient.dry_weight_kg"][idx] + drift).round(1)
    pre = (dry + rng.normal(0.2, 0.2, n).clip(-0.3, 0.8) + idwg).round(1)
    loss = np.maximum(0.0, pre - dry + rng.normal(0.0, 0.15, n)).round(1)
    early = rng.random(n) < 0.05
    duration = cols["prescription.duration_min"] - np.where(early, rng.integers(15, 46, n), 0)
    individual = (rng.random(len(dates)) < INDIVIDUAL_NA_SHARE)[idx]
    after = day >= (UNIT_CHANGE - START).days
    na = np.where(individual, cols["prescription.dialysate.na_mmol_l"], np.where(after, 138.0, 140.0))
    temp = np.where(after, STANDARD_AFTER["temp_c"], STANDARD_BEFORE["temp_c"])
    session_date = np.array([START + timedelta(days=int(d)) for d in day])
    age = cols["patient.age_years"] + (day - day.min()) / 365.25
    cols.update(
        {
            "patient.age_years": age.clip(18, 110),
            "patient.pre_weight_kg": pre,
            "patient.dry_weight_kg": dry,
            "prescription.uf_volume_l": loss,
            "prescription.duration_min": duration.astype(float),
            "prescription.qb_ml_min": (cols["prescription.qb_ml_min"] + rng.normal(0, 10, n)).round(-1),
            "prescription.dialysate.na_mmol_l": na,
            "prescription.dialysate.na_mean_mmol_l": na,
            "prescription.dialysate.temp_c": temp,
        }
    )
    facts = pd.DataFrame(
        {
            "date": session_date,
            "start_min": rng.choice([420, 720, 1020], len(dates))[idx] + rng.integers(-15, 16, n),
            "weightstart": pre,
            "weightend": (pre - loss + rng.normal(0.0, 0.1, n)).round(1),
            "dryweight": dry,
            "temperature": rng.normal(36.5, 0.3, n).round(1),
            "duration": duration,
            "loss": loss,
        }
    )
    return cols, facts


def _records(
    rng: np.random.Generator, sim_sbp: np.ndarray, sim_dbp: np.ndarray, duration: np.ndarray
) -> dict:
    """Monitor record times (minutes) and measured BP of each session: [n, R] arrays and a mask."""
    n = len(duration)
    width = int(duration.max() // RECORD_INTERVAL_MIN[0]) + 2
    steps = rng.integers(RECORD_INTERVAL_MIN[0], RECORD_INTERVAL_MIN[1] + 1, (n, width))
    steps[:, 0] = 0
    t = np.cumsum(steps, axis=1)
    present = t <= duration[:, None]
    ti = np.minimum(t, sim_sbp.shape[1] - 1)
    rows = np.arange(n)[:, None]
    sbp = sim_sbp[rows, ti] + rng.normal(0.0, 6.0, t.shape)
    dbp = sim_dbp[rows, ti] + rng.normal(0.0, 4.0, t.shape)
    return {"t": t, "present": present & np.isfinite(sbp), "sbp": sbp.round(), "dbp": dbp.round()}


def _monitor_frame(rng: np.random.Generator, cols: Columns, facts: pd.DataFrame, rec: dict) -> pd.DataFrame:
    """The vip.csv rows of simulated sessions."""
    i, j = np.nonzero(rec["present"])
    t = rec["t"][i, j]
    start = pd.to_datetime(facts["date"].to_numpy()[i]) + pd.to_timedelta(
        facts["start_min"].to_numpy()[i], "min"
    )
    na = cols["prescription.dialysate.na_mmol_l"][i]
    uf_l_h = facts["loss"].to_numpy()[i] / (facts["duration"].to_numpy()[i] / 60.0)
    qb = cols["prescription.qb_ml_min"][i]
    first = j == 0
    m = len(i)
    return pd.DataFrame(
        {
            "pid": np.asarray(cols["patient.id"])[i],
            "datatime": (start + pd.to_timedelta(t, "min")).strftime("%Y-%m-%d %H:%M:%S"),
            "measuretime": j + 1,
            "sbp": rec["sbp"][i, j],
            "dbp": rec["dbp"][i, j],
            "dia_temp_value": (cols["prescription.dialysate.temp_c"][i] + rng.normal(0, 0.1, m)).round(1),
            "conductivity": (na_to_conductivity_ms_cm(na) + rng.normal(0, 0.03, m)).round(2),
            "uf": (uf_l_h * (1.0 + rng.normal(0, 0.02, m))).round(2),
            "blood_flow": np.where(first & (rng.random(m) < 0.5), 200.0, qb + rng.normal(0, 5, m)).round(),
            "time": t,
        }
    )


def _session_frame(cols: Columns, facts: pd.DataFrame) -> pd.DataFrame:
    """The d1.csv rows of simulated sessions."""
    start = facts["start_min"].to_numpy()
    end = start + facts["duration"].to_numpy()

    def clock(minutes: np.ndarray) -> list[str]:
        return [f"{int(m // 60) % 24:02d}:{int(m % 60):02d}" for m in minutes]

    return pd.DataFrame(
        {
            "pid": np.asarray(cols["patient.id"]),
            "keyindate": [f"{d.isoformat()} 00:00:00" for d in facts["date"]],
            "dialysisstart": clock(start),
            "dialysisend": clock(end),
            "weightstart": facts["weightstart"].to_numpy(),
            "weightend": facts["weightend"].to_numpy(),
            "dryweight": facts["dryweight"].to_numpy(),
            "temperature": facts["temperature"].to_numpy(),
        }
    )


def _pick(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    return np.flatnonzero(rng.random(n) < share)


def _spoil(rng: np.random.Generator, vip: pd.DataFrame, d1: pd.DataFrame, d: Defects, counts: dict) -> tuple:
    """Give the exported tables the defects of :class:`Defects`, counted in ``counts``."""
    rows = _pick(rng, len(vip), d.missing_bp)
    vip.loc[vip.index[rows], ["sbp", "dbp"]] = np.nan
    counts["missing_bp"] = counts.get("missing_bp", 0) + len(rows)
    session_key = vip["pid"].astype(str) + "|" + vip["datatime"].str.slice(0, 10)
    keys = session_key.unique()
    shuffled = set(keys[_pick(rng, len(keys), d.shuffled_sessions)])
    order = np.arange(len(vip))
    for key in shuffled:
        where = np.flatnonzero(session_key.to_numpy() == key)
        order[where] = rng.permutation(where)
    vip = vip.iloc[order]
    counts["shuffled_sessions"] = counts.get("shuffled_sessions", 0) + len(shuffled)
    dup = _pick(rng, len(vip), d.duplicate_records)
    vip = pd.concat([vip, vip.iloc[dup]]).sort_index(kind="stable")
    counts["duplicate_records"] = counts.get("duplicate_records", 0) + len(dup)
    d1 = d1.copy()
    for name, column in (("missing_end_weight", "weightend"), ("missing_start_weight", "weightstart")):
        rows = _pick(rng, len(d1), getattr(d, name))
        d1.loc[d1.index[rows], column] = np.nan
        counts[name] = counts.get(name, 0) + len(rows)
    drop = _pick(rng, len(d1), d.day_without_session_row)
    counts["day_without_session_row"] = counts.get("day_without_session_row", 0) + len(drop)
    d1 = d1.drop(d1.index[drop])
    dup = _pick(rng, len(d1), d.duplicate_days)
    counts["duplicate_days"] = counts.get("duplicate_days", 0) + len(dup)
    d1 = pd.concat([d1, d1.iloc[dup]]).sort_index(kind="stable")
    return vip, d1


def _patients_frame(base: Columns, first_dates: list[date], rng: np.random.Generator) -> pd.DataFrame:
    age = np.asarray(base["patient.age_years"])
    vintage = np.asarray(base["patient.vintage_months"])
    first = [d - timedelta(days=float(v) * 30.44) for d, v in zip(first_dates, vintage, strict=True)]
    dm = np.where(np.asarray(base["patient.diabetes"]), "1", "0").astype(object)
    dm[rng.random(len(dm)) < 0.002] = "NA"
    return pd.DataFrame(
        {
            "pid": np.asarray(base["patient.id"]),
            "gender": np.where(np.asarray(base["patient.sex"]) == "male", "M", "F"),
            "birthday": [d.year - int(a) for d, a in zip(first_dates, age, strict=True)],
            "first_dialysis": [f"{d.year:04d}-{d.month:02d}" for d in first],
            "DM": dm,
        }
    )


def _simulated(
    rng: np.random.Generator, cols: Columns, facts: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """vip and d1 rows of the sessions the model simulates (the others are left out)."""
    bad, _ = infeasible_rows(cols)
    keep = np.flatnonzero(~bad)
    vip, d1 = [], []
    for start in range(0, len(keep), SIM_CHUNK):
        rows = keep[start : start + SIM_CHUNK]
        part, part_facts = take(cols, rows), facts.iloc[rows].reset_index(drop=True)
        sim = simulate_columns(part)
        ok = np.ones(len(rows), dtype=bool) if sim.failed is None else ~np.asarray(sim.failed, dtype=bool)
        part, part_facts = take(part, ok), part_facts[ok].reset_index(drop=True)
        rec = _records(
            rng, sim.signals[SBP_MMHG][ok], sim.signals[DBP_MMHG][ok], part_facts["duration"].to_numpy()
        )
        vip.append(_monitor_frame(rng, part, part_facts, rec))
        d1.append(_session_frame(part, part_facts))
    empty = (pd.DataFrame(columns=list(MONITOR_COLUMNS)), pd.DataFrame(columns=list(SESSION_COLUMNS)))
    return (pd.concat(vip, ignore_index=True), pd.concat(d1, ignore_index=True)) if vip else empty


def write_synthetic_hemobp(
    folder: str | Path,
    *,
    patients: int = 1_072,
    seed: int = 0,
    defects: Defects | None = None,
    patients_per_chunk: int = 64,
    weeks: tuple[int, int] | None = None,
) -> HistoryTruth:
    """Write ``idp.csv``, ``d1.csv`` and ``vip.csv`` of a synthetic unit history into ``folder`` (see the
    module docstring); memory is bounded by ``patients_per_chunk``. ``weeks`` (first, last) narrows the
    history to those weeks of the published window (a small slice). Returns what was written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    defects = Defects() if defects is None else defects
    rng = np.random.default_rng(seed)
    base = scenario_columns(virtual_population(patients, seed=seed))
    base["patient.id"] = np.array([str(k + 1) for k in range(patients)], dtype=object)
    first_week, last_week = (0, (END - START).days // 7 - 1) if weeks is None else weeks
    counts = _session_counts(rng, patients, 3 * (last_week - first_week))
    dates = [d + 7 * first_week for d in _schedule(rng, counts, last_week - first_week)]
    n_records = n_sessions = 0
    found: dict[str, int] = {}
    paths = {name: out / name for name in (MONITOR_FILE, SESSIONS_FILE, PATIENTS_FILE)}
    pd.DataFrame(columns=list(MONITOR_COLUMNS)).to_csv(paths[MONITOR_FILE], index=False)
    pd.DataFrame(columns=list(SESSION_COLUMNS)).to_csv(paths[SESSIONS_FILE], index=False)
    for first in range(0, patients, patients_per_chunk):
        chunk = slice(first, first + patients_per_chunk)
        cols, facts = _patient_sessions(rng, take(base, chunk), dates[chunk])
        vip, d1 = _simulated(rng, cols, facts)
        vip, d1 = _spoil(rng, vip, d1, defects, found)
        vip = vip.astype({c: "Int64" for c in ("sbp", "dbp", "blood_flow", "time", "measuretime")})
        vip.to_csv(paths[MONITOR_FILE], mode="a", header=False, index=False, na_rep="NA")
        d1.to_csv(paths[SESSIONS_FILE], mode="a", header=False, index=False, na_rep="NA")
        n_records += len(vip)
        n_sessions += int((~d1.duplicated()).sum())
    first_dates = [START + timedelta(days=int(d[0])) for d in dates]
    _patients_frame(base, first_dates, rng).to_csv(paths[PATIENTS_FILE], index=False)
    single = [str(base["patient.id"][0])]
    return HistoryTruth(patients, n_sessions, n_records, single_session_patients=single, defects=found)
