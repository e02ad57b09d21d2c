"""Result assembly of a prescription search: the current prescription's outcome, notes, recommendations,
the leading causes and the infeasibility explanation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crampwatch.causes.dose import standard_ktv
from crampwatch.causes.registry import CAUSE_REGISTRY
from crampwatch.optimizer.constraints import outcome_violations, static_violations
from crampwatch.optimizer.context import SearchContext
from crampwatch.optimizer.evaluate import Evaluation
from crampwatch.optimizer.explain import addressed_causes, rationale
from crampwatch.optimizer.levers import Tried, acts_on, leading_causes, why_not
from crampwatch.optimizer.ranking import RISK_PERCENTILES, Candidate, risk_range
from crampwatch.optimizer.result import LeadingCause, Outcome, Recommendation
from crampwatch.optimizer.space import Knobs, Options, apply_knobs, describe_changes

#: Equivalent prescriptions listed with an option at most (see ``Recommendation.equivalent_changes``).
MAX_EQUIVALENTS = 3


def current_outcome(ctx: SearchContext, ev: Evaluation) -> Outcome:
    """The outcome of the prescription as entered from an evaluation whose first ``ctx.n_members`` rows
    are the current prescription over the ensemble (row 0: the patient as entered)."""
    n_m = ctx.n_members
    viol = static_violations(ctx.current, ctx.scenario, ctx.constraints, allow_high_ca=ctx.allow_high_ca)
    viol += outcome_violations(
        constraints=ctx.constraints,
        first_session=ctx.first_session,
        sessions_per_week=ctx.current.sessions_per_week,
        sp_ktv=float(ev.sp_ktv[0]),
        urr_pct=float(ev.urr_pct[0]),
        uf_achieved_l=float(ev.uf_l[0]),
        uf_required_l=ctx.goal_l,
    )
    sp_ktv, duration = float(ev.sp_ktv[0]), float(ev.duration_min[0])
    return Outcome(
        risk=float(ev.risk[0]),
        risk_range=risk_range(ev.risk[:n_m], float(ev.risk[0])),
        ensemble_mean_risk=float(np.nanmean(ev.risk[:n_m])),
        idh_risk=float(ev.idh_risk[0]),
        sp_ktv=sp_ktv,
        urr_pct=float(ev.urr_pct[0]),
        uf_l=float(ev.uf_l[0]),
        uf_required_l=ctx.goal_l,
        duration_min=duration,
        std_ktv=standard_ktv(sp_ktv, duration, ctx.current.sessions_per_week, ctx.access),
        causes={k: float(v[0]) for k, v in ev.causes.items()},
        violations=viol,
    )


def notes(ctx: SearchContext) -> list[str]:
    c = ctx.constraints
    notes: list[str] = []
    if ctx.first_session:
        qb_lo, qb_hi = c.first_session_qb_range_ml_min
        d_lo, d_hi = c.first_session_duration_range_min
        notes.append(
            "First session (vintage 0): the spKt/V target does not apply to this session; instead URR is "
            f"kept below {c.first_session_max_urr_pct:g} %, Qb {qb_lo:g}–{qb_hi:g} mL/min and time "
            f"{d_lo:g}–{d_hi:g} min to prevent dialysis disequilibrium (Handbook of Dialysis; CJASN DDS "
            "prevention table)."
        )
    if ctx.allow_high_ca:
        notes.append(
            "Hypocalcemia is a cause of the current session, so dialysate Ca up to "
            f"{c.ca_max_if_hypocalcemia_mmol_l:g} mmol/L was allowed (above the KDIGO 2017 1.25–1.50 range; "
            "review the calcium balance)."
        )
    if ctx.twin_summary is None:
        notes.append(
            "Risk = predicted cramp risk of the prescription for the patient as entered; range = "
            f"{RISK_PERCENTILES[0]:g}th–{RISK_PERCENTILES[1]:g}th percentile over {ctx.n_members} plausible "
            "patients (uncertain refill capacity, baroreflex, body water and lab error), which also rank the "
            "options by their mean risk. Dose and UF are those of the patient as entered."
        )
    else:
        notes.append(
            "Risk = predicted cramp risk of the prescription for the fitted twin; range = "
            f"{RISK_PERCENTILES[0]:g}th–{RISK_PERCENTILES[1]:g}th percentile over {ctx.n_members} versions "
            f"of this patient drawn from the {ctx.twin_summary}. Dose and UF are those of the fitted twin."
        )
    return notes


def recommendation(
    ctx: SearchContext, cd: Candidate, current: Outcome, equivalent: Sequence[Candidate] = ()
) -> Recommendation:
    """The recommendation of candidate ``cd`` (scored over the ensemble) against the ``current`` outcome;
    ``equivalent`` are the candidates that are the same option (listed by their changes)."""
    assert cd.ensemble is not None
    sc = cd.nominal
    outcome = Outcome(
        risk=sc.risk,
        risk_range=risk_range(cd.ensemble.risk, sc.risk),
        ensemble_mean_risk=cd.mean_risk,
        idh_risk=sc.idh_risk,
        sp_ktv=sc.sp_ktv,
        urr_pct=sc.urr_pct,
        uf_l=sc.uf_l,
        uf_required_l=cd.uf_required_l,
        duration_min=sc.duration_min,
        std_ktv=sc.std_ktv,
        causes=dict(sc.causes),
        violations=[],
    )
    # The recommended prescription carries the UF goal of the next session; the predicted extra
    # interdialytic gain of a higher Na gradient is reported separately (idwg_change_kg).
    scenario = apply_knobs(ctx.scenario, cd.knobs, _prescribed_uf_l(ctx, cd.knobs))
    changes = describe_changes(
        ctx.scenario, ctx.current, cd.knobs, ctx.goal_l, _prescribed_uf_l(ctx, cd.knobs)
    )
    addresses = addressed_causes(current.causes, outcome.causes)
    text = rationale(
        ctx.scenario,
        ctx.current,
        cd.knobs,
        current,
        outcome,
        addresses,
        cd.idwg_change_kg,
        ctx.plasma_na_mmol_l,
        first_session=ctx.first_session,
    )
    alternatives = [_changes_text(ctx, other.knobs) for other in equivalent]
    if alternatives:
        text += " The same predicted risks with: " + " | ".join(alternatives) + "."
    return Recommendation(
        scenario=scenario,
        outcome=outcome,
        changes=[ch.code for ch in changes],
        change_text=[ch.text for ch in changes],
        addresses=addresses,
        rationale=text,
        idwg_change_kg=cd.idwg_change_kg,
        equivalent_changes=alternatives,
    )


def _prescribed_uf_l(ctx: SearchContext, knobs: Knobs) -> float:
    """The per-session UF goal of a prescription with ``knobs`` (the weekly gain over its sessions)."""
    return ctx.goal_l * ctx.current.sessions_per_week / knobs.sessions_per_week


def _changes_text(ctx: SearchContext, knobs: Knobs) -> str:
    changes = describe_changes(ctx.scenario, ctx.current, knobs, ctx.goal_l, _prescribed_uf_l(ctx, knobs))
    return "; ".join(ch.text for ch in changes) or "no change"


def leading(
    ctx: SearchContext,
    chosen: Sequence[Candidate],
    current: Outcome,
    base: Knobs,
    options: Options,
    evaluated: Sequence[Candidate],
) -> list[LeadingCause]:
    """The leading causes of the current session with the options acting on each, or why none does."""
    out: list[LeadingCause] = []
    tried = Tried(ctx, base, options, evaluated, current.risk, current.ensemble_mean_risk, current.causes)
    for cause in leading_causes(current.causes):
        acting = tuple(i for i, cd in enumerate(chosen, 1) if acts_on(cd, cause, ctx.current, current.causes))
        reasons = () if acting else why_not(cause, tried)
        levers = CAUSE_REGISTRY[cause].levers
        out.append(LeadingCause(cause, current.causes[cause], levers, acting, reasons))
    return out


def explain_infeasible(ctx: SearchContext, cands: list[Candidate]) -> str:
    """One paragraph: which constraint cannot be met and the best the candidates reached."""
    c = ctx.constraints
    evaluated = [cd for cd in cands if cd.evaluated and not cd.static]
    d_lo, d_hi = c.duration_bounds(ctx.scenario)
    q_lo, q_hi = c.qb_bounds(ctx.scenario)
    head = (
        f"No prescription among {len(evaluated)} candidates meets all constraints "
        f"(time {d_lo:g}–{d_hi:g} min, Qb {q_lo:g}–{q_hi:g} mL/min, UF goal {ctx.goal_l:.2f} L, "
    )
    head += (
        f"first-session URR < {c.first_session_max_urr_pct:g} %)."
        if ctx.first_session
        else f"spKt/V >= {c.target_sp_ktv:.2f})."
    )
    parts = [head]
    if evaluated:
        ufs = np.array([cd.nominal.uf_l - cd.uf_required_l for cd in evaluated], dtype=float)
        if np.all(~np.isfinite(ufs) | (ufs < -c.uf_tolerance_l)):
            parts.append(f"The UF goal is never removed: the smallest shortfall is {-np.nanmax(ufs):.2f} L.")
        if ctx.first_session:
            urr = np.array([cd.nominal.urr_pct for cd in evaluated], dtype=float)
            if not np.any(urr < c.first_session_max_urr_pct):
                parts.append(f"The lowest URR reachable is {np.nanmin(urr):.0f} %.")
        else:
            ktv = np.array([cd.nominal.sp_ktv for cd in evaluated], dtype=float)
            best = float(np.nanmax(ktv)) if np.isfinite(ktv).any() else float("nan")
            target = c.min_sp_ktv(ctx.current.sessions_per_week)
            if not best >= target:
                parts.append(f"The highest spKt/V reachable is {best:.2f} (target {target:.2f}).")
        closest = min(evaluated, key=lambda cd: cd.nominal.miss)
        ch = [
            c.text for c in describe_changes(ctx.scenario, ctx.current, closest.knobs, ctx.goal_l, ctx.goal_l)
        ]
        ch = ch or ["no change"]
        parts.append(f"Closest candidate ({'; '.join(ch)}): " + "; ".join(closest.nominal.violations) + ".")
    hints = ["a longer maximum session time (max_duration_min)"]
    if not c.allow_extra_session:
        hints.append("an extra weekly session (allow_extra_session)")
    hints.append("a lower spKt/V target or a smaller UF goal after a dry-weight review")
    parts.append("Options: " + ", ".join(hints) + ".")
    return " ".join(parts)
