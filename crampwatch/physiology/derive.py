"""Patient-specific model parameters and initial state, derived (vectorized) from scenarios.

``patient_parameters(scenarios)`` returns a :class:`ParameterArrays`: one numpy array of length n per
parameter. Constants come from :mod:`crampwatch.physiology.parameters`; the pre-dialysis state is taken to
be a steady state (every flux balanced at t = 0), so that all change during a session comes from dialysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import numpy as np

from crampwatch.kinetics import (
    effective_blood_water_flow_array,
    interstitial_oncotic_pressure_mmhg,
    michaels_clearance_array,
    plasma_oncotic_pressure_mmhg,
    urea_generation_array,
)
from crampwatch.labs import LAB_FIELDS, resolve_lab_arrays
from crampwatch.model import DEFAULT_NPCR_G_KG_DAY, Scenario
from crampwatch.physiology.feasibility import check_na_gradient, check_uf_feasible, watson_dry_l
from crampwatch.physiology.parameters import P
from crampwatch.scenario_table import (
    NUMERIC_FIELDS,
    complete_columns,
    scenario_columns,
    uf_volume_l,
)
from crampwatch.signals import HCO3_MMOL_L, HCT_PCT, ICA_MMOL_L, MG_MMOL_L, UREA_MMOL_L
from crampwatch.units import GLUCOSE_MG_DL_PER_MMOL_L, UREA_N_MG_PER_MMOL
from crampwatch.weekly.clearance import (
    SESSION,
    recirculated_clearance_array,
    urea_blood_water_flow_array,
)


class ParameterArrays(SimpleNamespace):
    """Per-patient parameters: every attribute is a float array of shape [n]."""

    @property
    def n(self) -> int:
        return int(self.weight_dry_kg.shape[0])

    def take(self, i: int) -> SimpleNamespace:
        """Parameters of patient ``i`` as Python floats (for the scalar integrator)."""
        return SimpleNamespace(**{k: float(v[i]) for k, v in vars(self).items()})

    def subset(self, idx: np.ndarray) -> ParameterArrays:
        return ParameterArrays(**{k: v[idx] for k, v in vars(self).items()})


#: Labs the session model reads.
MODEL_LABS = (
    "na_mmol_l",
    "k_mmol_l",
    "bun_mg_dl",
    ICA_MMOL_L,
    "albumin_g_dl",
    MG_MMOL_L,
    HCO3_MMOL_L,
    HCT_PCT,
    "glucose_mg_dl",
    UREA_MMOL_L,
)


def patient_parameters(
    scenarios: Sequence[Scenario],
    tbw_scale: np.ndarray | float | None = None,
    *,
    columns: Mapping[str, np.ndarray] | None = None,
) -> ParameterArrays:
    """Derive every patient- and prescription-specific parameter (arrays of length ``len(scenarios)``).

    ``tbw_scale`` multiplies the Watson body water (e.g. an ensemble of plausible patients, Watson's SD is
    ~9 % of TBW); the feasibility checks always use the entered body water. :class:`InputError` when a
    session's UF or dialysate Na is beyond what the model simulates. ``columns``: the scenario table of
    ``scenarios`` (:func:`crampwatch.scenario_table.scenario_columns`) when the caller already has it.
    """
    sc = list(scenarios)
    cols = scenario_columns(sc) if columns is None else columns
    tbw_dry = watson_dry_l(cols)
    check_uf_feasible(
        uf_volume_l(cols),
        cols["prescription.duration_min"],
        cols["patient.pre_weight_kg"],
        cols["patient.dry_weight_kg"],
        tbw_dry,
    )
    labs, _ = resolve_lab_arrays({k: cols[f"patient.labs.{k}"] for k in LAB_FIELDS})
    check_na_gradient([s.prescription for s in sc], labs["na_mmol_l"])
    return parameters_from_columns(cols, tbw_scale)


def parameters_from_columns(
    cols: Mapping[str, np.ndarray], tbw_scale: np.ndarray | float | None = None
) -> ParameterArrays:
    """:func:`patient_parameters` of a scenario table (:mod:`crampwatch.scenario_table`, completed with
    the model's defaults), without the feasibility checks (:func:`crampwatch.physiology.feasibility.
    infeasible_rows` gives them per row)."""
    n = len(cols["patient.pre_weight_kg"])
    c = complete_columns(cols, n)
    num = {k: np.asarray(v, dtype=float) for k, v in c.items() if k in NUMERIC_FIELDS}
    tbw_dry = watson_dry_l(c)
    if tbw_scale is not None:
        tbw_dry = tbw_dry * np.asarray(tbw_scale, dtype=float)
    labs, _ = resolve_lab_arrays({k: num[f"patient.labs.{k}"] for k in LAB_FIELDS})
    npcr = num["patient.npcr_g_kg_d"]
    return derive_arrays(
        pre_sbp=num["patient.pre_sbp_mmhg"],
        pre_hr=num["patient.pre_hr_bpm"],
        male=np.asarray(c["patient.sex"]) == "male",
        age=num["patient.age_years"],
        pre_w=num["patient.pre_weight_kg"],
        dry_w=num["patient.dry_weight_kg"],
        diabetes=np.asarray(c["patient.diabetes"], dtype=float),
        catheter=(np.asarray(c["patient.access"]) == "catheter").astype(float),
        kr_l_min=num["patient.residual_kr_ml_min"] / 1000.0,
        baro=num["patient.baroreflex_strength"],
        refill=num["patient.refill_capacity"],
        bv_ml_kg=num["patient.blood_volume_ml_kg"],
        npcr=np.where(np.isfinite(npcr), npcr, DEFAULT_NPCR_G_KG_DAY),
        tbw_dry=tbw_dry,
        labs={k: labs[k] for k in MODEL_LABS},
        uf_volume_l=uf_volume_l(c),
        qb=num["prescription.qb_ml_min"],
        qd=num["prescription.qd_ml_min"],
        koa=num["prescription.dialyzer_koa_ml_min"],
        dial_k=num["prescription.dialysate.k_mmol_l"],
        dial_ca=num["prescription.dialysate.ca_mmol_l"],
        dial_mg=num["prescription.dialysate.mg_mmol_l"],
        dial_hco3=num["prescription.dialysate.hco3_mmol_l"],
        dial_temp=num["prescription.dialysate.temp_c"],
    )


def derive_arrays(
    *,
    male: np.ndarray,
    age: np.ndarray,
    pre_w: np.ndarray,
    dry_w: np.ndarray,
    diabetes: np.ndarray,
    catheter: np.ndarray,
    kr_l_min: np.ndarray,
    baro: np.ndarray,
    refill: np.ndarray,
    tbw_dry: np.ndarray,
    labs: dict[str, np.ndarray],
    uf_volume_l: np.ndarray,
    qb: np.ndarray,
    qd: np.ndarray,
    koa: np.ndarray,
    dial_k: np.ndarray,
    dial_ca: np.ndarray,
    dial_mg: np.ndarray,
    dial_hco3: np.ndarray,
    dial_temp: np.ndarray,
    pre_sbp: np.ndarray | None = None,
    pre_hr: np.ndarray | None = None,
    bv_ml_kg: np.ndarray | None = None,
    npcr: np.ndarray | None = None,
) -> ParameterArrays:
    """The vectorized core of :func:`patient_parameters` (all inputs are arrays of length n)."""
    a = SimpleNamespace()
    a.weight_dry_kg = dry_w
    a.uf_volume_l = uf_volume_l
    f = _fluid_compartments(a, male, pre_w, dry_w, tbw_dry, labs, bv_ml_kg)
    cp0 = _proteins_and_starling(a, labs, dry_w, refill, f)
    _circulation(a, age, pre_w, dry_w, diabetes, baro, labs, cp0, f, pre_sbp, pre_hr)
    _temperature(a, dry_w, qb, dial_temp)
    c = _solutes(a, labs, dry_w, tbw_dry, kr_l_min, uf_volume_l, qb, npcr, f)
    _dialyzer(a, labs, qb, qd, koa, catheter, f.hct_wb, dial_k, dial_ca, dial_mg, dial_hco3)
    _initial_state(a, f, c)
    n = dry_w.shape[0]
    out = {}
    for k, v in vars(a).items():
        arr = np.asarray(v, dtype=float)
        out[k] = np.full(n, arr) if arr.ndim == 0 else arr
    return ParameterArrays(**out)


def _fluid_compartments(
    a: SimpleNamespace,
    male: np.ndarray,
    pre_w: np.ndarray,
    dry_w: np.ndarray,
    tbw_dry: np.ndarray,
    labs: dict[str, np.ndarray],
    bv_ml_kg: np.ndarray | None,
) -> SimpleNamespace:
    """Pre-dialysis fluid compartments; returns the volumes the later sections read."""
    # ---- fluid compartments (pre-dialysis) ------------------------------------------------------------
    icv_dry = P["icv_fraction_of_tbw"] * tbw_dry
    v_ex_dry = tbw_dry - icv_dry
    # brain water is intracellular water with its own (slow) urea exchange: carved out of the ICF so that
    # total body water stays the Watson volume
    v_br = np.minimum(P["brain_water_l"], 0.1 * icv_dry)
    v_ic0 = icv_dry - v_br
    bv_kg = np.where(male, P["blood_volume_ml_kg_male"], P["blood_volume_ml_kg_female"]) / 1000.0
    if bv_ml_kg is not None:  # the patient's own blood volume (e.g. fitted by a twin) replaces Nadler's
        bv_kg = np.where(np.isfinite(bv_ml_kg), bv_ml_kg / 1000.0, bv_kg)
    bv_dry = bv_kg * dry_w
    hct_lv = labs[HCT_PCT] / 100.0
    hct_wb = P["f_cells"] * hct_lv
    pv_dry = bv_dry * (1.0 - hct_wb)
    pv_dry = np.minimum(pv_dry, 0.5 * v_ex_dry)
    v_is_dry = v_ex_dry - pv_dry
    excess = np.maximum(pre_w - dry_w, -0.2 * v_ex_dry)  # fluid above dry weight, 1 kg = 1 L
    pv0 = pv_dry + excess * pv_dry / v_ex_dry
    v_is0 = v_is_dry + excess * v_is_dry / v_ex_dry
    v_ex0 = pv0 + v_is0
    a.v_rbc = hct_wb * bv_dry
    a.bv0 = pv0 + a.v_rbc
    a.hct0_pct = labs[HCT_PCT]
    return SimpleNamespace(
        v_ic0=v_ic0,
        v_br=v_br,
        v_ex0=v_ex0,
        v_is_dry=v_is_dry,
        v_is0=v_is0,
        pv0=pv0,
        bv_dry=bv_dry,
        hct_wb=hct_wb,
    )


def _proteins_and_starling(
    a: SimpleNamespace, labs: dict[str, np.ndarray], dry_w: np.ndarray, refill: np.ndarray, f: SimpleNamespace
) -> np.ndarray:
    """Plasma and interstitial protein and the Starling constants; returns the plasma protein, g/dL."""
    pv0, v_is_dry, v_is0 = f.pv0, f.v_is_dry, f.v_is0
    # ---- proteins and Starling ------------------------------------------------------------------------
    cp0 = labs["albumin_g_dl"] + P["globulin_g_dl"]
    a.m_prot_pl = cp0 * pv0
    a.m_prot_is = P["interstitial_protein_g_dl"] * v_is_dry
    a.albumin0 = labs["albumin_g_dl"]
    a.cp0 = cp0
    a.e_is = P["interstitial_elastance_mmhg_l"] * P["interstitial_reference_volume_l"] / v_is_dry
    a.v_is_ref = v_is0
    a.kf = P["lps_ml_min_mmhg"] / 1000.0 * refill
    a.lymph0 = P["lymph_flow_ml_min"] / 1000.0
    a.lymph_slope = P["lymph_slope_ml_min_mmhg"] / 1000.0
    a.rho0 = P["precap_postcap_resistance_ratio"] * np.ones_like(dry_w)
    return cp0


def _pre_sbp_mmhg(
    age: np.ndarray, idwg: np.ndarray, diabetes: np.ndarray, pre_sbp: np.ndarray | None
) -> np.ndarray:
    """Pre-dialysis SBP: the measured one where given, else the model's estimate from age, weight gain and
    diabetes."""
    sbp_model = (
        P["pre_sbp_base_mmhg"]
        + P["pre_sbp_age_slope"] * (age - 60.0)
        + P["pre_sbp_idwg_slope"] * (np.clip(idwg, 0.0, 8.0) - 2.5)
        + P["pre_sbp_diabetes"] * diabetes
    )
    sbp_model = np.clip(sbp_model, 100.0, 200.0)
    # a measured pre-dialysis SBP (optional patient field ``pre_sbp_mmhg``) replaces the model's estimate
    return (
        sbp_model
        if pre_sbp is None
        else np.where(np.isfinite(pre_sbp), np.clip(pre_sbp, 70.0, 260.0), sbp_model)
    )


def _circulation(
    a: SimpleNamespace,
    age: np.ndarray,
    pre_w: np.ndarray,
    dry_w: np.ndarray,
    diabetes: np.ndarray,
    baro: np.ndarray,
    labs: dict[str, np.ndarray],
    cp0: np.ndarray,
    f: SimpleNamespace,
    pre_sbp: np.ndarray | None,
    pre_hr: np.ndarray | None,
) -> None:
    """Heart, vessels and baroreflex at the pre-dialysis steady state."""
    bv_dry, v_is0 = f.bv_dry, f.v_is0
    # ---- circulation ----------------------------------------------------------------------------------
    idwg = pre_w - dry_w
    sbp0 = _pre_sbp_mmhg(age, idwg, diabetes, pre_sbp)
    pp0 = P["pulse_pressure_base_mmhg"] + P["pulse_pressure_age_slope"] * (age - 60.0) + 5.0 * diabetes
    pp0 = np.clip(pp0, 30.0, 0.6 * sbp0)
    a.pp0 = pp0
    map0 = sbp0 - pp0 + pp0 / 3.0
    a.map_set = map0
    co0 = P["cardiac_output_l_min_kg"] * dry_w
    a.hr0 = P["hr_pre_bpm"] * np.ones_like(dry_w)
    if pre_hr is not None:  # measured pre-dialysis heart rate, when the scenario has one
        a.hr0 = np.where(np.isfinite(pre_hr), np.clip(pre_hr, 40.0, 150.0), a.hr0)
    pra0 = P["right_atrial_pressure_mmhg"]
    pms0 = P["mean_filling_pressure_mmhg"]
    a.r_vr = (pms0 - pra0) / co0
    a.k_fs = co0 / (pra0 * a.hr0)  # CO = HR * E * k_fs * Pra (linear Frank-Starling), E = 1 at start
    vs0 = P["stressed_fraction_dry"] * bv_dry + np.maximum(
        a.bv0 - bv_dry, -0.5 * P["stressed_fraction_dry"] * bv_dry
    )
    a.vs_eps = 0.1 * vs0
    vs_eff0 = 0.5 * (vs0 + np.sqrt(vs0**2 + a.vs_eps**2))
    a.c_sys = vs_eff0 / pms0
    a.vu0 = a.bv0 - vs0
    a.tpr0 = (map0 - pra0) / co0
    a.sv0 = co0 / a.hr0
    age_f = np.clip(1.0 - P["baro_age_slope_per_year"] * (age - 40.0), 0.4, 1.2)
    dm_f = np.where(diabetes > 0, P["baro_diabetes_factor"], 1.0)
    a.baro_strength = baro * age_f * dm_f
    a.baro_a = P["baro_gain_per_mmhg"] * a.baro_strength
    a.g_r = P["baro_resistance_gain"]
    a.g_hr = P["baro_hr_gain"]
    a.g_v = P["baro_venous_gain"]
    a.g_e = P["baro_contractility_gain"]
    a.ca_exp = P["contractility_ica_exponent"]
    a.ca_tone_exp = P["tone_ica_exponent"]
    a.mg_cv_weight = P["mg_cardiovascular_weight"]
    a.mg_cv_ref = P["mg_cardiovascular_reference_mmol_l"]
    a.mg_cv_deficit0 = np.maximum(a.mg_cv_ref - labs[MG_MMOL_L], 0.0)  # serum Mg below it before dialysis
    a.pms0 = pms0 * np.ones_like(dry_w)
    a.p_c0 = (pms0 + a.rho0 * map0) / (1.0 + a.rho0)
    pi_pl0 = np.asarray(plasma_oncotic_pressure_mmhg(cp0))
    pi_is0 = np.asarray(interstitial_oncotic_pressure_mmhg(a.m_prot_is / v_is0))
    # offset so that capillary filtration equals lymph flow before dialysis (revised Starling principle:
    # the sub-glycocalyx oncotic pressure is not the bulk interstitial one; Levick & Michel, Cardiovasc Res
    # 2010;87:198)
    a.dp0 = (a.p_c0 - 0.0) - (pi_pl0 - pi_is0) - a.lymph0 / a.kf


def _temperature(a: SimpleNamespace, dry_w: np.ndarray, qb: np.ndarray, dial_temp: np.ndarray) -> None:
    """Core temperature and extracorporeal heat exchange."""
    # ---- temperature ----------------------------------------------------------------------------------
    a.t_core0 = P["core_temp_pre_c"] * np.ones_like(dry_w)
    a.c_body = P["body_heat_capacity_kj_kg_k"] * dry_w
    a.h_x = P["blood_heat_capacity_kj_l_k"] * qb / 1000.0 * P["extracorporeal_heat_efficiency"]
    a.g_thermo = P["thermoregulation_kj_min_k"] * dry_w / 70.0
    a.dial_temp = dial_temp
    a.t_iuf = P["isolated_uf_equivalent_temp_c"] * np.ones_like(dry_w)
    a.g_temp_r = P["temp_resistance_gain_per_k"]
    a.g_temp_v = P["temp_venous_gain_per_k"]


def _solutes(
    a: SimpleNamespace,
    labs: dict[str, np.ndarray],
    dry_w: np.ndarray,
    tbw_dry: np.ndarray,
    kr_l_min: np.ndarray,
    uf_volume_l: np.ndarray,
    qb: np.ndarray,
    npcr: np.ndarray | None,
    f: SimpleNamespace,
) -> SimpleNamespace:
    """Solute constants and initial ECF-water concentrations; returns the concentrations and cell contents the
    initial state reads."""
    v_ic0, v_ex0, v_br = f.v_ic0, f.v_ex0, f.v_br
    # ---- solutes: initial ECF-water concentrations ------------------------------------------------------
    fp = P["plasma_water_fraction"]
    a.f_cation = fp / P["donnan_cation"]  # measured plasma conc = f * ECF-water conc
    a.f_anion = fp / P["donnan_anion"]
    a.f_urea = fp
    c_u0 = labs[UREA_MMOL_L] / fp
    c_na0 = labs["na_mmol_l"] / a.f_cation
    c_k0 = labs["k_mmol_l"] / a.f_cation
    c_hco30 = labs[HCO3_MMOL_L] / a.f_anion
    a.f_mg = P["mg_ultrafilterable_fraction"]
    c_mg0 = a.f_mg * labs[MG_MMOL_L]
    a.ica0 = labs[ICA_MMOL_L]
    a.hco3_meas0 = labs[HCO3_MMOL_L]
    a.glucose_mg_dl = labs["glucose_mg_dl"]
    a.v_tbw0 = v_ic0 + v_ex0 + v_br  # urea distribution volume before dialysis (incl. brain water)
    a.kc_u = P["urea_kc_per_v_min"] * np.maximum(a.v_tbw0 - uf_volume_l, 0.5 * a.v_tbw0)
    # urea generation from the patient's nPCR (Borah 1978), the same value the weekly model uses
    npcr = DEFAULT_NPCR_G_KG_DAY if npcr is None else npcr
    a.g_urea = urea_generation_array(npcr, tbw_dry) / UREA_N_MG_PER_MMOL  # mmol urea per min
    a.kr = kr_l_min
    a.v_br = v_br
    a.k_br = a.v_br / P["brain_urea_time_constant_min"]
    a.tau_br_osm = P["brain_osmolyte_time_constant_min"] * np.ones_like(dry_w)
    a.beta_na = P["beta_na"]
    a.beta_k = P["beta_k"]
    a.k_ph = P["k_cell_ph_coefficient"] * np.ones_like(dry_w)
    a.k_na_cell = P["k_na_cell_l_min"]
    a.k_k_cell = P["k_k_cell_l_min"]
    a.ca_pool_v = P["ca_pool_volume_l"] * np.ones_like(dry_w)
    a.k_ca_pool = P["ca_pool_exchange_l_min"] * np.ones_like(dry_w)
    a.mg_pool_v = P["mg_pool_volume_l"] * np.ones_like(dry_w)
    a.k_mg_pool = P["mg_pool_exchange_l_min"] * np.ones_like(dry_w)
    a.c_mg0 = c_mg0
    a.hco3_buf_v = P["hco3_buffer_volume_fraction_weight"] * dry_w
    a.k_buf = P["hco3_buffer_exchange_l_min"] * np.ones_like(dry_w)
    a.c_hco30 = c_hco30
    a.acid_gen = P["acid_generation_mmol_kg_d"] * dry_w / 1440.0
    a.ph_slope = P["ica_ph_slope_mmol_l_per_ph"]
    a.pco2 = P["pco2_mmhg"]
    a.ph0 = 6.1 + np.log10(labs[HCO3_MMOL_L] / (0.0307 * a.pco2))
    a.qb_ml_min = qb
    # cell osmotic balance: Na and K count with an accompanying anion (x2) on both sides of the cell
    # membrane, so a cation crossing it moves two osmoles (osmoles are conserved); the rest of the ICF
    # osmolality (intracellular anions are mostly multivalent; Ursino 2000 lumps such terms as M_eq) is the
    # constant x_ic, which makes ICF and ECF isotonic before dialysis (it is negative: the x2 rule
    # over-counts the multivalent intracellular anions, a constant offset)
    glu = labs["glucose_mg_dl"] / GLUCOSE_MG_DL_PER_MMOL_L
    na_ic0 = a.beta_na * c_na0 * v_ic0
    k_ic0 = a.beta_k * c_k0 * v_ic0
    a.glu_ex = glu  # ECF glucose concentration, held during the session (see model.rhs)
    a.sigma_u = P["urea_cell_reflection"] * np.ones_like(dry_w)
    osm_ex0 = 2.0 * (c_na0 + c_k0) + a.sigma_u * c_u0 + glu
    a.x_ic = osm_ex0 * v_ic0 - (2.0 * (na_ic0 + k_ic0) + a.sigma_u * c_u0 * v_ic0)
    tau_w = P["cell_water_time_constant_min"]
    a.k_w = 1.0 / (tau_w * osm_ex0 * (1.0 / v_ic0 + 1.0 / v_ex0))
    return SimpleNamespace(
        c_u0=c_u0, c_na0=c_na0, c_k0=c_k0, c_hco30=c_hco30, c_mg0=c_mg0, na_ic0=na_ic0, k_ic0=k_ic0
    )


def _dialyzer(
    a: SimpleNamespace,
    labs: dict[str, np.ndarray],
    qb: np.ndarray,
    qd: np.ndarray,
    koa: np.ndarray,
    catheter: np.ndarray,
    hct_wb: np.ndarray,
    dial_k: np.ndarray,
    dial_ca: np.ndarray,
    dial_mg: np.ndarray,
    dial_hco3: np.ndarray,
) -> None:
    """Dialyzer clearances of each solute and the dialysate."""
    # ---- dialyzer -------------------------------------------------------------------------------------
    # urea: the clearance convention shared with the weekly model (crampwatch.weekly.clearance.SESSION);
    # ions are carried in plasma water only (gamma = 0; Ursino 2000)
    qe_u = urea_blood_water_flow_array(qb, labs[HCT_PCT], SESSION)
    qe_ion = effective_blood_water_flow_array(qb, hct_wb, 0.0, SESSION.plasma_water_fraction)
    rec = SESSION.catheter_recirculation * catheter

    def clearance(ratio: float, qe: np.ndarray) -> np.ndarray:
        kd = michaels_clearance_array(koa * ratio * SESSION.koa_in_vivo_fraction, qe, qd)
        return recirculated_clearance_array(kd, qe, rec) / 1000.0  # L/min, with recirculation

    a.qe_u = qe_u / 1000.0
    a.qe_ion = qe_ion / 1000.0
    a.kd_u = clearance(1.0, qe_u)
    # Na dialysance: ionic dialysance measured on line approximates the effective urea clearance
    # (parameters.py: na_dialysance_to_urea_clearance)
    a.kd_na = P["na_dialysance_to_urea_clearance"] * a.kd_u
    a.kd_k = clearance(P["koa_ratio_k"], qe_ion)
    a.kd_hco3 = clearance(P["koa_ratio_hco3"], qe_ion)
    a.kd_ca = clearance(P["koa_ratio_ca"], qe_ion)
    a.kd_mg = clearance(P["koa_ratio_mg"], qe_ion)
    # diffusive Na equilibrium: measured plasma Na -> ratio x dialysate Na (the ECF-water concentration
    # c_na = measured / f_cation is driven toward ratio x dialysate Na / f_cation)
    a.na_d_scale = P["na_equilibrium_plasma_to_dialysate"] / a.f_cation
    a.dial_k = dial_k
    a.dial_ca_ion = P["dialysate_ca_ionized_fraction"] * dial_ca
    a.dial_mg = dial_mg
    a.dial_hco3 = dial_hco3
    a.dial_ca = dial_ca


def _initial_state(a: SimpleNamespace, f: SimpleNamespace, c: SimpleNamespace) -> None:
    """The state vector at the start of the session."""
    v_ic0, v_is0, pv0, v_ex0 = f.v_ic0, f.v_is0, f.pv0, f.v_ex0
    c_u0, c_na0, c_k0, c_mg0, c_hco30 = c.c_u0, c.c_na0, c.c_k0, c.c_mg0, c.c_hco30
    na_ic0, k_ic0 = c.na_ic0, c.k_ic0
    # ---- initial state --------------------------------------------------------------------------------
    a.y0_v_ic = v_ic0
    a.y0_v_is = v_is0
    a.y0_v_pl = pv0
    a.y0_u_ex = c_u0 * v_ex0
    a.y0_u_ic = c_u0 * v_ic0
    a.y0_u_br = c_u0 * a.v_br
    a.y0_na_ex = c_na0 * v_ex0
    a.y0_na_ic = na_ic0
    a.y0_k_ex = c_k0 * v_ex0
    a.y0_k_ic = k_ic0
    a.y0_ca_ex = a.ica0 * v_ex0
    a.y0_mg_ex = c_mg0 * v_ex0
    a.y0_hco3_ex = c_hco30 * v_ex0
    a.y0_brain_osm = 2.0 * (c_na0 + c_k0)
