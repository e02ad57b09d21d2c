"""Body-fluid sub-model: osmotic cell-water shift, Starling capillary exchange with oncotic pressures, lymph.

Volumes in L, pressures in mmHg, flows in L/min. Equations: Ursino et al. Ann Biomed Eng 2000;28:204 and
Lim et al. Yonsei Med J 2008;49:581 (App. 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crampwatch.kinetics.fluids import LANDIS_INTERSTITIAL, LANDIS_PLASMA, oncotic_pressure_array


def oncotic_plasma_mmhg(c_g_dl: Any) -> Any:
    """Plasma colloid osmotic pressure, mmHg (c in g/dL): the array core of
    :func:`crampwatch.kinetics.plasma_oncotic_pressure_mmhg` (Landis-Pappenheimer, Lim 2008 App. 1)."""
    return oncotic_pressure_array(c_g_dl, LANDIS_PLASMA)


def oncotic_interstitial_mmhg(c_g_dl: Any) -> Any:
    """Interstitial colloid osmotic pressure, mmHg (c in g/dL): the array core of
    :func:`crampwatch.kinetics.interstitial_oncotic_pressure_mmhg`."""
    return oncotic_pressure_array(c_g_dl, LANDIS_INTERSTITIAL)


def cell_water_flux_l_min(k_w: Any, osm_ic: Any, osm_ex: Any) -> Any:
    """Water into cells driven by the osmotic difference: ``k_w (c_ic - c_ex)`` (Ursino 2000 eq. 1)."""
    return k_w * (osm_ic - osm_ex)


def capillary_pressure_mmhg(p_venous: Any, map_mmhg: Any, rho: Any) -> Any:
    """Mean capillary pressure between arterial and venous pressure weighted by the post/pre-capillary
    resistance ratio ``rho`` (Pappenheimer & Soto-Rivera, Am J Physiol 1948)."""
    return (p_venous + rho * map_mmhg) / (1.0 + rho)


def starling_filtration_l_min(kf: Any, p_c: Any, p_is: Any, pi_pl: Any, pi_is: Any, dp0: Any) -> Any:
    """Net capillary filtration plasma -> interstitium: ``Kf [(Pc - Pis) - (pi_pl - pi_is) - dp0]``.

    ``dp0`` makes filtration equal lymph flow before dialysis (pre-dialysis steady state)."""
    return kf * ((p_c - p_is) - (pi_pl - pi_is) - dp0)


def lymph_flow_l_min(lymph0: Any, slope: Any, dp_is: Any) -> Any:
    """Lymph return interstitium -> plasma, rising with interstitial pressure, never negative."""
    return np.maximum(lymph0 + slope * dp_is, 0.0)
