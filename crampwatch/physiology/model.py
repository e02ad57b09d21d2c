"""The assembled session model: state layout, right-hand side and output signals.

State (per patient; volumes L, amounts mmol, temperature degC): cell, interstitial and plasma water;
urea in ECF, ICF and brain water; Na and K in ECF and ICF; free Ca and Mg in ECF and their exchangeable
pools (as deviation from the start); bicarbonate in ECF and titrated buffer; brain electrolyte osmolality;
core temperature; and cumulative counters (UF volume, dialyzer/kidney removal per solute, urea clearance
integral) that make mass balances checkable.

One source serves two executions: :func:`rhs` runs on numpy arrays (states ``[N_STATES, n]``, parameters as
arrays ``[n]``; the reference batch integrator) and, compiled by numba, on one patient's floats (the compiled
kernel in :mod:`crampwatch.simulator.kernel`). It therefore only uses what both support: ``np`` functions,
arithmetic, tuples and namedtuples; results are written into caller-owned arrays.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from crampwatch.kinetics.fluids import oncotic_pressure_array
from crampwatch.physiology.brain import brain_osm_gradient, brain_urea_flux_mmol_min
from crampwatch.physiology.circulation import circulation, fast_tanh
from crampwatch.physiology.dialyzer import solute_removal_mmol_min, uf_factor, urea_clearance_l_min
from crampwatch.physiology.fluid import (
    capillary_pressure_mmhg,
    cell_water_flux_l_min,
    lymph_flow_l_min,
    oncotic_interstitial_mmhg,
    oncotic_plasma_mmhg,
    starling_filtration_l_min,
)
from crampwatch.physiology.solutes import cell_exchange_mmol_min, ionized_ca_mmol_l, plasma_ph
from crampwatch.physiology.thermal import core_temp_rate_k_min, extracorporeal_heat_kj_min
from crampwatch.signals import (
    BRAIN_OSM_GRADIENT_MOSM_KG,
    BRAIN_UREA_MMOL_L,
    CONDUCTIVITY_MS_CM,
    DBP_MMHG,
    DIALYSATE_NA_MMOL_L,
    DIALYSATE_TEMP_C,
    HCO3_MMOL_L,
    HCT_PCT,
    HR_BPM,
    ICA_MMOL_L,
    INTERSTITIAL_VOLUME_L,
    INTRACELLULAR_VOLUME_L,
    MAP_MMHG,
    MG_MMOL_L,
    OSM_MOSM_KG,
    PLASMA_K_MMOL_L,
    PLASMA_NA_MMOL_L,
    PLASMA_VOLUME_L,
    QB_ML_MIN,
    RBV_PCT,
    REFILL_ML_MIN,
    SBP_MMHG,
    TOTAL_CA_MMOL_L,
    UF_CUM_L,
    UF_RATE_ML_H,
    UREA_MMOL_L,
)
from crampwatch.units import CA_MG_DL_PER_MMOL_L, GLUCOSE_MG_DL_PER_MMOL_L, na_to_conductivity_ms_cm

STATES: tuple[str, ...] = (
    "v_ic",
    "v_is",
    "v_pl",
    "u_ex",
    "u_ic",
    "u_br",
    "na_ex",
    "na_ic",
    "k_ex",
    "k_ic",
    "ca_ex",
    "ca_pool",
    "mg_ex",
    "mg_pool",
    "hco3_ex",
    "hco3_buf",
    "brain_osm",
    "t_core",
    "uf_cum",
    "rem_u",
    "rem_na",
    "rem_k",
    "rem_ca",
    "rem_mg",
    "rem_hco3",
    "kt",
)
N_STATES = len(STATES)
IDX = {name: i for i, name in enumerate(STATES)}

#: Output signals the model computes, in the order :func:`rhs` writes them (names and units as in
#: :data:`crampwatch.trace.SIGNALS`).
OUTPUTS: tuple[str, ...] = (
    SBP_MMHG,
    DBP_MMHG,
    MAP_MMHG,
    HR_BPM,
    RBV_PCT,
    UF_CUM_L,
    UF_RATE_ML_H,
    PLASMA_NA_MMOL_L,
    PLASMA_K_MMOL_L,
    OSM_MOSM_KG,
    ICA_MMOL_L,
    MG_MMOL_L,
    HCO3_MMOL_L,
    UREA_MMOL_L,
    BRAIN_UREA_MMOL_L,
    DIALYSATE_NA_MMOL_L,
    DIALYSATE_TEMP_C,
    QB_ML_MIN,
    CONDUCTIVITY_MS_CM,
    HCT_PCT,
    PLASMA_VOLUME_L,
    INTERSTITIAL_VOLUME_L,
    INTRACELLULAR_VOLUME_L,
    REFILL_ML_MIN,
    BRAIN_OSM_GRADIENT_MOSM_KG,
    TOTAL_CA_MMOL_L,
)
N_OUTPUTS = len(OUTPUTS)
Outputs = namedtuple("Outputs", OUTPUTS)


def initial_state(p: Any) -> list[Any]:
    """Pre-dialysis state from derived parameters (arrays or floats)."""
    zero = p.y0_v_ic * 0.0
    return [
        p.y0_v_ic,
        p.y0_v_is,
        p.y0_v_pl,
        p.y0_u_ex,
        p.y0_u_ic,
        p.y0_u_br,
        p.y0_na_ex,
        p.y0_na_ic,
        p.y0_k_ex,
        p.y0_k_ic,
        p.y0_ca_ex,
        zero,
        p.y0_mg_ex,
        zero,
        p.y0_hco3_ex,
        zero,
        p.y0_brain_osm,
        p.t_core0,
        zero,
        zero,
        zero,
        zero,
        zero,
        zero,
        zero,
        zero,
    ]


def rhs(y: Any, u: tuple[Any, Any, Any, Any], p: Any, s0: Any, n_iter: int, dy: Any, out: Any = None) -> Any:
    """Write the time derivatives (per minute) of every state into ``dy`` (layout of ``y``: :data:`STATES`
    on the first axis) and, unless ``out`` is None, the output signals (:data:`OUTPUTS` order) into ``out``;
    return the baroreflex activation (the next call's warm start).

    ``u = (on, qf, na_d, dif)``: fraction of the time step inside the session (blood pump and UF running), UF
    rate while running (L/min), dialysate Na (mmol/L) and fraction of the step with dialysate flowing
    (diffusion and extracorporeal heat exchange; 0 during isolated UF, at most ``on``). ``s0`` warm-starts
    the baroreflex solve with ``n_iter`` Newton iterations.
    """
    v_ic, v_is, v_pl, u_ex, u_ic, u_br, na_ex, na_ic, k_ex, k_ic = y[:10]
    ca_ex, ca_pool, mg_ex, mg_pool, hco3_ex, hco3_buf, brain_osm, t_core = y[10:18]
    on, qf_i, na_d, dif = u
    qf = on * qf_i
    v_ex = v_is + v_pl
    c_u = u_ex / v_ex
    c_na = na_ex / v_ex
    c_k = k_ex / v_ex
    c_ca = ca_ex / v_ex
    c_mg = mg_ex / v_ex
    c_h = hco3_ex / v_ex
    # osmotic water shift between cells and ECF (urea counts with its reflection coefficient)
    # ECF glucose is held at its pre-dialysis concentration: it leaves with the ultrafiltrate and is dialysed
    # against a glucose-containing bath while the liver regulates it (modelling choice; the osmolality
    # signal below uses the same constant), so UF does not concentrate it
    osm_ex = (2.0 * (na_ex + k_ex) + p.sigma_u * u_ex) / v_ex + p.glu_ex
    osm_ic = (2.0 * (na_ic + k_ic) + p.sigma_u * u_ic + p.x_ic) / v_ic
    j_w = cell_water_flux_l_min(p.k_w, osm_ic, osm_ex)
    # proteins, acid-base, ionized Ca
    cp = p.m_prot_pl / v_pl
    pi_pl = oncotic_plasma_mmhg(cp)
    pi_is = oncotic_interstitial_mmhg(p.m_prot_is / v_is)
    dp_is = p.e_is * (v_is - p.v_is_ref)
    hco3_m = c_h * p.f_anion
    ph = plasma_ph(hco3_m, p.pco2)
    ica = ionized_ca_mmol_l(c_ca, ph, p.ph0, p.ph_slope)
    # circulation and capillary exchange
    bv = v_pl + p.v_rbc
    # divalent-cation index acting on contractility and arteriolar tone: ionized Ca relative to its
    # pre-dialysis value, lowered as serum Mg falls below the reference limit (Kyriazis 2004; parameters.py);
    # 1 before dialysis (pre-dialysis steady state)
    mg_deficit = np.maximum(p.mg_cv_ref - c_mg / p.f_mg, 0.0) - p.mg_cv_deficit0
    cation = ica / p.ica0 - p.mg_cv_weight * mg_deficit
    circ = circulation(p, bv, np.maximum(cation, 0.2), t_core - p.t_core0, s0, n_iter)
    p_c = capillary_pressure_mmhg(circ.pms, circ.map, p.rho0 * p.tpr0 / circ.tpr)
    j_f = starling_filtration_l_min(p.kf, p_c, dp_is, pi_pl, pi_is, p.dp0)
    lymph = lymph_flow_l_min(p.lymph0, p.lymph_slope, dp_is)
    # dialyzer (mmol/min removed): diffusion while dialysate flows (dif), convection while UF runs
    f_u = dif * uf_factor(p.qe_u, qf_i)
    f_ion = dif * uf_factor(p.qe_ion, qf_i)
    j_u = solute_removal_mmol_min(p.kd_u, f_u, qf, c_u, 0.0)
    j_na = solute_removal_mmol_min(p.kd_na, f_ion, qf, c_na, na_d * p.na_d_scale)
    j_k = solute_removal_mmol_min(p.kd_k, f_ion, qf, c_k, p.dial_k)
    j_ca = solute_removal_mmol_min(p.kd_ca, f_ion, qf, ica, p.dial_ca_ion)
    j_mg = solute_removal_mmol_min(p.kd_mg, f_ion, qf, c_mg, p.dial_mg)
    j_h = solute_removal_mmol_min(p.kd_hco3, f_ion, qf, c_h, p.dial_hco3)
    # cell membranes, brain, pools
    phi_u = p.kc_u * (c_u - u_ic / v_ic)
    phi_na = cell_exchange_mmol_min(p.k_na_cell, p.beta_na, c_na, na_ic / v_ic)
    # alkalosis moves K into cells (Adrogue & Madias 1981): the cell/ECF distribution rises with pH
    beta_k = p.beta_k * np.exp(p.k_ph * (ph - p.ph0))
    phi_k = cell_exchange_mmol_min(p.k_k_cell, beta_k, c_k, k_ic / v_ic)
    j_br = brain_urea_flux_mmol_min(p.k_br, c_u, u_br / p.v_br)
    j_ca_pool = p.k_ca_pool * (p.ica0 + ca_pool / p.ca_pool_v - c_ca)
    j_mg_pool = p.k_mg_pool * (p.c_mg0 + mg_pool / p.mg_pool_v - c_mg)
    j_buf = p.k_buf * (c_h - (p.c_hco30 + hco3_buf / p.hco3_buf_v))
    kr_u = p.kr * c_u
    eff_pl = 2.0 * (c_na + c_k)
    d = (
        j_w,
        -j_w + j_f - lymph,
        -j_f + lymph - qf,
        p.g_urea - j_u - kr_u - phi_u - j_br,
        phi_u,
        j_br,
        -j_na - phi_na,
        phi_na,
        -j_k - phi_k,
        phi_k,
        -j_ca + j_ca_pool,
        -j_ca_pool,
        -j_mg + j_mg_pool,
        -j_mg_pool,
        -j_h - j_buf - p.acid_gen,
        j_buf,
        (eff_pl - brain_osm) / p.tau_br_osm,
        core_temp_rate_k_min(
            extracorporeal_heat_kj_min(on, dif, p.h_x, p.dial_temp, p.t_iuf, t_core),
            t_core,
            p.g_thermo,
            p.t_core0,
            p.c_body,
        ),
        qf,
        j_u + kr_u,
        j_na,
        j_k,
        j_ca,
        j_mg,
        j_h,
        urea_clearance_l_min(p.kd_u, f_u, qf),
    )
    for k in range(len(d)):
        dy[k] = d[k]
    if out is not None:
        _write_outputs(out, y, u, p, circ, c_na, c_u, c_k, c_mg, cp, bv, ica, hco3_m, ph, j_f, lymph, eff_pl)
    return circ.s


def _write_outputs(
    out: Any,
    y: Any,
    u: tuple[Any, Any, Any, Any],
    p: Any,
    circ: Any,
    c_na: Any,
    c_u: Any,
    c_k: Any,
    c_mg: Any,
    cp: Any,
    bv: Any,
    ica: Any,
    hco3_m: Any,
    ph: Any,
    j_f: Any,
    lymph: Any,
    eff_pl: Any,
) -> None:
    """Write the output signals (:data:`OUTPUTS` order) of state ``y`` under controls ``u`` into ``out``, from
    the quantities :func:`rhs` computed on the way."""
    v_ic, v_is, v_pl, u_br, brain_osm = y[0], y[1], y[2], y[5], y[16]  # STATES order
    on, qf_i, na_d, _dif = u
    qf = on * qf_i
    na_m = c_na * p.f_cation
    urea_m = c_u * p.f_urea
    alb = p.albumin0 * cp / p.cp0
    o = Outputs(
        sbp_mmhg=circ.sbp,
        dbp_mmhg=circ.dbp,
        map_mmhg=circ.map,
        hr_bpm=circ.hr,
        rbv_pct=100.0 * bv / p.bv0,
        uf_cum_l=y[18],
        uf_rate_ml_h=qf * 60000.0,
        plasma_na_mmol_l=na_m,
        plasma_k_mmol_l=c_k * p.f_cation,
        # calculated osmolality 2 Na + glucose + urea, all in mmol/L (= 2 Na + glucose/18 + BUN/2.8)
        osm_mosm_kg=2.0 * na_m + p.glucose_mg_dl / GLUCOSE_MG_DL_PER_MMOL_L + urea_m,
        ica_mmol_l=ica,
        mg_mmol_l=c_mg / p.f_mg,
        hco3_mmol_l=hco3_m,
        urea_mmol_l=urea_m,
        brain_urea_mmol_l=u_br / p.v_br,
        dialysate_na_mmol_l=na_d,
        dialysate_temp_c=p.dial_temp + 0.0 * on,
        qb_ml_min=p.qb_ml_min * on,
        conductivity_ms_cm=na_to_conductivity_ms_cm(na_d),
        hct_pct=p.hct0_pct * p.bv0 / bv,
        plasma_volume_l=v_pl,
        interstitial_volume_l=v_is,
        intracellular_volume_l=v_ic,
        refill_ml_min=(lymph - j_f) * 1000.0,
        brain_osm_gradient_mosm_kg=brain_osm_gradient(u_br / p.v_br, c_u, brain_osm, eff_pl),
        # total Ca: (ionized + albumin-bound) / 0.9, bound 0.8 mg/dL per g/dL albumin (Payne 1973), the
        # pH-driven shift moved to the bound fraction; inverse of crampwatch.labs.estimate_ica_mmol_l
        total_ca_mmol_l=(ica + 0.8 * alb / CA_MG_DL_PER_MMOL_L + p.ph_slope * (ph - p.ph0)) / 0.9,
    )
    for k in range(len(o)):
        out[k] = o[k]


#: Every function the compiled kernel runs: the right-hand side and each function it calls, directly or
#: through another. :mod:`crampwatch.simulator.kernel` compiles these and nothing else (the numpy integrator
#: runs the same sources as they are); tests/test_simulate_kernel.py checks the list against the calls in
#: their sources.
KERNEL_FUNCTIONS = (
    rhs,
    _write_outputs,
    cell_water_flux_l_min,
    oncotic_plasma_mmhg,
    oncotic_interstitial_mmhg,
    oncotic_pressure_array,
    plasma_ph,
    ionized_ca_mmol_l,
    circulation,
    fast_tanh,
    capillary_pressure_mmhg,
    starling_filtration_l_min,
    lymph_flow_l_min,
    uf_factor,
    solute_removal_mmol_min,
    cell_exchange_mmol_min,
    brain_urea_flux_mmol_min,
    core_temp_rate_k_min,
    extracorporeal_heat_kj_min,
    urea_clearance_l_min,
    na_to_conductivity_ms_cm,
    brain_osm_gradient,
)
#: Functions numba inlines into their caller before compiling (its intermediate representation), so that the
#: compiled right-hand side is the code of one function, as before they were split out of :func:`rhs`: the
#: same floating-point contractions, bit-for-bit the same results.
KERNEL_INLINED = (_write_outputs,)
