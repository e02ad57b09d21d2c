"""Unit conversions and unit relations: the one home of every conversion constant in crampwatch.

Molar masses are IUPAC/CIAAW standard atomic weights (Prohaska T et al., Pure Appl Chem 2022;94:573,
"Standard atomic weights of the elements 2021"), rounded to the digits given. Every other module takes its
conversion factors from here, so that one quantity converts the same way on every path (scenario labs,
trace readers, FHIR, the simulator's outputs, the analyzer, the optimizer).

Each ``*_PER_*`` constant reads "so many of the first unit per one of the second", e.g.
``BUN_MG_DL_PER_UREA_MMOL_L = 2.8014``: 1 mmol/L of urea is 2.8014 mg/dL of urea nitrogen.
"""

from __future__ import annotations

from typing import Any

# ------------------------------------------------------------------------------------------- molar masses

#: Nitrogen 14.007 g/mol (CIAAW 2021). Urea, CO(NH2)2, carries two N atoms: 28.014 mg N per mmol urea.
N_G_PER_MOL = 14.007
UREA_N_MG_PER_MMOL = 2.0 * N_G_PER_MOL
#: BUN (mg/dL of urea nitrogen) per urea (mmol/L): 28.014 mg/L = 2.8014 mg/dL. The clinical rounding
#: "BUN x 0.357 = urea" is the reciprocal, 0.35697, to three digits.
BUN_MG_DL_PER_UREA_MMOL_L = UREA_N_MG_PER_MMOL / 10.0
UREA_MMOL_L_PER_BUN_MG_DL = 1.0 / BUN_MG_DL_PER_UREA_MMOL_L

#: Calcium 40.078 g/mol (CIAAW 2021): 1 mmol/L = 4.008 mg/dL (to 4 digits).
CA_MG_DL_PER_MMOL_L = 4.008
#: Magnesium 24.305 g/mol (CIAAW 2021, conventional value): 1 mmol/L = 2.4305 mg/dL.
MG_MG_DL_PER_MMOL_L = 2.4305
#: Glucose C6H12O6 180.156 g/mol: 1 mmol/L = 18.016 mg/dL.
GLUCOSE_MG_DL_PER_MMOL_L = 18.016
#: Aluminium 26.982 g/mol (CIAAW 2021): 1 µmol/L = 26.98 µg/L.
AL_UG_L_PER_UMOL_L = 26.98
#: Divalent ions (Ca, Mg): 2 mEq per mmol; monovalent (Na, K, HCO3): 1 mEq per mmol.
MEQ_PER_MMOL_DIVALENT = 2.0
MEQ_PER_MMOL_MONOVALENT = 1.0

# ---------------------------------------------------------------------------------- mass/volume and others

#: Albumin, haemoglobin: 1 g/dL = 10 g/L.
G_L_PER_G_DL = 10.0
#: International avoirdupois pound (exact by definition, 1959).
KG_PER_LB = 0.45359237
#: International inch (exact by definition).
CM_PER_INCH = 2.54
#: Standard mmHg (exact: 101 325 / 760 Pa).
PA_PER_MMHG = 101_325.0 / 760.0
ML_PER_L = 1000.0
MIN_PER_H = 60.0
S_PER_MIN = 60.0
#: A fraction (0-1) as a percentage.
PCT_PER_FRACTION = 100.0

# ------------------------------------------------------------------- dialysate conductivity and sodium

#: Dialysate conductivity at the reference Na: 13.6 mS/cm ~ 135 mmol/L (reduced-conductivity RCT,
#: ASAIO J 2005;51:70), and 0.1 mS/cm per mmol/L of Na (Moret K et al. ASAIO J 2011;57:53: 0.9 mS/cm ~
#: 9 mmol/L). The relation is machine dependent by 1-5 mmol/L (Blood Purif 2018;46:27); it is the one
#: relation used by the simulator's ``conductivity_ms_cm`` output and by every reader.
CONDUCTIVITY_REF_MS_CM = 13.6
CONDUCTIVITY_REF_NA_MMOL_L = 135.0
CONDUCTIVITY_MS_CM_PER_NA_MMOL_L = 0.1


def conductivity_to_na_mmol_l(conductivity_ms_cm: Any) -> Any:
    """Dialysate Na (mmol/L) from dialysate conductivity (mS/cm): ``135 + 10 (C - 13.6)``.

    Works on floats, numpy arrays and pandas Series alike (NaN stays NaN).
    """
    c = conductivity_ms_cm
    return CONDUCTIVITY_REF_NA_MMOL_L + (c - CONDUCTIVITY_REF_MS_CM) / CONDUCTIVITY_MS_CM_PER_NA_MMOL_L


def na_to_conductivity_ms_cm(na_mmol_l: Any) -> Any:
    """Dialysate conductivity (mS/cm) of a dialysate Na (mmol/L); the inverse of
    :func:`conductivity_to_na_mmol_l`."""
    na = na_mmol_l
    return CONDUCTIVITY_REF_MS_CM + CONDUCTIVITY_MS_CM_PER_NA_MMOL_L * (na - CONDUCTIVITY_REF_NA_MMOL_L)


# ------------------------------------------------------------------------------------------ conversions


def fahrenheit_to_celsius(deg_f: Any) -> Any:
    """Temperature in °F to °C."""
    return (deg_f - 32.0) * 5.0 / 9.0
