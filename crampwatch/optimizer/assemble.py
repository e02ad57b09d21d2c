"""Result assembly of a prescription search: notes, recommendations and the infeasibility explanation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from crampwatch.optimizer.constraints import Constraints
from crampwatch.optimizer.explain import addressed_causes, rationale
from crampwatch.optimizer.ranking import RISK_PERCENTILES, Candidate, risk_range
from crampwatch.optimizer.result import Outcome, Recommendation
from crampwatch.optimizer.space import apply_knobs, describe_changes

if TYPE_CHECKING:
    from crampwatch.optimizer.search import Search


def notes(s: Search, c: Constraints) -> list[str]:
    notes: list[str] = []
    if s.first:
        qb_lo, qb_hi = c.first_session_qb_range_ml_min
        d_lo, d_hi = c.first_session_duration_range_min
        notes.append(
            "First session (vintage 0): the spKt/V target does not apply to this session; instead URR is "
            f"kept below {c.first_session_max_urr_pct:g} %, Qb {qb_lo:g}–{qb_hi:g} mL/min and time "
            f"{d_lo:g}–{d_hi:g} min to prevent dialysis disequilibrium (Handbook of Dialysis; CJASN DDS "
            "prevention table)."
        )
    if s.allow_high_ca:
        notes.append(
            "Hypocalcemia is a cause of the current session, so dialysate Ca up to "
            f"{c.ca_max_if_hypocalcemia_mmol_l:g} mmol/L was allowed (above the KDIGO 2017 1.25–1.50 range; "
            "review the calcium balance)."
        )
    if s.twin is None:
        notes.append(
            "Risk = predicted cramp risk of the prescription for the patient as entered; range = "
            f"{RISK_PERCENTILES[0]:g}th–{RISK_PERCENTILES[1]:g}th percentile over {len(s.members)} plausible "
            "patients (uncertain refill capacity, baroreflex, body water and lab error), which also rank the "
            "options by their mean risk. Dose and UF are those of the patient as entered."
        )
    else:
        notes.append(
            "Risk = predicted cramp risk of the prescription for the fitted twin; range = "
            f"{RISK_PERCENTILES[0]:g}th–{RISK_PERCENTILES[1]:g}th percentile over {len(s.members)} versions "
            f"of this patient drawn from the {s.twin.summary()}. Dose and UF are those of the fitted twin."
        )
    return notes


def recommendation(s: Search, cd: Candidate, current: Outcome) -> Recommendation:
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
    presc_uf = s.goal_l * s.current.sessions_per_week / cd.knobs.sessions_per_week
    scenario = apply_knobs(s.scenario, cd.knobs, presc_uf)
    changes = describe_changes(s.scenario, s.current, cd.knobs, s.goal_l, presc_uf)
    addresses = addressed_causes(current.causes, outcome.causes)
    return Recommendation(
        scenario=scenario,
        outcome=outcome,
        changes=[ch.code for ch in changes],
        change_text=[ch.text for ch in changes],
        addresses=addresses,
        rationale=rationale(
            s.scenario,
            s.current,
            cd.knobs,
            current,
            outcome,
            addresses,
            cd.idwg_change_kg,
            s.plasma_na,
            first_session=s.first,
        ),
        idwg_change_kg=cd.idwg_change_kg,
    )


def explain_infeasible(s: Search, cands: list[Candidate], c: Constraints) -> str:
    """One paragraph: which constraint cannot be met and the best the candidates reached."""
    evaluated = [cd for cd in cands if cd.evaluated and not cd.static]
    d_lo, d_hi = c.duration_bounds(s.scenario)
    q_lo, q_hi = c.qb_bounds(s.scenario)
    head = (
        f"No prescription among {len(evaluated)} candidates meets all constraints "
        f"(time {d_lo:g}–{d_hi:g} min, Qb {q_lo:g}–{q_hi:g} mL/min, UF goal {s.goal_l:.2f} L, "
    )
    head += (
        f"first-session URR < {c.first_session_max_urr_pct:g} %)."
        if s.first
        else f"spKt/V >= {c.target_sp_ktv:.2f})."
    )
    parts = [head]
    if evaluated:
        ufs = np.array([cd.nominal.uf_l - cd.uf_required_l for cd in evaluated], dtype=float)
        if np.all(~np.isfinite(ufs) | (ufs < -c.uf_tolerance_l)):
            parts.append(f"The UF goal is never removed: the smallest shortfall is {-np.nanmax(ufs):.2f} L.")
        if s.first:
            urr = np.array([cd.nominal.urr_pct for cd in evaluated], dtype=float)
            if not np.any(urr < c.first_session_max_urr_pct):
                parts.append(f"The lowest URR reachable is {np.nanmin(urr):.0f} %.")
        else:
            ktv = np.array([cd.nominal.sp_ktv for cd in evaluated], dtype=float)
            best = float(np.nanmax(ktv)) if np.isfinite(ktv).any() else float("nan")
            target = c.min_sp_ktv(s.current.sessions_per_week)
            if not best >= target:
                parts.append(f"The highest spKt/V reachable is {best:.2f} (target {target:.2f}).")
        closest = min(evaluated, key=lambda cd: cd.nominal.miss)
        ch = [c.text for c in describe_changes(s.scenario, s.current, closest.knobs, s.goal_l, s.goal_l)]
        ch = ch or ["no change"]
        parts.append(f"Closest candidate ({'; '.join(ch)}): " + "; ".join(closest.nominal.violations) + ".")
    hints = ["a longer maximum session time (max_duration_min)"]
    if not c.allow_extra_session:
        hints.append("an extra weekly session (allow_extra_session)")
    hints.append("a lower spKt/V target or a smaller UF goal after a dry-weight review")
    parts.append("Options: " + ", ".join(hints) + ".")
    return " ".join(parts)
