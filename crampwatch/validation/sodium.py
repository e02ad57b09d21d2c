"""Checks on plasma sodium under a dialysate-plasma gradient (Gotch sodium kinetics, cohort data)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from crampwatch.model import with_changes
from crampwatch.population import virtual_population
from crampwatch.signals import DIALYSATE_NA_MMOL_L, PLASMA_NA_MMOL_L
from crampwatch.simulator import simulate_batch
from crampwatch.validation.fixtures import end, last_values, run, start
from crampwatch.validation.registry import Check, register_all

#: Cohort of Munoz Mendoza J et al. NDT 2011;26:1281 (1 084 patients): pre-dialysis Na 136.7 +- 2.9 mmol/L,
#: dialysate Na median 140 (range 136-149). Its distribution is not published: the one below keeps the median,
#: the range and most baths at 138-140 (modelling choice).
COHORT_PRE_NA = (136.7, 2.9)
COHORT_BATHS = (136.0, 137.0, 138.0, 139.0, 140.0, 141.0, 142.0, 143.0, 144.0, 145.0, 148.0)
COHORT_BATH_P = (0.04, 0.04, 0.12, 0.10, 0.40, 0.06, 0.10, 0.05, 0.05, 0.03, 0.01)
COHORT_N = 400
COHORT_SEED = 11


@lru_cache(maxsize=1)
def cohort() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dialysate Na, pre, post plasma Na) of a virtual cohort with the published pre-Na and bath spread."""
    rng = np.random.default_rng(COHORT_SEED)
    pop = virtual_population(COHORT_N, COHORT_SEED)
    baths = rng.choice(np.array(COHORT_BATHS), size=COHORT_N, p=np.array(COHORT_BATH_P))
    pre = np.clip(rng.normal(*COHORT_PRE_NA, COHORT_N), 125.0, 150.0).round(1)
    pop = [
        with_changes(
            s,
            patient=with_changes(s.patient, labs=with_changes(s.patient.labs, na_mmol_l=float(p))),
            prescription=with_changes(
                s.prescription, dialysate=with_changes(s.prescription.dialysate, na_mmol_l=float(b))
            ),
        )
        for s, b, p in zip(pop, baths, pre, strict=True)
    ]
    res = simulate_batch(pop)
    na = res.signals[PLASMA_NA_MMOL_L]
    ok = ~res.failed
    return baths[ok], na[ok, 0], last_values(na[ok])


def _post_mean() -> tuple[float, str]:
    baths, pre, post = cohort()
    return float(
        post.mean()
    ), f"{len(post)} virtual sessions; pre {pre.mean():.1f}, bath median {np.median(baths):g}"


def _post_sd() -> tuple[float, str]:
    _, _, post = cohort()
    return float(post.std()), "SD of post-dialysis Na in the virtual cohort"


def _rise_fraction() -> tuple[float, str]:
    _, pre, post = cohort()
    return 100.0 * float(np.mean(post > pre)), "sessions whose plasma Na rose"


def _cohort_patient() -> tuple[float, str]:
    tr = run(
        "stable",
        patient__labs__na_mmol_l=136.7,
        prescription__dialysate__na_mmol_l=140.0,
        prescription__qb_ml_min=300,
        prescription__dialyzer_koa_ml_min=1100,
    )
    return end(tr, PLASMA_NA_MMOL_L), "pre 136.7, bath 140, 4 h, Qb 300, KoA 1100"


def _isonatric() -> tuple[float, str]:
    worst, where = 0.0, ""
    for name in ("stable", "high_uf"):
        for na in (134.0, 138.0, 142.0):
            tr = run(name, patient__labs__na_mmol_l=na, prescription__dialysate__na_mmol_l=na)
            change = end(tr, PLASMA_NA_MMOL_L) - start(tr, PLASMA_NA_MMOL_L)
            if abs(change) > abs(worst):
                worst, where = change, f"{name}, Na {na:g}"
    return worst, f"largest change over stable/high_uf at Na 134/138/142 ({where})"


def _low_bath() -> tuple[float, str]:
    tr = run("stable", prescription__dialysate__na_mmol_l=132.0)
    return end(tr, PLASMA_NA_MMOL_L) - 132.0, "end plasma Na minus dialysate Na 132 (pre 138)"


COHORT = "virtual cohort (400): pre Na 136.7 +- 2.9, dialysate Na median 140 (136-148)"
MUNOZ = "Munoz Mendoza J et al. NDT 2011;26:1281 (1 084 patients)"
MUNOZ_CAL = "the equilibrium factor 1.015 was fitted to this cohort"
#: Published post-dialysis Na of Munoz Mendoza 2011: mean 141.3, SD 2.5 mmol/L, 1 084 patients; the virtual
#: cohort has 400 sessions. The 95 % interval of a difference of means / SDs / shares combines both samples.
POST_MEAN, POST_SD, N_PUBLISHED = 141.3, 2.5, 1084
_SE_MEAN = 1.96 * POST_SD * (1.0 / N_PUBLISHED + 1.0 / COHORT_N) ** 0.5
_SE_SD = 1.96 * POST_SD * (1.0 / (2 * N_PUBLISHED) + 1.0 / (2 * COHORT_N)) ** 0.5
_SE_RISE = 1.96 * (0.91 * 0.09 * (1.0 / N_PUBLISHED + 1.0 / COHORT_N)) ** 0.5
#: Known shortfalls of the current model, shown as gaps in the report.
GAPS: dict[str, str] = {
    "na_post_mean": "the equilibrium factor that would reach the cohort's mean (about 1.02) pushes isonatric "
    "sessions further above their own target (na_isonatric); the calibration stops at 1.015, 1.2 mmol/L "
    "short",
    "na_post_sd": "the virtual cohort lacks the cohort's spread of delivered dialysate Na, laboratory error "
    "and Na intake; its post-dialysis Na is narrower than measured",
    "na_cohort_patient": "as na_post_mean: the fitted equilibrium factor stops short of the cohort mean",
    "na_isonatric": "the equilibrium factor 1.015 fitted to Munoz Mendoza 2011 raises plasma Na in isonatric "
    "sessions by more than the earlier bound allowed: the two calibration targets conflict in this model",
}

CHECKS: tuple[Check, ...] = (
    Check(
        "na_post_mean",
        "sodium",
        "Mean post-dialysis plasma Na",
        MUNOZ,
        COHORT,
        "141.3 +- 2.5 mmol/L",
        "mmol/L",
        round(POST_MEAN - _SE_MEAN, 2),
        round(POST_MEAN + _SE_MEAN, 2),
        _post_mean,
        role="calibration",
        publications=("munoz_mendoza_2011",),
        range_basis="95 % interval of the difference between the published mean (SD 2.5, n 1 084) and the "
        "virtual cohort's (n 400); " + MUNOZ_CAL,
        covers=(DIALYSATE_NA_MMOL_L, PLASMA_NA_MMOL_L),
        depends="session_population",
    ),
    Check(
        "na_post_sd",
        "sodium",
        "SD of post-dialysis plasma Na",
        MUNOZ,
        COHORT,
        "2.5 mmol/L",
        "mmol/L",
        round(POST_SD - _SE_SD, 2),
        round(POST_SD + _SE_SD, 2),
        _post_sd,
        role="calibration",
        publications=("munoz_mendoza_2011",),
        range_basis="95 % interval of the SD from both sample sizes (normal approximation); same data set as "
        "the fitted equilibrium factor",
        covers=(PLASMA_NA_MMOL_L,),
        depends="session_population",
    ),
    Check(
        "na_rise_fraction",
        "sodium",
        "Sessions in which plasma Na rose",
        MUNOZ,
        COHORT,
        "91 %",
        "% of sessions",
        round(91.0 - 100 * _SE_RISE, 1),
        round(91.0 + 100 * _SE_RISE, 1),
        _rise_fraction,
        role="calibration",
        publications=("munoz_mendoza_2011",),
        range_basis="binomial 95 % interval of the difference of shares (n 1 084 and 400); same data set as "
        "the fitted equilibrium factor",
        covers=(DIALYSATE_NA_MMOL_L, PLASMA_NA_MMOL_L),
        depends="session_population",
    ),
    Check(
        "na_cohort_patient",
        "sodium",
        "Post-dialysis Na of the cohort's mean patient",
        MUNOZ,
        "examples/stable.yaml with pre Na 136.7, dialysate Na 140, Qb 300, KoA 1100",
        "141.3 mmol/L (95 % CI of the mean 141.15-141.45)",
        "mmol/L",
        141.15,
        141.45,
        _cohort_patient,
        role="calibration",
        publications=("munoz_mendoza_2011",),
        range_basis="95 % CI of the published mean (SD 2.5, n 1 084): the cohort's mean patient; "
        + MUNOZ_CAL,
        covers=(DIALYSATE_NA_MMOL_L, PLASMA_NA_MMOL_L),
    ),
    Check(
        "na_isonatric",
        "sodium",
        "Plasma Na change when dialysate Na equals plasma Na",
        "isonatric dialysis keeps plasma Na (Hecking M et al. Blood Purif 2011, PMID 21160174; review "
        "'Sodium balance in maintenance hemodialysis')",
        "examples stable and high_uf, plasma = dialysate Na 134 / 138 / 142",
        "~0 (no numeric tolerance published)",
        "mmol/L",
        -1.0,
        0.3,
        _isonatric,
        role="calibration",
        publications=("hecking_2011",),
        range_basis="the bound of the earlier tests before it was widened to +1.0 in the calibration commit; "
        "no published spread. The equilibrium factor was bounded by these sessions",
        covers=(DIALYSATE_NA_MMOL_L, PLASMA_NA_MMOL_L),
    ),
    Check(
        "na_low_bath",
        "sodium",
        "End plasma Na relative to a low dialysate Na (132, plasma 138)",
        "by the end of dialysis plasma Na approximates dialysate Na (Hecking 2011; Munoz Mendoza 2011)",
        "examples/stable.yaml with dialysate Na 132",
        "close to the dialysate value",
        "mmol/L",
        -1.0,
        3.0,
        _low_bath,
        role="calibration",
        publications=("hecking_2011", "munoz_mendoza_2011"),
        range_basis="no published spread; the earlier card's range. Same sources as the fitted equilibrium",
        covers=(DIALYSATE_NA_MMOL_L, PLASMA_NA_MMOL_L),
    ),
)
register_all(CHECKS, GAPS)
