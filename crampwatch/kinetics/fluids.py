"""Body-fluid formulas: calculated osmolality, unit conversions, oncotic pressures, hematocrit, relative blood
and plasma volume, cell membrane equilibrium."""

from __future__ import annotations

import numpy as np

from crampwatch.kinetics.checks import ArrayLike, FloatOrArray, check, out
from crampwatch.signals import HCT_PCT, UREA_MMOL_L
from crampwatch.units import (
    BUN_MG_DL_PER_UREA_MMOL_L,
    CA_MG_DL_PER_MMOL_L,
    GLUCOSE_MG_DL_PER_MMOL_L,
    UREA_MMOL_L_PER_BUN_MG_DL,
)

# ---------------------------------------------------------------------------------------------------------
# Osmolality and unit conversions
# ---------------------------------------------------------------------------------------------------------


def osmolality_calc_mosm_kg(
    na_mmol_l: ArrayLike, glucose_mg_dl: ArrayLike, bun_mg_dl: ArrayLike
) -> FloatOrArray:
    """Calculated osmolality ``2 Na + glucose/18 + BUN/2.8``, mOsm/kg (normal 275-295, Worthley 1987), with
    the molar conversions of :mod:`crampwatch.units` (glucose / 18.016, BUN / 2.8014)."""
    na = np.asarray(check("na_mmol_l", na_mmol_l, 80, 200, "mmol/L"))
    glu = np.asarray(check("glucose_mg_dl", glucose_mg_dl, 0, 3000, "mg/dL"))
    bun = np.asarray(check("bun_mg_dl", bun_mg_dl, 0, 1000, "mg/dL"))
    return out(2.0 * na + glu / GLUCOSE_MG_DL_PER_MMOL_L + bun / BUN_MG_DL_PER_UREA_MMOL_L)


def bun_mg_dl_to_urea_mmol_l(x: ArrayLike) -> FloatOrArray:
    """Blood urea nitrogen (mg/dL) to urea (mmol/L): / 2.8014 (x 0.357)."""
    return out(np.asarray(check("bun_mg_dl", x, 0, 1000, "mg/dL")) * UREA_MMOL_L_PER_BUN_MG_DL)


def urea_mmol_l_to_bun_mg_dl(x: ArrayLike) -> FloatOrArray:
    """Urea (mmol/L) to blood urea nitrogen (mg/dL): x 2.8014 (/ 0.357)."""
    return out(np.asarray(check(UREA_MMOL_L, x, 0, 400, "mmol/L")) / UREA_MMOL_L_PER_BUN_MG_DL)


def ca_mg_dl_to_mmol_l(x: ArrayLike) -> FloatOrArray:
    """Calcium mg/dL to mmol/L: / 4.008."""
    return out(np.asarray(check("ca_mg_dl", x, 0, 40, "mg/dL")) / CA_MG_DL_PER_MMOL_L)


def ca_mmol_l_to_mg_dl(x: ArrayLike) -> FloatOrArray:
    """Calcium mmol/L to mg/dL: x 4.008."""
    return out(np.asarray(check("ca_mmol_l", x, 0, 10, "mmol/L")) * CA_MG_DL_PER_MMOL_L)


# ---------------------------------------------------------------------------------------------------------
# Oncotic pressure, hematocrit, blood and plasma volume, cell equilibrium
# ---------------------------------------------------------------------------------------------------------


#: Landis-Pappenheimer oncotic polynomials ``a c + b c^2 + d c^3`` (c in g/dL, mmHg), plasma and interstitium
#: (Lim KM et al. Yonsei Med J 2008;49:581, App. 1).
LANDIS_PLASMA = (2.1, 0.16, 0.009)
LANDIS_INTERSTITIAL = (2.8, 0.18, 0.012)


def oncotic_pressure_array(c_g_dl, coefficients: tuple[float, float, float]):
    """Array core of the Landis-Pappenheimer polynomials (Horner form; floats or arrays, no checking)."""
    a, b, d = coefficients
    return c_g_dl * (a + c_g_dl * (b + c_g_dl * d))


def plasma_oncotic_pressure_mmhg(protein_g_dl: ArrayLike) -> FloatOrArray:
    """Plasma colloid osmotic pressure (Landis-Pappenheimer form, as in Lim et al. Yonsei Med J 2008 App. 1):
    ``2.1 c + 0.16 c^2 + 0.009 c^3`` (c in g/dL, mmHg)."""
    c = np.asarray(check("protein_g_dl", protein_g_dl, 0, 20, "g/dL"))
    return out(oncotic_pressure_array(c, LANDIS_PLASMA))


def interstitial_oncotic_pressure_mmhg(c: ArrayLike) -> FloatOrArray:
    """Interstitial colloid osmotic pressure ``2.8 c + 0.18 c^2 + 0.012 c^3`` (c in g/dL, mmHg; Lim 2008)."""
    cc = np.asarray(check("protein_g_dl", c, 0, 20, "g/dL"))
    return out(oncotic_pressure_array(cc, LANDIS_INTERSTITIAL))


def guyton_plasma_oncotic_pressure_mmhg(protein_g_l: ArrayLike) -> FloatOrArray:
    """Guyton-model plasma colloid osmotic pressure ``0.28 CPP + 0.0019 CPP^2`` (CPP in g/L, mmHg;
    CellML ``capillary_dynamics`` of the Guyton 1972 model)."""
    c = np.asarray(check("protein_g_l", protein_g_l, 0, 200, "g/L"))
    return out(0.28 * c + 0.0019 * c**2)


def delosreyes_oncotic_pressures_mmhg(
    cp_mg_ml: ArrayLike, ci_mg_ml: ArrayLike
) -> tuple[FloatOrArray, FloatOrArray]:
    """Plasma and interstitial oncotic pressure of the de los Reyes/Kotanko refill model (J Theor Biol 2016):
    ``pi_p = 0.1752 Cp + 0.0028 Cp^2``, ``pi_i = 0.2336 Ci + 0.0034 Ci^2`` (C in mg/mL, mmHg)."""
    cp = np.asarray(check("cp_mg_ml", cp_mg_ml, 0, 200, "mg/mL"))
    ci = np.asarray(check("ci_mg_ml", ci_mg_ml, 0, 200, "mg/mL"))
    return out(0.1752 * cp + 0.0028 * cp**2), out(0.2336 * ci + 0.0034 * ci**2)


def hct_constant_red_cell_volume(hct0: ArrayLike, vp0_l: ArrayLike, vp_l: ArrayLike) -> FloatOrArray:
    """Hematocrit (fraction) after plasma volume changes from Vp0 to Vp with constant red-cell volume:
    ``Hct = 1/(H0 Vp + 1)``, ``H0 = (1 - Hct0)/(Hct0 Vp0)`` (de los Reyes/Kotanko, J Theor Biol 2016)."""
    h0 = np.asarray(check("hct0", hct0, 0, 0.8, "(fraction)", low_open=True))
    v0 = np.asarray(check("vp0_l", vp0_l, 0, 20, "L", low_open=True))
    v = np.asarray(check("vp_l", vp_l, 0, 20, "L", low_open=True))
    k = (1.0 - h0) / (h0 * v0)
    return out(1.0 / (k * v + 1.0))


def rbv_from_hct(hct0: ArrayLike, hct: ArrayLike) -> FloatOrArray:
    """Relative blood volume (fraction of start) with constant red-cell mass: ``RBV = Hct0/Hct``.

    Units of the two hematocrits must match (both % or both fractions)."""
    h0 = np.asarray(check("hct0", hct0, 0, 100, low_open=True))
    h = np.asarray(check("hct", hct, 0, 100, low_open=True))
    return out(h0 / h)


def plasma_hemoconcentration(hct0_pct: ArrayLike, hct_pct: ArrayLike) -> FloatOrArray:
    """Plasma hemoconcentration ``h_p = H1(100 - H0)/[H0(100 - H1)]``, H in %
    (Schneditz, ASAIO J 2012;58:160)."""
    h0 = np.asarray(check("hct0_pct", hct0_pct, 0, 90, "%", low_open=True))
    h1 = np.asarray(check(HCT_PCT, hct_pct, 0, 90, "%", low_open=True))
    return out(h1 * (100.0 - h0) / (h0 * (100.0 - h1)))


def relative_plasma_volume(hct0_pct: ArrayLike, hct_pct: ArrayLike) -> FloatOrArray:
    """Relative plasma volume ``RPV = 1/h_p = H0(100 - H1)/[H1(100 - H0)]`` (Schneditz, ASAIO J 2012)."""
    return out(1.0 / np.asarray(plasma_hemoconcentration(hct0_pct, hct_pct)))


def cell_equilibrium_conc_mmol_l(beta: ArrayLike, c_ex_mmol_l: ArrayLike) -> FloatOrArray:
    """Intracellular concentration at membrane equilibrium ``c_ic = beta c_ex`` (Ursino et al. Ann Biomed Eng
    2000 eq. 12; beta_Na 0.0704, beta_K 28.2, beta_urea 1)."""
    b = np.asarray(check("beta", beta, 0, 100))
    c = np.asarray(check("c_ex_mmol_l", c_ex_mmol_l, 0, 1000, "mmol/L"))
    return out(b * c)
