"""The derived-quantity registry: every quantity crampwatch derives from signals or from the scenario, once.

Each :class:`Quantity` has a name with its unit (docs/formats.md naming), a clinical label, its one compute
function and the clinical cut-offs that apply to it, each with its source (:data:`CUTOFFS`). Features,
metrics, the unit model's inputs, the optimizer, the web tables and docs/formats.md read names, labels,
formulas and cut-offs from here; the cause analyzer's threshold table
(:mod:`crampwatch.causes.thresholds`) takes the cut-offs of registered quantities from :data:`CUTOFFS`.

A compute function is an array core (``*_array``: numpy in, numpy out, no checking; the hot paths call it)
and, where users call it, a validating wrapper (one-line :class:`~crampwatch.errors.InputError` naming the
field). Quantities that are a reduction of one signal over a session (a nadir, an end value, a slope) name
the signal and the reduction, and are computed by :func:`reduce_signal`, which applies that reduction (the
cause analyzer's features and the web trends read them through it); the dose figures name the formula of
:mod:`crampwatch.kinetics` or :mod:`crampwatch.weekly` that computes them (``formula``), since those layers
sit above this one.

Adding a quantity: docs/architecture.md ("Derived quantities").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crampwatch.errors import ArrayLike, FloatOrArray, check, out
from crampwatch.series import first_valid, last_valid, row_max, row_min, session_end, slope_per_h
from crampwatch.signals import (
    DIALYSATE_NA_MMOL_L,
    HCO3_MMOL_L,
    ICA_MMOL_L,
    MG_MMOL_L,
    PLASMA_NA_MMOL_L,
    RBV_PCT,
    SBP_MMHG,
    UF_RATE_ML_H,
)


@dataclass(frozen=True)
class Cutoff:
    """A clinical cut-off: value, unit and source ("modelling choice" when no source gives a number)."""

    value: float
    unit: str
    source: str


_C = Cutoff
#: Cut-offs of the registered quantities, by name (the threshold names of the Assessment JSON).
CUTOFFS: dict[str, Cutoff] = {
    # UF rate per kg of post-dialysis weight
    "ufr_10_ml_kg_h": _C(
        10.0, "mL/kg/h", "Assimon 2016 AJKD 68:911 (UFR > 10: HR 1.22); Flythe 2011 KI 79:250"
    ),
    "ufr_13_ml_kg_h": _C(13.0, "mL/kg/h", "Flythe 2011 KI 79:250 (UFR > 13: HR 1.59); KCQA/NQF 2015"),
    "ufr_severe_ml_kg_h": _C(18.0, "mL/kg/h", "modelling choice: score saturates 5 mL/kg/h above 13"),
    "kcqa_short_session_min": _C(240.0, "min", "KCQA/NQF 2015 measure (AJKD 2016;68:522): session < 240 min"),
    # interdialytic weight gain and post-dialysis weight
    "idwg_kg": _C(3.5, "kg", "Akkabut 2021 Ramathibodi Med J (IDWG >= 3.5 kg: cramp OR 4.5)"),
    "idwg_onset_kg": _C(
        2.5, "kg", "modelling choice: the weight-gain score ramps from 2.5 kg, 1 kg below the Akkabut 3.5 kg"
    ),
    "idwg_pct": _C(3.9, "% of dry weight", "Lopez-Gomez 2005 KI Suppl 93 (highest IDWG tertile > 3.9 %)"),
    "idwg_pct_high": _C(
        5.7, "% of dry weight", "DOPPS via Kalantar-Zadeh 2009 summary (IDWG >= 5.7 %: HR 1.23)"
    ),
    "below_dry_weight_kg": _C(
        0.5,
        "kg",
        "modelling choice: post-weight 0.5 kg below the prescribed dry weight (mirror of edOW 0.3 kg)",
    ),
    # relative blood volume
    "rbv_low_1h_pct": _C(93.0, "%", "Preciado 2019 NDT 34:1401 (favourable RBV at 1 h: 93-96 %)"),
    "rbv_low_2h_pct": _C(89.0, "%", "Preciado 2019 NDT 34:1401 (favourable RBV at 2 h: 89-94 %)"),
    "rbv_low_3h_pct": _C(86.0, "%", "Preciado 2019 NDT 34:1401 (favourable RBV at 3 h: 86-92 %)"),
    "rbv_critical_pct": _C(88.0, "%", "mean critical RBV ~88 % (Fresenius BVM / DocCheck; patient-specific)"),
    "rbv_slope_steep_pct_h": _C(
        -6.4, "%/h", "modelling choice: twice the stable-patient RBV slope of -3.2 %/h (Keane 2018 ASAIO J)"
    ),
    # blood pressure: intradialytic hypotension
    "idh_nadir_sbp_mmhg": _C(90.0, "mmHg", "Flythe 2015 JASN (nadir SBP < 90 mmHg)"),
    "idh_nadir_sbp_high_pre_mmhg": _C(
        100.0, "mmHg", "Flythe 2015 JASN (nadir SBP < 100 mmHg if pre-SBP >= 160)"
    ),
    "idh_high_pre_sbp_mmhg": _C(160.0, "mmHg", "Flythe 2015 JASN (pre-SBP >= 160 mmHg)"),
    "idh_sbp_fall_mmhg": _C(20.0, "mmHg", "EBPG 2007 Kooman NDT 22 Suppl 2 (SBP fall >= 20 mmHg)"),
    "idh_map_fall_mmhg": _C(10.0, "mmHg", "EBPG 2007 Kooman NDT 22 Suppl 2 (MAP fall >= 10 mmHg)"),
    "idh_sbp_fall_severe_mmhg": _C(
        40.0, "mmHg", "modelling choice: an SBP fall twice the EBPG 20 mmHg scores fully"
    ),
    # sodium and osmolality
    "na_gradient_neutral_mmol_l": _C(
        -2.0,
        "mmol/L",
        "Arramreddy 2012 Hemodial Int 16:473 (gradient -2 mmol/L: no significant change in cramps)",
    ),
    "na_gradient_severe_mmol_l": _C(
        -8.0,
        "mmol/L",
        "modelling choice: dialysate 8 mmol/L below plasma (Cochrane low-Na < 138 mM, Dunlop 2019)",
    ),
    "dialysate_na_low_mmol_l": _C(
        138.0, "mmol/L", "Dunlop 2019 Cochrane CD011204 (low dialysate Na < 138 mM)"
    ),
    "plasma_na_fall_mmol_l": _C(
        2.0, "mmol/L", "modelling choice: plasma Na fall beyond lab variation (~2 mmol/L)"
    ),
    "plasma_na_fall_severe_mmol_l": _C(6.0, "mmol/L", "modelling choice: 6 mmol/L intradialytic Na fall"),
    "hyponatremia_mmol_l": _C(135.0, "mmol/L", "conventional lower limit of plasma Na (135 mmol/L)"),
    "na_set_point_mmol_l": _C(
        137.9,
        "mmol/L",
        "Trinh E & Weber C, Nephron Extra 2017; Munoz Mendoza J et al. NDT 2011 (mean set point)",
    ),
    "na_set_point_sd_mmol_l": _C(
        2.4,
        "mmol/L",
        "Trinh E & Weber C, Nephron Extra 2017; Munoz Mendoza J et al. NDT 2011 (SD between patients)",
    ),
    "eff_osm_fall_mosm_kg": _C(
        4.0, "mOsm/kg", "modelling choice: effective (2 Na + glucose) osmolality fall of 4 mOsm/kg (2 x Na 2)"
    ),
    "eff_osm_fall_severe_mosm_kg": _C(12.0, "mOsm/kg", "modelling choice: 2 x the 6 mmol/L Na fall"),
    # dose
    "sp_ktv_min": _C(1.2, "", "KDOQI 2006 CPG 4 / KDOQI 2015 (minimum spKt/V 1.2)"),
    "sp_ktv_target": _C(1.4, "", "KDOQI 2006 CPG 4 / KDOQI 2015 (target spKt/V 1.4)"),
    "sp_ktv_severe": _C(0.9, "", "modelling choice: spKt/V 0.3 below the KDOQI minimum scores fully"),
    "urr_min_pct": _C(65.0, "%", "KDOQI 2006 CPG 4 (minimum URR 65 %)"),
    "urr_target_pct": _C(70.0, "%", "KDOQI 2006 CPG 4 (target URR 70 %)"),
    "std_ktv_min": _C(2.1, "", "KDOQI 2015 (weekly standard Kt/V target 2.3, minimum 2.1)"),
    "std_ktv_target": _C(2.3, "", "KDOQI 2015 (weekly standard Kt/V target 2.3)"),
}

#: KDOQI 2006 CPG 4 minimum spKt/V per session by sessions per week (residual Kr < 2 mL/min; retained by
#: KDOQI 2015): 3/week 1.2 (:data:`CUTOFFS` ``sp_ktv_min``), 4/week 0.8, 6/week 0.5; 5/week interpolated and
#: 7/week as 6 (modelling choice).
SP_KTV_MIN_BY_SESSIONS_PER_WEEK: dict[int, float] = {
    3: CUTOFFS["sp_ktv_min"].value,
    4: 0.8,
    5: 0.65,
    6: 0.5,
    7: 0.5,
}

#: Lowest post-dialysis weight used in weight-indexed rates, kg: the lowest weight the scenario model accepts
#: (modelling choice; keeps a rate finite when a recorded UF volume is implausibly large).
POST_WEIGHT_FLOOR_KG = 25.0


def cutoff(name: str) -> float:
    """The value of cut-off ``name``."""
    return CUTOFFS[name].value


# ------------------------------------------------------------------------------------------ formulas


def post_weight_kg_array(pre_weight_kg: ArrayLike, uf_volume_l: ArrayLike) -> np.ndarray:
    """Post-dialysis weight, kg: pre-weight minus the UF volume (1 L = 1 kg), at least
    :data:`POST_WEIGHT_FLOOR_KG`."""
    return np.maximum(np.asarray(pre_weight_kg, dtype=float) - uf_volume_l, POST_WEIGHT_FLOOR_KG)


def post_weight_kg(pre_weight_kg: ArrayLike, uf_volume_l: ArrayLike) -> FloatOrArray:
    """Validating wrapper of :func:`post_weight_kg_array`."""
    pre = check("pre_weight_kg", pre_weight_kg, 10, 300, "kg")
    uf = check("uf_volume_l", uf_volume_l, 0, 20, "L")
    return out(post_weight_kg_array(pre, uf))


def uf_rate_ml_h_array(uf_volume_l: ArrayLike, duration_min: ArrayLike) -> np.ndarray:
    """Mean UF rate, mL/h: ``1000 UF / (t / 60)``."""
    return np.asarray(uf_volume_l, dtype=float) * 1000.0 / (np.asarray(duration_min, dtype=float) / 60.0)


def uf_rate_ml_kg_h_array(
    uf_volume_l: ArrayLike, duration_min: ArrayLike, post_weight_kg: ArrayLike
) -> np.ndarray:
    """UF rate per kg of post-dialysis weight, mL/kg/h: ``1000 UF / (t / 60) / W_post``."""
    return uf_rate_per_kg_array(uf_rate_ml_h_array(uf_volume_l, duration_min), post_weight_kg)


def uf_rate_per_kg_array(uf_rate_ml_h: ArrayLike, post_weight_kg: ArrayLike) -> np.ndarray:
    """A UF rate (mL/h) per kg of post-dialysis weight, mL/kg/h."""
    return np.asarray(uf_rate_ml_h, dtype=float) / np.asarray(post_weight_kg, dtype=float)


def uf_rate_ml_kg_h(
    uf_volume_l: ArrayLike, duration_min: ArrayLike, post_weight_kg: ArrayLike
) -> FloatOrArray:
    """UF rate per kg, mL/kg/h (:func:`uf_rate_ml_kg_h_array`), validating its inputs.

    Thresholds: > 13 mL/kg/h HR 1.59 (Flythe et al. Kidney Int 2011;79:250); > 10 HR 1.22 (Assimon et al.
    AJKD 2016;68:911). Both index the rate to the post-dialysis (target) weight.
    """
    uf = check("uf_volume_l", uf_volume_l, 0, 20, "L")
    t = check("duration_min", duration_min, 0, 1440, "min", low_open=True)
    w = check("post_weight_kg", post_weight_kg, 10, 300, "kg")
    return out(uf_rate_ml_kg_h_array(uf, t, w))


def duration_for_uf_rate_min_array(
    uf_volume_l: ArrayLike, post_weight_kg: ArrayLike, uf_rate_ml_kg_h: ArrayLike
) -> np.ndarray:
    """Session time (min) that removes ``uf_volume_l`` at ``uf_rate_ml_kg_h``: the UF-rate formula solved
    for the time."""
    per_h = np.asarray(uf_rate_ml_kg_h, dtype=float) * np.asarray(post_weight_kg, dtype=float)
    return np.asarray(uf_volume_l, dtype=float) * 1000.0 / per_h * 60.0


def mean_dialysate_na_mmol_l(
    na_mmol_l: float, na_profile: Sequence[Sequence[float]] | None, duration_min: float
) -> float:
    """Time-averaged dialysate Na over a session, mmol/L: ``na_mmol_l`` without a profile, else the exact mean
    of the profile (linear between its ``[t_min, na]`` points, held before the first and after the last)."""
    if not na_profile:
        return float(na_mmol_l)
    times = np.array([float(p[0]) for p in na_profile])
    values = np.array([float(p[1]) for p in na_profile])
    inside = times[(times > 0.0) & (times < duration_min)]
    grid = np.concatenate([[0.0], inside, [float(duration_min)]])
    return float(np.trapezoid(np.interp(grid, times, values), grid) / duration_min)


def na_gradient_mmol_l_array(dialysate_na_mmol_l: ArrayLike, plasma_na_mmol_l: ArrayLike) -> np.ndarray:
    """Dialysate minus pre-dialysis plasma Na, mmol/L (negative: the dialysate removes Na)."""
    return np.asarray(dialysate_na_mmol_l, dtype=float) - np.asarray(plasma_na_mmol_l, dtype=float)


def idh_nadir_sbp_threshold_mmhg_array(sbp_pre_mmhg: ArrayLike) -> np.ndarray:
    """The nadir SBP below which a session is hypotensive (Flythe 2015): 100 mmHg when the pre-dialysis SBP
    is >= 160 mmHg, else 90 mmHg."""
    return np.where(
        np.asarray(sbp_pre_mmhg, dtype=float) >= cutoff("idh_high_pre_sbp_mmhg"),
        cutoff("idh_nadir_sbp_high_pre_mmhg"),
        cutoff("idh_nadir_sbp_mmhg"),
    )


def idh_array(sbp_pre_mmhg: ArrayLike, sbp_nadir_mmhg: ArrayLike) -> np.ndarray:
    """Intradialytic hypotension, the one definition crampwatch uses (nadir-based, Flythe et al. JASN 2015):
    nadir SBP below :func:`idh_nadir_sbp_threshold_mmhg_array`."""
    return np.asarray(sbp_nadir_mmhg, dtype=float) < idh_nadir_sbp_threshold_mmhg_array(sbp_pre_mmhg)


# ---------------------------------------------------------------------------------------- registry

#: A reduction of a signal over each session of a batch: ``(x [n, steps], t [steps]) -> (value [n], time
#: [n])`` (:mod:`crampwatch.series`); those in :data:`TO_SESSION_END` also read the session length.
Reduction = Callable[..., tuple[np.ndarray, np.ndarray]]
#: Reductions that read the prescribed session length too (``(x, t, duration_min [n])``): they leave out the
#: samples after the end of the session.
TO_SESSION_END: tuple[Reduction, ...] = (session_end,)


@dataclass(frozen=True)
class Quantity:
    """One derived quantity (see the module docstring): its name with unit, clinical label, display unit,
    how it is computed (``compute`` function; or ``signal`` reduced by ``reduce``; or ``formula``, the
    dotted name of the function in an upper layer) and the names of its cut-offs in :data:`CUTOFFS`.
    ``lab``: for a reduction, the pre-dialysis lab (a :class:`~crampwatch.model.Labs` field) that stands in
    where the signal has no value."""

    name: str
    label: str
    unit: str
    compute: Callable[..., object] | None = None
    signal: str | None = None
    reduce: Reduction | None = None
    formula: str = ""
    cutoffs: tuple[str, ...] = ()
    lab: str = ""

    @property
    def display_label(self) -> str:
        """Clinical label with unit, e.g. ``UF rate per kg (mL/kg/h)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


_Q = Quantity
_QUANTITIES: tuple[Quantity, ...] = (
    _Q(
        "uf_rate_ml_kg_h",
        "UF rate per kg",
        "mL/kg/h",
        uf_rate_ml_kg_h,
        cutoffs=("ufr_10_ml_kg_h", "ufr_13_ml_kg_h", "ufr_severe_ml_kg_h", "kcqa_short_session_min"),
    ),
    _Q(UF_RATE_ML_H, "Mean UF rate", "mL/h", uf_rate_ml_h_array),
    _Q("uf_total_l", "Total ultrafiltration", "L"),
    _Q("post_weight_kg", "Post-dialysis weight", "kg", post_weight_kg),
    _Q(
        "post_weight_below_dry_kg",
        "Post-dialysis weight below dry weight",
        "kg",
        cutoffs=("below_dry_weight_kg",),
    ),
    _Q("idwg_kg", "Interdialytic weight gain", "kg", cutoffs=("idwg_onset_kg", "idwg_kg")),
    _Q(
        "idwg_pct",
        "Interdialytic weight gain, share of dry weight",
        "%",
        cutoffs=("idwg_pct", "idwg_pct_high"),
    ),
    _Q(
        DIALYSATE_NA_MMOL_L,
        "Dialysate Na (session mean)",
        "mmol/L",
        mean_dialysate_na_mmol_l,
        cutoffs=("dialysate_na_low_mmol_l",),
    ),
    _Q(
        "na_gradient_mmol_l",
        "Dialysate minus plasma Na",
        "mmol/L",
        na_gradient_mmol_l_array,
        cutoffs=("na_gradient_neutral_mmol_l", "na_gradient_severe_mmol_l"),
    ),
    _Q(
        "plasma_na_pre_mmol_l",
        "Pre-dialysis plasma Na",
        "mmol/L",
        signal=PLASMA_NA_MMOL_L,
        reduce=first_valid,
        cutoffs=("hyponatremia_mmol_l", "na_set_point_mmol_l", "na_set_point_sd_mmol_l"),
        lab="na_mmol_l",
    ),
    _Q(
        "plasma_na_first_mmol_l",
        "First plasma Na of the session",
        "mmol/L",
        signal=PLASMA_NA_MMOL_L,
        reduce=first_valid,
    ),
    _Q(
        "plasma_na_fall_mmol_l",
        "Fall in plasma Na",
        "mmol/L",
        cutoffs=("plasma_na_fall_mmol_l", "plasma_na_fall_severe_mmol_l"),
    ),
    _Q(
        "effective_osm_fall_mosm_kg",
        "Fall in effective osmolality",
        "mOsm/kg",
        cutoffs=("eff_osm_fall_mosm_kg", "eff_osm_fall_severe_mosm_kg"),
    ),
    _Q(
        "sbp_pre_mmhg",
        "Pre-dialysis systolic BP",
        "mmHg",
        signal=SBP_MMHG,
        reduce=first_valid,
        cutoffs=("idh_high_pre_sbp_mmhg",),
    ),
    _Q(
        "sbp_nadir_mmhg",
        "Nadir systolic BP",
        "mmHg",
        signal=SBP_MMHG,
        reduce=row_min,
        cutoffs=("idh_nadir_sbp_mmhg", "idh_nadir_sbp_high_pre_mmhg"),
    ),
    _Q(
        "sbp_fall_mmhg",
        "Fall in systolic BP",
        "mmHg",
        cutoffs=("idh_sbp_fall_mmhg", "idh_sbp_fall_severe_mmhg"),
    ),
    _Q("map_fall_mmhg", "Fall in mean arterial pressure", "mmHg", cutoffs=("idh_map_fall_mmhg",)),
    _Q(
        "idh",
        "Intradialytic hypotension (nadir SBP below 90, or 100 mmHg when pre-SBP >= 160)",
        "",
        idh_array,
        cutoffs=("idh_nadir_sbp_mmhg", "idh_nadir_sbp_high_pre_mmhg", "idh_high_pre_sbp_mmhg"),
    ),
    _Q("idh_risk", "Intradialytic hypotension risk", ""),
    _Q(
        "rbv_min_pct",
        "Lowest relative blood volume",
        "%",
        signal=RBV_PCT,
        reduce=row_min,
        cutoffs=("rbv_critical_pct",),
    ),
    _Q("rbv_end_pct", "Relative blood volume at the end", "%", signal=RBV_PCT, reduce=last_valid),
    _Q(
        "rbv_slope_pct_h",
        "RBV slope",
        "%/h",
        signal=RBV_PCT,
        reduce=slope_per_h,
        cutoffs=("rbv_slope_steep_pct_h",),
    ),
    _Q("refill_fraction", "Refill as a fraction of UF", ""),
    _Q(
        "sp_ktv",
        "Single-pool Kt/V",
        "",
        formula="crampwatch.kinetics.dose.sp_ktv_daugirdas",
        cutoffs=("sp_ktv_min", "sp_ktv_target", "sp_ktv_severe"),
    ),
    _Q("sp_ktv_estimated", "Single-pool Kt/V estimated", ""),
    _Q(
        "urr_pct",
        "Urea reduction ratio",
        "%",
        formula="crampwatch.kinetics.dose.urr_pct",
        cutoffs=("urr_min_pct", "urr_target_pct"),
    ),
    _Q("urr_estimated", "URR estimated", ""),
    _Q(
        "std_ktv",
        "Weekly standard Kt/V",
        "",
        formula="crampwatch.causes.dose.standard_ktv_batch",
        cutoffs=("std_ktv_min", "std_ktv_target"),
    ),
    _Q("plasma_na_end_mmol_l", "Plasma Na at the end", "mmol/L", signal=PLASMA_NA_MMOL_L, reduce=session_end),
    _Q("brain_urea_gradient_mmol_l", "Brain-plasma urea gradient", "mmol/L"),
    _Q("ica_min_mmol_l", "Lowest ionized calcium", "mmol/L", signal=ICA_MMOL_L, reduce=row_min),
    _Q("mg_min_mmol_l", "Lowest magnesium", "mmol/L", signal=MG_MMOL_L, reduce=row_min),
    _Q("hco3_max_mmol_l", "Highest bicarbonate", "mmol/L", signal=HCO3_MMOL_L, reduce=row_max),
    _Q("corrected_ca_mg_dl", "Albumin-corrected calcium", "mg/dL"),
    _Q("serum_mg_mmol_l", "Pre-dialysis serum Mg", "mmol/L"),
    _Q("serum_na_mmol_l", "Pre-dialysis serum Na", "mmol/L"),
    _Q("serum_k_mmol_l", "Pre-dialysis serum K", "mmol/L"),
    _Q("serum_hco3_mmol_l", "Pre-dialysis serum bicarbonate", "mmol/L"),
    _Q("serum_albumin_g_dl", "Serum albumin", "g/dL"),
    _Q("pre_hct_pct", "Pre-dialysis hematocrit", "%"),
    _Q("cramp_event", "Cramp after the start of an RBV or BP fall", "min"),
    _Q("hypotension_events", "Hypotension symptoms or interventions", ""),
    _Q("sp_ktv_recent_sessions_below_min", "Recent sessions below the minimum spKt/V", ""),
    _Q("n_cramps", "Cramps recorded", ""),
    _Q("hemodynamic_osmotic_trigger", "Hemodynamic or osmotic trigger", ""),
)

#: The registry: name -> :class:`Quantity`.
QUANTITY_SPECS: dict[str, Quantity] = {q.name: q for q in _QUANTITIES}


def computed_by(q: Quantity) -> str:
    """How a quantity is computed, in words for docs/formats.md."""
    if q.compute is not None:
        return f"`crampwatch.quantities.{q.compute.__name__}`"
    if q.reduce is not None:
        lab = f", else the pre-dialysis lab `{q.lab}`" if q.lab else ""
        return f"`{q.reduce.__name__}` of `{q.signal}`{lab}"
    return f"`{q.formula}`" if q.formula else "the cause analyzer (`crampwatch.causes`)"


def quantity(name: str) -> Quantity:
    """The registry entry of a derived quantity (``KeyError`` for an unknown name)."""
    return QUANTITY_SPECS[name]


def reduce_signal(
    name: str,
    signals: Mapping[str, np.ndarray],
    t: np.ndarray,
    duration_min: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Value and time of quantity ``name`` for each session: its registered reduction of its signal
    (``signals[q.signal]``, ``[n, steps]`` on the time grid ``t``; ``duration_min`` ``[n]``, the prescribed
    session length, for the reductions in :data:`TO_SESSION_END`). A quantity with a ``lab`` gives the
    signal's value only; the caller puts the lab where it is NaN."""
    q = QUANTITY_SPECS[name]
    if q.reduce is None or q.signal is None:
        raise KeyError(f"quantity {name}: not a reduction of a signal")
    x = signals[q.signal]
    if q.reduce in TO_SESSION_END:
        if duration_min is None:
            raise ValueError(f"quantity {name}: needs the session length (duration_min)")
        return q.reduce(x, t, duration_min)
    return q.reduce(x, t)


for _q in _QUANTITIES:  # a registry entry names only registered cut-offs, and computes one way at most
    if not set(_q.cutoffs) <= set(CUTOFFS):
        raise ImportError(f"quantity {_q.name}: unknown cut-offs {sorted(set(_q.cutoffs) - set(CUTOFFS))}")
    if sum(x is not None and x != "" for x in (_q.compute, _q.reduce, _q.formula)) > 1:
        raise ImportError(f"quantity {_q.name}: more than one way to compute it")
