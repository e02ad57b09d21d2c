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

#: Pre-dialysis plasma Na "set point" across patients, mean and SD (the registry's cut-offs: Trinh E & Weber
#: C, Nephron Extra 2017; 132-patient cohort, Munoz Mendoza J et al. NDT 2011).
NA_SET_POINT_PRIOR_MMOL_L = (cutoff("na_set_point_mmol_l"), cutoff("na_set_point_sd_mmol_l"))
#: Within-patient SD of one pre-dialysis Na measurement: half the CLIA acceptance limit (+-4 mmol/L,
#: 42 CFR 493) -- the same value as the optimizer's lab ensemble; modelling choice for the biological part.
NA_WITHIN_PATIENT_SD_MMOL_L = 2.0


@dataclass(frozen=True)
class ObservedSignal:
    """A signal the fit compares with the simulation: measurement SD and whether a per-session offset is
    estimated (a random effect with SD ``offset_sd``; 0 = none)."""

    name: str
    sd: float
    offset_sd: float
    source: str


#: Signals the fit uses.
OBSERVED: tuple[ObservedSignal, ...] = (
    ObservedSignal(
        RBV_PCT,
        0.7,
        0.0,
        "relative blood volume monitors: about +-1 %-point between readings (modelling choice from "
        "the Crit-Line / BVM specifications)",
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
