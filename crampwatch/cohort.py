"""Population runs on Dask: simulate and score many sessions, one Dask partition at a time.

A cohort is either virtual (``n_patients`` drawn by :func:`crampwatch.population.virtual_population`,
partition ``k`` with seed ``seed + k``), a list of scenarios, or a Parquet dataset of scenarios
(:func:`write_scenarios_parquet`). Each partition runs :func:`analyze_scenarios`:
``simulate_batch`` → ``score_batch`` → one row per session. The work is distributed with
``dask.dataframe.from_map`` on a ``distributed`` cluster (a 2-worker ``LocalCluster`` by default, or the
scheduler at ``scheduler=``); the result does not depend on where it ran: the same seed and partition
count give the same table as the in-process path (``scheduler="synchronous"``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crampwatch import optional
from crampwatch.causes import score_batch
from crampwatch.causes.context import Context, context_from_columns
from crampwatch.causes.registry import CAUSE_REGISTRY, CAUSES
from crampwatch.causes.thresholds import th
from crampwatch.errors import InputError
from crampwatch.io.scenario_frames import (
    frame_to_scenarios,
    scenarios_to_frame,
    write_scenarios_parquet,
)
from crampwatch.kinetics import sp_ktv_daugirdas_array
from crampwatch.model import Scenario
from crampwatch.population import virtual_population, virtual_population_columns
from crampwatch.prescription_settings import SETTING_BY_NAME, SETTINGS, table_column, table_value
from crampwatch.quantities import idh_array, post_weight_kg_array, uf_rate_ml_kg_h_array
from crampwatch.scenario_table import Columns, complete_columns, scenario_columns, take, uf_volume_l
from crampwatch.series import first_valid, row_min
from crampwatch.signals import ICA_MMOL_L, MG_MMOL_L, SBP_MMHG, UREA_MMOL_L
from crampwatch.simulator import simulate_batch
from crampwatch.simulator.columns import simulate_columns
from crampwatch.units import BUN_MG_DL_PER_UREA_MMOL_L

#: Cause identifiers of docs/formats.md, in the order of the score columns.
CAUSE_IDS = CAUSES

#: Schedulers that run in this process without a cluster (dask's local schedulers).
LOCAL_SCHEDULERS = ("synchronous", "sync", "threads", "processes")

#: Sessions simulated at once inside a partition (modelling choice). The simulator keeps ~110 kB per
#: 270-min session (26 signals + 26 states x 271 steps x 8 B), so 1000 sessions need ~110 MB per worker.
DEFAULT_CHUNK = 1000

#: KDOQI 2015 minimum spKt/V per session; UF rate > 13 mL/kg/h (Flythe, Kidney Int 2011;79:250).
MIN_SP_KTV = th("sp_ktv_min")
HIGH_UF_RATE_ML_KG_H = th("ufr_13_ml_kg_h")
#: Risk above which a session counts as "high risk" in the summary (modelling choice).
HIGH_RISK = 0.5

UF_PROFILE = SETTING_BY_NAME["uf_profile"]

#: Seconds to wait for an existing scheduler given by address.
CONNECT_TIMEOUT_S = 10


# ------------------------------------------------------------------------------------------ one partition


def _patient_columns(cols: Columns, ctx: Context) -> dict[str, Any]:
    """Patient and prescription features of each session (the context of the scores)."""
    out: dict[str, Any] = {
        "patient_id": np.asarray(cols["patient.id"], dtype=object),
        "sex": np.asarray(cols["patient.sex"], dtype=object),
        "age_years": np.asarray(cols["patient.age_years"], dtype=float),
        "height_cm": np.asarray(cols["patient.height_cm"], dtype=float),
        "pre_weight_kg": ctx.pre_weight_kg,
        "dry_weight_kg": ctx.dry_weight_kg,
        "idwg_kg": ctx.idwg_kg,
        "vintage_months": ctx.vintage_months,
        "diabetes": ctx.diabetes,
        "neuropathy": ctx.neuropathy,
    }
    for lab in ("na_mmol_l", "k_mmol_l", "bun_mg_dl", ICA_MMOL_L, "albumin_g_dl", MG_MMOL_L):
        out[f"lab_{lab}"] = ctx.labs[lab]
    for setting in SETTINGS:  # the prescription-setting registry names the columns
        if setting.kind != "na_profile":
            out[setting.name] = table_column(setting, cols)
    return out


def _sp_ktv_from_urea(urea: np.ndarray | None, cols: Columns) -> np.ndarray:
    """spKt/V (Daugirdas II, :func:`crampwatch.kinetics.sp_ktv_daugirdas`) from the first and last simulated
    plasma urea of each session; NaN where the formula does not apply (no urea, post > pre)."""
    n = len(cols["patient.pre_weight_kg"])
    out = np.full(n, np.nan)
    if urea is None:
        return out
    valid = np.isfinite(urea)
    last = urea.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)  # signals are NaN after a session ends
    pre = urea[:, 0] * BUN_MG_DL_PER_UREA_MMOL_L
    post = urea[np.arange(n), last] * BUN_MG_DL_PER_UREA_MMOL_L
    hours = np.asarray(cols["prescription.duration_min"], dtype=float) / 60.0
    uf = uf_volume_l(cols)
    post_w = post_weight_kg_array(cols["patient.pre_weight_kg"], uf)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = post / pre
        ok = (pre > 0) & (post > 0) & (r <= 1)
        out[ok] = sp_ktv_daugirdas_array(r[ok], hours[ok], uf[ok], post_w[ok])
    return out


def analyze_columns(cols: Columns, *, chunk: int = DEFAULT_CHUNK) -> pd.DataFrame:
    """Simulate and score the sessions of a scenario table (:mod:`crampwatch.scenario_table`): one row per
    session (features, cause scores, top cause, risks); ``chunk`` sessions at a time, the result does not
    depend on ``chunk``."""

    n = len(cols["patient.pre_weight_kg"])
    if n == 0:
        raise InputError("cohort: no sessions to analyze (allowed ≥ 1)", "n_patients")
    full = complete_columns(cols, n)
    frames = []
    for start in range(0, n, max(1, chunk)):
        part = take(full, slice(start, start + chunk))
        batch = simulate_columns(part)
        ctx = context_from_columns(part)
        scores = score_batch(batch.t_min, batch.signals, ctx)
        frames.append(_rows(part, ctx, batch.t_min, batch.signals, scores))
    return pd.concat(frames, ignore_index=True)


def analyze_scenarios(scenarios: Sequence[Scenario], *, chunk: int = DEFAULT_CHUNK) -> pd.DataFrame:
    """Simulate and score ``scenarios``: one row per session (features, cause scores, top cause, risks).

    Sessions are processed ``chunk`` at a time; the result does not depend on ``chunk``. Scenarios with UF
    or dialysate Na profiles are simulated one object each; the others as a scenario table.
    """

    if not scenarios:
        raise InputError("cohort: no sessions to analyze (allowed ≥ 1)", "n_patients")
    if not any(_profiled(s) for s in scenarios):
        return analyze_columns(scenario_columns(scenarios), chunk=chunk)
    frames = []
    for start in range(0, len(scenarios), max(1, chunk)):
        part = list(scenarios[start : start + chunk])
        cols = complete_columns(scenario_columns(part), len(part))
        ctx = context_from_columns(cols)
        batch = simulate_batch(part)
        table = _rows(cols, ctx, batch.t_min, batch.signals, score_batch(batch.t_min, batch.signals, ctx))
        table["uf_profile"] = [table_value(UF_PROFILE, s) for s in part]
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def _profiled(s: Scenario) -> bool:
    rx = s.prescription
    return rx.uf_profile != "constant" or rx.dialysate.na_profile is not None


def _rows(
    cols: Columns, ctx: Context, t_min: np.ndarray, signals: dict[str, np.ndarray], scores: dict[str, Any]
) -> pd.DataFrame:
    n = ctx.n
    out: dict[str, Any] = _patient_columns(cols, ctx)
    cause_ids = [c for c in CAUSE_IDS if c in scores]
    matrix = np.column_stack([np.asarray(scores[c], dtype=float) for c in cause_ids])
    for j, cause in enumerate(cause_ids):
        out[f"score_{cause}"] = matrix[:, j]
    best = np.argmax(np.nan_to_num(matrix, nan=-1.0), axis=1)
    top = matrix[np.arange(n), best]
    # "none": no mechanism has any evidence (every score is 0).
    out["top_cause"] = np.where(top > 0, np.asarray(cause_ids, dtype=object)[best], "none")
    out["top_score"] = top
    for key, value in scores.items():
        if key in cause_ids or key in out:
            continue
        arr = np.asarray(value)
        if arr.shape == (n,) and arr.dtype.kind in "fiub":
            out[key] = arr.astype(float)
    uf = uf_volume_l(cols)
    duration = np.asarray(cols["prescription.duration_min"], dtype=float)
    post_w = post_weight_kg_array(ctx.pre_weight_kg, uf)
    out.setdefault("uf_rate_ml_kg_h", uf_rate_ml_kg_h_array(uf, duration, post_w))
    out.setdefault("sp_ktv", _sp_ktv_from_urea(signals.get(UREA_MMOL_L), cols))
    sbp = signals.get(SBP_MMHG)
    if sbp is not None:  # the session met the IDH definition (nadir SBP below it; NaN without SBP)
        pre, _ = first_valid(sbp, t_min)
        nadir, _ = row_min(sbp, t_min)
        out["idh"] = np.where(np.isnan(nadir), np.nan, idh_array(pre, nadir).astype(float))
    for name in ("overall_risk", "idh_risk"):
        if name not in out:
            raise InputError(f"score_batch: result lacks {name!r}", name)
    return pd.DataFrame(out)


def virtual_partition(n: int, seed: int, partition: int, chunk: int = DEFAULT_CHUNK) -> pd.DataFrame:
    """Rows of one virtual partition: ``n`` patients drawn with ``seed`` (the cohort's seed + partition)."""

    df = analyze_columns(virtual_population_columns(n, seed=seed), chunk=chunk)
    return _label(df, partition)


def scenario_partition(
    scenarios: Sequence[Scenario], partition: int, chunk: int = DEFAULT_CHUNK
) -> pd.DataFrame:
    """Rows of one partition of given scenarios."""
    return _label(analyze_scenarios(scenarios, chunk=chunk), partition)


def parquet_partition(frame: pd.DataFrame, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """Rows of one partition of a scenario Parquet dataset (see :func:`write_scenarios_parquet`)."""
    k = int(partition_info["number"]) if partition_info else 0
    return _label(analyze_scenarios(frame_to_scenarios(frame)), k)


def _label(df: pd.DataFrame, partition: int) -> pd.DataFrame:
    df.insert(0, "session", [f"{partition}-{i}" for i in range(len(df))])
    df.insert(1, "partition", np.full(len(df), partition, dtype=np.int64))
    return df


# --------------------------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class CohortRun:
    """How a :func:`run_cohort` table was made; found in ``df.attrs["cohort_run"]``."""

    sessions: int
    seconds: float
    scheduler: str

    @property
    def sessions_per_s(self) -> float:
        return self.sessions / self.seconds if self.seconds > 0 else math.nan


def split_sizes(n: int, partitions: int) -> list[int]:
    """``n`` split into ``partitions`` near-equal positive parts (fewer parts when ``n < partitions``)."""
    parts = max(1, min(partitions, n))
    base, extra = divmod(n, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


@contextmanager
def dask_scheduler(
    scheduler: str | None, workers: int = 2, memory_limit: str | None = None
) -> Iterator[tuple[Any, str]]:
    """Yield the ``scheduler=`` argument for ``compute`` (a ``distributed.Client`` or the name of a local
    scheduler) and a description; close what was started. ``None`` starts a ``LocalCluster`` of
    ``workers`` single-threaded worker processes (``memory_limit`` each, e.g. ``"2GiB"``)."""
    if scheduler in LOCAL_SCHEDULERS:
        yield ("synchronous" if scheduler == "sync" else scheduler), str(scheduler)
        return
    with optional.extra_imports():
        from distributed import Client, LocalCluster
    if scheduler is None:
        # Processes (not threads): the integrator is numpy-bound Python and would contend for the GIL.
        cluster = LocalCluster(
            n_workers=workers,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
            silence_logs=40,
            memory_limit=memory_limit or "auto",
        )
        client = Client(cluster)
        try:
            yield client, f"LocalCluster({workers} workers x 1 thread)"
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"scheduler: cannot connect to {scheduler!r} ({type(exc).__name__})", "scheduler"
        ) from None
    try:
        yield client, f"cluster at {scheduler}"
    finally:
        client.close()


def _build(
    n_patients: int | None,
    seed: int,
    scenarios: Sequence[Scenario] | None,
    partitions: int,
    parquet_in: str | None,
    meta: pd.DataFrame,
) -> Any:
    with optional.extra_imports():
        import dask.dataframe as dd

    if parquet_in is not None:
        if not Path(parquet_in).exists():
            raise InputError(f"parquet_in: {parquet_in!r} does not exist", "parquet_in")
        source = dd.read_parquet(parquet_in)
        return source.map_partitions(parquet_partition, meta=meta, enforce_metadata=False)
    if scenarios is not None:
        sizes = split_sizes(len(scenarios), partitions)
        bounds = np.cumsum([0, *sizes])
        chunks = [list(scenarios[bounds[k] : bounds[k + 1]]) for k in range(len(sizes))]
        return dd.from_map(
            scenario_partition, chunks, list(range(len(chunks))), meta=meta, enforce_metadata=False
        )
    assert n_patients is not None
    sizes = split_sizes(n_patients, partitions)
    seeds = [seed + k for k in range(len(sizes))]
    return dd.from_map(
        virtual_partition, sizes, seeds, list(range(len(sizes))), meta=meta, enforce_metadata=False
    )


def _meta(scenarios: Sequence[Scenario] | None) -> pd.DataFrame:
    """Empty frame with the result's columns and dtypes (from a one-session in-process run)."""
    sample = [scenarios[0]] if scenarios else list(virtual_population(1, seed=0))
    return _label(analyze_scenarios(sample), 0).iloc[:0]


def run_cohort(
    n_patients: int | None = None,
    *,
    seed: int = 0,
    scenarios: Sequence[Scenario] | None = None,
    partitions: int = 8,
    scheduler: str | None = None,
    parquet_in: str | None = None,
    out: str | None = None,
) -> pd.DataFrame:
    """Simulate and score a cohort on Dask; one row per session.

    Exactly one source: ``n_patients`` virtual patients, ``scenarios``, or ``parquet_in`` (a Parquet
    dataset written by :func:`write_scenarios_parquet`, one Dask partition per file). ``scheduler``:
    ``None`` starts a 2-worker ``LocalCluster`` (processes, 1 thread each); an address (``tcp://...``)
    uses that cluster; ``"synchronous"``/``"threads"``/``"processes"`` use dask's local schedulers.
    ``out``: also write the rows as a partitioned Parquet dataset in that folder. The timing of the run
    is in ``df.attrs["cohort_run"]`` (:class:`CohortRun`).
    """
    given = sum(x is not None for x in (n_patients, scenarios, parquet_in))
    if given != 1:
        raise InputError("cohort: give exactly one of n_patients, scenarios, parquet_in", "n_patients")
    if n_patients is not None and not 1 <= n_patients <= 100_000_000:
        raise InputError(f"n_patients: {n_patients} is out of range (allowed 1–100000000)", "n_patients")
    if scenarios is not None and len(scenarios) == 0:
        raise InputError("scenarios: empty (allowed ≥ 1 scenario)", "scenarios")
    if not 1 <= partitions <= 100_000:
        raise InputError(f"partitions: {partitions} is out of range (allowed 1–100000)", "partitions")

    t0 = time.perf_counter()
    with dask_scheduler(scheduler) as (sched, label):
        ddf = _build(n_patients, seed, scenarios, partitions, parquet_in, _meta(scenarios))
        if out is not None:
            # One graph: the partitions are computed once, written to Parquet and gathered.
            write = ddf.to_parquet(out, write_index=False, compute=False, overwrite=True)
            with optional.extra_imports():
                import dask
            df, _ = dask.compute(ddf, write, scheduler=sched)
        else:
            df = ddf.compute(scheduler=sched)
    df = _plain_strings(df.reset_index(drop=True))
    df.attrs["cohort_run"] = CohortRun(len(df), time.perf_counter() - t0, label)
    return df


def _plain_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns in pandas' default string dtype (dask hands back its own Arrow string dtype)."""
    for name in df.columns:
        if isinstance(df[name].dtype, pd.StringDtype):
            df[name] = df[name].astype(str)
    return df


# ------------------------------------------------------------------------------------------- summaries


def summarize_cohort(df: pd.DataFrame) -> pd.DataFrame:
    """Cohort summary with columns ``group, metric, value``.

    Groups: ``sessions`` (count), ``top_cause`` (% of sessions whose highest-scoring cause it is; ``none``
    when no cause scores above 0), ``mean_score`` (mean score of each cause), ``overall_risk`` (mean and
    percentiles, % above 0.5), ``idh`` (% of sessions whose simulated or recorded SBP meets the IDH
    definition, :func:`crampwatch.quantities.idh_array`, where SBP is known; mean ``idh_risk`` in %, and %
    with ``idh_risk`` > 0.5),
    ``dose`` (% UF rate > 13 mL/kg/h, % spKt/V < 1.2, medians).
    """
    needed = {"top_cause", "overall_risk", "idh_risk"}
    missing = needed - set(df.columns)
    if missing:
        raise InputError(f"cohort table: missing column(s) {', '.join(sorted(missing))}", sorted(missing)[0])
    n = len(df)
    rows: list[tuple[str, str, float]] = [("sessions", "n", float(n))]
    if n == 0:
        return pd.DataFrame(rows, columns=["group", "metric", "value"])
    share = df["top_cause"].value_counts(normalize=True)
    for cause in [c for c in CAUSE_IDS if c in share.index] + [c for c in share.index if c not in CAUSE_IDS]:
        rows.append(("top_cause", f"{cause}_pct", 100.0 * float(share[cause])))
    for cause in CAUSE_IDS:
        if f"score_{cause}" in df.columns:
            rows.append(("mean_score", cause, float(df[f"score_{cause}"].astype(float).mean())))
    risk = df["overall_risk"].astype(float)
    rows.append(("overall_risk", "mean", float(risk.mean())))
    for q in (10, 25, 50, 75, 90):
        rows.append(("overall_risk", f"p{q}", float(risk.quantile(q / 100))))
    rows.append(("overall_risk", f"gt_{HIGH_RISK:g}_pct", 100.0 * float((risk > HIGH_RISK).mean())))
    idh = df["idh_risk"].astype(float)
    if "idh" in df.columns and df["idh"].notna().any():
        rows.append(("idh", "sessions_pct", 100.0 * float(df["idh"].astype(float).dropna().mean())))
    rows.append(("idh", "mean_risk_pct", 100.0 * float(idh.mean())))
    rows.append(("idh", f"risk_gt_{HIGH_RISK:g}_pct", 100.0 * float((idh > HIGH_RISK).mean())))
    if "uf_rate_ml_kg_h" in df.columns:
        ufr = df["uf_rate_ml_kg_h"].astype(float)
        rows.append(("dose", "uf_rate_median_ml_kg_h", float(ufr.median())))
        rows.append(
            (
                "dose",
                f"uf_rate_gt_{HIGH_UF_RATE_ML_KG_H:g}_pct",
                100.0 * float((ufr > HIGH_UF_RATE_ML_KG_H).mean()),
            )
        )
    if "sp_ktv" in df.columns and df["sp_ktv"].notna().any():
        ktv = df["sp_ktv"].astype(float)
        rows.append(("dose", "sp_ktv_median", float(ktv.median())))
        rows.append(("dose", f"sp_ktv_lt_{MIN_SP_KTV:g}_pct", 100.0 * float((ktv < MIN_SP_KTV).mean())))
    return pd.DataFrame(rows, columns=["group", "metric", "value"])


#: The clinical words of each summary group (the table's section headings).
GROUP_LABELS = {
    "sessions": "Sessions",
    "top_cause": "Leading cause, % of sessions",
    "mean_score": "Mean cause score (0–1)",
    "overall_risk": "Cramp risk (0–1)",
    "idh": "Intradialytic hypotension",
    "dose": "UF rate and dose",
}


def metric_label(group: str, metric: str) -> str:
    """A summary row (``group``, ``metric``) in clinical words ("hypovolemia_pct" -> "Hypovolemia",
    "gt_0.5_pct" -> "% of sessions above 0.5"); the JSON output keeps the identifiers."""
    if group in ("top_cause", "mean_score"):
        cause = metric.removesuffix("_pct")
        return CAUSE_REGISTRY[cause].label if cause in CAUSE_REGISTRY else cause.replace("_", " ")
    fixed = {
        "n": "number",
        "mean": "mean",
        f"gt_{HIGH_RISK:g}_pct": f"% of sessions above {HIGH_RISK:g}",
        "sessions_pct": "% of sessions with nadir SBP below the IDH definition",
        "mean_risk_pct": "mean predicted IDH risk, %",
        f"risk_gt_{HIGH_RISK:g}_pct": f"% of sessions with a risk above {HIGH_RISK:g}",
        "uf_rate_median_ml_kg_h": "median UF rate, mL/kg/h",
        f"uf_rate_gt_{HIGH_UF_RATE_ML_KG_H:g}_pct": (
            f"% of sessions with UF rate above {HIGH_UF_RATE_ML_KG_H:g} mL/kg/h"
        ),
        "sp_ktv_median": "median spKt/V",
        f"sp_ktv_lt_{MIN_SP_KTV:g}_pct": f"% of sessions with spKt/V below {MIN_SP_KTV:g}",
    }
    if metric in fixed:
        return fixed[metric]
    if metric.startswith("p") and metric[1:].isdigit():
        return f"{metric[1:]}th percentile"
    return metric.replace("_", " ")


def summary_to_dict(summary: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{group: {metric: value}}`` for JSON output."""
    out: dict[str, dict[str, float]] = {}
    for group, metric, value in summary.itertuples(index=False, name=None):
        out.setdefault(group, {})[metric] = value
    return out


__all__ = [
    "CAUSE_IDS",
    "CohortRun",
    "analyze_columns",
    "analyze_scenarios",
    "dask_scheduler",
    "frame_to_scenarios",
    "run_cohort",
    "scenarios_to_frame",
    "split_sizes",
    "summarize_cohort",
    "summary_to_dict",
    "write_scenarios_parquet",
]
