"""Publications the model takes numbers from, and which publications each model parameter comes from.

:data:`PUBLICATIONS` names each publication once (a short key, the citation: author, year, journal, and what
of it the project uses). :data:`PARAMETER_SOURCES` records, for every constant of the parameter table
(:mod:`crampwatch.physiology.parameters`), the publications its value was taken from or fitted to, in a form
a test can compare: a ``validation`` check of the model may not compare the model with a publication listed
here for any parameter (that would be calibration). :data:`POPULATION_SOURCES` does the same for the
numbers the virtual population (:mod:`crampwatch.population`) was tuned to reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Publication:
    """One publication: its key and its citation (author, year, journal; what is not confirmed says so)."""

    key: str
    citation: str


PUBLICATIONS: dict[str, Publication] = {
    p.key: p
    for p in (
        # ------------------------------------------------------------------ parameter sources
        Publication("watson_1980", "Watson PE, Watson ID, Batt RD. Am J Clin Nutr 1980;33:27"),
        Publication("edelman_1959", "Edelman IS, Leibman J. Am J Med 1959;27:256"),
        Publication("nadler_1962", "Nadler SB, Hidalgo JU, Bloch T. Surgery 1962;51:224"),
        Publication(
            "fcells_2016", "Hemodial Int 2016 (PMC4937455): Fcells 0.9 +- 0.05 (authors not confirmed)"
        ),
        Publication("ursino_2000", "Ursino M et al. Ann Biomed Eng 2000;28:204"),
        Publication("lim_2008", "Lim KM et al. Yonsei Med J 2008;49:581"),
        Publication(
            "jsdt_refilling", "JSDT study of the refilling coefficient, 41 patients (authors not confirmed)"
        ),
        Publication("pietribiasi_2016", "Pietribiasi M et al. PLoS One 2016;11:e0159748"),
        Publication("pappenheimer_1948", "Pappenheimer JR, Soto-Rivera A. Am J Physiol 1948"),
        Publication("daugirdas_2009", "Daugirdas JT et al. Am J Kidney Dis 2009;54:798 (Solute-Solver)"),
        Publication("silver_1992", "Silver SM et al. Kidney Int 1992;42:161"),
        Publication("casino_2018", "Casino FG, Basile C. Nephrol Dial Transplant 2018;33:1046"),
        Publication(
            "nkf_primer",
            "NKF Primer on Kidney Diseases: in-vivo clearance ~80 % of in-vitro (edition not confirmed)",
        ),
        Publication("petitclerc_1993", "Petitclerc T et al. Int J Artif Organs 1993;16:585"),
        Publication("mercadal_1998", "Mercadal L et al. Nephrol Dial Transplant 1998;13:1429"),
        Publication("mcintyre_2003", "McIntyre CW et al. Nephrol Dial Transplant 2003;18:559"),
        Publication("munoz_mendoza_2011", "Munoz Mendoza J et al. Nephrol Dial Transplant 2011;26:1281"),
        Publication("hecking_2011", "Hecking M et al. Blood Purif 2011 (PMID 21160174), 132 patients"),
        Publication("relman_1961", "Relman AS et al. J Clin Invest 1961 (net acid production)"),
        Publication("magder_2016", "Magder S. Crit Care 2016 (stressed volume)"),
        Publication("ursino_innocenti_1997", "Ursino M, Innocenti M. Artif Organs 1997;21:873"),
        Publication("gribbin_1971", "Gribbin B et al. Circ Res 1971;29:424"),
        Publication("ziegler_1994", "Ziegler D. Diabetes Metab Rev 1994"),
        Publication(
            "van_der_sande_1997", "van der Sande FM et al. 1997 (PMID 9105767): dialysate Ca 1.25 vs 1.75"
        ),
        Publication("van_der_sande_1998", "van der Sande FM et al. Am J Kidney Dis 1998;32:125"),
        Publication(
            "maynard_1986", "Maynard JC, Cruz C, Kleerekoper M, Levin NW. Ann Intern Med 1986;104:358"
        ),
        Publication("kyriazis_2004", "Kyriazis J et al. Kidney Int 2004;66:1221"),
        Publication("selby_2006", "Selby NM, McIntyre CW. Nephrol Dial Transplant 2006 (22 crossover RCTs)"),
        Publication(
            "kuipers_2019", "Kuipers J et al. Am J Nephrol 2019;49:497 (IDH prevalence meta-analysis)"
        ),
        Publication("preciado_2019", "Preciado P et al. Nephrol Dial Transplant 2019;34:1401"),
        Publication(
            "van_der_sande_thermal_ndt",
            "van der Sande FM, Kooman JP et al. Nephrol Dial Transplant: thermal energy balance of isolated "
            "UF "
            "vs HD at 35.5/37.5 degC, 10 patients (year not confirmed)",
        ),
        Publication("alsahow_2021", "AlSahow A et al. 2021 (PMID 33777365), DOPPS 2012-18"),
        Publication("borah_1978", "Borah MF et al. Kidney Int 1978;14:491"),
        Publication("depner_daugirdas_1996", "Depner TA, Daugirdas JT. J Am Soc Nephrol 1996;7:780"),
        # ------------------------------------------------------------------ compared publications
        Publication("daugirdas_1993", "Daugirdas JT. J Am Soc Nephrol 1993;4:1205"),
        Publication("michaels_1966", "Michaels AS. Trans ASAIO 1966;12:387"),
        Publication("meyer_dialsim", "T. W. Meyer urea simulator, 149 cases (aaaahn/dialsim, MIT)"),
        Publication("kdoqi_2000", "KDOQI 2000 hemodialysis adequacy guideline 2"),
        Publication(
            "daugirdas_handbook", "Daugirdas JT et al. Handbook of Dialysis (acute prescription chapter)"
        ),
        Publication("daugirdas_schneditz_1995", "Daugirdas JT, Schneditz D. ASAIO J 1995;41:M719"),
        Publication("smye_1999", "Smye SW et al. ASAIO J 1999;45:562"),
        Publication("tattersall_1996", "Tattersall JE et al. Kidney Int 1996;50:2094"),
        Publication("kuipers_2016", "Kuipers J et al. BMC Nephrol 2016 (3818 sessions, 124 patients)"),
        Publication("bos_2000", "Bos WJ et al. Am J Kidney Dis 2000;35:819"),
        Publication("rodriguez_1985", "Rodriguez M, Pederson JA, Llach F. Kidney Int 1985;28:808"),
        Publication(
            "van_der_sande_2000",
            "van der Sande FM, Gladziwa U, Kooman JP, Böcker G, Leunissen KML. "
            "J Am Soc Nephrol 2000 (energy transfer, isolated UF vs HD; 15 patients)",
        ),
        Publication(
            "van_der_sande_2001",
            "van der Sande FM, Kooman JP, Konings CJ, Leunissen KML. J Am Soc Nephrol 2001;12:1916",
        ),
        Publication("leenders_2018", "Leenders NHJ et al. Sci Rep 2018;8:10256"),
        Publication(
            "citrate_2019",
            "PLoS One 2019;14:e0225824 (citrate vs acetate dialysate, dialysate Ca 1.5 vs "
            "1.25 crossover; Table 3; first author not confirmed here)",
        ),
        Publication(
            "albalate_2015",
            "BMC Nephrol 2015;16:20 (dialysate flow 400/500/700 mL/min, 637 sessions; "
            "first author not confirmed here)",
        ),
        Publication("bergstrom_1978", "Bergström J. Clin Nephrol 1978;9:156"),
        Publication("zehnder_2001", "Zehnder C et al. Nephrol Dial Transplant 2001;16:78"),
        Publication("rudnicki_1993", "Rudnicki M et al. Clin Nephrol 1993;40:225"),
        Publication("han_1999", "Han SW, Lee KW, Kim HJ et al. Korean J Nephrol 1999;18:940"),
        Publication("schneditz_1993", "Schneditz D, Van Stone JC, Daugirdas JT. ASAIO J 1993;39:M573"),
        Publication("adrogue_madias_1981", "Adrogue HJ, Madias NE. Am J Med 1981;71:456"),
        Publication(
            "keane_2018", "Keane DF et al. ASAIO J 2018 (47 patients; doi 10.1097/MAT.0000000000000795)"
        ),
    )
}

_MC: tuple[str, ...] = ()  # a modelling choice: no publication's number was used

#: For every parameter of the table: the publications its value was taken from or fitted to.
PARAMETER_SOURCES: dict[str, tuple[str, ...]] = {
    "icv_fraction_of_tbw": ("edelman_1959",),
    "blood_volume_ml_kg_male": ("nadler_1962",),
    "blood_volume_ml_kg_female": ("nadler_1962",),
    "f_cells": ("fcells_2016",),
    "plasma_water_fraction": ("ursino_2000",),
    "rbc_water_fraction": ("ursino_2000",),
    "donnan_cation": ("ursino_2000",),
    "donnan_anion": ("ursino_2000",),
    "globulin_g_dl": _MC,
    "interstitial_protein_g_dl": ("lim_2008",),
    "interstitial_elastance_mmhg_l": ("lim_2008",),
    "interstitial_reference_volume_l": ("lim_2008",),
    # tuned so that 10 mL/kg/h gives an RBV inside the favourable range (rbv_end_* calibration checks)
    "lps_ml_min_mmhg": ("jsdt_refilling", "pietribiasi_2016", "preciado_2019"),
    "lymph_flow_ml_min": _MC,
    "lymph_slope_ml_min_mmhg": _MC,
    "precap_postcap_resistance_ratio": ("pappenheimer_1948",),
    "cell_water_time_constant_min": ("ursino_2000",),
    "urea_kc_per_v_min": ("daugirdas_2009",),
    "brain_water_l": _MC,
    "brain_urea_time_constant_min": ("silver_1992",),
    "brain_osmolyte_time_constant_min": _MC,
    "beta_na": ("ursino_2000",),
    "beta_k": ("ursino_2000",),
    "k_na_cell_l_min": _MC,
    "k_k_cell_l_min": _MC,
    "k_cell_ph_coefficient": ("adrogue_madias_1981",),
    "urea_cell_reflection": ("schneditz_1993",),
    "koa_in_vivo_fraction": ("nkf_primer", "casino_2018"),
    "na_dialysance_to_urea_clearance": ("petitclerc_1993", "mercadal_1998", "mcintyre_2003"),
    "koa_ratio_k": _MC,
    "koa_ratio_hco3": _MC,
    "koa_ratio_ca": _MC,
    "koa_ratio_mg": _MC,
    "recirculation_catheter": _MC,
    "na_equilibrium_plasma_to_dialysate": ("munoz_mendoza_2011", "hecking_2011", "ursino_2000"),
    "dialysate_ca_ionized_fraction": _MC,
    "ica_ph_slope_mmol_l_per_ph": _MC,
    "pco2_mmhg": _MC,
    "ca_pool_exchange_l_min": _MC,
    "ca_pool_volume_l": _MC,
    "mg_ultrafilterable_fraction": _MC,
    "mg_pool_exchange_l_min": _MC,
    "mg_pool_volume_l": _MC,
    "hco3_buffer_exchange_l_min": _MC,
    "hco3_buffer_volume_fraction_weight": _MC,
    "acid_generation_mmol_kg_d": ("relman_1961",),
    "cardiac_output_l_min_kg": _MC,
    "hr_pre_bpm": _MC,
    "right_atrial_pressure_mmhg": _MC,
    "mean_filling_pressure_mmhg": _MC,
    "stressed_fraction_dry": ("magder_2016",),
    "baro_gain_per_mmhg": ("kuipers_2019",),
    "baro_resistance_gain": ("ursino_innocenti_1997",),
    "baro_hr_gain": _MC,
    "baro_venous_gain": _MC,
    "baro_contractility_gain": _MC,
    "baro_age_slope_per_year": ("gribbin_1971",),
    "baro_diabetes_factor": ("ziegler_1994",),
    "contractility_ica_exponent": ("van_der_sande_1997", "van_der_sande_1998", "maynard_1986"),
    "tone_ica_exponent": ("van_der_sande_1997", "van_der_sande_1998", "maynard_1986"),
    "mg_cardiovascular_reference_mmol_l": ("kyriazis_2004",),
    "mg_cardiovascular_weight": ("kyriazis_2004",),
    "pre_sbp_base_mmhg": _MC,
    "pre_sbp_age_slope": _MC,
    "pre_sbp_idwg_slope": _MC,
    "pre_sbp_diabetes": _MC,
    "pulse_pressure_base_mmhg": _MC,
    "pulse_pressure_age_slope": _MC,
    "core_temp_pre_c": _MC,
    "body_heat_capacity_kj_kg_k": _MC,
    "blood_heat_capacity_kj_l_k": _MC,
    "extracorporeal_heat_efficiency": _MC,
    "isolated_uf_equivalent_temp_c": ("van_der_sande_thermal_ndt",),
    "thermoregulation_kj_min_k": _MC,
    "temp_resistance_gain_per_k": ("selby_2006",),
    "temp_venous_gain_per_k": _MC,
}

#: Relations outside the parameter table that the session model uses, with their sources (urea
#: generation from nPCR).
RELATION_SOURCES: dict[str, tuple[str, ...]] = {
    "urea_generation_from_npcr": ("borah_1978", "depner_daugirdas_1996"),
    "total_body_water": ("watson_1980",),
}

#: Numbers the virtual population was tuned to reproduce (prescription titration to the DOPPS share of
#: sessions below spKt/V 1.2).
POPULATION_SOURCES: tuple[str, ...] = ("alsahow_2021",)


def citation(key: str) -> str:
    """The citation of publication ``key`` (``KeyError`` names an unknown key)."""
    return PUBLICATIONS[key].citation


def session_model_sources() -> frozenset[str]:
    """Every publication a session-model parameter or relation was taken from or fitted to."""
    keys = [k for keys in PARAMETER_SOURCES.values() for k in keys]
    keys += [k for keys in RELATION_SOURCES.values() for k in keys]
    return frozenset(keys)
