"""Scoring of one candidate of a prescription search from one row of an evaluation batch: outcome
constraints, how far they are missed and the dose-loss penalty (see :mod:`crampwatch.optimizer.ranking`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from types import MappingProxyType

import numpy as np

from crampwatch.causes.dose import standard_ktv_batch
from crampwatch.kinetics import KDOQI_TARGET_SP_KTV
from crampwatch.kinetics.dose import VENOUS_ACCESS
from crampwatch.optimizer.constraints import outcome_violations
from crampwatch.optimizer.context import SearchContext
from crampwatch.optimizer.evaluate import Evaluation
from crampwatch.optimizer.ranking import (
    DOSE_LOSS_PENALTY,
    DOSE_LOSS_PENALTY_ANY,
    MISS_NO_RISK,
    MISS_NOT_SIMULABLE,
    MISS_PER_KTV_SHORT,
    MISS_PER_L_UF_SHORT,
    MISS_PER_URR_PCT_OVER,
    Candidate,
    Scores,
)


def score_rows(
    ctx: SearchContext, cands: Sequence[Candidate], ev: Evaluation, rows: Sequence[int]
) -> list[Scores]:
    """The scores of each candidate from its row of ``ev`` (the patient as entered); the weekly standard
    Kt/V of all rows in one call."""
    idx = np.asarray(rows, dtype=int)
    std = standard_ktv_batch(
        ev.sp_ktv[idx],
        ev.duration_min[idx],
        np.array([cd.knobs.sessions_per_week for cd in cands], dtype=float),
        np.full(len(idx), ctx.access.strip().lower() in VENOUS_ACCESS),
    )
    return [score_row(ctx, cd, ev, int(i), float(s)) for cd, i, s in zip(cands, idx, std, strict=True)]


def score_row(ctx: SearchContext, cd: Candidate, ev: Evaluation, i: int, std_ktv: float) -> Scores:
    """The scores of ``cd`` from row ``i`` of ``ev`` (the patient as entered) with its weekly standard
    Kt/V ``std_ktv``."""
    risk, sp_ktv, urr_pct = float(ev.risk[i]), float(ev.sp_ktv[i]), float(ev.urr_pct[i])
    uf_l, duration_min = float(ev.uf_l[i]), float(ev.duration_min[i])
    values = {
        "risk": risk,
        "idh_risk": float(ev.idh_risk[i]),
        "sp_ktv": sp_ktv,
        "urr_pct": urr_pct,
        "uf_l": uf_l,
        "duration_min": duration_min,
        "causes": MappingProxyType({k: float(v[i]) for k, v in ev.causes.items()}),
        "source": (ev, i),
    }
    if i in ev.errors:
        return Scores(**values, violations=(f"not simulable: {ev.errors[i]}",), miss=MISS_NOT_SIMULABLE)
    violations = outcome_violations(
        constraints=ctx.constraints,
        first_session=ctx.first_session,
        sessions_per_week=cd.knobs.sessions_per_week,
        sp_ktv=sp_ktv,
        urr_pct=urr_pct,
        uf_achieved_l=uf_l,
        uf_required_l=cd.uf_required_l,
        std_ktv=std_ktv,
        schedule_changed=cd.knobs.sessions_per_week != ctx.current.sessions_per_week,
    )
    if not np.isfinite(risk):
        violations.append("simulation gave no risk score")
    dose_penalty = 0.0
    if not ctx.first_session and np.isfinite(ctx.ref_ktv):
        ktv = sp_ktv if np.isfinite(sp_ktv) else 0.0
        ref = min(ctx.ref_ktv, KDOQI_TARGET_SP_KTV)
        dose_penalty = DOSE_LOSS_PENALTY * max(0.0, ref - ktv) + DOSE_LOSS_PENALTY_ANY * max(
            0.0, ctx.ref_ktv - ktv
        )
    sc = Scores(**values, std_ktv=std_ktv, violations=tuple(violations), dose_penalty=dose_penalty)
    return replace(sc, miss=miss(ctx, cd, sc)) if violations else sc


def miss(ctx: SearchContext, cd: Candidate, sc: Scores) -> float:
    """How far scores ``sc`` of ``cd`` miss the outcome constraints (0 if feasible; ranking only)."""
    if not sc.violations:
        return 0.0
    uf = sc.uf_l if np.isfinite(sc.uf_l) else 0.0
    c = ctx.constraints
    total = MISS_PER_L_UF_SHORT * max(0.0, cd.uf_required_l - c.uf_tolerance_l - uf)
    if ctx.first_session:
        urr = sc.urr_pct if np.isfinite(sc.urr_pct) else 100.0
        total += MISS_PER_URR_PCT_OVER * max(0.0, urr - c.first_session_max_urr_pct + 0.5)
    else:
        ktv = sc.sp_ktv if np.isfinite(sc.sp_ktv) else 0.0
        total += MISS_PER_KTV_SHORT * max(0.0, c.min_sp_ktv(cd.knobs.sessions_per_week) - ktv)
    return total + (MISS_NO_RISK if not np.isfinite(sc.risk) else 0.0)
