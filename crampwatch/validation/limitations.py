"""What the card cannot judge: published comparisons without a spread (reported beside the model's value,
not passed or failed) and known limitations (published effects the model's structure cannot express, or
levers and signals with no independent publication at hand).

:data:`COMPARISONS` and :data:`LIMITATIONS` name the levers and signals they concern (``covers``, the
vocabulary of :data:`crampwatch.validation.registry.Check.covers`), so the coverage table can list them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from crampwatch.physiology.publications import PUBLICATIONS
from crampwatch.signals import (
    DIALYSATE_NA_MMOL_L,
    DIALYSATE_TEMP_C,
    HCO3_MMOL_L,
    HR_BPM,
    ICA_MMOL_L,
    MAP_MMHG,
    PLASMA_K_MMOL_L,
    PLASMA_NA_MMOL_L,
    PLASMA_VOLUME_L,
    QB_ML_MIN,
    RBV_PCT,
    UREA_MMOL_L,
)
from crampwatch.simulator import patient_parameters, simulate_batch
from crampwatch.validation.fixtures import at, population, run, start, variant


@dataclass(frozen=True)
class Comparison:
    """A published number with no spread to judge against: the model's value is reported beside it."""

    id: str
    title: str
    source: str
    publications: tuple[str, ...]
    covers: tuple[str, ...]
    published: str
    compute: Callable[[], str]

    def __post_init__(self) -> None:
        unknown = [k for k in self.publications if k not in PUBLICATIONS]
        if unknown:
            raise ValueError(f"comparison {self.id}: unknown publication {unknown[0]!r}")


@dataclass(frozen=True)
class Limitation:
    """A published effect the model cannot express, or a lever or signal without independent data."""

    id: str
    covers: tuple[str, ...]
    text: str


def _k_removal() -> str:
    scs = [variant("stable", prescription__dialysate__k_mmol_l=k) for k in (0.0, 1.0, 2.0)]
    rem = simulate_batch(scs, keep_states=True).states["rem_k"][:, 240]
    return " / ".join(f"{x:.0f}" for x in rem) + " mmol (stable example, pre-dialysis K 5.0)"


def _qd_kt() -> str:
    p = patient_parameters([variant("stable", prescription__qd_ml_min=q) for q in (400.0, 500.0, 700.0)])
    k = p.kd_u
    return f"+{100 * (k[1] / k[0] - 1):.1f} % (400 -> 500) and +{100 * (k[2] / k[1] - 1):.1f} % (500 -> 700)"


def _keane_slope() -> str:
    pop, res = population()
    uf = np.array([s.uf_volume_l for s in pop])
    dur = np.array([s.prescription.duration_min for s in pop])
    sel = (uf >= 1.5) & (uf <= 1.9) & ~res.failed
    rbv = res.signals[RBV_PCT][sel]
    end = rbv[np.arange(rbv.shape[0]), np.rint(dur[sel]).astype(int)]
    slope = (end - 100.0) / (dur[sel] / 60.0)
    return f"{np.median(slope):.1f} %/h (median of {int(sel.sum())} virtual sessions with 1.5-1.9 L)"


def _rodriguez_plasma_volume() -> str:
    out = []
    for iso in (120.0, 0.0):
        tr = run(
            "stable",
            prescription__duration_min=120.0,
            prescription__uf_volume_l=2.5,
            prescription__isolated_uf_min=iso,
        )
        out.append(100.0 * (at(tr, PLASMA_VOLUME_L, 120.0) / start(tr, PLASMA_VOLUME_L) - 1.0))
    return f"{out[0]:+.1f} % (isolated UF) vs {out[1]:+.1f} % (dialysis), plasma volume after 2 h"


def _rudnicki() -> str:
    tr = run(
        "stable", after_min=120.0, patient__labs__ica_mmol_l=1.19, prescription__dialysate__ca_mmol_l=1.66
    )
    s0, e, a = start(tr, ICA_MMOL_L), at(tr, ICA_MMOL_L, 240.0), at(tr, ICA_MMOL_L, 360.0)
    return (
        f"{s0:.2f} -> {e:.2f} mmol/L; {a:.2f} 2 h after ({100 * (e - a) / (e - s0):.0f} % of the rise undone)"
    )


def _bos_heart_rate() -> str:
    tr = run(
        "stable",
        prescription__uf_volume_l=2.5,
        prescription__isolated_uf_min=30.0,
        prescription__uf_profile=[[0.0, 1.6], [30.0, 0.914285714]],
    )
    hr = tr.data[HR_BPM]
    rise_30, rise_max = at(tr, HR_BPM, 30.0) - start(tr, HR_BPM), hr.max() - hr.iloc[0]
    return f"{rise_30:+.1f} /min at 30 min, {rise_max:+.1f} at most"


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "k_removal_by_bath",
        "K removed with dialysate K 0 / 1 / 2 mmol/L",
        "Zehnder C et al. NDT 2001;16:78 (12 patients, 4 h, Qb 300, glucose-free, bicarbonate 40)",
        ("zehnder_2001",),
        ("dialysate_k_mmol_l", PLASMA_K_MMOL_L),
        "117.1 / 80.2 / 63.3 mmol (no spread in the abstract)",
        _k_removal,
    ),
    Comparison(
        "qd_kt_gain",
        "Dialysis dose gain with dialysate flow",
        "BMC Nephrol 2015;16:20 (31 patients, 637 sessions; first author not confirmed)",
        ("albalate_2015",),
        ("qd_ml_min", UREA_MMOL_L),
        "Kt +4 % (400 -> 500) and +3 % (500 -> 700 mL/min)",
        _qd_kt,
    ),
    Comparison(
        "keane_rbv_slope",
        "RBV slope at a mean UF volume of 1.7 L",
        "Keane DF et al. ASAIO J 2018 (47 patients)",
        ("keane_2018",),
        ("uf_volume_l", "uf_rate", RBV_PCT),
        "-3.2 %/h (no spread in the abstract)",
        _keane_slope,
    ),
    Comparison(
        "rodriguez_plasma_volume",
        "Plasma volume after 2 h of isolated UF vs dialysis removing ~2.5 L",
        "Rodriguez M et al. Kidney Int 1985;28:808 (5 patients)",
        ("rodriguez_1985",),
        ("isolated_uf_min", RBV_PCT),
        "no difference (no magnitudes in the abstract)",
        _rodriguez_plasma_volume,
    ),
    Comparison(
        "rudnicki_ica",
        "Ionized Ca with dialysate Ca 1.66 mmol/L, and after dialysis",
        "Rudnicki M et al. Clin Nephrol 1993;40:225 (10 patients)",
        ("rudnicki_1993",),
        ("dialysate_ca_mmol_l", ICA_MMOL_L, "after:ica_mmol_l"),
        "1.19 -> 1.38 mmol/L (means); back to the pre-dialysis value within 5 h",
        _rudnicki,
    ),
    Comparison(
        "bos_heart_rate",
        "Heart rate during isolated UF (0.5 L in 30 min) and the following dialysis",
        "Bos WJ et al. AJKD 2000;35:819 (9 patients); the abstract does not say over which phase",
        ("bos_2000",),
        (HR_BPM, "isolated_uf_min"),
        "+13 +- 11 /min",
        _bos_heart_rate,
    ),
)

LIMITATIONS: tuple[Limitation, ...] = (
    Limitation(
        "na_lever_no_independent_data",
        (DIALYSATE_NA_MMOL_L, PLASMA_NA_MMOL_L),
        "Every plasma-Na data set at hand (Munoz Mendoza 2011, Hecking 2011) was used to fit the Na "
        "equilibrium factor: the dialysate-Na lever and the Na signal have calibration checks only.",
    ),
    Limitation(
        "profiles_no_data",
        ("uf_profile", "dialysate_na_profile"),
        "No published UF- or Na-profile comparison with a spread was found (Brummelhuis 2009: Na profiling "
        "raises refill, qualitative); in the model a Na profile acts through its Na load, not its shape.",
    ),
    Limitation(
        "dose_levers_verification_only",
        ("duration_min", QB_ML_MIN, "qd_ml_min", "dialyzer_koa_ml_min"),
        "Session time, Qb, Qd and KoA act through urea kinetics verified against T. W. Meyer's simulator "
        "(verification, not clinical data); the only clinical dose-lever comparison at hand (dialysate flow) "
        "has no spread and is reported, not judged.",
    ),
    Limitation(
        "k_transcellular_shift",
        ("dialysate_k_mmol_l", PLASMA_K_MMOL_L),
        "K moves across cell membranes linearly in its gradient, scaled by pH (Adrogue & Madias 1981); "
        "insulin, catecholamines and glucose in the bath, which make K removal non-linear in bath K "
        "(Zehnder 2001: 117 / 80 / 63 mmol with 0 / 1 / 2 mmol/L), are not modelled.",
    ),
    Limitation(
        "low_pressure_baroreflex",
        ("isolated_uf_min", MAP_MMHG, HR_BPM),
        "The baroreflex reads arterial pressure only; the cardiopulmonary reflex that raises resistance and "
        "heart rate as central blood volume falls (Bos 2000: MAP +11, HR +13, resistance +59 % during "
        "isolated "
        "UF) is absent, so the model's heart rate barely changes and isolated UF does not raise MAP.",
    ),
    Limitation(
        "extracorporeal_heat_offset",
        (DIALYSATE_TEMP_C, "isolated_uf_min"),
        "During dialysis the circuit exchanges heat with the dialysate only: the model's energy transfer is "
        "about 13 W above the measured one at both 35.5 and 37.5 degC (van der Sande 2001: -26.6 and -3.5 W; "
        "model -13.5 and +11.1 W), because heat lost from the blood lines is not modelled; the difference "
        "between temperatures, which the optimizer compares, matches (dialysate_temp_energy_transfer).",
    ),
    Limitation(
        "bicarbonate_no_independent_data",
        ("dialysate_hco3_mmol_l", HCO3_MMOL_L, "after:hco3_mmol_l"),
        "No independent bicarbonate comparison with a confirmed citation was found: cohorts with "
        "post-dialysis "
        "bicarbonate by bath (126 patients, bath 32 -> 28 mmol/L) and its stability for 20 h after dialysis "
        "(Braz J Med Biol Res) could not be attributed to authors here and are not used. The model's "
        "bicarbonate falls ~0.8 mmol/L in the 2 h after dialysis (buffer back-titration and acid "
        "generation).",
    ),
    Limitation(
        "post_dialysis_na_no_data",
        ("after:plasma_na_mmol_l",),
        "No published course of plasma Na in the hours after dialysis was found. The model keeps Na + K "
        "constant (consistency check): Na falls by about the K rebound (~1 mmol/L in 2 h).",
    ),
    Limitation(
        "after_course_no_data",
        ("after:mg_mmol_l", "after:rbv_pct", "after:osm_mosm_kg"),
        "No published post-dialysis course of Mg, blood volume or osmolality was found.",
    ),
)
