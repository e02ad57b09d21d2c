"""Core temperature: heat exchanged through the extracorporeal circuit against thermoregulation
(cool dialysate lowers core temperature and raises vascular tone; Selby NM & McIntyre CW, NDT 2006)."""

from __future__ import annotations

from typing import Any


def core_temp_rate_k_min(
    on: Any, h_x: Any, t_dial: Any, t_core: Any, g_thermo: Any, t0: Any, c_body: Any
) -> Any:
    """dT/dt (K/min): extracorporeal heat ``h_x (Td - T)`` minus thermoregulatory loss ``g (T - T0)``."""
    return (on * h_x * (t_dial - t_core) - g_thermo * (t_core - t0)) / c_body
