"""The signal registry: every trace signal once, with its unit, UCUM code, plausible range, clinical label and
LOINC code, plus the labels of the scenario fields that findings and tables show (:data:`FIELD_LABELS`).

The readers (CSV, Parquet, HEMOBP, FHIR), the writers, the plots, the HTML report and the web pages take
names, units, ranges and labels from here; derived quantities and their labels live in
:mod:`crampwatch.quantities`, and :func:`crampwatch.clinical_labels.display_label` gives the clinical label
with its unit ("Relative blood volume (%)") of any quantity name crampwatch shows.

LOINC codes are given where a code for the same property, specimen and scale exists (Regenstrief LOINC;
the vital-sign panel of HL7 FHIR R4), each with where it was checked (``source``). The model's ionized
calcium is a plasma concentration (1995-0, serum or plasma; 1994-3 is whole blood). Its osmolality is
*calculated* (2 Na + glucose + urea), not measured: LOINC 2692-2 names a measured osmolality, and the code of
LOINC's "Osmolality of Serum or Plasma by calculation" could not be confirmed from the sources at hand, so
the signal is written under the local code system. Machine and model quantities (relative blood volume, UF,
dialysate, blood flow, compartment volumes) have no LOINC code and are written under crampwatch's local
code system.

Plausible ranges are the wide limits of what a patient or a machine can show (modelling choices): a value
outside is impossible, most often a unit mix-up, and every reader rejects it with the same message
(:func:`range_message`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Longest time from session start of a sample or an event, minutes (12 h: a long nocturnal session plus
#: the time after it; modelling choice). The ``t_min`` axis of every trace and event.
MAX_T_MIN = 720.0


# Signal names, one constant each: code names a signal by its constant, so a misspelt name fails at import.
#: The time axis of every trace, event, evidence item and forecast: minutes from session start.
T_MIN = "t_min"
SBP_MMHG = "sbp_mmhg"
DBP_MMHG = "dbp_mmhg"
MAP_MMHG = "map_mmhg"
HR_BPM = "hr_bpm"
RBV_PCT = "rbv_pct"
UF_CUM_L = "uf_cum_l"
UF_RATE_ML_H = "uf_rate_ml_h"
PLASMA_NA_MMOL_L = "plasma_na_mmol_l"
PLASMA_K_MMOL_L = "plasma_k_mmol_l"
OSM_MOSM_KG = "osm_mosm_kg"
ICA_MMOL_L = "ica_mmol_l"
MG_MMOL_L = "mg_mmol_l"
HCO3_MMOL_L = "hco3_mmol_l"
UREA_MMOL_L = "urea_mmol_l"
BRAIN_UREA_MMOL_L = "brain_urea_mmol_l"
DIALYSATE_NA_MMOL_L = "dialysate_na_mmol_l"
DIALYSATE_TEMP_C = "dialysate_temp_c"
QB_ML_MIN = "qb_ml_min"
CONDUCTIVITY_MS_CM = "conductivity_ms_cm"
HCT_PCT = "hct_pct"
PLASMA_VOLUME_L = "plasma_volume_l"
INTERSTITIAL_VOLUME_L = "interstitial_volume_l"
INTRACELLULAR_VOLUME_L = "intracellular_volume_l"
REFILL_ML_MIN = "refill_ml_min"
BRAIN_OSM_GRADIENT_MOSM_KG = "brain_osm_gradient_mosm_kg"
TOTAL_CA_MMOL_L = "total_ca_mmol_l"


@dataclass(frozen=True)
class Loinc:
    """A LOINC code with its long common name; ``verified`` is False where it needs a check on loinc.org,
    ``source`` says where it was checked."""

    code: str
    display: str
    verified: bool = True
    source: str = "HL7 FHIR R4 vital signs / LOINC long common name"


@dataclass(frozen=True)
class Signal:
    """One trace signal: ``name`` (docs/formats.md, unit in the name), clinical ``label`` and ``short`` label,
    display ``unit``, ``ucum`` code, plausible range ``low``–``high`` (in ``unit``), ``description``,
    optional ``loinc`` code, and whether the contract lists it (``core``) or it is a model output."""

    name: str
    label: str
    short: str
    unit: str
    ucum: str
    low: float
    high: float
    description: str
    loinc: Loinc | None = None
    core: bool = True

    @property
    def display_label(self) -> str:
        """Clinical label with unit, e.g. ``Relative blood volume (%)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


_S = Signal
_REGISTRY: tuple[Signal, ...] = (
    _S(SBP_MMHG, "Systolic blood pressure", "SBP", "mmHg", "mm[Hg]", 30, 300,
       "systolic blood pressure, mmHg", Loinc("8480-6", "Systolic blood pressure")),
    _S(DBP_MMHG, "Diastolic blood pressure", "DBP", "mmHg", "mm[Hg]", 10, 200,
       "diastolic blood pressure, mmHg", Loinc("8462-4", "Diastolic blood pressure")),
    _S(MAP_MMHG, "Mean arterial pressure", "MAP", "mmHg", "mm[Hg]", 20, 250,
       "mean arterial pressure, mmHg", Loinc("8478-0", "Mean blood pressure")),
    _S(HR_BPM, "Heart rate", "HR", "/min", "/min", 15, 250,
       "heart rate, beats/min", Loinc("8867-4", "Heart rate")),
    _S(RBV_PCT, "Relative blood volume", "RBV", "%", "%", 50, 130,
       "relative blood volume, % of the value at start (100 at t = 0)"),
    _S(UF_CUM_L, "Cumulative ultrafiltration", "UF volume", "L", "L", -0.5, 12,
       "cumulative ultrafiltration volume, L"),
    _S(UF_RATE_ML_H, "Ultrafiltration rate", "UF rate", "mL/h", "mL/h", 0, 5000,
       "ultrafiltration rate, mL/h"),
    _S(PLASMA_NA_MMOL_L, "Plasma sodium", "Plasma Na", "mmol/L", "mmol/L", 100, 180,
       "plasma sodium, mmol/L", Loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma")),
    _S(PLASMA_K_MMOL_L, "Plasma potassium", "K", "mmol/L", "mmol/L", 1, 10,
       "plasma potassium, mmol/L", Loinc("2823-3", "Potassium [Moles/volume] in Serum or Plasma")),
    _S(OSM_MOSM_KG, "Plasma osmolality", "Osmolality", "mOsm/kg", "mosm/kg", 220, 420,
       "plasma osmolality (calculated: 2 Na + glucose + urea), mOsm/kg"),
    _S(ICA_MMOL_L, "Ionized calcium", "iCa", "mmol/L", "mmol/L", 0.3, 2.5,
       "plasma ionized calcium, mmol/L", Loinc("1995-0", "Calcium.ionized [Moles/volume] in Serum or Plasma",
                                                source="HL7 FHIR IG PDDI CDS, ValueSet valueset-calcium-"
                                                       "LOINC (LOINC 2.64-2.82); 1994-3 is whole blood")),
    _S(MG_MMOL_L, "Plasma magnesium", "Mg", "mmol/L", "mmol/L", 0.1, 3,
       "plasma magnesium, mmol/L", Loinc("2601-3", "Magnesium [Moles/volume] in Serum or Plasma")),
    _S(HCO3_MMOL_L, "Plasma bicarbonate", "HCO3", "mmol/L", "mmol/L", 5, 50,
       "plasma bicarbonate, mmol/L", Loinc("1963-8", "Bicarbonate [Moles/volume] in Serum or Plasma")),
    _S(UREA_MMOL_L, "Plasma urea", "Urea", "mmol/L", "mmol/L", 0.3, 110,
       "plasma urea, mmol/L", Loinc("22664-7", "Urea [Moles/volume] in Serum or Plasma",
                                    source="LOINC table rows in public code: short name Urea "
                                           "SerPl-sCnc, property SCnc, system Ser/Plas")),
    _S(BRAIN_UREA_MMOL_L, "Brain-water urea", "Brain urea", "mmol/L", "mmol/L", 0.3, 110,
       "brain-water urea, mmol/L"),
    _S(DIALYSATE_NA_MMOL_L, "Dialysate sodium", "Dialysate Na", "mmol/L", "mmol/L", 110, 170,
       "dialysate sodium, mmol/L"),
    _S(DIALYSATE_TEMP_C, "Dialysate temperature", "Dialysate temp.", "°C", "Cel", 30, 42,
       "dialysate temperature, °C"),
    _S(QB_ML_MIN, "Blood flow", "Qb", "mL/min", "mL/min", 0, 700, "blood pump flow, mL/min"),
    _S(CONDUCTIVITY_MS_CM, "Dialysate conductivity", "Conductivity", "mS/cm", "mS/cm", 10, 18,
       "dialysate conductivity, mS/cm"),
    _S(HCT_PCT, "Hematocrit", "Hct", "%", "%", 10, 70, "hematocrit, %",
       Loinc("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count"), core=False),
    _S(PLASMA_VOLUME_L, "Plasma volume", "PV", "L", "L", 0.5, 10, "plasma volume, L", core=False),
    _S(INTERSTITIAL_VOLUME_L, "Interstitial volume", "ISV", "L", "L", 1, 40, "interstitial volume, L",
       core=False),
    _S(INTRACELLULAR_VOLUME_L, "Intracellular volume", "ICV", "L", "L", 5, 60, "intracellular volume, L",
       core=False),
    _S(REFILL_ML_MIN, "Plasma refill", "Refill", "mL/min", "mL/min", -100, 200,
       "net transcapillary refill into plasma (incl. lymph), mL/min", core=False),
    _S(BRAIN_OSM_GRADIENT_MOSM_KG, "Brain-plasma osmotic gradient", "Brain osm. gradient", "mOsm/kg",
       "mosm/kg", -50, 80, "brain-water minus plasma effective osmolality, mOsm/kg", core=False),
    _S(TOTAL_CA_MMOL_L, "Total calcium", "Total Ca", "mmol/L", "mmol/L", 1, 4,
       "plasma total calcium, mmol/L", Loinc("2000-8", "Calcium [Moles/volume] in Serum or Plasma"),
       core=False),
)  # fmt: skip

#: The registry: signal name -> :class:`Signal`, in the contract's column order.
SIGNAL_SPECS: dict[str, Signal] = {s.name: s for s in _REGISTRY}

#: The time axis (not a signal): minutes from session start, 0 to :data:`MAX_T_MIN`.
TIME = Signal(T_MIN, "Time from session start", "Time", "min", "min", 0.0, MAX_T_MIN,
              "minutes from session start")  # fmt: skip

#: Labels of the scenario fields that findings and tables show, name -> (clinical label, unit); derived
#: quantities are in :mod:`crampwatch.quantities`.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "bun_mg_dl": ("Pre-dialysis BUN", "mg/dL"),
    "aluminium_ug_l": ("Serum aluminium", "µg/L"),
    "dialysate_ca_mmol_l": ("Dialysate calcium", "mmol/L"),
    "dialysate_mg_mmol_l": ("Dialysate magnesium", "mmol/L"),
    "dialysate_hco3_mmol_l": ("Dialysate bicarbonate", "mmol/L"),
    "vintage_months": ("Time on dialysis", "months"),
    "id": ("Patient identifier", ""),
    "sex": ("Sex", ""),
    "age_years": ("Age", "years"),
    "height_cm": ("Height", "cm"),
    "pre_weight_kg": ("Pre-dialysis weight", "kg"),
    "dry_weight_kg": ("Dry (target) weight", "kg"),
    "previous_post_weight_kg": ("Post-dialysis weight of the previous session", "kg"),
    "access": ("Vascular access", ""),
    "active_vitamin_d": ("Active vitamin D", ""),
    "diabetes": ("Diabetes", ""),
    "peripheral_neuropathy": ("Peripheral neuropathy", ""),
    "cramps_outside_sessions": ("Cramps outside sessions", ""),
}

#: Unit suffixes of crampwatch names (docs/formats.md naming), for names in neither table.
_SUFFIX_UNITS: dict[str, str] = {
    "_ml_kg_h": "mL/kg/h",
    "_ml_kg": "mL/kg",
    "_g_kg_d": "g/kg/day",
    "_months": "months",
    "_years": "years",
    "_mmol_l": "mmol/L",
    "_mosm_kg": "mOsm/kg",
    "_mg_dl": "mg/dL",
    "_ug_l": "µg/L",
    "_g_dl": "g/dL",
    "_ml_min": "mL/min",
    "_ml_h": "mL/h",
    "_ms_cm": "mS/cm",
    "_pct_h": "%/h",
    "_mmhg": "mmHg",
    "_bpm": "/min",
    "_pct": "%",
    "_min": "min",
    "_kg": "kg",
    "_cm": "cm",
    "_l": "L",
    "_c": "°C",
}


def signal(name: str) -> Signal:
    """The registry entry of a trace signal (``KeyError`` for an unknown name)."""
    if name == T_MIN:
        return TIME
    return SIGNAL_SPECS[name]


def split_unit(name: str) -> tuple[str, str]:
    """The stem of a quantity name and the display unit of its unit suffix (``""`` when it has none)."""
    for suffix in sorted(_SUFFIX_UNITS, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], _SUFFIX_UNITS[suffix]
    return name, ""


def plausible_range(name: str) -> tuple[float, float]:
    """The plausible range of a signal (or of ``t_min``) in its unit."""
    s = signal(name)
    return s.low, s.high


def implausible(name: str, values: Any) -> np.ndarray:
    """Boolean mask of finite values outside the signal's plausible range (NaN is not implausible)."""
    x = np.asarray(values, dtype=float)
    low, high = plausible_range(name)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(x) & ((x < low) | (x > high))


def range_message(name: str, value: float) -> str:
    """The one message every reader gives for an implausible value of signal ``name``."""
    s = signal(name)
    shown = f"{value:g}" if math.isfinite(value) else str(value)
    unit = f" {s.unit}" if s.unit else ""
    return f"{shown}{unit} is out of range for {name} (allowed {s.low:g}–{s.high:g}{unit})"


__all__ = [
    "T_MIN",
    "SBP_MMHG",
    "DBP_MMHG",
    "MAP_MMHG",
    "HR_BPM",
    "RBV_PCT",
    "UF_CUM_L",
    "UF_RATE_ML_H",
    "PLASMA_NA_MMOL_L",
    "PLASMA_K_MMOL_L",
    "OSM_MOSM_KG",
    "ICA_MMOL_L",
    "MG_MMOL_L",
    "HCO3_MMOL_L",
    "UREA_MMOL_L",
    "BRAIN_UREA_MMOL_L",
    "DIALYSATE_NA_MMOL_L",
    "DIALYSATE_TEMP_C",
    "QB_ML_MIN",
    "CONDUCTIVITY_MS_CM",
    "HCT_PCT",
    "PLASMA_VOLUME_L",
    "INTERSTITIAL_VOLUME_L",
    "INTRACELLULAR_VOLUME_L",
    "REFILL_ML_MIN",
    "BRAIN_OSM_GRADIENT_MOSM_KG",
    "TOTAL_CA_MMOL_L",
    "MAX_T_MIN",
    "FIELD_LABELS",
    "SIGNAL_SPECS",
    "TIME",
    "Loinc",
    "Signal",
    "implausible",
    "plausible_range",
    "range_message",
    "signal",
    "split_unit",
]
