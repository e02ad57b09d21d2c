"""Osmotic: low dialysate Na, falling plasma Na / effective osmolality (hyponatremia, hemodilution).

A dialysate Na below plasma Na removes Na by diffusion; plasma Na and effective osmolality (2 Na +
glucose; urea is excluded because it crosses cell membranes) fall, water moves into muscle cells and
their excitability rises (Stewart 1972: less cramping at dialysate Na 145 than 132). Parts:
- ``gradient``: dialysate minus pre-dialysis plasma Na below -2 mmol/L (Arramreddy 2012), full at -8;
- ``fall``: plasma Na fall > 2 mmol/L or effective osmolality fall > 4 mOsm/kg (modelling choices);
- ``hypona``: plasma Na below 135 mmol/L during the session.
"""

from __future__ import annotations

import numpy as np

from crampwatch.causes.advice import raise_na_action
from crampwatch.causes.common import SessionInput, confidence, ev, explain, noisy_or, ramp
from crampwatch.causes.features import Context, Features
from crampwatch.causes.findings import Evidence, Finding, Recommendation
from crampwatch.causes.ids import OSMOTIC
from crampwatch.causes.sentences import course, number, statement, with_unit
from crampwatch.causes.thresholds import th
from crampwatch.signals import DIALYSATE_NA_MMOL_L, OSM_MOSM_KG, PLASMA_NA_MMOL_L

#: An effective osmolality fall estimated from total osmolality counts from 2 mOsm/kg higher (the urea
#: estimate's uncertainty; modelling choice).
EST_OSM_MARGIN_MOSM_KG = 2.0


def parts(F: Features, C: Context) -> dict[str, np.ndarray]:
    gradient = 0.75 * ramp(
        -F["na_gradient_mmol_l"], -th("na_gradient_neutral_mmol_l"), -th("na_gradient_severe_mmol_l")
    )
    fall = 0.7 * np.maximum(
        ramp(F["plasma_na_fall_mmol_l"], th("plasma_na_fall_mmol_l"), th("plasma_na_fall_severe_mmol_l")),
        ramp(F["effective_osm_fall_mosm_kg"], th("eff_osm_fall_mosm_kg"), th("eff_osm_fall_severe_mosm_kg")),
    )
    hypona = 0.4 * ramp(th("hyponatremia_mmol_l") - F["plasma_na_min_mmol_l"], 0.0, 5.0)
    # effective osmolality fall estimated from total osmolality minus the expected urea fall: half weight,
    # thresholds 2 mOsm/kg higher for the uncertainty of the urea estimate (modelling choice)
    est = 0.35 * ramp(
        F["effective_osm_fall_estimated_mosm_kg"],
        th("eff_osm_fall_mosm_kg") + EST_OSM_MARGIN_MOSM_KG,
        th("eff_osm_fall_severe_mosm_kg") + EST_OSM_MARGIN_MOSM_KG,
    )
    fall = np.where(
        np.isnan(F["plasma_na_fall_mmol_l"]) & np.isnan(F["effective_osm_fall_mosm_kg"]),
        np.maximum(fall, est),
        fall,
    )
    return {"gradient": gradient, "fall": fall, "hypona": hypona}


def score(P: dict[str, np.ndarray]) -> np.ndarray:
    return noisy_or(P["gradient"], P["fall"], P["hypona"])


def _evidence(si: SessionInput) -> list[Evidence]:
    """Dialysate-plasma Na gradient, dialysate Na (context: the gradient is what counts), plasma Na fall and
    nadir, effective osmolality fall."""
    grad = si.f("na_gradient_mmol_l")
    na_from_signal = bool(si.features.from_signal["plasma_na_pre_mmol_l"][si.i])
    na_est = si.pre_estimated(na_from_signal, "na_mmol_l", PLASMA_NA_MMOL_L)
    evidence = [
        ev(
            "na_gradient_mmol_l",
            grad,
            "na_gradient_neutral_mmol_l",
            estimated=na_est,
            sense="low",
            note=f"dialysate {number(si.f(DIALYSATE_NA_MMOL_L))} minus pre-dialysis plasma "
            f"{number(si.f('plasma_na_pre_mmol_l'))}",
        ),
        ev(DIALYSATE_NA_MMOL_L, si.f(DIALYSATE_NA_MMOL_L), "dialysate_na_low_mmol_l", direction="context"),
    ]
    if np.isfinite(si.f("plasma_na_min_mmol_l")):
        est, t_min = si.estimated(PLASMA_NA_MMOL_L), si.f("plasma_na_min_at_min")
        evidence += [
            ev(
                "plasma_na_fall_mmol_l",
                si.f("plasma_na_fall_mmol_l"),
                "plasma_na_fall_mmol_l",
                t_min=t_min,
                estimated=est,
                note="pre-dialysis minus nadir",
                sense="high",
            ),
            ev(
                PLASMA_NA_MMOL_L,
                si.f("plasma_na_min_mmol_l"),
                "hyponatremia_mmol_l",
                t_min=t_min,
                estimated=est,
                note="nadir",
                sense="low",
            ),
        ]
    if np.isfinite(si.f("effective_osm_fall_mosm_kg")):
        evidence.append(
            ev(
                "effective_osm_fall_mosm_kg",
                si.f("effective_osm_fall_mosm_kg"),
                "eff_osm_fall_mosm_kg",
                t_min=si.f("effective_osm_min_at_min"),
                note="pre-dialysis minus nadir",
                sense="high",
                estimated=si.estimated(PLASMA_NA_MMOL_L) or si.estimated(OSM_MOSM_KG),
            )
        )
    elif np.isfinite(si.f("effective_osm_fall_estimated_mosm_kg")):
        evidence.append(
            ev(
                "effective_osm_fall_mosm_kg",
                si.f("effective_osm_fall_estimated_mosm_kg"),
                "eff_osm_fall_mosm_kg",
                threshold=th("eff_osm_fall_mosm_kg") + EST_OSM_MARGIN_MOSM_KG,
                t_min=si.f("osm_min_at_min"),
                estimated=True,
                sense="high",
                note="pre-dialysis minus nadir: total osmolality fall minus the urea fall expected from the "
                "prescription",
            )
        )
    return evidence


def finding(si: SessionInput) -> Finding:
    s = float(si.scores[OSMOTIC][si.i])
    evidence = _evidence(si)
    na_status = si.status(PLASMA_NA_MMOL_L)
    if na_status == "missing" and si.status(OSM_MOSM_KG) != "missing":
        na_status = si.status(OSM_MOSM_KG)
    conf = confidence([na_status, si.lab_status("na_mmol_l")])
    missing = si.missing(PLASMA_NA_MMOL_L)
    return Finding(OSMOTIC, s, conf, evidence, _explain(si, evidence), _recommend(si), missing)


def _explain(si: SessionInput, evidence: list[Evidence]) -> str:
    bits = []
    for e in evidence:
        if e.direction != "supports":
            continue
        if e.signal == "na_gradient_mmol_l":
            bits.append(
                f"the dialysate sodium ({with_unit(si.f(DIALYSATE_NA_MMOL_L), 'mmol/L')}) was "
                f"{with_unit(-float(e.value), 'mmol/L')} below the pre-dialysis plasma sodium "
                f"({with_unit(si.f('plasma_na_pre_mmol_l'), 'mmol/L')})"
            )
        elif e.signal == "plasma_na_fall_mmol_l":
            bits.append(
                statement(
                    "the fall in plasma sodium from before dialysis to its nadir",
                    e.value,
                    "mmol/L",
                    e.threshold,
                )
            )
            if np.isfinite(si.f("plasma_na_end_mmol_l")):
                bits.append(
                    course(
                        "plasma sodium",
                        "mmol/L",
                        si.f("plasma_na_first_mmol_l"),
                        si.f("plasma_na_end_mmol_l"),
                        si.f("plasma_na_min_mmol_l"),
                        si.f("plasma_na_min_at_min"),
                    )
                )
        elif e.signal == PLASMA_NA_MMOL_L:
            bits.append(statement("the lowest plasma sodium", e.value, "mmol/L", e.threshold, t_min=e.t_min))
        elif e.signal == "effective_osm_fall_mosm_kg":
            bits.append(
                statement(
                    "the fall in effective osmolality (2 Na + glucose) from before dialysis to its nadir",
                    e.value,
                    "mOsm/kg",
                    e.threshold,
                )
            )
    return explain(
        bits,
        "When blood sodium falls during dialysis, water moves into muscle cells and nerves fire more "
        "easily. In this session ",
        "Blood sodium and the salt balance with the dialysis fluid stayed steady, so a fall in blood "
        "salt concentration is an unlikely cause of cramps in this session.",
    )


def _recommend(si: SessionInput) -> list[Recommendation]:
    recs = []
    if si.p("gradient") > 0 or si.p("fall") > 0 or si.p("hypona") > 0:
        raise_na = raise_na_action(si.f("plasma_na_pre_mmol_l"), si.c(DIALYSATE_NA_MMOL_L))
        if raise_na:
            recs.append(
                Recommendation(
                    raise_na,
                    "Stewart 1972 (less cramping at 145 vs 132 mmol/L); Arramreddy 2012 Hemodial Int 16:473 "
                    "(gradient -2: no significant change in cramps); Dunlop 2019 Cochrane CD011204",
                )
            )
            recs.append(
                Recommendation(
                    "Watch interdialytic weight gain after raising dialysate Na",
                    "Trinh & Weber 2017 Nephron Extra 7:10 (+1 mmol/L gradient: OR 1.33 for IDWG > 3 %)",
                )
            )
        recs.append(
            Recommendation(
                "For an acute cramp: hypertonic mannitol, 50 % dextrose or 23 % saline",
                "PMID 1768504 (randomized crossover n=24: equally effective; "
                "mannitol shortest cramp 9 +- 5 min)",
            )
        )
    return recs
