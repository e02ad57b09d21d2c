"""Dialyzer transport: diffusive (Michaels clearance, computed once per session in ``derive``) plus
convective transport with ultrafiltration (Ursino 2000 / Lim 2008 App. 1 eq. 29):

``J = K (1 - Qf/Qe) (c_blood - c_dialysate) + Qf c_blood``  (mmol/min removed; negative = gained).
"""

from __future__ import annotations

from typing import Any


def solute_removal_mmol_min(k: Any, qe: Any, qf: Any, c_blood: Any, c_dial: Any) -> Any:
    """Removal rate of one solute (mmol/min); ``k``, ``qe``, ``qf`` in L/min, concentrations in mmol/L."""
    return k * (1.0 - qf / qe) * (c_blood - c_dial) + qf * c_blood


def urea_clearance_l_min(k: Any, qe: Any, qf: Any) -> Any:
    """Total (diffusive + convective) urea clearance, L/min (Sargent & Gotch form with Qe)."""
    return k * (1.0 - qf / qe) + qf
