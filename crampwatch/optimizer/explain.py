"""Plain-language reasons for a recommended prescription, linked to the causes it addresses."""

from __future__ import annotations

from crampwatch.kinetics import uf_rate_ml_per_kg_h
from crampwatch.model import Scenario
from crampwatch.optimizer.result import Outcome
from crampwatch.optimizer.space import KNOB_SETTINGS, Knobs, UfShape, apply_knobs, changed_knobs
from crampwatch.prescription_settings import format_number, na_text, uf_profile_text

#: A cause counts as addressed when its ensemble-mean score falls by at least this much from a current
#: score of at least ``MIN_CAUSE_SCORE`` (modelling choices).
MIN_CAUSE_DROP = 0.05
MIN_CAUSE_SCORE = 0.1

#: Why each setting matters, with its published evidence.
WHY: dict[str, str] = {
    "uf_profile": (
        "removes more fluid early, while the interstitium is full and refill is fast, and less late, "
        "when cramps and hypotension cluster (Lynch 2014; UF profiling, Donauer 2000)"
    ),
    "ca_mmol_l": (
        "ionized Ca falls less during the session, supporting muscle membrane stability and vascular tone "
        "(Maynard 1986; KDIGO 2017 range 1.25–1.50 mmol/L)"
    ),
    "mg_mmol_l": "dialysate Mg 0.375 -> 0.5 mmol/L cut cramps from 77 % to 56 % of patients (Lynch 2014)",
    "hco3_mmol_l": (
        "less intradialytic alkalosis, so less Ca binds to albumin and ionized Ca falls less (high serum "
        "bicarbonate: cramp OR 5.6, Akkabut 2021; dialysate bicarbonate > 38 mmol/L: higher mortality, "
        "Tentori 2013)"
    ),
    "temp_c": (
        "cooler dialysate preserves vasoconstriction; IDH was 7.1x less common (Selby & McIntyre NDT 2006)"
    ),
    "qd_ml_min": "a lower dialysate flow lowers urea clearance on a first session (disequilibrium)",
}


def front_loaded(shape: UfShape) -> bool:
    """Whether a UF profile removes more in the first half of the session than in the second."""
    if isinstance(shape, str):
        return shape in ("linear_decreasing", "step")
    pts = [*shape, (1.0, shape[-1][1])]
    first = second = 0.0
    for (t0, f), (t1, _) in zip(pts, pts[1:], strict=False):
        first += f * max(0.0, min(t1, 0.5) - t0)
        second += f * max(0.0, t1 - max(t0, 0.5))
    return first > second


def addressed_causes(current: dict[str, float], new: dict[str, float]) -> list[str]:
    """Causes whose score falls meaningfully, largest fall first."""
    drops = []
    for cause, before in current.items():
        after = new.get(cause)
        if after is None or before != before or after != after:  # NaN-safe
            continue
        if before >= MIN_CAUSE_SCORE and before - after >= MIN_CAUSE_DROP:
            drops.append((before - after, cause))
    return [c for _, c in sorted(drops, reverse=True)]


def _ufr(uf_l: float, duration_min: float, post_weight_kg: float) -> float:
    if uf_l <= 0 or duration_min <= 0:
        return 0.0
    return float(uf_rate_ml_per_kg_h(uf_l, duration_min, max(post_weight_kg, 10.0)))


def rationale(
    scenario: Scenario,
    old: Knobs,
    new: Knobs,
    current: Outcome,
    outcome: Outcome,
    addresses: list[str],
    idwg_change_kg: float,
    plasma_na: float,
    *,
    first_session: bool,
) -> str:
    """Sentences: what changed and why, the predicted effect, and the causes addressed."""
    post_w = scenario.post_weight_kg
    old_rx = apply_knobs(scenario, old, current.uf_required_l).prescription
    new_rx = apply_knobs(scenario, new, outcome.uf_required_l).prescription
    parts: list[str] = []
    changed = changed_knobs(old, new)
    for name in changed:
        if name == "duration_min":
            ufr0 = _ufr(current.uf_required_l, old.duration_min, post_w)
            ufr1 = _ufr(outcome.uf_required_l, new.duration_min, post_w)
            if new.duration_min > old.duration_min:
                parts.append(
                    f"A longer session ({old.duration_min:g} -> {new.duration_min:g} min) lowers the UF rate "
                    f"from {ufr0:.1f} to {ufr1:.1f} mL/kg/h, so plasma refill can keep up (UF rate > 13 "
                    "mL/kg/h: Flythe 2011)."
                )
            elif first_session:
                parts.append(
                    f"A shorter first session ({old.duration_min:g} -> {new.duration_min:g} min) limits the "
                    f"urea fall (URR {current.urr_pct:.0f} -> {outcome.urr_pct:.0f} %) to prevent "
                    "disequilibrium (URR < 40 %, Handbook of Dialysis)."
                )
            else:
                parts.append(f"Session time {old.duration_min:g} -> {new.duration_min:g} min.")
        elif name == "uf_profile":
            why = WHY["uf_profile"] if front_loaded(new.uf_profile) else "spreads fluid removal differently"
            parts.append(
                f"UF profile {uf_profile_text(old_rx.uf_profile, old_rx.duration_min)} -> "
                f"{uf_profile_text(new_rx.uf_profile, new_rx.duration_min)}: {why}."
            )
        elif name == "na_mmol_l":
            g0 = old.mean_na_mmol_l() - plasma_na
            g1 = new.mean_na_mmol_l() - plasma_na
            text = (
                f"Dialysate Na {na_text(old_rx)} -> {na_text(new_rx)} mmol/L (gradient to plasma Na "
                f"{g0:+.1f} -> {g1:+.1f} mmol/L): "
            )
            if g1 > g0:
                text += (
                    "plasma Na and osmolality fall less, so less water shifts into cells and refill improves"
                )
            else:
                text += "less sodium loading, so less thirst and interdialytic weight gain (Arramreddy 2012)"
            if idwg_change_kg > 0.005:
                text += (
                    f"; cost: about +{idwg_change_kg:.2f} kg interdialytic gain (+0.13 % body weight per "
                    "mmol/L, DOPPS), included in the predicted UF"
                )
            parts.append(text + ".")
        elif name == "qb_ml_min":
            if new.qb_ml_min > old.qb_ml_min:
                why = "raises urea clearance to keep the dose on target"
            else:
                why = (
                    "slows the urea fall (disequilibrium prevention)"
                    if first_session
                    else "slows solute removal while the dose stays on target"
                )
            parts.append(f"Blood flow {old.qb_ml_min:g} -> {new.qb_ml_min:g} mL/min {why}.")
        elif name == "sessions_per_week":
            per = outcome.uf_required_l
            parts.append(
                f"An extra weekly session ({old.sessions_per_week} -> {new.sessions_per_week}) spreads the "
                f"fluid removal: about {per:.2f} L instead of {current.uf_required_l:.2f} L per session "
                "(more frequent dialysis lowers UF rates; KCQA/Flythe)."
            )
        else:
            spec = KNOB_SETTINGS[name]
            parts.append(
                f"{spec.label} {format_number(getattr(old, name))} -> {format_number(getattr(new, name))} "
                f"{spec.unit}: {WHY[name]}."
            )
    if not changed:
        parts.append("Keep the current prescription: no allowed change lowers the predicted risk enough.")
    lo, hi = outcome.risk_range
    parts.append(
        f"Predicted cramp risk {current.risk:.2f} -> {outcome.risk:.2f} (range {lo:.2f}–{hi:.2f} over "
        f"plausible patients), IDH risk {current.idh_risk:.2f} -> {outcome.idh_risk:.2f}; "
        + (f"URR {outcome.urr_pct:.0f} %" if first_session else f"spKt/V {outcome.sp_ktv:.2f}")
        + f", UF {outcome.uf_l:.2f} L removed."
    )
    if addresses:
        nan = float("nan")
        parts.append(
            "Addresses: "
            + ", ".join(
                f"{c} ({current.causes.get(c, nan):.2f} -> {outcome.causes.get(c, nan):.2f})"
                for c in addresses
            )
            + "."
        )
    return " ".join(parts)
