"""The twin's fitted parameters, their population priors and the observation model.

A patient twin describes one patient's own physiology as multiples of (or offsets from) the population value
the session model derives from body size, age, sex and diabetes
(:mod:`crampwatch.physiology.derive`). Each parameter is fitted on a log scale with a log-normal
population prior; a parameter the data cannot inform stays at its prior.
"""

from __future__ import annotations

from dataclasses import dataclass

from crampwatch.physiology.parameters import P
from crampwatch.quantities import cutoff
from crampwatch.signals import RBV_PCT, SBP_MMHG

#: Confidence level of every reported interval ("ci").
CI_LEVEL = 0.95
#: z value of :data:`CI_LEVEL` (two-sided normal quantile).
CI_Z = 1.959963984540054


@dataclass(frozen=True)
class TwinParameter:
    """One fitted parameter: log-normal prior around 1 x the population value, fitting bounds, source.

    ``between_session_log_sd`` is the session-to-session variation of the parameter within one patient
    (hydration, drugs, temperature): the uncertainty of the patient's typical value never falls below
    ``between_session_log_sd / sqrt(n_sessions)``.
    """

    name: str
    label: str
    unit: str
    prior_log_sd: float
    lower: float
    upper: float
    between_session_log_sd: float
    source: str


#: Fitted parameters, in the order of the parameter vector.
FITTED: tuple[TwinParameter, ...] = (
    TwinParameter(
        name="refill_capacity",
        label="plasma refill capacity",
        unit="1",
        prior_log_sd=0.6,
        lower=0.1,
        upper=4.0,
        between_session_log_sd=0.1,
        source="capillary filtration coefficient LpS 10.0 +- 8.4 mL/min/mmHg between patients (Pietribiasi M "
        "et al. PLoS One 2016), log-normal sigma 0.6 as in the virtual population; between-session "
        "variation modelling choice",
    ),
    TwinParameter(
        name="vascular_reserve",
        label="vascular (baroreflex) reserve",
        unit="1",
        prior_log_sd=0.3,
        lower=0.05,
        upper=3.0,
        between_session_log_sd=0.1,
        source="baroreflex gain relative to the population value for age and diabetes (Gribbin B et al. "
        "Circ Res 1971; Ziegler D 1994), log-normal sigma 0.3 as in the virtual population; "
        "between-session variation modelling choice",
    ),
    TwinParameter(
        name="blood_volume",
        label="blood volume at dry weight",
        unit="1",
        prior_log_sd=0.12,
        lower=0.55,
        upper=1.7,
        between_session_log_sd=0.03,
        source="Nadler SB et al. Surgery 1962;51:224 (70 mL/kg men, 65 mL/kg women; prediction error "
        "about 10-12 %); between-session variation modelling choice",
    ),
)
NAMES: tuple[str, ...] = tuple(p.name for p in FITTED)
BY_NAME: dict[str, TwinParameter] = {p.name: p for p in FITTED}


@dataclass(frozen=True)
class UncertainInput:
    """An input of every session that is often wrong in the record: a per-patient error with a normal prior
    (``prior_sd``, in ``unit``), fitted beside :data:`FITTED` and marginalised out of their intervals.

    ``scale`` is ``"log"`` (the error multiplies the entered value) or ``"add"`` (it is added to it);
    ``step`` is the Jacobian's difference step, ``limit`` the largest error considered (both in ``unit``).
    """

    name: str
    label: str
    unit: str
    scale: str
    prior_sd: float
    step: float
    limit: float
    source: str


#: Inputs the fit treats as uncertain, in the order of the nuisance part of the parameter vector. (The
#: level of the SBP *during* the session is free per session anyway: the per-session offset of
#: :data:`OBSERVED`, integrated out in closed form.)
UNCERTAIN_INPUTS: tuple[UncertainInput, ...] = (
    UncertainInput(
        name="dry_weight",
        label="dry weight (true euvolemic weight relative to the entered one)",
        unit="log",
        scale="log",
        prior_sd=0.04,
        step=0.01,
        limit=0.16,
        source="post-dialysis overhydration by bioimpedance spectroscopy 1.3 +- 2.8 L in 49 patients of "
        "68 kg, i.e. SD about 4 % of body weight (Nephrology (Carlton) 2016;21(5), 'Changes in hydration "
        "following haemodialysis estimated with bioimpedance spectroscopy'); at least half of the patients "
        "finished dialysis fluid-depleted by bioimpedance (Keane DF et al. ASAIO J 2018, "
        "doi 10.1097/MAT.0000000000000795); the weight on the scale is taken as exact",
    ),
    UncertainInput(
        name="albumin",
        label="serum albumin",
        unit="g/dL",
        scale="add",
        prior_sd=0.4,
        step=0.1,
        limit=1.6,
        source="bromocresol green reads 0.55 g/dL above bromocresol purple (Clase CM et al. NDT "
        "2001;16:1925) and laboratories use either; albumin is measured monthly; SD 0.4 g/dL modelling "
        "choice (also the between-patient SD, for an albumin that was not entered)",
    ),
    UncertainInput(
        name="hematocrit",
        label="hematocrit",
        unit="%",
        scale="add",
        prior_sd=3.4,
        step=0.8,
        limit=13.6,
        source="within-patient residual SD of hemoglobin 1.13 g/dL in 6644 incident hemodialysis patients "
        "(Brunelli SM et al. CJASN 2008;3:1733), about 3.4 %-points of hematocrit (Hct ~ 3 x Hb); measured "
        "monthly",
    ),
)
PRE_SBP_INPUT = UncertainInput(
    name="pre_sbp",
    label="pre-dialysis systolic BP (the pressure the session starts from)",
    unit="mmHg",
    scale="add",
    prior_sd=8.0,
    step=2.0,
    limit=32.0,
    source="oscillometric reading error SD <= 8 mmHg (AAMI/ISO 81060-2); pre-dialysis readings are "
    "imprecise estimates of the patient's pressure (Agarwal R et al. CJASN 2006;1:389); a per-patient "
    "error of SD 8 mmHg is a modelling choice. The capillary pressure, hence the refill, starts from it",
)
UNCERTAIN_INPUTS = (*UNCERTAIN_INPUTS, PRE_SBP_INPUT)
INPUT_NAMES: tuple[str, ...] = tuple(u.name for u in UNCERTAIN_INPUTS)

#: Pre-dialysis plasma Na "set point" across patients, mean and SD (the registry's cut-offs: Trinh E & Weber
#: C, Nephron Extra 2017; 132-patient cohort, Munoz Mendoza J et al. NDT 2011).
NA_SET_POINT_PRIOR_MMOL_L = (cutoff("na_set_point_mmol_l"), cutoff("na_set_point_sd_mmol_l"))
#: Within-patient SD of one pre-dialysis Na measurement: half the CLIA acceptance limit (+-4 mmol/L,
#: 42 CFR 493) -- the same value as the optimizer's lab ensemble; modelling choice for the biological part.
NA_WITHIN_PATIENT_SD_MMOL_L = 2.0


@dataclass(frozen=True)
class ObservedSignal:
    """A signal the fit compares with the simulation: measurement SD, the SD of a per-session offset (a
    random effect; 0 = none) and whether the signal is relative to the session's first reading (so that a
    drifting error at that reading shifts every later value: :mod:`crampwatch.twin.noise`)."""

    name: str
    sd: float
    offset_sd: float
    source: str
    relative_to_first: bool = False


#: Signals the fit uses.
OBSERVED: tuple[ObservedSignal, ...] = (
    ObservedSignal(
        RBV_PCT,
        0.7,
        0.7,
        "relative blood volume monitors: about +-1 %-point between readings (modelling choice from "
        "the Crit-Line / BVM specifications); RBV is relative to the session's first reading, whose own "
        "error shifts the whole course: a per-session offset with the SD of one reading (modelling choice)",
        relative_to_first=True,
    ),
    ObservedSignal(
        SBP_MMHG,
        8.0,
        10.0,
        "oscillometric BP: SD of the error <= 8 mmHg (AAMI/ISO 81060-2); per-session level offset SD "
        "10 mmHg (modelling choice: the pre-dialysis SBP varies between sessions)",
    ),
)


def population_blood_volume_l(sex: str, dry_weight_kg: float) -> float:
    """Nadler's blood volume at dry weight, L (the session model's population value)."""
    per_kg = P["blood_volume_ml_kg_male"] if sex == "male" else P["blood_volume_ml_kg_female"]
    return per_kg * dry_weight_kg / 1000.0


def population_blood_volume_ml_kg(sex: str) -> float:
    """Nadler's blood volume per kg dry weight, mL/kg."""
    return P["blood_volume_ml_kg_male"] if sex == "male" else P["blood_volume_ml_kg_female"]
