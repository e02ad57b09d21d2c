"""Hypovolemia: fluid removed faster than the plasma refills (UF rate, RBV, blood pressure, weight gain).

Score parts (each 0-1, combined by noisy-OR; weights are modelling choices that order the evidence: a
confirmed volume response (RBV below range, BP fall) weighs more than the UF load alone):
- ``load``: UF rate above 10/13 mL/kg/h (Assimon 2016, Flythe 2011), above the weight-indexed
  Mermelstein 2023 thresholds, or IDWG >= 3.5 kg (Akkabut 2021) / 3.9-5.7 % of dry weight (Lopez-Gomez
  2005; DOPPS);
- ``rbv``: RBV below the favourable ranges at 1/2/3 h (Preciado 2019) or below the critical RBV;
- ``slope``: RBV falling faster than twice a stable patient's slope (Keane 2018);
- ``bp``: nadir SBP < 90 (< 100 if pre >= 160; Flythe 2015) or SBP/MAP falls >= 20/10 (EBPG 2007), halved
  when neither the UF load nor the RBV points to volume loss;
- ``dry``: post-weight more than 0.5 kg below the dry weight.
"""

from __future__ import annotations

import numpy as np

from crampwatch.causes.advice import (
    blood_volume_guided_uf_action,
    cool_dialysate_action,
    extend_session_action,
    front_loaded,
    limit_weight_gain_action,
)
from crampwatch.causes.common import SessionInput, confidence, ev, explain, noisy_or, ramp, tiered
from crampwatch.causes.features import Context, Features
from crampwatch.causes.findings import Evidence, Finding, Recommendation
from crampwatch.causes.ids import HYPOVOLEMIA
from crampwatch.causes.sentences import course, number, plural, statement
from crampwatch.causes.thresholds import th
from crampwatch.clinical_labels import unit_of
from crampwatch.kinetics.hemodynamics import mermelstein_thresholds_core
from crampwatch.quantities import idh_nadir_sbp_threshold_mmhg_array
from crampwatch.signals import DIALYSATE_TEMP_C, RBV_PCT, SBP_MMHG, T_MIN, UF_CUM_L, UF_RATE_ML_H

#: Limits of the UF-rate and weight-gain evidence, mildest first (the score counts from the first).
UFR_LIMITS = ("ufr_10_ml_kg_h", "ufr_13_ml_kg_h")
IDWG_LIMITS = ("idwg_onset_kg", "idwg_kg")
IDWG_PCT_LIMITS = ("idwg_pct", "idwg_pct_high")

#: A post-dialysis weight at least this far below the dry weight is shown as evidence, kg (the scale's
#: resolution; modelling choice).
BELOW_DRY_SHOWN_KG = 0.05

#: Prevalence of IDH per session, 10.1 % (EBPG definition; systematic review 2019, doi 10.1159/000500877):
#: the prior of ``idh_risk`` when no blood pressure is recorded.
IDH_PRIOR = 0.101


def _mermelstein(post_w: np.ndarray, male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mermelstein 2023 UF-rate thresholds (+20 %, +40 % mortality), mL/h (crampwatch.kinetics)."""
    m = mermelstein_thresholds_core(post_w, male)
    return m["risk_20pct"], m["risk_40pct"]


def parts(F: Features, C: Context) -> dict[str, np.ndarray]:
    """Sub-scores of every session (see module docstring)."""
    ufr_kg = F["uf_rate_ml_kg_h"]
    m20, m40 = _mermelstein(F["post_weight_kg"], C.male)
    load_ufr = 0.3 * ramp(ufr_kg, th("ufr_10_ml_kg_h"), th("ufr_13_ml_kg_h")) + 0.4 * ramp(
        ufr_kg, th("ufr_13_ml_kg_h"), th("ufr_severe_ml_kg_h")
    )
    load_merm = 0.3 * ramp(F[UF_RATE_ML_H], m20, m40) + 0.2 * ramp(F[UF_RATE_ML_H], m40, m40 + (m40 - m20))
    load_idwg = 0.3 * np.maximum(
        ramp(C.idwg_kg, th("idwg_onset_kg"), th("idwg_kg")),
        ramp(C.idwg_pct, th("idwg_pct"), th("idwg_pct_high")),
    )
    load = np.maximum.reduce([load_ufr, load_merm, load_idwg])
    span = th("rbv_depth_span_pct")
    depth = np.maximum.reduce(
        [ramp(th(f"rbv_low_{h}h_pct") - F[f"rbv_{h}h_pct"], 0.0, span) for h in (1, 2, 3)]
    )
    known = ~np.isnan(C.critical_rbv_pct)
    crit_part = np.where(known, 1.0, 0.6) * ramp(C.critical_rbv_or_mean() + 1.0 - F["rbv_min_pct"], 0.0, span)
    rbv = 0.8 * np.maximum(depth, crit_part)
    slope = 0.45 * ramp(
        -F["rbv_slope_pct_h"], -th("rbv_slope_steep_pct_h"), -1.5 * th("rbv_slope_steep_pct_h")
    )
    sbp_fall = F["sbp_pre_mmhg"] - F["sbp_nadir_mmhg"]
    map_fall = F["map_pre_mmhg"] - F["map_nadir_mmhg"]
    nadir_thr = idh_nadir_sbp_threshold_mmhg_array(F["sbp_pre_mmhg"])
    nadir = ramp(nadir_thr + 5.0 - F["sbp_nadir_mmhg"], 0.0, 10.0)
    fall = (sbp_fall >= th("idh_sbp_fall_mmhg")) * (
        0.3 + 0.7 * ramp(sbp_fall, th("idh_sbp_fall_mmhg"), th("idh_sbp_fall_severe_mmhg"))
    )
    mfall = (map_fall >= th("idh_map_fall_mmhg")) * (
        0.3 + 0.7 * ramp(map_fall, th("idh_map_fall_mmhg"), 2.0 * th("idh_map_fall_mmhg"))
    )
    bp_raw = np.maximum.reduce([0.85 * nadir, 0.55 * fall, 0.45 * mfall])
    dry = 0.55 * ramp(
        C.dry_weight_kg - F["post_weight_kg"], th("below_dry_weight_kg"), th("below_dry_weight_kg") + 1.0
    )
    support = np.maximum.reduce([load / 0.7, rbv / 0.8, slope / 0.45, dry / 0.55])
    rbv_missing = np.isnan(F["rbv_min_pct"])
    support = np.where(rbv_missing, np.maximum(support, 0.5), support)
    bp = bp_raw * (0.5 + 0.5 * np.clip(support, 0.0, 1.0))
    # IDH probability: the nadir criterion (Flythe 2015) dominates; falls >= 20 SBP / >= 10 MAP occur in
    # ~78 % of sessions but full EBPG IDH in only ~7 % (Kuipers 2016), so falls add little on their own
    # (weights are a modelling choice; on 3 000 virtual sessions they give a Brier score of 0.04).
    idh_bp = noisy_or(
        ramp(nadir_thr + 10.0 - F["sbp_nadir_mmhg"], 0.0, 15.0),
        0.25 * ramp(sbp_fall, th("idh_sbp_fall_mmhg"), th("idh_sbp_fall_severe_mmhg")),
        0.2 * ramp(map_fall, th("idh_map_fall_mmhg"), 2.5 * th("idh_map_fall_mmhg")),
    )
    idh_no_bp = noisy_or(np.full(C.n, IDH_PRIOR), 0.5 * rbv / 0.8, 0.5 * load / 0.7)
    idh = np.where(np.isnan(F["sbp_nadir_mmhg"]), idh_no_bp, idh_bp)
    return {
        "load": load,
        "load_ufr": load_ufr,
        "load_merm": load_merm,
        "load_idwg": load_idwg,
        "rbv": rbv,
        "slope": slope,
        "bp": bp,
        "dry": dry,
        "idh": idh,
    }


def score(P: dict[str, np.ndarray]) -> np.ndarray:
    return noisy_or(P["load"], P["rbv"], P["slope"], P["bp"], P["dry"])


def _cramp_after_fall(si: SessionInput) -> tuple[float, float] | None:
    """(cramp time, fall time) of the first cramp at or after an RBV or BP fall began (15 min tolerance,
    ``cramp_after_fall_window_min`` past the nadir at most), else None."""
    window = th("cramp_after_fall_window_min")
    falls = []
    if si.p("bp") > 0:
        falls.append((si.f("sbp_fall_at_min"), si.f("sbp_nadir_at_min")))
    if si.p("rbv") > 0 or si.p("slope") > 0:
        falls.append((si.f("rbv_fall_at_min"), si.f("rbv_min_at_min")))
    for tc in si.cramp_times():
        for start, low in falls:
            if not np.isfinite(start):
                continue
            end = max(low, start) if np.isfinite(low) else start
            if start - 15.0 <= tc <= end + window:
                return float(tc), float(start)
    return None


def _hypotension_events(si: SessionInput) -> np.ndarray:
    """Times of hypotension symptoms and the nursing interventions for them (saline, UF stop)."""
    ev_df = si.events
    if ev_df is None or ev_df.empty:
        return np.empty(0)
    kinds = {"hypotension_symptom", "saline_bolus", "uf_stopped"}
    return np.sort(ev_df.loc[ev_df["kind"].isin(kinds), T_MIN].to_numpy(dtype=float))


def _load_evidence(si: SessionInput, est_uf: bool) -> list[Evidence]:
    """UF rate (per kg and against the Mermelstein threshold for this weight) and weight gain."""
    ufr_kg = si.f("uf_rate_ml_kg_h")
    m20, _ = _mermelstein(np.array([si.f("post_weight_kg")]), np.array([bool(si.ctx.male[si.i])]))
    note = "session mean" + (", from the prescription" if est_uf else "")
    items = [
        ev(
            "uf_rate_ml_kg_h",
            ufr_kg,
            tiered(ufr_kg, UFR_LIMITS, "high"),
            estimated=est_uf,
            note=note,
            sense="high",
        ),
        ev(
            UF_RATE_ML_H,
            si.f(UF_RATE_ML_H),
            "mermelstein_20pct",
            threshold=float(m20[0]),
            estimated=est_uf,
            note=f"{note}; limit 3W + 500 (+70 in men)",
            sense="high",
        ),
        ev("idwg_kg", si.c("idwg_kg"), tiered(si.c("idwg_kg"), IDWG_LIMITS, "high"), sense="high"),
    ]
    if si.c("idwg_pct") > th("idwg_pct"):
        items.append(
            ev("idwg_pct", si.c("idwg_pct"), tiered(si.c("idwg_pct"), IDWG_PCT_LIMITS, "high"), sense="high")
        )
    return items


def _rbv_evidence(si: SessionInput) -> list[Evidence]:
    """RBV at 1, 2 and 3 h (Preciado), its nadir against the critical RBV, and its slope."""
    est = si.estimated(RBV_PCT)
    items = [
        ev(RBV_PCT, si.f(f"rbv_{h}h_pct"), f"rbv_low_{h}h_pct", t_min=60.0 * h, estimated=est, sense="low")
        for h in (1, 2, 3)
        if np.isfinite(si.f(f"rbv_{h}h_pct"))
    ]
    if np.isfinite(si.f("rbv_min_pct")):
        crit_known = np.isfinite(si.c("critical_rbv_pct"))
        items.append(
            ev(
                RBV_PCT,
                si.f("rbv_min_pct"),
                "rbv_critical_pct",
                t_min=si.f("rbv_min_at_min"),
                threshold=si.c("critical_rbv_pct") if crit_known else None,
                estimated=est,
                note="nadir, vs the patient's critical RBV"
                if crit_known
                else "nadir, vs the mean critical RBV",
                sense="low",
            )
        )
        items.append(
            ev(
                "rbv_slope_pct_h",
                si.f("rbv_slope_pct_h"),
                "rbv_slope_steep_pct_h",
                estimated=est,
                sense="low",
            )
        )
    return items


def _bp_evidence(si: SessionInput) -> list[Evidence]:
    """Nadir SBP (Flythe 2015) and the SBP and MAP falls from before dialysis to the nadir (EBPG 2007)."""
    sbp_pre, nadir = si.f("sbp_pre_mmhg"), si.f("sbp_nadir_mmhg")
    if not np.isfinite(nadir):
        return []
    est = si.estimated(SBP_MMHG)
    high_pre = sbp_pre >= th("idh_high_pre_sbp_mmhg")
    items = [
        ev(
            SBP_MMHG,
            nadir,
            "idh_nadir_sbp_high_pre_mmhg" if high_pre else "idh_nadir_sbp_mmhg",
            t_min=si.f("sbp_nadir_at_min"),
            estimated=est,
            note="nadir",
            sense="low",
        ),
        ev(
            "sbp_fall_mmhg",
            sbp_pre - nadir,
            "idh_sbp_fall_mmhg",
            t_min=si.f("sbp_nadir_at_min"),
            estimated=est,
            note="pre-dialysis minus nadir",
            sense="high",
        ),
    ]
    if np.isfinite(si.f("map_nadir_mmhg")):
        items.append(
            ev(
                "map_fall_mmhg",
                si.f("map_pre_mmhg") - si.f("map_nadir_mmhg"),
                "idh_map_fall_mmhg",
                t_min=si.f("map_nadir_at_min"),
                estimated=est,
                note="pre-dialysis minus nadir",
                sense="high",
            )
        )
    return items


def _event_evidence(si: SessionInput, s: float) -> tuple[list[Evidence], float]:
    """A cramp soon after an RBV or BP fall began, and hypotension symptoms or interventions; both raise the
    score (returned)."""
    items = []
    linked = _cramp_after_fall(si)
    if linked is not None and s > 0:
        s = float(1.0 - (1.0 - s) * 0.6)  # a cramp after a volume/BP fall (Lynch 2014): modelling choice
        items.append(
            ev(
                "cramp_event",
                linked[0] - linked[1],
                "cramp_after_fall_window_min",
                t_min=linked[0],
                note=f"after the fall that began at {number(linked[1])} min",
                sense="low",
            )
        )
    hypo_events = _hypotension_events(si)
    if len(hypo_events):
        # EBPG 2007: a BP fall with symptoms and a nursing intervention is intradialytic hypotension
        fall = si.f("sbp_pre_mmhg") - si.f("sbp_nadir_mmhg")
        full_idh = np.isfinite(fall) and fall >= th("idh_sbp_fall_mmhg")
        s = float(noisy_or(np.array(s), np.array(0.4 if full_idh else 0.2)))
        items.append(
            ev(
                "hypotension_events",
                float(len(hypo_events)),
                None,
                t_min=float(hypo_events[0]),
                note="symptom / saline / UF stop" + (" with SBP fall >= 20 (EBPG IDH)" if full_idh else ""),
                direction="supports",
            )
        )
    return items, s


def finding(si: SessionInput) -> Finding:
    """The hypovolemia finding of session ``si``."""
    s = float(si.scores[HYPOVOLEMIA][si.i])
    est_uf = si.status(UF_CUM_L) == "missing" and si.status(UF_RATE_ML_H) == "missing"
    evidence = [*_load_evidence(si, est_uf), *_rbv_evidence(si), *_bp_evidence(si)]
    below = si.c("dry_weight_kg") - si.f("post_weight_kg")
    if below >= BELOW_DRY_SHOWN_KG:
        evidence.append(
            ev("post_weight_below_dry_kg", below, "below_dry_weight_kg", estimated=est_uf, sense="high")
        )
    events, s = _event_evidence(si, s)
    evidence += events
    conf = confidence(["estimated" if est_uf else "measured", si.status(RBV_PCT), si.status(SBP_MMHG)])
    recs = _recommend(si, si.f("uf_rate_ml_kg_h"))
    return Finding(
        HYPOVOLEMIA, min(1.0, s), conf, evidence, _explain(si, evidence), recs, si.missing(RBV_PCT, SBP_MMHG)
    )


#: What the explanation calls each supporting evidence item, by (signal, first word of its note).
_SUBJECTS = {
    ("uf_rate_ml_kg_h", "session"): "the mean UF rate",
    ("idwg_kg", ""): "the weight gain since the last session",
    ("idwg_pct", ""): "the weight gain since the last session as a share of the dry weight",
    (RBV_PCT, ""): "relative blood volume",
    (RBV_PCT, "nadir"): "the lowest relative blood volume",
    ("rbv_slope_pct_h", ""): "the relative blood volume slope",
    (SBP_MMHG, "nadir"): "the lowest systolic blood pressure",
    (
        "sbp_fall_mmhg",
        "pre-dialysis",
    ): "the fall in systolic blood pressure from before dialysis to its nadir",
    ("map_fall_mmhg", "pre-dialysis"): "the fall in mean arterial pressure from before dialysis to its nadir",
    ("post_weight_below_dry_kg", ""): "the difference between the dry weight and the post-dialysis weight",
}


def _explain(si: SessionInput, evidence: list[Evidence]) -> str:
    bits = []
    supports = [e for e in evidence if e.direction == "supports"]
    for e in supports:
        key = (e.signal, e.note.split(",")[0].split(" ")[0] if e.note else "")
        if e.signal == UF_RATE_ML_H and not any(x.signal == "uf_rate_ml_kg_h" for x in supports):
            bits.append(
                statement("the mean UF rate", e.value, "mL/h", e.threshold, name="limit for this weight")
            )
        elif key in _SUBJECTS:
            unit = unit_of(e.signal)
            name = "critical limit" if e.note.startswith("nadir, vs") else "limit"
            bits.append(statement(_SUBJECTS[key], e.value, unit, e.threshold, t_min=e.t_min, name=name))
    if any(e.signal in (SBP_MMHG, "sbp_fall_mmhg") for e in supports) and np.isfinite(si.f("sbp_end_mmhg")):
        bits.append(
            course(
                "systolic blood pressure",
                "mmHg",
                si.f("sbp_pre_mmhg"),
                si.f("sbp_end_mmhg"),
                si.f("sbp_nadir_mmhg"),
                si.f("sbp_nadir_at_min"),
            )
        )
    for e in supports:
        if e.signal == "cramp_event":
            bits.append(f"a cramp came {number(e.value)} min after blood volume or pressure began to fall")
        if e.signal == "hypotension_events":
            what = plural(
                e.value, "hypotension symptom or intervention", "hypotension symptoms or interventions"
            )
            bits.append(f"the nurses recorded {what}")
    return explain(
        bits,
        "Muscles cramp when the blood volume shrinks faster than fluid can move back from the tissues. "
        "In this session ",
        "Fluid removal looked gentle: the blood volume and blood pressure stayed in safe ranges, so "
        "losing too much fluid too fast is an unlikely cause of cramps in this session.",
    )


def _recommend(si: SessionInput, ufr_kg: float) -> list[Recommendation]:
    recs: list[Recommendation] = []
    rx = si.scenario.prescription
    uf_l, post_w = si.f("uf_total_l"), si.f("post_weight_kg")
    extend = (
        extend_session_action(uf_l, post_w, si.c("duration_min")) if ufr_kg > th("ufr_10_ml_kg_h") else None
    )
    if extend:
        recs.append(
            Recommendation(
                extend,
                "Flythe 2011 KI 79:250 (UFR > 13: HR 1.59); Assimon 2016 AJKD 68:911; KCQA UFR measure",
            )
        )
    if si.p("load_idwg") > 0:
        recs.append(
            Recommendation(
                limit_weight_gain_action(si.f("na_gradient_mmol_l")),
                "Akkabut 2021 (IDWG >= 3.5 kg: cramp OR 4.5); "
                "Trinh 2017 (+1 mmol/L gradient: OR 1.33 IDWG > 3 %)",
            )
        )
    if si.p("rbv") > 0 or si.p("slope") > 0 or si.p("bp") > 0:
        recs.append(
            Recommendation(
                blood_volume_guided_uf_action(front_loaded(rx.uf_profile, rx.duration_min)),
                "AJKD 1996;27:525 (symptoms 26 % vs 57 % of sessions with Hct-guided UF); Preciado 2019",
            )
        )
        cool = cool_dialysate_action(si.c(DIALYSATE_TEMP_C))
        if cool:
            recs.append(
                Recommendation(
                    cool,
                    "Selby & McIntyre NDT 2006 (IDH 7.1x less common); Cochrane CD012598 (Tsujimoto 2019)",
                )
            )
    if si.p("dry") > 0:
        recs.append(
            Recommendation(
                "Reassess the dry weight (clinical exam, bioimpedance)",
                "post-weight below the prescribed dry weight; Fresenius BCM (bioimpedance)",
            )
        )
    recs.append(
        Recommendation(
            "For an acute cramp: stop UF, stretch the muscle; "
            "a hypertonic bolus (mannitol, 50 % dextrose, 23 % "
            "saline) relieves it",
            "PMID 1768504 (randomized crossover n=24: all three equally effective); "
            "Elavally (calf stretching: intensity 1.6 vs 6.0)",
        )
    )
    return recs
