"""Recorded sessions analysed as a batch: the same analysis as :func:`crampwatch.causes.assess` for each
session, computed over arrays of many sessions at once.

For each session, as ``assess`` does: rows after the prescription's end are left out; signals the key
findings use but the record lacks are filled from the session model (flagged ``estimated``; a record
with fewer than :data:`~crampwatch.causes.assess.SPARSE_RECORD_ROWS` rows is analysed on the union of its
times and the simulated grid); each cause score is blended with the score from the recorded signals alone
(weight :data:`~crampwatch.causes.assess.ESTIMATED_WEIGHT`) when any signal is estimated, and the overall
risk is the noisy-OR of the blended scores. Events and earlier sessions are not read here: a session's
scores are those ``assess`` gives it without events and history.

Records arrive as one long table (``session`` code, ``t_min``, signal columns); sessions as a scenario
table (:mod:`crampwatch.scenario_table`). Nothing is kept per session as a Python object: the sessions of a
chunk share one time grid (the union of their record times) and every step works on ``[n, steps]`` arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crampwatch.causes.assess import (
    ESTIMATED_WEIGHT,
    KEY_SIGNALS,
    PAIRED_WITH_UREA,
    SPARSE_RECORD_ROWS,
    metric_arrays,
)
from crampwatch.causes.context import context_from_columns
from crampwatch.causes.registry import CAUSES
from crampwatch.causes.scoring import Evaluation, evaluate, overall_risk
from crampwatch.learn.inputs import table_from_evaluation
from crampwatch.physiology.feasibility import infeasible_rows
from crampwatch.recorded.prepare import PreparedPartition
from crampwatch.scenario_table import Columns, complete_columns, take, uf_volume_l
from crampwatch.signals import DIALYSATE_NA_MMOL_L, DIALYSATE_TEMP_C, QB_ML_MIN, T_MIN, UREA_MMOL_L
from crampwatch.simulator.columns import simulate_columns
from crampwatch.trace import SIGNALS

#: Metrics of the Assessment kept in the session table (the others need signals a record rarely has).
TABLE_METRICS = (
    "uf_rate_ml_kg_h",
    "uf_total_l",
    "post_weight_kg",
    "idwg_kg",
    "sp_ktv",
    "sp_ktv_estimated",
    "std_ktv",
    "na_gradient_mmol_l",
    DIALYSATE_NA_MMOL_L,
    "sbp_pre_mmhg",
    "sbp_nadir_mmhg",
    "rbv_min_pct",
)


@dataclass(frozen=True)
class GridBatch:
    """Sessions of one chunk on a shared time grid."""

    t_min: np.ndarray  # [G]
    signals: dict[str, np.ndarray]  # recorded signals [n, G]; NaN where a session has no value
    present: np.ndarray  # [n, G]: the session's own analysis times


def to_grid(session: np.ndarray, t_min: np.ndarray, values: Mapping[str, np.ndarray], n: int) -> GridBatch:
    """Long records (``session`` code 0..n-1, time, signal values) as ``[n, G]`` arrays on the union grid."""
    grid, col = np.unique(t_min, return_inverse=True)
    present = np.zeros((n, len(grid)), dtype=bool)
    present[session, col] = True
    signals = {}
    for name, v in values.items():
        a = np.full((n, len(grid)), np.nan)
        a[session, col] = v
        signals[name] = a
    return GridBatch(grid, signals, present)


def _with_times(batch: GridBatch, extra: np.ndarray) -> GridBatch:
    """``batch`` on its grid extended by the times ``extra``."""
    grid = np.union1d(batch.t_min, extra)
    pos = np.searchsorted(grid, batch.t_min)
    n = batch.present.shape[0]
    present = np.zeros((n, len(grid)), dtype=bool)
    present[:, pos] = batch.present
    signals = {}
    for name, a in batch.signals.items():
        b = np.full((n, len(grid)), np.nan)
        b[:, pos] = a
        signals[name] = b
    return GridBatch(grid, signals, present)


def _sample(sim_t: np.ndarray, sim: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Simulated rows ``sim`` [m, S] (NaN after each session's end) at the times ``grid``: linear
    interpolation between the simulated times, NaN outside them (``np.interp`` with NaN at both ends)."""
    pos = np.searchsorted(sim_t, grid, side="right") - 1
    inside = (pos >= 0) & (grid <= sim_t[-1])
    lo = np.clip(pos, 0, len(sim_t) - 1)
    hi = np.clip(pos + 1, 0, len(sim_t) - 1)
    span = np.where(hi > lo, sim_t[hi] - sim_t[lo], 1.0)
    frac = np.where(hi > lo, (grid - sim_t[lo]) / span, 0.0)
    exact = frac == 0.0
    with np.errstate(invalid="ignore"):
        mixed = sim[:, lo] * (1.0 - frac) + sim[:, hi] * frac
    out = np.where(exact[None, :], sim[:, lo], mixed)
    return np.where(inside[None, :], out, np.nan)


def fill_from_model(batch: GridBatch, cols: Columns) -> tuple[GridBatch, dict[str, np.ndarray]]:
    """The key signals each session lacks, simulated for that session (``assess``'s fill-in), and per
    signal where it was filled (``estimated``)."""
    n = batch.present.shape[0]
    has = {name: ~np.all(np.isnan(a), axis=1) for name, a in batch.signals.items()}
    wanted = [s for s in KEY_SIGNALS if s in SIGNALS]
    missing = {s: ~has.get(s, np.zeros(n, dtype=bool)) for s in wanted}
    urea = has.get(UREA_MMOL_L, np.zeros(n, dtype=bool))
    for s in PAIRED_WITH_UREA:  # a simulated value minus a recorded urea would mix two sources
        missing[s] = missing[s] & ~urea
    need = np.zeros(n, dtype=bool)
    for m in missing.values():
        need |= m
    filled: dict[str, np.ndarray] = {s: np.zeros(n, dtype=bool) for s in wanted}
    if not need.any():
        return batch, filled
    infeasible, _ = infeasible_rows(cols)  # assess analyses these without the fill-in
    rows = np.flatnonzero(need & ~infeasible)
    if len(rows) == 0:
        return batch, filled
    sim = simulate_columns(take(cols, rows))
    ok = np.ones(len(rows), dtype=bool) if sim.failed is None else ~np.asarray(sim.failed, dtype=bool)
    sparse = rows[ok & (batch.present[rows].sum(axis=1) < SPARSE_RECORD_ROWS)]
    if len(sparse):
        batch = _with_times(batch, sim.t_min)
        end = np.ceil(np.asarray(cols["prescription.duration_min"], dtype=float)[sparse])
        batch.present[sparse] |= batch.t_min[None, :] <= end[:, None] + 1e-9
    for s in wanted:
        target = missing[s][rows] & ok
        values = sim.signals.get(s)
        if values is None or not target.any():
            continue
        target &= np.sum(~np.isnan(values), axis=1) >= 2  # too short a simulation fills nothing
        sampled = _sample(sim.t_min, values[target], batch.t_min)
        out = batch.signals.setdefault(s, np.full(batch.present.shape, np.nan))
        out[rows[target]] = np.where(batch.present[rows[target]], sampled, np.nan)
        filled[s][rows[target]] = True
    return batch, filled


@dataclass(frozen=True)
class Evaluated:
    """The two evaluations of a chunk of sessions: with the filled-in signals (``full``) and of the recorded
    signals alone (``recorded``: no signal a reader or the model estimated; the unit model's inputs), which
    signals were estimated per session, and whether any was."""

    full: Evaluation
    recorded: Evaluation
    estimated: dict[str, np.ndarray]
    any_estimated: np.ndarray


def evaluate_sessions(
    batch: GridBatch, cols: Columns, estimated_by_source: Mapping[str, np.ndarray]
) -> Evaluated:
    """Fill in and evaluate every session (:class:`Evaluated`).

    ``estimated_by_source[s]`` marks the sessions whose signal ``s`` the reader derived (``estimated``);
    signals the model fills are added here."""
    ctx = context_from_columns(cols)
    n = ctx.n
    any_estimated = np.zeros(n, dtype=bool)
    estimated: dict[str, np.ndarray] = {}
    for s, m in estimated_by_source.items():  # a derived signal counts where the session has it
        has = ~np.all(np.isnan(batch.signals[s]), axis=1) if s in batch.signals else np.zeros(n, dtype=bool)
        estimated[s] = np.asarray(m, dtype=bool) & has
        any_estimated |= estimated[s]
    filled_batch, filled = fill_from_model(batch, cols)
    for s, m in filled.items():
        estimated[s] = estimated.get(s, np.zeros(n, dtype=bool)) | m
        any_estimated |= m
    full = evaluate(filled_batch.t_min, filled_batch.signals, ctx)
    bare_signals = {}
    for s, a in filled_batch.signals.items():
        est = estimated.get(s)
        bare_signals[s] = a if est is None else np.where(est[:, None], np.nan, a)
    bare = evaluate(filled_batch.t_min, bare_signals, ctx)
    return Evaluated(full, bare, estimated, any_estimated)


def score_sessions(evaluated: Evaluated) -> dict[str, np.ndarray]:
    """Cause scores, overall and IDH risk and :data:`TABLE_METRICS` of every session (one array each)."""
    full, bare, estimated = evaluated.full, evaluated.recorded, evaluated.estimated
    any_estimated, n = evaluated.any_estimated, full.ctx.n
    out: dict[str, np.ndarray] = {}
    for cause in CAUSES:
        blend = ESTIMATED_WEIGHT * full.scores[cause] + (1.0 - ESTIMATED_WEIGHT) * bare.scores[cause]
        out[cause] = np.where(any_estimated, blend, full.scores[cause])
    out["overall_risk"] = overall_risk(out)
    metrics = metric_arrays(full)
    out.update({name: np.asarray(metrics[name]) for name in TABLE_METRICS})
    out["idh_risk"] = np.asarray(full.scores["idh_risk"])
    out["estimated_signals"] = np.array(
        [",".join(sorted(s for s, m in estimated.items() if m[i])) for i in range(n)], dtype=object
    )
    return out


def top_causes(scores: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The highest-scoring cause of each session (``none`` when every score is 0) and its score."""
    matrix = np.column_stack([np.asarray(scores[c], dtype=float) for c in CAUSES])
    best = np.argmax(np.nan_to_num(matrix, nan=-1.0), axis=1)
    top = matrix[np.arange(len(best)), best]
    names = np.asarray(CAUSES, dtype=object)[best]
    return np.where(top > 0, names, "none"), top


def session_rows(ids: pd.DataFrame, scores: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The session table rows: ``ids`` columns, then scores, top cause, risks and metrics."""
    out = ids.reset_index(drop=True).copy()
    for cause in CAUSES:
        out[f"score_{cause}"] = np.asarray(scores[cause], dtype=float)
    top, top_score = top_causes(scores)
    out["top_cause"] = top
    out["top_score"] = top_score
    for name in ("overall_risk", "idh_risk", *TABLE_METRICS, "estimated_signals"):
        out[name] = scores[name]
    return out


#: Sessions analysed at once (modelling choice bounding memory: the fill-in simulation keeps ~110 kB per
#: session, the grid arrays a few kB per signal and session).
CHUNK_SESSIONS = 1000
#: Scenario fields copied into the session table (the prescription as analysed).
SCENARIO_COLUMNS = {
    "patient.age_years": "age_years",
    "patient.pre_weight_kg": "pre_weight_kg",
    "patient.dry_weight_kg": "dry_weight_kg",
    "prescription.uf_volume_l": "uf_volume_l",
    "prescription.duration_min": "duration_min",
    "prescription.qb_ml_min": QB_ML_MIN,
    "prescription.dialysate.na_mmol_l": "dialysate_na_setting_mmol_l",
    "prescription.dialysate.temp_c": DIALYSATE_TEMP_C,
}


def analyze_prepared(
    prep: PreparedPartition, chunk: int = CHUNK_SESSIONS, learning: list[pd.DataFrame] | None = None
) -> pd.DataFrame:
    """The session table of a prepared partition: one row per session (those not analysed keep their
    ``status`` and empty scores), ``chunk`` sessions on one grid at a time. With a ``learning`` list, the
    unit model's input table of the analysed sessions (read from the evaluation of their recorded signals,
    as :func:`crampwatch.learn.inputs.traces_table` computes it) is appended to it."""
    analysed = (prep.ids["status"] == "analysed").to_numpy()
    ids = prep.ids.loc[analysed].reset_index(drop=True)
    n = len(ids)
    cols = complete_columns(prep.cols, n)
    rec = prep.records
    end = np.asarray(cols["prescription.duration_min"], dtype=float)
    code = rec["code"].to_numpy(dtype=np.int64)
    rec = rec.loc[rec[T_MIN].to_numpy() <= end[code] + 1e-9]  # rows after the end: not the session
    rec = rec.sort_values("code", kind="stable")
    code = rec["code"].to_numpy(dtype=np.int64)
    names = [c for c in rec.columns if c in SIGNALS]
    frames = []
    for start in range(0, n, max(1, chunk)):
        stop = min(n, start + chunk)
        lo, hi = np.searchsorted(code, [start, stop])
        part = rec.iloc[lo:hi]
        grid = to_grid(
            code[lo:hi] - start,
            part[T_MIN].to_numpy(dtype=float),
            {name: part[name].to_numpy(dtype=float) for name in names},
            stop - start,
        )
        sub = take(cols, slice(start, stop))
        evaluated = evaluate_sessions(grid, sub, {k: v[start:stop] for k, v in prep.estimated.items()})
        if learning is not None:
            inputs = table_from_evaluation(evaluated.recorded)
            inputs.insert(0, "session_id", ids["session_id"].to_numpy()[start:stop])
            inputs.insert(1, "patient_id", ids["patient_id"].to_numpy()[start:stop])
            if "n_cramps" in ids:
                inputs["cramp"] = (ids["n_cramps"].to_numpy()[start:stop] > 0).astype(int)
            learning.append(inputs)
        scores = score_sessions(evaluated)
        scenario = {out: np.asarray(sub[path], dtype=float) for path, out in SCENARIO_COLUMNS.items()}
        scenario["uf_volume_l"] = uf_volume_l(sub)
        frames.append(session_rows(ids.iloc[start:stop].assign(**scenario), scores))
    frames.append(prep.ids.loc[~analysed])
    table = pd.concat([f for f in frames if len(f)], ignore_index=True) if n else prep.ids.copy()
    return table.sort_values(["patient_id", "session_date"], kind="stable").reset_index(drop=True)
