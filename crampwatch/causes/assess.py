"""``assess``: rank the cramp mechanisms of one session into an :class:`Assessment`.

Missing signals are reported; with ``fill_missing`` the simulator (``crampwatch.simulator``) fills the
signals the findings use, flagged ``estimated``, and the confidence of findings that rely on them drops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from crampwatch import simulator
from crampwatch.causes.common import SessionInput
from crampwatch.causes.context import build_context
from crampwatch.causes.features import KEY_SIGNALS
from crampwatch.causes.findings import Assessment, Evidence, Finding
from crampwatch.causes.ids import DISEQUILIBRIUM, UNDERDIALYSIS
from crampwatch.causes.personal import PersonalModel
from crampwatch.causes.registry import CAUSE_SPECS
from crampwatch.causes.scoring import Evaluation, evaluate, overall_risk
from crampwatch.errors import InputError
from crampwatch.kinetics import ekt_v_rate, sp_ktv_daugirdas
from crampwatch.model import EVENT_KINDS, Scenario
from crampwatch.signals import (
    BRAIN_UREA_MMOL_L,
    DIALYSATE_NA_MMOL_L,
    HCO3_MMOL_L,
    ICA_MMOL_L,
    MG_MMOL_L,
    OSM_MOSM_KG,
    PLASMA_NA_MMOL_L,
    RBV_PCT,
    SBP_MMHG,
    T_MIN,
    UF_CUM_L,
    UF_RATE_ML_H,
    UREA_MMOL_L,
)
from crampwatch.trace import Trace, empty_events

#: Signals read together with plasma urea (effective osmolality = osm - urea; brain-plasma urea gradient):
#: not estimated when urea itself is recorded.
PAIRED_WITH_UREA = (OSM_MOSM_KG, BRAIN_UREA_MMOL_L)
#: Signals whose absence is reported (the core clinical set; the others are model-only).
REPORTED_SIGNALS: tuple[str, ...] = (
    RBV_PCT,
    SBP_MMHG,
    UF_CUM_L,
    PLASMA_NA_MMOL_L,
    ICA_MMOL_L,
    MG_MMOL_L,
    HCO3_MMOL_L,
    UREA_MMOL_L,
)
#: A record with fewer rows is analysed on the union of its times and the simulated grid (modelling choice).
SPARSE_RECORD_ROWS = 10
#: Weight of a score computed with simulator-estimated signals against the score without them (modelling
#: choice: estimated signals count, but less than recorded ones).
ESTIMATED_WEIGHT = 0.6
#: Minutes after the end of dialysis from which a urea sample counts as equilibrated: the rebound is mostly
#: complete by 30 min and finished by ~60 (Tattersall JE et al. Kidney Int 1996;50:2094; Daugirdas JT &
#: Schneditz D, ASAIO J 1995;41:M719 validated the rate equation against 30-60 min samples).
EQUILIBRATED_AFTER_MIN = 30.0


def _normalise_events(events: Any, trace: Trace) -> pd.DataFrame:
    if events is None:
        return trace.events if trace.events is not None else empty_events()
    if isinstance(events, pd.DataFrame):
        df = events
    else:
        rows = [e.model_dump() if hasattr(e, "model_dump") else dict(e) for e in events]
        df = pd.DataFrame(rows) if rows else empty_events()
    if T_MIN not in df.columns or "kind" not in df.columns:
        raise InputError("events: need columns t_min and kind", "events")
    bad = ~df["kind"].isin(EVENT_KINDS)
    if bad.any():
        raise InputError(
            f"events.kind: {df.loc[bad, 'kind'].iloc[0]!r} is not one of {', '.join(EVENT_KINDS)}",
            "events.kind",
        )
    return df


def _simulate(scenario: Scenario) -> Trace | None:
    result = simulator.simulate(scenario)  # looked up on each call: the simulator can be swapped
    return result if isinstance(result, Trace) else None


def _fill(
    trace: Trace, scenario: Scenario, status: dict[str, str], notes: list[str]
) -> tuple[np.ndarray, dict]:
    """Time grid and signal rows, with missing key signals filled from the simulator (``estimated``)."""
    data = trace.data
    t = data[T_MIN].to_numpy(dtype=float)
    sig = {name: data[name].to_numpy(dtype=float) for name in trace.signals}
    missing = [s for s in KEY_SIGNALS if status.get(s, "missing") == "missing"]
    if not missing:
        return t, sig
    try:
        sim = _simulate(scenario)
    except Exception as exc:  # the simulator may reject an unusual scenario; say so and go on
        notes.append(f"simulator fill-in failed ({type(exc).__name__}: {exc}); missing signals left empty")
        return t, sig
    if sim is None:
        notes.append("simulator not available: missing signals were not estimated")
        return t, sig
    ts = sim.t_min
    if (
        len(t) < SPARSE_RECORD_ROWS
    ):  # too sparse a record: analyse on the union of recorded and simulated times
        grid = np.union1d(t, ts)
        sig = {k: _place(t, v, grid) for k, v in sig.items()}
        t = grid
    urea_recorded = status.get(UREA_MMOL_L, "missing") != "missing"
    for name in missing:
        if urea_recorded and name in PAIRED_WITH_UREA:
            continue  # a simulated value minus a recorded urea would mix two sources
        values = sim.signal(name)
        if values is None:
            continue
        ok = ~np.isnan(values)
        if ok.sum() < 2:
            continue
        sig[name] = np.interp(t, ts[ok], values[ok], left=np.nan, right=np.nan)
        status[name] = "estimated"
    return t, sig


def filled_trace(trace: Trace, scenario: Scenario) -> tuple[Trace, list[str]]:
    """``trace`` with the missing key signals estimated by the simulator (``estimated``), and notes."""
    status = {name: trace.sources.get(name, "measured") for name in trace.signals}
    notes: list[str] = []
    t, sig = _fill(trace, scenario, status, notes)
    data = pd.DataFrame({T_MIN: t, **sig})
    sources = {k: v for k, v in status.items() if k in sig}
    return Trace(data, trace.events, sources, trace.session_id), notes


def _place(t: np.ndarray, v: np.ndarray, grid: np.ndarray) -> np.ndarray:
    out = np.full(grid.shape, np.nan)
    out[np.searchsorted(grid, t)] = v
    return out


def _history_sp_ktv(history: Sequence[Any] | None) -> list[float]:
    values: list[float] = []
    for item in history or []:
        metrics = (
            item.metrics
            if isinstance(item, Assessment)
            else (item.get("metrics", item) if isinstance(item, dict) else None)
        )
        if metrics is None:
            continue
        value = metrics.get("sp_ktv")
        if value is not None and math.isfinite(float(value)) and not metrics.get("sp_ktv_estimated", False):
            values.append(float(value))
    return values


@dataclass(frozen=True)
class Assessed:
    """An :class:`Assessment` and the analyzer's evaluation of the session's recorded signals (its one
    feature pass over them: the rows of the session, without the signals a reader or the simulator
    estimated). The unit model reads its inputs from ``recorded``
    (:func:`crampwatch.learn.inputs.table_from_evaluation`), so applying it computes no features again.
    ``recorded`` is ``None`` when a patient twin personalised the session: the analyzer's context is then
    the twin's, not the recorded session's the unit model was trained on."""

    assessment: Assessment
    recorded: Evaluation | None


def session_rows(trace: Trace, scenario: Scenario) -> tuple[Trace, float | None, list[str]]:
    """The rows the analyzer reads: sorted by ``t_min`` (rows without one left out) and up to the end of
    dialysis; the equilibrated urea of the rows after the end (:func:`_post_dialysis`); and notes on what
    was changed."""
    data = trace.data
    t_raw = pd.to_numeric(data[T_MIN], errors="coerce")
    if t_raw.isna().any() or not t_raw.is_monotonic_increasing:
        bad = int(t_raw.isna().sum())
        data = data.loc[t_raw.notna()].assign(t_min=t_raw[t_raw.notna()]).sort_values(T_MIN, kind="stable")
        trace = Trace(data.reset_index(drop=True), trace.events, dict(trace.sources), trace.session_id)
        unsorted_note = "rows sorted by t_min" + (f"; {bad} rows without t_min ignored" if bad else "")
    else:
        unsorted_note = ""
    notes: list[str] = [unsorted_note] if unsorted_note else []
    trace, urea_eq = _post_dialysis(trace, scenario, notes)
    return trace, urea_eq, notes


def recorded_trace(trace: Trace, scenario: Scenario) -> Trace:
    """The session's recorded signals as the analyzer reads them (:func:`session_rows`), without the signals
    a reader estimated: what :class:`Assessed` ``.recorded`` evaluates, for sessions analysed in a batch."""
    rows, _, _ = session_rows(trace, scenario)
    drop = [c for c in rows.data.columns if rows.sources.get(c) == "estimated"]
    if not drop:
        return rows
    sources = {k: v for k, v in rows.sources.items() if k not in drop}
    return Trace(rows.data.drop(columns=drop), rows.events, sources, rows.session_id)


def assess(
    trace: Trace,
    scenario: Scenario,
    *,
    events: pd.DataFrame | Sequence[Any] | None = None,
    history: Sequence[Any] | None = None,
    fill_missing: bool = True,
    twin: PersonalModel | None = None,
) -> Assessment:
    """Ranked cramp mechanisms of one session.

    ``events`` replaces the trace's events (DataFrame or list of :class:`crampwatch.model.Event`);
    ``history`` holds previous Assessments (or their dicts) of the same patient, used for recurrent
    underdialysis; ``fill_missing`` lets the simulator estimate missing signals (flagged ``estimated``).
    ``twin`` (a :class:`~crampwatch.causes.personal.PersonalModel`, e.g. a
    :class:`crampwatch.twin.PatientTwin`) puts the patient's fitted physiology and personal
    thresholds in place of the population patient; each finding then cites the twin values it used.
    """
    return assess_session(
        trace, scenario, events=events, history=history, fill_missing=fill_missing, twin=twin
    ).assessment


def assess_session(
    trace: Trace,
    scenario: Scenario,
    *,
    events: pd.DataFrame | Sequence[Any] | None = None,
    history: Sequence[Any] | None = None,
    fill_missing: bool = True,
    twin: PersonalModel | None = None,
) -> Assessed:
    """:func:`assess` (same arguments), with the evaluation of the session's recorded signals that the
    analysis computed on the way (:class:`Assessed`)."""
    if not isinstance(trace, Trace):
        raise InputError("trace: expected a crampwatch.trace.Trace", "trace")
    if twin is not None:
        scenario = twin.personalize(scenario)
    ev_df = _normalise_events(events, trace)
    trace, urea_eq, notes = session_rows(trace, scenario)
    status = {name: trace.sources.get(name, "measured") for name in trace.signals}
    if trace.data.empty:
        notes.append("the trace has no rows: every signal is missing")
    if fill_missing:
        t, sig = _fill(trace, scenario, status, notes)
    else:
        t = trace.data[T_MIN].to_numpy(dtype=float)
        sig = {name: trace.data[name].to_numpy(dtype=float) for name in trace.signals}
    ctx = build_context([scenario])
    common = {
        "history_sp_ktv": _history_sp_ktv(history),
    }
    findings, E, si = _findings(t, sig, ctx, scenario, status, ev_df, common)
    recorded = E
    if any(v == "estimated" for v in status.values()):
        # estimated signals are weaker evidence than recorded ones: blend with the score obtained without them
        bare = {k: v for k, v in sig.items() if status.get(k) != "estimated"}
        bare_findings, recorded, _ = _findings(t, bare, ctx, scenario, status, ev_df, common)
        bare_score = {f.cause: f.score for f in bare_findings}
        findings = [
            replace(f, score=ESTIMATED_WEIGHT * f.score + (1.0 - ESTIMATED_WEIGHT) * bare_score[f.cause])
            for f in findings
        ]
    if twin is not None:
        findings = [
            replace(f, evidence=[*f.evidence, *(Evidence(**e) for e in twin.evidence(f.cause))])
            for f in findings
        ]
    scores = {f.cause: np.array([f.score]) for f in findings}
    risk = float(overall_risk(scores)[0])
    metrics = _metrics(E, si)
    metrics.update(_equilibrated_dose(metrics, si, scenario, urea_eq))
    missing = [s for s in REPORTED_SIGNALS if status.get(s, "missing") == "missing"]
    estimated = sorted(s for s, v in status.items() if v == "estimated")
    assessment = Assessment(
        session_id=str(trace.session_id or scenario.patient.id),
        overall_risk=risk,
        causes=findings,
        metrics=metrics,
        missing_signals=missing,
        estimated_signals=estimated,
        data_quality=notes,
        idh_risk=float(E.scores["idh_risk"][0]),
        risk_kind=_risk_kind(status, ev_df, history),
    )
    return Assessed(assessment, None if twin is not None else recorded)


def _post_dialysis(trace: Trace, scenario: Scenario, notes: list[str]) -> tuple[Trace, float | None]:
    """The trace up to the end of dialysis, and the equilibrated urea (mmol/L): the first urea at least
    :data:`EQUILIBRATED_AFTER_MIN` after the end, from rows past the prescription's duration (the
    post-dialysis phase of a simulated or recorded trace). ``None`` when there is no such sample."""
    end = float(scenario.prescription.duration_min)
    t = trace.data[T_MIN].to_numpy(dtype=float)
    after = t > end + 1e-9
    if not after.any():
        return trace, None
    notes.append(f"{int(after.sum())} rows after the end of dialysis used for the equilibrated urea only")
    urea_eq = None
    if UREA_MMOL_L in trace.data.columns:
        u = trace.data[UREA_MMOL_L].to_numpy(dtype=float)
        ok = (t >= end + EQUILIBRATED_AFTER_MIN - 1e-9) & np.isfinite(u)
        urea_eq = float(u[ok][0]) if ok.any() else None
    session = trace.data.loc[~after].reset_index(drop=True)
    return Trace(session, trace.events, dict(trace.sources), trace.session_id), urea_eq


def _equilibrated_dose(
    metrics: dict[str, Any], si: SessionInput, scenario: Scenario, urea_eq: float | None
) -> dict[str, float | None]:
    """eKt/V by the Daugirdas rate equation from the session's spKt/V, and, with a post-dialysis urea
    sample, eKt/V from the equilibrated urea (Daugirdas II with the equilibrated instead of the immediate
    post-dialysis urea, the session's time and UF)."""
    hours = float(scenario.prescription.duration_min) / 60.0
    sp = metrics.get("sp_ktv")
    rate = (
        float(ekt_v_rate(sp, hours, scenario.patient.access))
        if sp is not None and math.isfinite(sp)
        else None
    )
    equilibrated = None
    pre = si.f("urea_pre_mmol_l")
    if urea_eq is not None and math.isfinite(pre) and pre > 0 and urea_eq > 0:
        try:  # ratio of urea concentrations: the same in mmol/L as in mg/dL BUN
            value = sp_ktv_daugirdas(pre, urea_eq, hours, metrics["uf_total_l"], metrics["post_weight_kg"])
            equilibrated = float(value) if math.isfinite(float(value)) else None
        except InputError:  # an equilibrated urea above the pre-dialysis value, or no weight/UF
            equilibrated = None
    return {"ekt_v_rate": rate, "ekt_v_equilibrated": equilibrated}


def _risk_kind(status: dict[str, str], events: pd.DataFrame, history: Sequence[Any] | None) -> str:
    """``"predicted"`` for a wholly simulated session without events or history, else ``"session"``."""
    simulated = bool(status) and all(v == "simulated" for v in status.values())
    return "predicted" if simulated and events.empty and not history else "session"


def _findings(
    t: np.ndarray,
    sig: dict[str, np.ndarray],
    ctx: Any,
    scenario: Scenario,
    status: dict[str, str],
    ev_df: pd.DataFrame,
    common: dict[str, Any],
) -> tuple[list[Finding], Evaluation, SessionInput]:
    """The eight findings of one session from its signals."""
    E = evaluate(t, {k: v[None, :] for k, v in sig.items()}, ctx)
    si = SessionInput(
        i=0,
        features=E.features,
        ctx=ctx,
        parts={},
        scores=E.scores,
        scenario=scenario,
        signal_status=status,
        events=ev_df,
        extra=common,
    )
    findings = [spec.finding(replace(si, parts=E.parts.get(spec.id, {}))) for spec in CAUSE_SPECS]
    return findings, E, si


#: The Assessment's ``metrics`` in JSON order (the cramp count follows), each a registered quantity
#: (:mod:`crampwatch.quantities`); all but those in :func:`metric_arrays`' table are the features' own.
METRICS: tuple[str, ...] = (
    "uf_rate_ml_kg_h",
    UF_RATE_ML_H,
    "uf_total_l",
    "post_weight_kg",
    "idwg_kg",
    "sp_ktv",
    "sp_ktv_estimated",
    "urr_pct",
    "urr_estimated",
    "std_ktv",
    "na_gradient_mmol_l",
    DIALYSATE_NA_MMOL_L,
    "plasma_na_fall_mmol_l",
    "effective_osm_fall_mosm_kg",
    "rbv_min_pct",
    "rbv_slope_pct_h",
    "refill_fraction",
    "sbp_pre_mmhg",
    "sbp_nadir_mmhg",
    "ica_min_mmol_l",
    "mg_min_mmol_l",
    "hco3_max_mmol_l",
    "idh_risk",
)


def metric_arrays(E: Evaluation) -> dict[str, np.ndarray]:
    """The Assessment's ``metrics`` of every session of an evaluated batch (one array each; the cramp
    count, which comes from the events, is added by :func:`assess`)."""
    under = E.parts[UNDERDIALYSIS]
    not_features = {
        "idwg_kg": E.ctx.idwg_kg,
        "sp_ktv": under["sp_ktv"],
        "sp_ktv_estimated": ~np.asarray(under["measured"], dtype=bool),
        "urr_pct": E.parts[DISEQUILIBRIUM]["urr_used"],
        "urr_estimated": ~np.isfinite(E.features["urr_pct"]),
        "std_ktv": under["std_ktv"],
        "idh_risk": E.scores["idh_risk"],
    }
    return {name: not_features[name] if name in not_features else E.features[name] for name in METRICS}


def _metrics(E: Evaluation, si: SessionInput) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: (bool(v[si.i]) if v.dtype == bool else float(v[si.i])) for name, v in metric_arrays(E).items()
    }
    out["n_cramps"] = int(len(si.cramp_times()))
    return out
