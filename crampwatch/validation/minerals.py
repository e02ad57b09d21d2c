"""Checks on ionized calcium, magnesium and potassium under the dialysate settings, and on the effect of
bicarbonate on ionized calcium."""

from __future__ import annotations

import numpy as np

from crampwatch.signals import ICA_MMOL_L, MG_MMOL_L, PLASMA_K_MMOL_L
from crampwatch.validation.fixtures import end, run, start
from crampwatch.validation.registry import Check, register_all


def _ica_change(ca_bath: float, **changes: object) -> float:
    tr = run("stable", prescription__dialysate__ca_mmol_l=ca_bath, **changes)
    return end(tr, ICA_MMOL_L) - start(tr, ICA_MMOL_L)


def _ica_low_bath() -> tuple[float, str]:
    return _ica_change(1.25), "iCa end minus start, dialysate Ca 1.25"


def _ica_high_bath() -> tuple[float, str]:
    return _ica_change(1.75), "iCa end minus start, dialysate Ca 1.75"


#: Pre-dialysis iCa of the citrate/acetate crossover (PLoS One 2019;14:e0225824, Table 3: median 1.14 mmol/L)
CROSSOVER_ICA = 1.14


#: Its iCa change (median, interquartile range; mmol/L) with the acetate-acidified bath of each dialysate Ca
CROSSOVER_DELTAS: dict[float, tuple[float, float, float]] = {
    1.5: (0.10, 0.07, 0.14),
    1.25: (-0.01, -0.05, 0.01),
}


def _crossover_check(ca: float, median: float, lo: float, hi: float) -> Check:
    """The iCa change with dialysate Ca ``ca`` against the crossover's median and interquartile range."""

    def compute() -> tuple[float, str]:
        value = _ica_change(ca, patient__labs__ica_mmol_l=CROSSOVER_ICA)
        return value, f"iCa end minus start, pre {CROSSOVER_ICA:g}, Ca {ca:g}"

    spread = f"{median:+.2f} ({lo:g} to {hi:g}) mmol/L"
    return Check(
        f"ica_change_ca_{str(ca).replace('.', '_')}",
        "calcium",
        f"Ionized Ca change with dialysate Ca {ca:g} mmol/L (pre-dialysis iCa {CROSSOVER_ICA:g})",
        f"{CROSSOVER}: median {spread}, acetate-acidified bath",
        f"{STABLE} with pre-dialysis iCa {CROSSOVER_ICA:g}",
        spread,
        "mmol/L",
        lo,
        hi,
        compute,
        role="validation",
        publications=("citrate_2019",),
        range_basis="the published interquartile range of patients: the model's typical patient should lie "
        "in the central half",
        covers=("dialysate_ca_mmol_l", ICA_MMOL_L),
    )


def _alkalosis_ica() -> tuple[float, str]:
    lo = run("stable", prescription__dialysate__hco3_mmol_l=28)
    hi = run("stable", prescription__dialysate__hco3_mmol_l=38)
    return end(hi, ICA_MMOL_L) - end(lo, ICA_MMOL_L), "end iCa, dialysate HCO3 38 minus 28 mmol/L"


def _mg_end(pre_mg: float) -> float:
    return end(
        run("stable", patient__labs__mg_mmol_l=pre_mg, prescription__dialysate__mg_mmol_l=0.5), MG_MMOL_L
    )


#: Leenders 2018: mean pre-dialysis plasma Mg 0.88 mmol/L with a 0.50 mmol/L bath
LEENDERS_PRE_MG = 0.88


def _mg_decline() -> tuple[float, str]:
    return _mg_end(LEENDERS_PRE_MG) - LEENDERS_PRE_MG, "end minus pre-dialysis Mg, pre 0.88, bath 0.50"


def _mg_slope() -> tuple[float, str]:
    pre = np.array([0.70, 0.88, 1.06])
    post = np.array([_mg_end(x) for x in pre])
    slope, icpt = np.polyfit(pre, post, 1)
    neutral = icpt / (1.0 - slope)
    return float(slope), f"post = {slope:.2f} x pre {icpt:+.2f}; post equals pre at {neutral:.2f} mmol/L"


#: Han SW et al. 1999: pre-dialysis plasma K 5.3 mmol/L in chronically hyperkalemic patients
HAN_PRE_K = 5.3


def _k_fall() -> tuple[float, str]:
    tr = run("stable", patient__labs__k_mmol_l=HAN_PRE_K)
    return start(tr, PLASMA_K_MMOL_L) - end(tr, PLASMA_K_MMOL_L), "pre minus end K, pre 5.3, K 2 bath, 4 h"


STABLE = "examples/stable.yaml (75 kg man, 4 h, Qb 350, KoA 1200)"
VDS_CA = ("van_der_sande_1997", "van_der_sande_1998", "maynard_1986")
CROSSOVER = (
    "PLoS One 2019;14:e0225824 (Table 3; citrate vs acetate dialysate crossover, first author not confirmed)"
)
#: Known shortfalls of the current model, shown as gaps in the report.
GAPS: dict[str, str] = {
    "mg_decline_0_5_bath": "with a 0.50 mmol/L bath the model's plasma Mg settles at 0.70 mmol/L (bath / "
    "ultrafilterable fraction 0.7, a modelling choice) where Leenders et al. found 0.74: its fall from 0.88 "
    "is slightly too large",
    "mg_post_on_pre_slope": "as mg_decline_0_5_bath: the modelled slope (0.23) is just below the published "
    "interval; the exchangeable Mg pool (a modelling choice) holds plasma Mg less than measured",
}

CHECKS: tuple[Check, ...] = (
    Check(
        "ica_low_ca_bath",
        "calcium",
        "Ionized Ca change with dialysate Ca 1.25 mmol/L",
        "van der Sande 1997/1998; Maynard 1986: low-Ca bath lowers or keeps iCa, below the high-Ca course",
        STABLE,
        "falls (does not rise)",
        "mmol/L",
        -0.3,
        -0.03,
        _ica_low_bath,
        role="calibration",
        publications=VDS_CA,
        range_basis="direction from the publications; the bounds are the earlier card's (no published "
        "spread). "
        "Same crossovers as the fitted Ca exponents",
        covers=("dialysate_ca_mmol_l", ICA_MMOL_L),
    ),
    Check(
        "ica_high_ca_bath",
        "calcium",
        "Ionized Ca change with dialysate Ca 1.75 mmol/L",
        "van der Sande FM et al. AJKD 1998;32:125: iCa increased significantly with 1.75",
        STABLE,
        "rises",
        "mmol/L",
        0.05,
        0.4,
        _ica_high_bath,
        role="calibration",
        publications=VDS_CA,
        range_basis="direction from the publication; the bounds are the earlier card's (no published "
        "spread). "
        "Same crossovers as the fitted Ca exponents",
        covers=("dialysate_ca_mmol_l", ICA_MMOL_L),
    ),
    *(_crossover_check(ca, *published) for ca, published in CROSSOVER_DELTAS.items()),
    Check(
        "alkalosis_ica",
        "calcium",
        "End iCa with dialysate HCO3 38 vs 28 mmol/L",
        "alkalosis lowers iCa 0.02-0.05 mmol/L per 0.1 pH (albumin binding); Akkabut 2021 (HCO3 and cramps)",
        STABLE,
        "lower with more bicarbonate",
        "mmol/L",
        -0.1,
        -0.005,
        _alkalosis_ica,
        role="calibration",
        range_basis="the model's iCa-pH slope is the midpoint of the quoted range, so this restates a "
        "parameter; the bounds are the earlier card's",
        covers=("dialysate_hco3_mmol_l", ICA_MMOL_L),
    ),
    Check(
        "mg_decline_0_5_bath",
        "magnesium",
        "Plasma Mg change with dialysate Mg 0.50 mmol/L (pre-dialysis Mg 0.88)",
        "Leenders NHJ et al. Sci Rep 2018;8:10256 (34 patients, 6 sessions each): -0.10 (95 % CI -0.13 to "
        "-0.06) mmol/L",
        STABLE + " with pre-dialysis Mg 0.88",
        "-0.10 (-0.13 to -0.06) mmol/L",
        "mmol/L",
        -0.13,
        -0.06,
        _mg_decline,
        role="validation",
        publications=("leenders_2018",),
        range_basis="the published 95 % CI of the mean decline",
        covers=("dialysate_mg_mmol_l", MG_MMOL_L),
    ),
    Check(
        "mg_post_on_pre_slope",
        "magnesium",
        "Slope of post- on pre-dialysis plasma Mg with dialysate Mg 0.50 mmol/L",
        "Leenders NHJ et al. Sci Rep 2018;8:10256: +0.03 post per +0.10 pre (95 % CI 0.024-0.037); post "
        "equals pre at 0.74 mmol/L",
        STABLE + " with pre-dialysis Mg 0.70, 0.88, 1.06",
        "0.30 (0.24-0.37)",
        "1",
        0.24,
        0.37,
        _mg_slope,
        role="validation",
        publications=("leenders_2018",),
        range_basis="the published 95 % CI of the regression slope",
        covers=("dialysate_mg_mmol_l", MG_MMOL_L),
    ),
    Check(
        "potassium_fall_session",
        "potassium",
        "Plasma K fall over a session (pre-dialysis K 5.3)",
        "Han SW et al. Korean J Nephrol 1999;18:940 (20 patients): 5.3 +- 0.16 -> 3.8 +- 0.09 mmol/L",
        STABLE + " with pre-dialysis K 5.3 (the study's bath K and session length are not in the abstract)",
        "1.5 mmol/L",
        "mmol/L",
        1.14,
        1.86,
        _k_fall,
        role="validation",
        publications=("han_1999",),
        range_basis="95 % CI of the fall from the published +- read as standard errors (the abstract does "
        "not "
        "say; SDs would give a narrower range), correlation ignored",
        covers=("dialysate_k_mmol_l", PLASMA_K_MMOL_L),
    ),
)
register_all(CHECKS, GAPS)
