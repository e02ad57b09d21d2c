"""Closed-form clinical hemodialysis formulas, one module per job:

* :mod:`~crampwatch.kinetics.dose` -- body water, urea generation, spKt/V, eKt/V, URR, KDOQI targets;
* :mod:`~crampwatch.kinetics.clearance` -- Michaels clearance, UF corrections, SPEEDY, blood-water flow;
* :mod:`~crampwatch.kinetics.hemodynamics` -- UF rate measures and thresholds, hypotension definitions;
* :mod:`~crampwatch.kinetics.fluids` -- osmolality, unit conversions, oncotic pressures, Hct, RBV.

Every formula exists once: an array core (``*_array``, no input checking) that the hot paths call, and a
validating public wrapper that raises :class:`crampwatch.errors.InputError` with a one-line message naming the
field. Scalars in give floats out; numpy arrays are accepted where noted. The published test vectors
(``tests/test_kinetics.py``) therefore test the code the product runs.
"""

from __future__ import annotations

from crampwatch.kinetics.clearance import (
    PLASMA_WATER_FRACTION,
    RED_CELL_WATER_FRACTION,
    SpeedyClearance,
    effective_blood_water_flow_array,
    effective_blood_water_flow_ml_min,
    jaffrin_clearance,
    michaels_clearance_array,
    michaels_clearance_ml_min,
    michaels_koa_ml_min,
    sargent_gotch_clearance,
    speedy_clearance,
)
from crampwatch.kinetics.dose import (
    KDOQI_MIN_SP_KTV,
    KDOQI_MIN_URR_PCT,
    KDOQI_TARGET_SP_KTV,
    KDOQI_TARGET_URR_PCT,
    PCR_G_DAY_PER_GUN_MG_MIN,
    PCR_G_DAY_PER_V_L,
    ekt_v_rate,
    ekt_v_tattersall,
    inadequate_dose,
    ktv_from_clearance,
    modified_urr_pct,
    sp_ktv_daugirdas,
    sp_ktv_daugirdas_array,
    urea_generation_array,
    urea_generation_mg_min,
    urr_pct,
    watson_volume_array,
    watson_volume_l,
)
from crampwatch.kinetics.fluids import (
    LANDIS_INTERSTITIAL,
    LANDIS_PLASMA,
    bun_mg_dl_to_urea_mmol_l,
    ca_mg_dl_to_mmol_l,
    ca_mmol_l_to_mg_dl,
    cell_equilibrium_conc_mmol_l,
    delosreyes_oncotic_pressures_mmhg,
    guyton_plasma_oncotic_pressure_mmhg,
    hct_constant_red_cell_volume,
    interstitial_oncotic_pressure_mmhg,
    oncotic_pressure_array,
    osmolality_calc_mosm_kg,
    plasma_hemoconcentration,
    plasma_oncotic_pressure_mmhg,
    rbv_from_hct,
    relative_plasma_volume,
    urea_mmol_l_to_bun_mg_dl,
)
from crampwatch.kinetics.hemodynamics import (
    idh_ebpg,
    idh_ebpg_fall,
    idh_kdoqi,
    idh_nadir,
    kcqa_high_ufr,
    mermelstein_uf_thresholds_ml_h,
    uf_rate_band,
    uf_rate_ml_per_kg_h,
)

__all__ = [
    "KDOQI_MIN_SP_KTV",
    "KDOQI_MIN_URR_PCT",
    "KDOQI_TARGET_SP_KTV",
    "KDOQI_TARGET_URR_PCT",
    "LANDIS_INTERSTITIAL",
    "LANDIS_PLASMA",
    "PCR_G_DAY_PER_GUN_MG_MIN",
    "PCR_G_DAY_PER_V_L",
    "PLASMA_WATER_FRACTION",
    "RED_CELL_WATER_FRACTION",
    "SpeedyClearance",
    "bun_mg_dl_to_urea_mmol_l",
    "ca_mg_dl_to_mmol_l",
    "ca_mmol_l_to_mg_dl",
    "cell_equilibrium_conc_mmol_l",
    "delosreyes_oncotic_pressures_mmhg",
    "effective_blood_water_flow_array",
    "effective_blood_water_flow_ml_min",
    "ekt_v_rate",
    "ekt_v_tattersall",
    "guyton_plasma_oncotic_pressure_mmhg",
    "hct_constant_red_cell_volume",
    "idh_ebpg",
    "idh_ebpg_fall",
    "idh_kdoqi",
    "idh_nadir",
    "inadequate_dose",
    "interstitial_oncotic_pressure_mmhg",
    "jaffrin_clearance",
    "kcqa_high_ufr",
    "ktv_from_clearance",
    "mermelstein_uf_thresholds_ml_h",
    "michaels_clearance_array",
    "michaels_clearance_ml_min",
    "michaels_koa_ml_min",
    "modified_urr_pct",
    "oncotic_pressure_array",
    "osmolality_calc_mosm_kg",
    "plasma_hemoconcentration",
    "plasma_oncotic_pressure_mmhg",
    "rbv_from_hct",
    "relative_plasma_volume",
    "sargent_gotch_clearance",
    "sp_ktv_daugirdas",
    "sp_ktv_daugirdas_array",
    "speedy_clearance",
    "uf_rate_band",
    "uf_rate_ml_per_kg_h",
    "urea_generation_array",
    "urea_generation_mg_min",
    "urea_mmol_l_to_bun_mg_dl",
    "urr_pct",
    "watson_volume_array",
    "watson_volume_l",
]
