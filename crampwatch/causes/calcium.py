"""Hypocalcemia and hypomagnesemia: low dialysate Ca/Mg, low pre-dialysis values, falling ionized Ca/Mg,
and alkalosis (bicarbonate binds more Ca to albumin and lowers ionized Ca; Physiol Rep 2021 PMC8582296).

Hypocalcemia parts: ``dialysate`` Ca below 1.5 (mild) and 1.25 mmol/L (KDIGO 2017 range 1.25-1.50; more
cramps at 1.5 than 1.75, IJKD); ``pre`` ionized Ca < 1.1 mmol/L or corrected total Ca < 8.4 mg/dL (KDOQI
2003; Payne 1973 albumin correction); ``trajectory`` ionized Ca falling below 1.1, or by > 0.1 mmol/L
to a value below 1.2; ``alkalosis`` pre HCO3 > 24 (Akkabut 2021, OR 5.6), intradialytic HCO3 > 30 or
dialysate HCO3 >= 38. The sum is raised by 20 % without active vitamin D and 10 % in the first year
(susceptibility, modelling choice).
Hypomagnesemia parts: dialysate Mg <= 0.375 mmol/L (Lynch 2014), serum Mg < 0.7 before or during the session.
"""

from __future__ import annotations

import numpy as np

from crampwatch.causes.advice import dialysate_mg_action, lower_bicarbonate_action, raise_ca_action
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
from crampwatch.causes.features import Context, Features
from crampwatch.causes.findings import Evidence, Finding, Recommendation
from crampwatch.causes.ids import HYPOCALCEMIA, HYPOMAGNESEMIA
from crampwatch.causes.sentences import Direction, course, statement
from crampwatch.causes.thresholds import th
from crampwatch.signals import HCO3_MMOL_L, ICA_MMOL_L, MG_MMOL_L

#: The dialysate Ca limits its evidence compares with, mildest first: the score counts a dialysate Ca below
#: the 1.5 mmol/L reference a little and below the 1.25 mmol/L KDIGO lower end fully (``ca_parts``).
DIALYSATE_CA_LIMITS = ("dialysate_ca_reference_mmol_l", "dialysate_ca_low_mmol_l")
#: The same for dialysate Mg: below the 0.5 mmol/L reference, below 0.375 mmol/L (Lynch 2014).
DIALYSATE_MG_LIMITS = ("dialysate_mg_reference_mmol_l", "dialysate_mg_low_mmol_l")

#: Payne RB et al. BMJ 1973: corrected Ca (mg/dL) = Ca + 0.8 (4 - albumin g/dL).
PAYNE_SLOPE_MG_DL_PER_G_DL = 0.8


def corrected_ca_mg_dl(ca_total_mg_dl: np.ndarray, albumin_g_dl: np.ndarray) -> np.ndarray:
    """Albumin-corrected total calcium (Payne 1973)."""
    return ca_total_mg_dl + PAYNE_SLOPE_MG_DL_PER_G_DL * (4.0 - albumin_g_dl)


def ca_parts(F: Features, C: Context) -> dict[str, np.ndarray]:
    d_ca = C.dialysate_ca_mmol_l
    ref, low = th("dialysate_ca_reference_mmol_l"), th("dialysate_ca_low_mmol_l")
    dialysate = 0.1 * ramp(ref - d_ca, 0.0, ref - low) + 0.45 * ramp(low - d_ca, 0.0, 0.25)
    ica_pre, ica_assumed = C.signal_or_lab(F["ica_pre_mmol_l"], ICA_MMOL_L)
    corr = corrected_ca_mg_dl(C.labs["ca_total_mg_dl"], C.labs["albumin_g_dl"])
    corr_part = np.where(
        C.lab_assumed["ca_total_mg_dl"], 0.0, ramp(th("corrected_ca_low_mg_dl") - corr, 0.0, 1.0)
    )
    pre = 0.4 * np.maximum(ramp(th("ica_low_mmol_l") - ica_pre, 0.0, 0.15), corr_part)
    pre = np.where(ica_assumed, 0.5 * pre, pre)
    ica_fall = F["ica_pre_mmol_l"] - F["ica_min_mmol_l"]
    trajectory = np.maximum(
        0.8
        * ramp(
            th("ica_low_mmol_l") - F["ica_min_mmol_l"], 0.0, th("ica_low_mmol_l") - th("ica_severe_mmol_l")
        ),
        0.5
        * ramp(ica_fall, th("ica_fall_mmol_l"), 2.5 * th("ica_fall_mmol_l"))
        * ramp(
            th("ica_fall_relevant_mmol_l") - F["ica_min_mmol_l"],
            0.0,
            th("ica_fall_relevant_mmol_l") - th("ica_low_mmol_l"),
        ),
    )
    hco3_pre = np.where(C.lab_assumed[HCO3_MMOL_L], np.nan, C.labs[HCO3_MMOL_L])
    alkalosis = 0.35 * np.maximum.reduce(
        [
            ramp(hco3_pre, th("hco3_high_pre_mmol_l"), th("hco3_high_pre_mmol_l") + 4.0),
            ramp(F["hco3_max_mmol_l"], th("hco3_alkalosis_mmol_l"), th("hco3_alkalosis_mmol_l") + 4.0),
            0.6
            * ramp(
                C.dialysate_hco3_mmol_l,
                th("dialysate_hco3_high_mmol_l"),
                th("dialysate_hco3_high_mmol_l") + 4,
            ),
        ]
    )
    susceptibility = 1.0 + 0.2 * (~C.active_vitamin_d) + 0.1 * (C.vintage_months < th("early_vintage_months"))
    return {
        "dialysate": dialysate,
        "pre": pre,
        "trajectory": trajectory,
        "alkalosis": alkalosis,
        "susceptibility": susceptibility,
        "corrected_ca": corr,
        "ica_pre_used": ica_pre,
    }


def ca_score(P: dict[str, np.ndarray]) -> np.ndarray:
    base = noisy_or(P["dialysate"], P["pre"], P["trajectory"], P["alkalosis"])
    return np.minimum(1.0, base * P["susceptibility"])


def mg_parts(F: Features, C: Context) -> dict[str, np.ndarray]:
    d_mg = C.dialysate_mg_mmol_l
    ref, low = th("dialysate_mg_reference_mmol_l"), th("dialysate_mg_low_mmol_l")
    dialysate = 0.25 * ramp(ref - d_mg, 0.0, ref - low) + 0.3 * ramp(low - d_mg, 0.0, 0.125)
    mg_pre, mg_assumed = C.signal_or_lab(F["mg_pre_mmol_l"], MG_MMOL_L)
    pre = 0.4 * ramp(th("mg_low_mmol_l") - mg_pre, 0.0, 0.15)
    pre = np.where(mg_assumed, 0.5 * pre, pre)
    trajectory = 0.6 * ramp(th("mg_low_mmol_l") - F["mg_min_mmol_l"], 0.0, 0.15)
    return {"dialysate": dialysate, "pre": pre, "trajectory": trajectory, "mg_pre_used": mg_pre}


def mg_score(P: dict[str, np.ndarray]) -> np.ndarray:
    return noisy_or(P["dialysate"], P["pre"], P["trajectory"])


def _susceptible(s: float, present: bool) -> Direction:
    """A susceptibility (no active vitamin D, first year on dialysis) supports a cause the session already
    points to; otherwise it is context."""
    return "supports" if present and s > 0 else "context"


def ca_evidence(si: SessionInput, s: float) -> list[Evidence]:
    """The hypocalcemia evidence of session ``si`` (score ``s``), each item with its direction."""
    d_ca = si.c("dialysate_ca_mmol_l")
    vintage = si.c("vintage_months")
    corr_assumed = si.lab_assumed("ca_total_mg_dl")
    hco3_assumed = si.lab_assumed(HCO3_MMOL_L)
    return [
        ev("dialysate_ca_mmol_l", d_ca, tiered(d_ca, DIALYSATE_CA_LIMITS, "low"), sense="low"),
        pre_ev(
            si,
            ICA_MMOL_L,
            "ica_pre_mmol_l",
            si.p("ica_pre_used"),
            "ica_low_mmol_l",
            lab_note=" (lab / estimated from total Ca and albumin)",
            sense="low",
        ),
        ev(
            "corrected_ca_mg_dl",
            si.p("corrected_ca"),
            "corrected_ca_low_mg_dl",
            estimated=corr_assumed,
            note="pre-dialysis, Payne 1973 albumin correction",
            sense="low",
            direction="context" if corr_assumed else None,
        ),
        *feature_ev(si, ICA_MMOL_L, "ica_min_mmol_l", "ica_low_mmol_l", note="nadir", sense="low"),
        ev(
            HCO3_MMOL_L,
            si.lab(HCO3_MMOL_L),
            "hco3_high_pre_mmol_l",
            estimated=hco3_assumed,
            note="pre-dialysis",
            sense="high",
            direction="context" if hco3_assumed else None,
        ),
        *feature_ev(si, HCO3_MMOL_L, "hco3_max_mmol_l", "hco3_alkalosis_mmol_l", note="peak", sense="high"),
        ev(
            "dialysate_hco3_mmol_l", si.c("dialysate_hco3_mmol_l"), "dialysate_hco3_high_mmol_l", sense="high"
        ),
        ev(
            "active_vitamin_d",
            bool(si.ctx.active_vitamin_d[si.i]),
            None,
            threshold=True,
            direction=_susceptible(s, not si.ctx.active_vitamin_d[si.i]),
        ),
        ev(
            "vintage_months",
            vintage,
            "early_vintage_months",
            direction=_susceptible(s, vintage < th("early_vintage_months")),
        ),
    ]


def _ca_bits(si: SessionInput, evidence: list[Evidence]) -> list[str]:
    """The observations the hypocalcemia explanation names: only supporting evidence, each with its number
    and what it is, and the course of ionized calcium when the trajectory counts."""
    by = {(e.signal, e.note.split(" (")[0].split(",")[0]): e for e in evidence if e.direction == "supports"}
    bits = []
    if (e := by.get(("dialysate_ca_mmol_l", ""))) is not None:
        bits.append(statement("the dialysate calcium", e.value, "mmol/L", e.threshold))
    if (e := by.get((ICA_MMOL_L, "pre-dialysis"))) is not None:
        bits.append(statement("pre-dialysis ionized calcium", e.value, "mmol/L", e.threshold))
    if (e := by.get(("corrected_ca_mg_dl", "pre-dialysis"))) is not None:
        bits.append(statement("pre-dialysis albumin-corrected calcium", e.value, "mg/dL", e.threshold))
    if si.p("trajectory") > 0 and np.isfinite(si.f("ica_pre_mmol_l")) and np.isfinite(si.f("ica_end_mmol_l")):
        bits.append(
            course(
                "ionized calcium",
                "mmol/L",
                si.f("ica_pre_mmol_l"),
                si.f("ica_end_mmol_l"),
                si.f("ica_min_mmol_l"),
                si.f("ica_min_at_min"),
            )
        )
    if (e := by.get((ICA_MMOL_L, "nadir"))) is not None:
        bits.append(statement("the lowest ionized calcium", e.value, "mmol/L", e.threshold, t_min=e.t_min))
    alkalosis = [
        statement(subject, e.value, "mmol/L", e.threshold, t_min=e.t_min)
        for key, subject in (
            ((HCO3_MMOL_L, "pre-dialysis"), "pre-dialysis bicarbonate"),
            ((HCO3_MMOL_L, "peak"), "the highest bicarbonate"),
            (("dialysate_hco3_mmol_l", ""), "the dialysate bicarbonate"),
        )
        if (e := by.get(key)) is not None
    ]
    if alkalosis:
        alkalosis[-1] += " (bicarbonate binds calcium and lowers its free form)"
    bits += alkalosis
    if bits and by.get(("active_vitamin_d", "")) is not None:
        bits.append("no active vitamin D is prescribed")
    return bits


def ca_finding(si: SessionInput) -> Finding:
    s = float(si.scores[HYPOCALCEMIA][si.i])
    d_ca = si.c("dialysate_ca_mmol_l")
    vitamin_d = bool(si.ctx.active_vitamin_d[si.i])
    evidence = ca_evidence(si, s)
    conf = confidence(
        [si.status(ICA_MMOL_L), si.lab_status(ICA_MMOL_L), si.status(HCO3_MMOL_L)], [1.0, 1.0, 0.5]
    )
    expl = explain(
        _ca_bits(si, evidence),
        "Nerves and muscles become irritable when free (ionized) calcium is low. In this session ",
        "Calcium in the blood and in the dialysis fluid was adequate, so low calcium is an unlikely "
        "cause of cramps in this session.",
    )
    recs = []
    if s > 0.15:
        if d_ca < th("dialysate_ca_reference_mmol_l"):
            recs.append(
                Recommendation(
                    raise_ca_action(d_ca),
                    "IJKD study 1.75 -> 1.5 mmol/L (more IDH and cramps with lower Ca); KDIGO CKD-MBD 2017 "
                    "(1.25-1.50 mmol/L); Goldenstein 2018 PLoS One (Ca mass transfer by dialysate Ca)",
                )
            )
        lower_hco3 = lower_bicarbonate_action(si.c("dialysate_hco3_mmol_l"))
        if si.p("alkalosis") > 0 and lower_hco3:
            recs.append(
                Recommendation(
                    lower_hco3,
                    "Akkabut 2021 (high serum bicarbonate: cramp OR 5.6); Physiol Rep 2021 PMC8582296",
                )
            )
        if not vitamin_d:
            recs.append(
                Recommendation(
                    "Check 25-OH vitamin D and PTH; consider active vitamin D if indicated",
                    "KDIGO CKD-MBD 2017",
                )
            )
        recs.append(
            Recommendation(
                "Measure ionized Ca before and after dialysis",
                "normal ionized Ca 1.1-1.3 mmol/L; Payne 1973 correction is approximate",
            )
        )
    return Finding(HYPOCALCEMIA, s, conf, evidence, expl, recs, si.missing(ICA_MMOL_L))


def mg_finding(si: SessionInput) -> Finding:
    s = float(si.scores[HYPOMAGNESEMIA][si.i])
    d_mg = si.c("dialysate_mg_mmol_l")
    evidence = [
        ev("dialysate_mg_mmol_l", d_mg, tiered(d_mg, DIALYSATE_MG_LIMITS, "low"), sense="low"),
        pre_ev(si, MG_MMOL_L, "mg_pre_mmol_l", si.p("mg_pre_used"), "mg_low_mmol_l", sense="low"),
        *feature_ev(si, MG_MMOL_L, "mg_min_mmol_l", "mg_low_mmol_l", note="nadir", sense="low"),
    ]
    conf = confidence([si.status(MG_MMOL_L), si.lab_status(MG_MMOL_L)])
    supports = [e for e in evidence if e.direction == "supports"]
    subjects = {
        "": "the dialysate magnesium",
        "pre-dialysis": "pre-dialysis plasma magnesium",
        "nadir": "the lowest plasma magnesium",
    }
    bits = [
        statement(subjects[e.note.split(" (")[0]], e.value, "mmol/L", e.threshold, t_min=e.t_min)
        for e in supports
    ]
    if si.p("trajectory") > 0 and np.isfinite(si.f("mg_pre_mmol_l")) and np.isfinite(si.f("mg_end_mmol_l")):
        bits.append(
            course(
                "plasma magnesium",
                "mmol/L",
                si.f("mg_pre_mmol_l"),
                si.f("mg_end_mmol_l"),
                si.f("mg_min_mmol_l"),
                si.f("mg_min_at_min"),
            )
        )
    expl = explain(
        bits,
        "Low magnesium makes nerves and muscles more excitable. In this session ",
        "Magnesium in the blood and the dialysis fluid was adequate, so low magnesium is an unlikely "
        "cause of cramps in this session.",
    )
    recs = []
    raise_mg = dialysate_mg_action(d_mg)
    if s > 0.15 and raise_mg:
        recs.append(
            Recommendation(
                raise_mg,
                "Lynch 2014 Adv Nephrol (0.375 -> 0.5 mmol/L: cramps 77 -> 56 % of patients; "
                "early termination "
                "23 -> 0 %)",
            )
        )
    if s > 0.15:
        recs.append(
            Recommendation("Measure serum Mg before and after dialysis", "normal serum Mg >= 0.7 mmol/L")
        )
    return Finding(HYPOMAGNESEMIA, s, conf, evidence, expl, recs, si.missing(MG_MMOL_L))
