"""Dialyzer transport: diffusive (Michaels clearance, computed once per session in ``derive``) plus
convective transport with ultrafiltration (Ursino 2000 / Lim 2008 App. 1 eq. 29):

``J = K (1 - Qf/Qe) (c_blood - c_dialysate) + Qf c_blood``  (mmol/min removed; negative = gained).

The factor ``1 - Qf/Qe`` is shared by every solute carried in the same blood-water flow ``Qe``; the
right-hand side forms it once per flow (:func:`uf_factor`) and passes it on.
"""

from __future__ import annotations

from typing import Any


def uf_factor(qe: Any, qf: Any) -> Any:
    """``1 - Qf/Qe``: the part of the diffusive clearance left with ultrafiltration (flows in L/min)."""
    return 1.0 - qf / qe


def solute_removal_mmol_min(k: Any, f_uf: Any, qf: Any, c_blood: Any, c_dial: Any) -> Any:
    """Removal rate of one solute (mmol/min); ``k``, ``qf`` in L/min, ``f_uf`` from :func:`uf_factor` (times
    the fraction of time with dialysate flowing: 0 during isolated UF, when only convection removes solute),
    concentrations in mmol/L."""
    return k * f_uf * (c_blood - c_dial) + qf * c_blood


def urea_clearance_l_min(k: Any, f_uf: Any, qf: Any) -> Any:
    """Total (diffusive + convective) urea clearance, L/min (Sargent & Gotch form with Qe)."""
    return k * f_uf + qf
