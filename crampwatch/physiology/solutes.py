"""Solute sub-model: cell-membrane exchange of Na/K/urea, pH and ionized Ca, exchangeable Ca/Mg pools and
bicarbonate buffering.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def cell_exchange_mmol_min(k: Any, beta: Any, c_ex: Any, c_ic: Any) -> Any:
    """Flux into cells ``k (beta c_ex - c_ic)`` (Ursino et al. Ann Biomed Eng 2000 eq. 12)."""
    return k * (beta * c_ex - c_ic)


def plasma_ph(hco3_mmol_l: Any, pco2_mmhg: Any) -> Any:
    """Henderson-Hasselbalch: ``pH = 6.1 + log10(HCO3 / (0.0307 pCO2))``."""
    return 6.1 + np.log10(hco3_mmol_l / (0.0307 * pco2_mmhg))


def ionized_ca_mmol_l(c_ca: Any, ph: Any, ph0: Any, slope: Any) -> Any:
    """Ionized Ca: the ECF free-Ca concentration shifted by albumin binding with pH
    (alkalosis lowers iCa by ``slope`` mmol/L per pH unit)."""
    return c_ca - slope * (ph - ph0)
