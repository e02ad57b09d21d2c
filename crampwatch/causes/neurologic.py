"""Neurologic and uremic causes: dialysis disequilibrium, aluminium encephalopathy, neuropathy, underdialysis.

- ``disequilibrium`` (Silver, Sterns, Halperin AJKD 1996; cramps are a DDS symptom, Mahoney & Arieff 1982):
  first sessions x pre-BUN above 125 mg/dL x URR above 40 % or a brain-plasma urea/osmotic gradient
  (Daugirdas Handbook: target URR < 40 % when SUN > 125 mg/dL; TV-6.1/6.2). Later sessions count 0.25
  (modelling choice: DDS is rare once the patient is established).
- ``encephalopathy``: serum aluminium >= 20 ug/L (watch, KDOQI) and > 100 ug/L (intoxication).
- ``neuropathy``: documented neuropathy, diabetes, cramps outside sessions; damped when a hemodynamic or
  osmotic trigger explains the cramps (no quantitative anchor exists: modelling choice).
- ``underdialysis``: delivered spKt/V < 1.2 or URR < 65 % (KDOQI 2006/2015); a weak cramp cause (uremic
  toxins: no quantitative link found), so one session's dose scores at most 0.5 (modelling choice). In
  ``assess``, a low dose in at least half the recent sessions (history) and a weekly standard Kt/V below
  2.1 (``crampwatch.weekly``) add to it; ``score_batch`` has neither and uses the session dose only.
"""

from __future__ import annotations

import numpy as np

from crampwatch.causes.advice import gentle_first_sessions_action, increase_dose_action
from crampwatch.causes.common import (
    SessionInput,
    confidence,
    ev,
    explain,
    feature_ev,
    noisy_or,
    pre_ev,
    ramp,
    tiered,
)
from crampwatch.causes.dose import standard_ktv_batch
from crampwatch.causes.features import Context, Features
from crampwatch.causes.findings import Confidence, Evidence, Finding, Recommendation
from crampwatch.causes.ids import DISEQUILIBRIUM, ENCEPHALOPATHY, NEUROPATHY, UNDERDIALYSIS
from crampwatch.causes.sentences import Direction, statement
from crampwatch.causes.thresholds import th
from crampwatch.clinical_labels import unit_of
from crampwatch.kinetics import sp_ktv_daugirdas_array
from crampwatch.signals import BRAIN_OSM_GRADIENT_MOSM_KG, BRAIN_UREA_MMOL_L, QB_ML_MIN, UREA_MMOL_L
from crampwatch.units import BUN_MG_DL_PER_UREA_MMOL_L

#: Limits of the disequilibrium evidence, mildest first: where the score starts to count, the cited limit.
DDS_BUN_LIMITS = ("dds_bun_onset_mg_dl", "dds_bun_mg_dl")
DDS_URR_LIMITS = ("dds_urr_onset_pct", "dds_urr_pct")
BRAIN_UREA_LIMITS = ("brain_urea_gradient_onset_mmol_l", "brain_urea_gradient_mmol_l")
BRAIN_OSM_LIMITS = ("brain_osm_gradient_onset_mosm_kg", BRAIN_OSM_GRADIENT_MOSM_KG)


# ---------------------------------------------------------------------------------------- disequilibrium


def dds_parts(F: Features, C: Context) -> dict[str, np.ndarray]:
    first = np.where(
        C.vintage_months <= 0, 1.0, np.where(C.vintage_months < th("dds_first_sessions_months"), 0.7, 0.25)
    )
    bun, _ = C.signal_or_lab(F["urea_pre_mmol_l"] * BUN_MG_DL_PER_UREA_MMOL_L, "bun_mg_dl")
    bun_part = ramp(bun, th("dds_bun_onset_mg_dl"), th("dds_bun_mg_dl"))
    urr_est = 100.0 * (1.0 - np.exp(-C.est_ktv))  # single pool, no generation (modelling choice)
    urr = np.where(np.isnan(F["urr_pct"]), urr_est, F["urr_pct"])
    urr_part = ramp(urr, th("dds_urr_onset_pct"), th("dds_urr_pct") + th("dds_urr_span_pct"))
    grad_part = np.maximum(
        ramp(
            F["brain_urea_gradient_mmol_l"],
            th("brain_urea_gradient_onset_mmol_l"),
            1.5 * th("brain_urea_gradient_mmol_l"),
        ),
        ramp(
            F["brain_osm_gradient_max_mosm_kg"],
            th("brain_osm_gradient_onset_mosm_kg"),
            1.5 * th(BRAIN_OSM_GRADIENT_MOSM_KG),
        ),
    )
    return {
        "first": first,
        "bun": bun_part,
        "urr": urr_part,
        "gradient": grad_part,
        "bun_mg_dl": bun,
        "urr_used": urr,
    }


def dds_score(P: dict[str, np.ndarray]) -> np.ndarray:
    return 0.95 * P["first"] * P["bun"] * np.maximum(P["urr"], P["gradient"])


def _dds_evidence(si: SessionInput) -> list[Evidence]:
    """Time on dialysis, pre-dialysis BUN, URR and the peak brain-plasma gradients."""
    urr_from_sig = np.isfinite(si.f("urr_pct"))
    vintage = si.c("vintage_months")
    bun, urr = si.p("bun_mg_dl"), si.p("urr_used")
    return [
        ev("vintage_months", vintage, "dds_first_sessions_months", sense="low", otherwise="context"),
        pre_ev(
            si,
            "bun_mg_dl",
            "urea_pre_mmol_l",
            bun,
            tiered(bun, DDS_BUN_LIMITS, "high"),
            signal=UREA_MMOL_L,
            sense="high",
        ),
        ev(
            "urr_pct",
            urr,
            tiered(urr, DDS_URR_LIMITS, "high"),
            estimated=not urr_from_sig or si.estimated(UREA_MMOL_L),
            note=""
            if urr_from_sig
            else "estimated from the prescription (Michaels/SPEEDY clearance, Watson V)",
            sense="high",
        ),
        *feature_ev(
            si,
            BRAIN_UREA_MMOL_L,
            "brain_urea_gradient_mmol_l",
            tiered(si.f("brain_urea_gradient_mmol_l"), BRAIN_UREA_LIMITS, "high"),
            name="brain_urea_gradient_mmol_l",
            note="peak",
            sense="high",
        ),
        *feature_ev(
            si,
            BRAIN_OSM_GRADIENT_MOSM_KG,
            "brain_osm_gradient_max_mosm_kg",
            tiered(si.f("brain_osm_gradient_max_mosm_kg"), BRAIN_OSM_LIMITS, "high"),
            note="peak",
            sense="high",
        ),
    ]


def _dds_explanation(si: SessionInput, s: float, evidence: list[Evidence]) -> str:
    vintage = si.c("vintage_months")
    subjects = {
        "bun_mg_dl": "pre-dialysis BUN",
        "urr_pct": "the urea reduction ratio",
        "brain_urea_gradient_mmol_l": "the highest brain-plasma urea gradient",
        BRAIN_OSM_GRADIENT_MOSM_KG: "the highest brain-plasma osmotic gradient",
    }
    bits = [
        statement(subjects[e.signal], e.value, unit_of(e.signal), e.threshold, t_min=e.t_min)
        for e in evidence
        if e.direction == "supports" and e.signal in subjects
    ]
    if s > 0.1 and bits:
        if vintage <= 0:
            when = "In the first dialysis"
        elif vintage < th("dds_first_sessions_months"):
            when = "In one of the first sessions"
        else:
            when = "In this session"
        expl = (
            f"{when} urea was removed fast from blood with a high starting level: " + "; ".join(bits) + ". "
            "The brain clears urea more slowly than blood, so water shifts into brain and nerve cells "
            "(disequilibrium), which can cause headache, nausea and cramps."
        )
    else:
        expl = (
            "Urea was not lowered too fast for this patient's stage of dialysis, so disequilibrium is an "
            "unlikely cause of cramps in this session."
        )
    return expl


def dds_finding(si: SessionInput) -> Finding:
    s = float(si.scores[DISEQUILIBRIUM][si.i])
    evidence = _dds_evidence(si)
    bun_from_sig = np.isfinite(si.f("urea_pre_mmol_l"))
    lab_status = "measured" if bun_from_sig or not si.lab_assumed("bun_mg_dl") else "estimated"
    conf = confidence([lab_status, si.status(UREA_MMOL_L)])
    expl = _dds_explanation(si, s, evidence)
    recs = []
    if s > 0.1:
        recs.append(
            Recommendation(
                gentle_first_sessions_action(si.c(QB_ML_MIN), si.c("duration_min")),
                "Daugirdas Handbook of Dialysis (SUN > 125 mg/dL: URR < 40 %); CJASN DDS prevention "
                "table (2-2.5 h, Qb 200-250)",
            )
        )
        recs.append(
            Recommendation(
                "Consider a higher dialysate Na or mannitol 1 g/kg in high-risk patients",
                "CJASN DDS prevention table (Na modelling, mannitol)",
            )
        )
    return Finding(DISEQUILIBRIUM, s, conf, evidence, expl, recs, si.missing(UREA_MMOL_L))


# ---------------------------------------------------------------------------------------- encephalopathy


def enc_score(F: Features, C: Context) -> np.ndarray:
    al = np.where(C.lab_assumed["aluminium_ug_l"], 0.0, C.labs["aluminium_ug_l"])
    watch, toxic = th("aluminium_watch_ug_l"), th("aluminium_toxic_ug_l")
    return 0.25 * (al >= watch) + 0.25 * ramp(al, watch, toxic) + 0.35 * (al > toxic)


def enc_finding(si: SessionInput) -> Finding:
    s = float(si.scores[ENCEPHALOPATHY][si.i])
    al = si.lab("aluminium_ug_l")
    assumed = si.lab_assumed("aluminium_ug_l")
    shown = None if assumed else al
    evidence = [
        ev("aluminium_ug_l", shown, "aluminium_watch_ug_l", note="pre-dialysis", sense="high"),
        ev(
            "aluminium_ug_l",
            shown,
            "aluminium_toxic_ug_l",
            note="pre-dialysis",
            sense="high",
            otherwise="context",
        ),
    ]
    conf: Confidence = "low" if assumed else "high"  # one input: measured, or not at all
    if assumed:
        expl = "Serum aluminium was not measured, so aluminium toxicity cannot be judged."
    else:
        limit = evidence[1] if evidence[1].direction == "supports" else evidence[0]
        said = statement("Serum aluminium", al, "µg/L", limit.threshold)
        expl = (
            f"{said}. Aluminium builds up in dialysis patients and damages nerves and brain."
            if s > 0
            else f"{said}, in the safe range."
        )
    recs = []
    if s > 0:
        recs.append(
            Recommendation(
                "Check water treatment (dialysate Al < 0.01 mg/L), "
                "stop aluminium-containing binders, consider a "
                "deferoxamine test",
                "KDOQI (serum Al < 20 ug/L); AAMI dialysate Al < 0.01 mg/L; PMC8823919",
            )
        )
    missing = ["labs.aluminium_ug_l"] if assumed else []
    return Finding(ENCEPHALOPATHY, s, conf, evidence, expl, recs, missing)


# ---------------------------------------------------------------------------------------- neuropathy


def neuro_parts(C: Context, trigger: np.ndarray) -> dict[str, np.ndarray]:
    documented = 0.45 * (C.neuropathy == 1)
    # diabetes raises the chance of an undocumented neuropathy (none when neuropathy is known either way)
    dm = np.select([~C.diabetes, np.isnan(C.neuropathy), C.neuropathy == 0], [0.0, 0.2, 0.05], 0.0)
    outside = 0.45 * (C.cramps_outside == 1)
    return {"documented": documented, "diabetes": dm, "outside": outside, "trigger": trigger}


def neuro_score(P: dict[str, np.ndarray]) -> np.ndarray:
    return noisy_or(P["documented"], P["diabetes"], P["outside"]) * (1.0 - 0.7 * np.clip(P["trigger"], 0, 1))


def _yes_no_direction(documented: float) -> Direction:
    """A documented yes supports, a documented no argues against, unknown is context."""
    if not np.isfinite(documented):
        return "context"
    return "supports" if documented else "against"


def neuro_finding(si: SessionInput) -> Finding:
    i = si.i
    s = float(si.scores[NEUROPATHY][i])
    neuro, outside = si.c("neuropathy"), si.c("cramps_outside")

    def tri(x: float) -> str:
        return "unknown" if not np.isfinite(x) else ("yes" if x else "no")

    evidence = [
        ev("peripheral_neuropathy", tri(neuro), None, threshold="yes", direction=_yes_no_direction(neuro)),
        ev(
            "diabetes",
            bool(si.ctx.diabetes[i]),
            None,
            threshold=True,
            direction="supports" if si.p("diabetes") > 0 else "context",
        ),
        ev(
            "cramps_outside_sessions",
            tri(outside),
            None,
            threshold="yes",
            direction=_yes_no_direction(outside),
        ),
        ev(
            "hemodynamic_osmotic_trigger",
            si.p("trigger"),
            None,
            note="max of the hypovolemia and osmotic scores (damps this finding)",
            direction="against" if si.p("trigger") > 0 else "context",
        ),
    ]
    known = [np.isfinite(neuro), np.isfinite(outside)]
    conf = confidence(["measured" if k else "missing" for k in known])
    bits = []
    if si.p("documented") > 0:
        bits.append("a peripheral neuropathy is documented")
    if si.p("diabetes") > 0:
        bits.append("diabetes often damages nerves")
    if si.p("outside") > 0:
        bits.append("cramps also occur away from dialysis")
    expl = explain(
        bits,
        "Damaged nerves fire on their own and can cause cramps: ",
        "Nothing points to a nerve problem as the cause of cramps.",
    )
    if bits and si.p("trigger") > 0.4:
        expl += (
            " Because fluid removal and sodium changes explain part of the cramps, "
            "nerves are a lesser factor."
        )
    recs = []
    if s > 0.1:
        recs.append(
            Recommendation(
                "Examine for peripheral neuropathy (and treat its cause)",
                "clinical assessment; no quantitative cramp data",
            )
        )
        recs.append(
            Recommendation(
                "Consider vitamin E 400 mg + vitamin C 250 mg daily, regular calf stretching",
                "NDT 2001;16:1448 (cramps -97 % with E+C, -54 % E, -61 % C, -7 % placebo); "
                "Mantilla-Manosalva 2024 "
                "Semin Dial (L-carnitine promising)",
            )
        )
    missing = [
        n for n, k in zip(("peripheral_neuropathy", "cramps_outside_sessions"), known, strict=True) if not k
    ]
    return Finding(NEUROPATHY, s, conf, evidence, expl, recs, missing)


# ---------------------------------------------------------------------------------------- underdialysis


def sp_ktv(F: Features, C: Context) -> tuple[np.ndarray, np.ndarray]:
    """Delivered spKt/V (Daugirdas 1993 JASN 4:1205, second generation) from the urea signal, else the
    prescription estimate K t / V (SPEEDY/Michaels clearance, Watson V). Returns (value, measured?)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = F["urea_post_mmol_l"] / F["urea_pre_mmol_l"]
        sp = sp_ktv_daugirdas_array(r, F["session_duration_h"], F["uf_total_l"], F["post_weight_kg"])
    measured = ~np.isnan(sp)
    return np.where(measured, sp, C.est_ktv), measured


def under_parts(F: Features, C: Context) -> dict[str, np.ndarray]:
    sp, measured = sp_ktv(F, C)
    # KDOQI dose targets apply to maintenance dialysis; first sessions deliberately aim low (URR < 40 %)
    established = (C.vintage_months >= th("dds_first_sessions_months")).astype(float)
    sp_part = 0.5 * established * ramp(th("sp_ktv_min") - sp, 0.0, th("sp_ktv_min") - th("sp_ktv_severe"))
    urr_part = 0.5 * established * ramp(th("urr_min_pct") - F["urr_pct"], 0.0, 10.0)
    # weekly standard Kt/V of this dose and schedule below the KDOQI 2015 minimum (ramp width and the 0.2
    # weight are modelling choices)
    std = standard_ktv_batch(sp, C.duration_min, C.sessions_per_week, C.catheter)
    std_part = 0.2 * established * ramp(th("std_ktv_min") - std, 0.0, 0.4)
    return {
        "sp": sp_part,
        "urr": urr_part,
        "std": std_part,
        "sp_ktv": sp,
        "std_ktv": std,
        "measured": measured,
    }


def under_score(P: dict[str, np.ndarray]) -> np.ndarray:
    return noisy_or(np.maximum(P["sp"], P["urr"]), P["std"])


def under_finding(si: SessionInput) -> Finding:
    s = float(si.scores[UNDERDIALYSIS][si.i])
    sp = si.p("sp_ktv")
    measured = bool(si.p("measured"))
    established = si.c("vintage_months") >= th("dds_first_sessions_months")
    # before the KDOQI dose targets apply, a dose below them is context, not support (the score is 0)
    dose = {"sense": "low", "otherwise": "against"} if established else {"direction": "context"}
    evidence = [
        ev(
            "sp_ktv",
            sp,
            "sp_ktv_min",
            estimated=not measured or si.estimated(UREA_MMOL_L),
            note="Daugirdas II from urea" if measured else "estimated from the prescription",
            **dose,
        ),
    ]
    if np.isfinite(si.f("urr_pct")):
        evidence.append(
            ev("urr_pct", si.f("urr_pct"), "urr_min_pct", estimated=si.estimated(UREA_MMOL_L), **dose)
        )
    if not established:
        evidence.append(
            ev(
                "vintage_months",
                si.c("vintage_months"),
                "dds_first_sessions_months",
                note="first sessions: KDOQI dose targets do not apply yet",
                direction="context",
            )
        )
    history = si.extra.get("history_sp_ktv") or []
    if len(history) > 0:
        low = sum(1 for x in history if x < th("sp_ktv_min"))
        recurrent = low / len(history) >= 0.5 and established
        evidence.append(
            ev(
                "sp_ktv_recent_sessions_below_min",
                float(low),
                None,
                note=f"of {len(history)} recent sessions",
                direction="supports" if recurrent else "context",
            )
        )
        if recurrent:
            s = float(noisy_or(np.array(s), np.array(0.3)))  # recurrent underdialysis (modelling choice)
    weekly = si.p("std_ktv")
    if np.isfinite(weekly):
        evidence.append(
            ev(
                "std_ktv",
                weekly,
                "std_ktv_min",
                estimated=not measured,
                note="Leypoldt 2004 from this spKt/V",
                **dose,
            )
        )
    conf = confidence([si.status(UREA_MMOL_L)] + (["measured"] if history else []))
    said = statement("single-pool Kt/V", sp, "", th("sp_ktv_min"))
    if evidence[0].direction == "supports":
        expl = (
            f"The dialysis dose was low: {said}. Waste products that build up between sessions may make "
            "muscles and nerves irritable."
        )
    elif not established:
        expl = f"In the first sessions the dose aims lower on purpose: {said}."
    else:
        expl = f"The dialysis dose was adequate: {said}."
    recs = []
    if s > 0.1:
        recs.append(
            Recommendation(
                increase_dose_action(
                    sp, si.c("duration_min"), si.c(QB_ML_MIN), si.scenario.prescription.dialyzer_koa_ml_min
                ),
                "KDOQI 2006 CPG 4 / KDOQI 2015 AJKD 66:884 (minimum 1.2, target 1.4; URR >= 65 %)",
            )
        )
    return Finding(UNDERDIALYSIS, min(1.0, s), conf, evidence, expl, recs, si.missing(UREA_MMOL_L))
