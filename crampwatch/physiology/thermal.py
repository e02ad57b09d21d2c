"""Core temperature: heat exchanged through the extracorporeal circuit against thermoregulation
(cool dialysate lowers core temperature and raises vascular tone; Selby NM & McIntyre CW, NDT 2006)."""

from __future__ import annotations

from typing import Any


def extracorporeal_heat_kj_min(on: Any, dif: Any, h_x: Any, t_dial: Any, t_iuf: Any, t_core: Any) -> Any:
    """Heat gained through the extracorporeal circuit (kJ/min): ``h_x (Td - T)`` while dialysate flows
    (fraction ``dif`` of the step) and ``h_x (T_iuf - T)`` during isolated UF (``on - dif``: blood flows
    without dialysate and cools in the circuit; ``T_iuf`` is the dialysate temperature that transfers the
    same energy, van der Sande FM et al. Nephrol Dial Transplant: 34.75 degC)."""
    return h_x * (dif * (t_dial - t_core) + (on - dif) * (t_iuf - t_core))


def core_temp_rate_k_min(heat_kj_min: Any, t_core: Any, g_thermo: Any, t0: Any, c_body: Any) -> Any:
    """dT/dt (K/min): extracorporeal heat minus thermoregulatory loss ``g (T - T0)``."""
    return (heat_kj_min - g_thermo * (t_core - t0)) / c_body
