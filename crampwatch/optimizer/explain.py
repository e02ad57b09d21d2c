"""Plain-language reasons for a recommended prescription, linked to the causes it addresses."""

from __future__ import annotations

from dataclasses import dataclass

from crampwatch.causes.advice import FIRST_SESSION_MAX_URR_PCT, front_loaded
from crampwatch.causes.registry import CAUSE_REGISTRY
from crampwatch.model import Prescription, Scenario
from crampwatch.optimizer.result import Outcome
from crampwatch.optimizer.space import KNOB_SETTINGS, Knobs, apply_knobs, changed_knobs
from crampwatch.prescription_settings import format_number, na_text, uf_profile_words
from crampwatch.quantities import uf_rate_ml_kg_h
from crampwatch.signals import QB_ML_MIN

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
    "isolated_uf_min": (
        "fluid is removed first without diffusion, so plasma osmolality holds and refill keeps up "
        "(sequential UF, Bergström 1978)"
    ),
}


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
    return float(uf_rate_ml_kg_h(uf_l, duration_min, post_weight_kg))


@dataclass(frozen=True)
class _Change:
    """What one sentence about a changed setting needs."""

    old: Knobs
    new: Knobs
    old_rx: Prescription
    new_rx: Prescription
    current: Outcome
    outcome: Outcome
    post_weight_kg: float
    idwg_change_kg: float
    plasma_na: float
    first_session: bool


def _duration_sentence(ch: _Change) -> str:
    old, new = ch.old.duration_min, ch.new.duration_min
    if new > old:
        ufr0 = _ufr(ch.current.uf_required_l, old, ch.post_weight_kg)
        ufr1 = _ufr(ch.outcome.uf_required_l, new, ch.post_weight_kg)
        return (
            f"A longer session ({old:g} -> {new:g} min) lowers the UF rate from {ufr0:.1f} to {ufr1:.1f} "
            "mL/kg/h, so plasma refill can keep up (UF rate > 13 mL/kg/h: Flythe 2011)."
        )
    if ch.first_session:
        return (
            f"A shorter first session ({old:g} -> {new:g} min) limits the urea fall (URR "
            f"{ch.current.urr_pct:.0f} -> {ch.outcome.urr_pct:.0f} %) to prevent disequilibrium (URR < "
            f"{FIRST_SESSION_MAX_URR_PCT:g} %, "
            "Handbook of Dialysis)."
        )
    return f"Session time {old:g} -> {new:g} min."


def _uf_profile_sentence(ch: _Change) -> str:
    why = WHY["uf_profile"] if front_loaded(ch.new.uf_profile) else "spreads fluid removal differently"
    before = uf_profile_words(ch.old_rx.uf_profile, ch.old_rx.duration_min)
    after = uf_profile_words(ch.new_rx.uf_profile, ch.new_rx.duration_min)
    return f"UF profile {before} -> {after}: {why}."


def _na_sentence(ch: _Change) -> str:
    g0 = ch.old.mean_na_mmol_l() - ch.plasma_na
    g1 = ch.new.mean_na_mmol_l() - ch.plasma_na
    text = (
        f"Dialysate Na {na_text(ch.old_rx)} -> {na_text(ch.new_rx)} mmol/L (gradient to plasma Na "
        f"{g0:+.1f} -> {g1:+.1f} mmol/L): "
    )
    if g1 > g0:
        text += "plasma Na and osmolality fall less, so less water shifts into cells and refill improves"
    else:
        text += "less sodium loading, so less thirst and interdialytic weight gain (Arramreddy 2012)"
    if ch.idwg_change_kg > 0.005:
        text += (
            f"; cost: about +{ch.idwg_change_kg:.2f} kg interdialytic gain (+0.13 % body weight per mmol/L, "
            "DOPPS), included in the predicted UF"
        )
    return text + "."


def _qb_sentence(ch: _Change) -> str:
    if ch.new.qb_ml_min > ch.old.qb_ml_min:
        why = "raises urea clearance to keep the dose on target"
    elif ch.first_session:
        why = "slows the urea fall (disequilibrium prevention)"
    else:
        why = "slows solute removal while the dose stays on target"
    return f"Blood flow {ch.old.qb_ml_min:g} -> {ch.new.qb_ml_min:g} mL/min {why}."


def _sessions_sentence(ch: _Change) -> str:
    before, after = ch.current.uf_required_l, ch.outcome.uf_required_l
    return (
        f"An extra weekly session ({ch.old.sessions_per_week} -> {ch.new.sessions_per_week}) spreads the "
        f"fluid removal: about {after:.2f} L instead of {before:.2f} L per session (more frequent dialysis "
        "lowers UF rates; KCQA/Flythe)."
    )


_SENTENCES = {
    "duration_min": _duration_sentence,
    "uf_profile": _uf_profile_sentence,
    "na_mmol_l": _na_sentence,
    QB_ML_MIN: _qb_sentence,
    "sessions_per_week": _sessions_sentence,
}


def _setting_sentence(name: str, ch: _Change) -> str:
    if name in _SENTENCES:
        return _SENTENCES[name](ch)
    spec = KNOB_SETTINGS[name]
    before, after = format_number(getattr(ch.old, name)), format_number(getattr(ch.new, name))
    return f"{spec.label} {before} -> {after} {spec.unit}: {WHY[name]}."


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
    ch = _Change(
        old=old,
        new=new,
        old_rx=apply_knobs(scenario, old, current.uf_required_l).prescription,
        new_rx=apply_knobs(scenario, new, outcome.uf_required_l).prescription,
        current=current,
        outcome=outcome,
        post_weight_kg=scenario.post_weight_kg,
        idwg_change_kg=idwg_change_kg,
        plasma_na=plasma_na,
        first_session=first_session,
    )
    changed = changed_knobs(old, new)
    parts = [_setting_sentence(name, ch) for name in changed]
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
            "Addresses "
            + ", ".join(
                f"{CAUSE_REGISTRY[c].label.lower()} {current.causes.get(c, nan):.2f} -> "
                f"{outcome.causes.get(c, nan):.2f}"
                for c in addresses
            )
            + "."
        )
    return " ".join(parts)
