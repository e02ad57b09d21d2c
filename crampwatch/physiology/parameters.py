"""The parameter table of the session model: every constant with its value, unit and source.

The urea clearance convention (blood-water fractions, whole-body Hct ratio, in-vivo KoA fraction, catheter
recirculation) is :data:`crampwatch.weekly.clearance.SESSION`, shared with the weekly model; the rows below
show its values. Values marked "modelling choice" are not taken from a publication; they are chosen within
physiological ranges and calibrated as described in docs/calibration.md. ``PARAMETERS`` is the single source
of truth; ``P[name]`` gives a value. Patient-specific values are derived from these in
:mod:`crampwatch.physiology.derive`.
"""

from __future__ import annotations

from dataclasses import dataclass

from crampwatch.weekly.clearance import SESSION


@dataclass(frozen=True)
class Parameter:
    """One model constant."""

    name: str
    value: float
    unit: str
    source: str


_MC = "modelling choice"

#: Fitted values (docs/calibration.md "Sodium under a gradient" and "Calcium, magnesium and blood pressure").
NA_EQUILIBRIUM = 1.015
CONTRACTILITY_EXP = 3.0
TONE_EXP = 0.6
MG_WEIGHT = 0.5
K_CELL_EXCHANGE = 0.012

PARAMETERS: tuple[Parameter, ...] = (
    # ----------------------------------------------------------------------------------- body fluids
    Parameter(
        "icv_fraction_of_tbw",
        2.0 / 3.0,
        "1",
        "Edelman IS, Leibman J. Am J Med 1959;27:256 (ICF ~2/3 of total body water)",
    ),
    Parameter("blood_volume_ml_kg_male", 70.0, "mL/kg", "Nadler SB et al. Surgery 1962;51:224 (rounded)"),
    Parameter("blood_volume_ml_kg_female", 65.0, "mL/kg", "Nadler SB et al. Surgery 1962;51:224 (rounded)"),
    Parameter(
        "f_cells",
        SESSION.whole_body_hct_ratio,
        "1",
        "whole-body/large-vessel Hct ratio 0.9 +- 0.05 (Hemodial Int 2016, PMC4937455); Balga 0.911",
    ),
    Parameter(
        "plasma_water_fraction",
        SESSION.plasma_water_fraction,
        "1",
        "Ursino M et al. Ann Biomed Eng 2000;28:204 (F_p)",
    ),
    Parameter(
        "rbc_water_fraction",
        SESSION.red_cell_water_fraction,
        "1",
        "Ursino M et al. Ann Biomed Eng 2000 (F_R)",
    ),
    Parameter("donnan_cation", 0.95, "1", "Ursino M et al. Ann Biomed Eng 2000;28:204, Table 1"),
    Parameter("donnan_anion", 1.05, "1", "Ursino M et al. Ann Biomed Eng 2000;28:204, Table 1"),
    Parameter("globulin_g_dl", 3.0, "g/dL", _MC + " (normal serum globulin 2.0-3.5 g/dL)"),
    Parameter(
        "interstitial_protein_g_dl", 1.37, "g/dL", "Lim KM et al. Yonsei Med J 2008;49:581, App. 1 (c_p,is,n)"
    ),
    Parameter(
        "interstitial_elastance_mmhg_l",
        2.45,
        "mmHg/L",
        "Lim KM et al. Yonsei Med J 2008, App. 1 (E_is at V_is,n = 11 L; scaled by 11 L/V_is,dry)",
    ),
    Parameter("interstitial_reference_volume_l", 11.0, "L", "Lim KM et al. Yonsei Med J 2008, App. 1"),
    Parameter(
        "lps_ml_min_mmhg",
        2.5,
        "mL/min/mmHg",
        "effective refilling coefficient, adequate range 1-4 mL/min/mmHg (JSDT study, 41 pts); "
        "three-pore LpS is higher (10.0 +- 8.4, Pietribiasi 2016) but acts on "
        "small-pore sieving, " + _MC,
    ),
    Parameter("lymph_flow_ml_min", 2.0, "mL/min", _MC + " (~3 L/day lymph return; Guyton & Hall textbook)"),
    Parameter(
        "lymph_slope_ml_min_mmhg",
        0.5,
        "mL/min/mmHg",
        _MC + " (lymph rises with interstitial pressure; sigmoid of Possenti 2019 linearised)",
    ),
    Parameter(
        "precap_postcap_resistance_ratio",
        0.2,
        "1",
        "post/pre-capillary resistance ratio ~0.2 (Pappenheimer & Soto-Rivera, Am J Physiol 1948)",
    ),
    Parameter(
        "cell_water_time_constant_min",
        3.0,
        "min",
        _MC + " (osmotic ICF-ECF equilibration in minutes; Ursino 2000 k_f re-fitted)",
    ),
    # ----------------------------------------------------------------------------------- urea
    Parameter(
        "urea_kc_per_v_min",
        0.016,
        "1/min",
        "Solute-Solver intercompartment Kc = 0.016 V (Daugirdas JT et al. AJKD 2009;54:798)",
    ),
    Parameter("brain_water_l", 1.1, "L", _MC + " (1.4 kg brain x ~0.77 water fraction)"),
    Parameter(
        "brain_urea_time_constant_min",
        60.0,
        "min",
        _MC + " (slow blood-brain urea equilibration; Silver SM et al. Kidney Int 1992;42:161)",
    ),
    Parameter(
        "brain_osmolyte_time_constant_min",
        60.0,
        "min",
        _MC + " (brain electrolyte adaptation to plasma tonicity)",
    ),
    # ----------------------------------------------------------------------------------- cell ions
    Parameter("beta_na", 0.0704, "1", "Ursino M et al. Ann Biomed Eng 2000 eq. 12 (c_ic = beta c_ex)"),
    Parameter("beta_k", 28.2, "1", "Ursino M et al. Ann Biomed Eng 2000 eq. 12"),
    Parameter("k_na_cell_l_min", 0.1, "L/min", _MC + " (Na cell exchange, time constant ~4 h)"),
    Parameter(
        "k_k_cell_l_min",
        K_CELL_EXCHANGE,
        "L/min",
        _MC + " (calibrated: plasma K 5 -> ~3.7 mmol/L with K 2 dialysate, ~60-90 mmol removed; refitted "
        "with the pH-dependent K distribution)",
    ),
    Parameter(
        "k_cell_ph_coefficient",
        0.9,
        "1/pH unit",
        "change of ln(cell/ECF K distribution) per pH unit: alkalosis moves K into cells. Plasma K changes "
        "~0.6 mmol/L per 0.1 pH (range 0.2-1.7; Adrogue HJ, Madias NE. Am J Med 1981;71:456, 5 patients); "
        "0.4 mmol/L per 0.1 pH (-4 mmol/L per pH unit, within that range) at K 4.5 mmol/L gives 0.9; " + _MC,
    ),
    Parameter(
        "urea_cell_reflection",
        0.0,
        "1",
        "osmotic reflection coefficient of urea at cell membranes (brain excepted): urea crosses cell "
        "membranes readily and is an ineffective osmole (tonicity = 2 Na + glucose); its two-pool "
        "disequilibrium during dialysis is one of perfusion (regional blood flow model, Schneditz D, Van "
        "Stone JC, Daugirdas JT. ASAIO J 1993;39:M573), so it moves no cell water; the brain keeps its own "
        "slow urea equilibration (brain_urea_time_constant_min); " + _MC,
    ),
    # ----------------------------------------------------------------------------------- dialyzer
    Parameter(
        "koa_in_vivo_fraction",
        SESSION.koa_in_vivo_fraction,
        "1",
        "in-vivo KoA below the package-insert (in-vitro) value: in-vivo clearance ~80 % of in-vitro "
        "(NKF primer); SPEEDY uses 0.537 (Casino & Basile NDT 2018); " + _MC,
    ),
    Parameter(
        "na_dialysance_to_urea_clearance",
        1.0,
        "1",
        "Na (ionic) dialysance measured on line approximates the effective urea clearance (Petitclerc T "
        "et al. Int J Artif Organs 1993;16:585; Mercadal L et al. NDT 1998;13:1429; McIntyre CW et al. NDT "
        "2003;18:559: ionic dialysance within ~5-10 % of urea clearance); Gotch sodium kinetic model: Na "
        "dialysance acting on total body water; " + _MC,
    ),
    Parameter("koa_ratio_k", 1.0, "1", _MC + " (K+ diffusivity >= urea; capped at the urea KoA)"),
    Parameter("koa_ratio_hco3", 0.65, "1", _MC + " (HCO3- diffusivity 1.18/1.81)"),
    Parameter("koa_ratio_ca", 0.44, "1", _MC + " (Ca2+ diffusivity 0.79/1.81)"),
    Parameter("koa_ratio_mg", 0.39, "1", _MC + " (Mg2+ diffusivity 0.71/1.81)"),
    Parameter(
        "recirculation_catheter",
        SESSION.catheter_recirculation,
        "1",
        _MC + " (access recirculation of dual-lumen central venous catheters ~5-15 %; fistula/graft 0)",
    ),
    Parameter(
        "na_equilibrium_plasma_to_dialysate",
        NA_EQUILIBRIUM,
        "1",
        "measured plasma Na at diffusive equilibrium / dialysate Na. Fitted (with Na dialysance = urea "
        "clearance and osmotic equilibration across body water) to the cohort of Munoz Mendoza J et al. NDT "
        "2011;26:1281: pre-dialysis Na 136.7 +- 2.9, post 141.3 +- 2.5 mmol/L with dialysate Na median 140 "
        "(post-dialysis Na above dialysate Na); Donnan excess of plasma-water Na (Ursino 2000: 1/0.95) and "
        "differences between prescribed and delivered dialysate Na both put it above 1; bounded by isonatric "
        "sessions keeping plasma Na within ~1 mmol/L; " + _MC,
    ),
    Parameter(
        "dialysate_ca_ionized_fraction",
        0.9,
        "1",
        _MC + " (Ca complexed by bicarbonate/acetate/citrate in dialysate)",
    ),
    # ----------------------------------------------------------------------------------- Ca, Mg, HCO3
    Parameter(
        "ica_ph_slope_mmol_l_per_ph",
        0.36,
        "mmol/L per pH unit",
        "alkalosis lowers iCa 0.02-0.05 mmol/L per 0.1 pH; midpoint, " + _MC,
    ),
    Parameter("pco2_mmhg", 40.0, "mmHg", _MC + " (constant pCO2 for Henderson-Hasselbalch pH)"),
    Parameter(
        "ca_pool_exchange_l_min",
        0.15,
        "L/min",
        _MC + " (rapidly exchangeable bone/tissue Ca pool opposes dialyzer flux; Gotch kinetic model)",
    ),
    Parameter("ca_pool_volume_l", 50.0, "L", _MC + " (pool capacity as an equivalent volume)"),
    Parameter("mg_ultrafilterable_fraction", 0.7, "1", _MC + " (~70 % of serum Mg is ultrafilterable)"),
    Parameter("mg_pool_exchange_l_min", 0.05, "L/min", _MC + " (slow intracellular/bone Mg exchange)"),
    Parameter("mg_pool_volume_l", 30.0, "L", _MC),
    Parameter(
        "hco3_buffer_exchange_l_min",
        0.3,
        "L/min",
        _MC + " (non-bicarbonate buffers titrated by bicarbonate gain)",
    ),
    Parameter(
        "hco3_buffer_volume_fraction_weight",
        0.3,
        "L/kg",
        _MC + " (apparent bicarbonate space ~50 % of body weight incl. ECF)",
    ),
    Parameter(
        "acid_generation_mmol_kg_d", 1.0, "mmol/kg/day", "net acid production ~1 mEq/kg/day (Relman 1961)"
    ),
    # ----------------------------------------------------------------------------------- circulation
    Parameter(
        "cardiac_output_l_min_kg",
        0.07,
        "L/min/kg",
        _MC + " (~5 L/min at 70 kg; high-normal with an AV access)",
    ),
    Parameter("hr_pre_bpm", 75.0, "beats/min", _MC + " (typical pre-dialysis heart rate)"),
    Parameter("right_atrial_pressure_mmhg", 2.0, "mmHg", _MC),
    Parameter(
        "mean_filling_pressure_mmhg",
        9.0,
        "mmHg",
        _MC + " (Guyton mean systemic filling pressure ~7 mmHg, higher when overhydrated)",
    ),
    Parameter(
        "stressed_fraction_dry",
        0.25,
        "1",
        _MC + " (stressed volume 20-30 % of blood volume; Magder S, Crit Care 2016)",
    ),
    Parameter(
        "baro_gain_per_mmhg",
        0.03,
        "1/mmHg",
        _MC + " (sympathetic activation per mmHg MAP error; calibrated: nadir-SBP IDH in ~9 % of the "
        "virtual population)",
    ),
    Parameter(
        "baro_resistance_gain",
        0.45,
        "1",
        _MC + " (log-TPR change at full activation; Ursino & Innocenti, Artif Organs 1997)",
    ),
    Parameter("baro_hr_gain", 0.35, "1", _MC + " (relative HR rise at full activation)"),
    Parameter("baro_venous_gain", 0.12, "1", _MC + " (fraction of unstressed volume mobilised)"),
    Parameter("baro_contractility_gain", 0.15, "1", _MC),
    Parameter(
        "baro_age_slope_per_year",
        0.01,
        "1/year",
        "baroreflex sensitivity falls with age (Gribbin B et al. Circ Res 1971;29:424); slope " + _MC,
    ),
    Parameter(
        "baro_diabetes_factor",
        0.7,
        "1",
        "diabetic autonomic neuropathy lowers baroreflex sensitivity (Ziegler D, Diabetes Metab Rev "
        "1994); factor " + _MC,
    ),
    Parameter(
        "contractility_ica_exponent",
        CONTRACTILITY_EXP,
        "1",
        "contractility ~ (divalent-cation index)^exponent; lower iCa lowers LV contractility (van der Sande "
        "FM et al. Clin Nephrol 1997 / AJKD 1998;32:125); fitted with tone_ica_exponent to the MAP "
        "difference between dialysate Ca 1.25 and 1.75 mmol/L (van der Sande 1997: MAP fall 7 mmHg, SBP "
        "fall 13 mmHg larger with 1.25; Maynard JC et al. Ann Intern Med 1986;104:358: less MAP fall with "
        "high Ca); a steep force-Ca relation of myocardium; " + _MC,
    ),
    Parameter(
        "tone_ica_exponent",
        TONE_EXP,
        "1",
        "arteriolar resistance ~ (divalent-cation index)^exponent: Ca dependence of vascular smooth-muscle "
        "tone; in this lumped circulation venous return limits cardiac output, so contractility alone moves "
        "MAP little and the calibrated MAP effect of iCa is carried by tone; " + _MC,
    ),
    Parameter(
        "mg_cardiovascular_reference_mmol_l",
        0.7,
        "mmol/L",
        "serum Mg below which the divalent-cation index falls: lower reference limit of serum Mg (0.7 "
        "mmol/L); low-Mg dialysate lowers contractility only together with low-Ca dialysate (Kyriazis J "
        "et al. Kidney Int 2004;66:1221: dMg 0.25 with dCa 1.25: MAP -15.2 %, cardiac index -12.1 %, stroke "
        "index -17 %; not with dCa 1.75 or dMg 0.75); " + _MC,
    ),
    Parameter(
        "mg_cardiovascular_weight",
        MG_WEIGHT,
        "1/(mmol/L)",
        "fall of the divalent-cation index per mmol/L of serum Mg below the reference; fitted to Kyriazis "
        "2004 (see mg_cardiovascular_reference_mmol_l); " + _MC,
    ),
    # ----------------------------------------------------------------------------------- pre-dialysis BP
    Parameter("pre_sbp_base_mmhg", 140.0, "mmHg", "mean pre-dialysis SBP ~140-150 in DOPPS/USRDS; " + _MC),
    Parameter("pre_sbp_age_slope", 0.3, "mmHg/year", _MC),
    Parameter("pre_sbp_idwg_slope", 2.5, "mmHg/kg", _MC + " (pre-dialysis BP rises with IDWG)"),
    Parameter("pre_sbp_diabetes", 5.0, "mmHg", _MC),
    Parameter("pulse_pressure_base_mmhg", 60.0, "mmHg", _MC + " (wide pulse pressure of HD patients)"),
    Parameter("pulse_pressure_age_slope", 0.5, "mmHg/year", _MC),
    # ----------------------------------------------------------------------------------- temperature
    Parameter("core_temp_pre_c", 36.6, "degC", _MC + " (pre-dialysis core temperature ~36.5-36.7)"),
    Parameter("body_heat_capacity_kj_kg_k", 3.47, "kJ/kg/K", "standard human tissue value"),
    Parameter("blood_heat_capacity_kj_l_k", 3.6, "kJ/L/K", "standard value for blood"),
    Parameter("extracorporeal_heat_efficiency", 0.8, "1", _MC + " (line losses)"),
    Parameter(
        "isolated_uf_equivalent_temp_c",
        34.75,
        "degC",
        "dialysate temperature whose energy transfer equals that of isolated UF (blood cools in the circuit "
        "without dialysate): 34.75 degC, range 34.0-36.0 (van der Sande FM, Kooman JP et al. Nephrol Dial "
        "Transplant, thermal energy balance of isolated UF vs HD at 35.5/37.5 degC, 10 patients; year not "
        "confirmed here)",
    ),
    Parameter(
        "thermoregulation_kj_min_k",
        1.0,
        "kJ/min/K",
        _MC + " (core temp rises ~0.3-0.5 degC with 37.5 degC dialysate)",
    ),
    Parameter(
        "temp_resistance_gain_per_k",
        0.45,
        "1/K",
        _MC + " (cool dialysate raises TPR; calibrated to +~10 mmHg post MAP for 35.5 vs 37 degC, "
        "Selby NM & McIntyre CW, NDT 2006)",
    ),
    Parameter("temp_venous_gain_per_k", 0.05, "1/K", _MC + " (warming dilates capacitance veins)"),
)

P: dict[str, float] = {p.name: p.value for p in PARAMETERS}


def parameter_table_markdown() -> str:
    """The table as Markdown (used in docs/calibration.md)."""
    lines = ["| name | value | unit | source |", "|---|---|---|---|"]
    lines += [f"| `{p.name}` | {p.value:g} | {p.unit} | {p.source} |" for p in PARAMETERS]
    return "\n".join(lines)
