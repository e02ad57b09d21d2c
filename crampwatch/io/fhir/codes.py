"""Codes, systems and quantity specifications of the FHIR mapping: one table per kind of value (labs, body
weight and height, trace signals) drives both writing and reading.

Trace signals take their LOINC code, UCUM unit and plausible range from :mod:`crampwatch.signals`; lab
conversions come from :mod:`crampwatch.units`; lab and body ranges are those of :mod:`crampwatch.model`.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from pydantic import BaseModel

from crampwatch.model import Labs, Patient, field_range
from crampwatch.signals import (
    DBP_MMHG,
    HCO3_MMOL_L,
    HCT_PCT,
    HR_BPM,
    ICA_MMOL_L,
    MAP_MMHG,
    MG_MMOL_L,
    SBP_MMHG,
    SIGNAL_SPECS,
    UREA_MMOL_L,
    plausible_range,
)
from crampwatch.units import (
    AL_UG_L_PER_UMOL_L,
    BUN_MG_DL_PER_UREA_MMOL_L,
    CA_MG_DL_PER_MMOL_L,
    CM_PER_INCH,
    G_L_PER_G_DL,
    GLUCOSE_MG_DL_PER_MMOL_L,
    KG_PER_LB,
    MEQ_PER_MMOL_DIVALENT,
    MG_MG_DL_PER_MMOL_L,
    PCT_PER_FRACTION,
)

FHIR_VERSION = "4.3.0"  # R4B
BASE_URL = "http://crampwatch.example.org/fhir"
PATIENT_EXTENSION_URL = f"{BASE_URL}/StructureDefinition/hd-patient"
PRESCRIPTION_EXTENSION_URL = f"{BASE_URL}/StructureDefinition/hd-prescription"
CODE_SYSTEM_URL = f"{BASE_URL}/CodeSystem/crampwatch"
SOURCE_TAG_SYSTEM = f"{BASE_URL}/CodeSystem/signal-source"
PATIENT_ID_SYSTEM = f"{BASE_URL}/patient-id"
SESSION_ID_SYSTEM = f"{BASE_URL}/session-id"
CRAMP_QUESTIONNAIRE_URL = f"{BASE_URL}/Questionnaire/cramp-report"
CRAMP_QUESTIONNAIRE_VERSION = "1.0.0"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

HEMODIALYSIS_SNOMED = ("302497006", "Hemodialysis")  # AU Core, SIL HD-session map
#: Procedure codes read as a dialysis session: haemodialysis and its parent "Dialysis procedure".
DIALYSIS_CODES = {(SNOMED, HEMODIALYSIS_SNOMED[0]), (SNOMED, "108241001")}
CRAMP_SNOMED = ("55300003", "Cramp")  # SNOMED CT; not yet checked against a SNOMED browser
BODY_WEIGHT_LOINC = "29463-7"
BODY_HEIGHT_LOINC = "8302-2"
BP_PANEL_LOINC = "85354-9"
HR_LOINC = "8867-4"

UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE_URL)


# ------------------------------------------------------------------------------------------ quantity specs


@dataclass(frozen=True)
class QuantitySpec:
    """How one model field maps to a coded FHIR quantity.

    ``accepted`` maps each accepted UCUM unit to the factor that converts it into ``unit``; values outside
    ``low``–``high`` (in ``unit``) are rejected.
    """

    field: str
    code: str
    display: str
    unit: str
    accepted: dict[str, float]
    alt_codes: tuple[str, ...] = ()
    low: float = -math.inf
    high: float = math.inf
    #: True for trace signals: range and message come from the signal registry.
    signal: bool = False


def _lab(
    field_name: str, code: str, display: str, unit: str, accepted: dict[str, float], alt: tuple[str, ...] = ()
) -> QuantitySpec:
    low, high = model_range(Labs, field_name)
    return QuantitySpec(field_name, code, display, unit, {unit: 1.0, **accepted}, alt, low, high)


def model_range(model: type[BaseModel], name: str) -> tuple[float, float]:
    """The ``ge``/``le`` bounds of a pydantic field (infinite where unbounded):
    :func:`crampwatch.model.field_range`."""
    return field_range(model, name)


# Conversion factors from crampwatch.units (molar masses with their sources there).
LAB_SPECS: tuple[QuantitySpec, ...] = (
    _lab(
        "na_mmol_l",
        "2951-2",
        "Sodium [Moles/volume] in Serum or Plasma",
        "mmol/L",
        {"meq/L": 1.0},
        ("2947-0",),
    ),
    _lab("k_mmol_l", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", {"meq/L": 1.0}),
    _lab(
        "bun_mg_dl",
        "3094-0",
        "Urea nitrogen [Mass/volume] in Serum or Plasma",
        "mg/dL",
        {"mmol/L": BUN_MG_DL_PER_UREA_MMOL_L},
    ),
    _lab(UREA_MMOL_L, "22664-7", "Urea [Moles/volume] in Serum or Plasma", "mmol/L", {}),
    _lab(
        "ca_total_mg_dl",
        "17861-6",
        "Calcium [Mass/volume] in Serum or Plasma",
        "mg/dL",
        {"mmol/L": CA_MG_DL_PER_MMOL_L},
        ("2000-8",),
    ),
    _lab(
        ICA_MMOL_L,
        "1995-0",
        "Calcium.ionized [Moles/volume] in Serum or Plasma",
        "mmol/L",
        {"mg/dL": 1 / CA_MG_DL_PER_MMOL_L},
        ("1994-3",),  # whole blood (blood gas analysers) is read as the same quantity
    ),
    _lab(
        "albumin_g_dl",
        "1751-7",
        "Albumin [Mass/volume] in Serum or Plasma",
        "g/dL",
        {"g/L": 1 / G_L_PER_G_DL},
    ),
    _lab(
        MG_MMOL_L,
        "2601-3",
        "Magnesium [Moles/volume] in Serum or Plasma",
        "mmol/L",
        {"mg/dL": 1 / MG_MG_DL_PER_MMOL_L, "meq/L": 1 / MEQ_PER_MMOL_DIVALENT},
        ("19123-9",),
    ),
    _lab(HCO3_MMOL_L, "1963-8", "Bicarbonate [Moles/volume] in Serum or Plasma", "mmol/L", {"meq/L": 1.0}),
    _lab(
        HCT_PCT,
        "4544-3",
        "Hematocrit [Volume Fraction] of Blood by Automated count",
        "%",
        {"1": PCT_PER_FRACTION, "L/L": PCT_PER_FRACTION},
        ("20570-8",),
    ),
    _lab(
        "glucose_mg_dl",
        "2345-7",
        "Glucose [Mass/volume] in Serum or Plasma",
        "mg/dL",
        {"mmol/L": GLUCOSE_MG_DL_PER_MMOL_L},
        ("14749-6",),
    ),
    _lab(
        "aluminium_ug_l",
        "5574-9",
        "Aluminum [Mass/volume] in Serum or Plasma [verify]",
        "ug/L",
        {"ng/mL": 1.0, "umol/L": AL_UG_L_PER_UMOL_L},
    ),
)

_W_LOW, _W_HIGH = model_range(Patient, "pre_weight_kg")
_H_LOW, _H_HIGH = model_range(Patient, "height_cm")
WEIGHT_SPEC = QuantitySpec(
    "weight_kg",
    BODY_WEIGHT_LOINC,
    "Body weight",
    "kg",
    {"kg": 1.0, "[lb_av]": KG_PER_LB},
    (),
    _W_LOW,
    _W_HIGH,
)
HEIGHT_SPEC = QuantitySpec(
    "height_cm",
    BODY_HEIGHT_LOINC,
    "Body height",
    "cm",
    {"cm": 1.0, "m": 100.0, "[in_i]": CM_PER_INCH},
    (),
    _H_LOW,
    _H_HIGH,
)


#: Other UCUM spellings accepted for a trace signal (same unit).
_SIGNAL_SYNONYMS: dict[str, tuple[str, ...]] = {HR_BPM: ("{beats}/min",)}


def signal_spec(name: str) -> QuantitySpec:
    """The FHIR quantity of trace signal ``name``, from the signal registry: LOINC code where one exists
    (else the local code ``name``), UCUM unit and plausible range."""
    sig = SIGNAL_SPECS[name]
    code = sig.loinc.code if sig.loinc else name
    display = sig.loinc.display if sig.loinc else sig.label
    units = {sig.ucum: 1.0, **{u: 1.0 for u in _SIGNAL_SYNONYMS.get(name, ())}}
    low, high = plausible_range(name)
    return QuantitySpec(name, code, display, sig.ucum, units, (), low, high, signal=True)


#: Every trace signal as a FHIR quantity: the one table that drives writing and reading trace Observations.
TRACE_SPECS: dict[str, QuantitySpec] = {name: signal_spec(name) for name in SIGNAL_SPECS}
#: Vital signs written at each trace time point (BP panel components and heart rate, LOINC-coded).
VITAL_SPECS: dict[str, QuantitySpec] = {n: TRACE_SPECS[n] for n in (SBP_MMHG, DBP_MMHG, MAP_MMHG, HR_BPM)}
BP_COMPONENTS = (SBP_MMHG, DBP_MMHG, MAP_MMHG)

# Common non-UCUM spellings seen in exports, mapped to UCUM codes.
UNIT_ALIASES = {
    "mmhg": "mm[Hg]",
    "bpm": "/min",
    "beats/min": "/min",
    "1/min": "/min",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "meq/l": "meq/L",
    "mmol/l": "mmol/L",
    "mg/dl": "mg/dL",
    "g/dl": "g/dL",
    "g/l": "g/L",
    "ug/l": "ug/L",
    "µg/l": "ug/L",
    "umol/l": "umol/L",
    "ng/ml": "ng/mL",
    "in": "[in_i]",
}
