"""Brain water compartment for the disequilibrium cause: urea enters and leaves brain water slowly, so a
rapid fall of plasma urea leaves brain water hypertonic (reverse urea effect; Silver SM et al. Kidney Int
1992;42:161; Silver, Sterns & Halperin AJKD 1996;28:1)."""

from __future__ import annotations

from typing import Any


def brain_urea_flux_mmol_min(k_br: Any, c_plasma: Any, c_brain: Any) -> Any:
    """Urea into brain water, mmol/min."""
    return k_br * (c_plasma - c_brain)


def brain_osm_gradient(c_u_brain: Any, c_u_ex: Any, brain_osm: Any, plasma_eff_osm: Any) -> Any:
    """Brain-water minus plasma effective osmolality, mOsm/kg: the urea gradient plus the lag of brain
    electrolyte osmolality behind plasma tonicity."""
    return (c_u_brain - c_u_ex) + (brain_osm - plasma_eff_osm)
