"""Checks on blood volume and blood pressure: refill, hypotension rate, falls in blood pressure, dialysate
temperature (MAP and extracorporeal energy transfer), Ca and Mg crossovers."""

from __future__ import annotations

from functools import cache

import numpy as np

from crampwatch.kinetics import idh_nadir
from crampwatch.quantities import uf_rate_ml_kg_h_array
from crampwatch.signals import DIALYSATE_TEMP_C, MAP_MMHG, RBV_PCT, SBP_MMHG
from crampwatch.simulator import BatchResult, patient_parameters, simulate_batch
from crampwatch.validation.fixtures import at, end, population, run, start, variant
from crampwatch.validation.registry import Check, register_all

#: Preciado 2019 gives the favourable RBV ranges at 1, 2 and 3 h; the checks read the model at 3 h.
PRECIADO_MIN = 180


def _rbv_3h_stable_10() -> tuple[float, str]:
    tr = run("stable", patient__pre_weight_kg=78.0, prescription__uf_volume_l=3.0)
    return at(tr, RBV_PCT, PRECIADO_MIN), "examples/stable.yaml, 3 L in 4 h (10 mL/kg/h), RBV at 3 h"


def _rbv_3h_population() -> tuple[float, str]:
    pop, res = population()
    ufr = np.array(
        [uf_rate_ml_kg_h_array(s.uf_volume_l, s.prescription.duration_min, s.post_weight_kg) for s in pop]
    )
    dur = np.array([s.prescription.duration_min for s in pop])
    sel = (ufr >= 9.0) & (ufr <= 11.0) & (dur == 240.0)
    rbv = res.signals[RBV_PCT][sel][:, PRECIADO_MIN]
    return float(
        np.median(rbv)
    ), f"median at 3 h of {int(sel.sum())} virtual 240-min sessions, UFR 9-11 mL/kg/h"


def idh_rate_pct(res: BatchResult) -> float:
    """% of the simulated sessions that meet the IDH definition (nadir SBP, Flythe 2015; the number
    ``crampwatch cohort`` reports for the same sessions)."""
    sbp = res.signals[SBP_MMHG][~res.failed]
    return 100.0 * float(np.mean([idh_nadir(s[0], np.nanmin(s)) for s in sbp]))


def _idh_rate() -> tuple[float, str]:
    _pop, res = population()
    n = int((~res.failed).sum())
    return idh_rate_pct(res), f"{n} virtual sessions (pre-dialysis SBP drawn as in DOPPS)"


def _cool_dialysate() -> tuple[float, str]:
    warm = run("stable", prescription__dialysate__temp_c=37.0, prescription__uf_volume_l=3.0)
    cool = run("stable", prescription__dialysate__temp_c=35.5, prescription__uf_volume_l=3.0)
    return end(cool, MAP_MMHG) - end(warm, MAP_MMHG), "end-of-session MAP, 35.5 vs 37.0 degC"


def _ca_map() -> tuple[float, str]:
    low = run("stable", prescription__dialysate__ca_mmol_l=1.25)
    high = run("stable", prescription__dialysate__ca_mmol_l=1.75)
    return end(high, MAP_MMHG) - end(low, MAP_MMHG), "MAP at the end of a 4-h session, 1.75 minus 1.25"


def _ca_sbp() -> tuple[float, str]:
    low = run("stable", prescription__dialysate__ca_mmol_l=1.25)
    high = run("stable", prescription__dialysate__ca_mmol_l=1.75)
    return end(high, SBP_MMHG) - end(low, SBP_MMHG), "SBP at the end of a 4-h session, 1.75 minus 1.25"


#: Kyriazis 2004 groups: (dialysate Mg, dialysate Ca) in mmol/L
KYRIAZIS_GROUPS = {"I": (0.75, 1.75), "II": (0.25, 1.75), "III": (0.75, 1.25), "IV": (0.25, 1.25)}


@cache
def _map_falls() -> dict[str, float]:
    out = {}
    for g, (mg, ca) in KYRIAZIS_GROUPS.items():
        tr = run(
            "stable",
            patient__pre_weight_kg=78.0,
            prescription__uf_volume_l=3.0,
            prescription__dialysate__mg_mmol_l=mg,
            prescription__dialysate__ca_mmol_l=ca,
        )
        out[g] = 100.0 * (1.0 - float(tr.data[MAP_MMHG].min()) / start(tr, MAP_MMHG))
    return out


def _kyriazis_iv() -> tuple[float, str]:
    f = _map_falls()
    return f["IV"], "largest MAP fall, % of pre; groups I/II/III/IV: " + " / ".join(
        f"{f[g]:.1f}" for g in KYRIAZIS_GROUPS
    )


def _kyriazis_attenuation() -> tuple[float, str]:
    f = _map_falls()
    return f["IV"] - max(f["I"], f["II"], f["III"]), "fall in group IV minus the largest of groups I-III"


def _bp_fall_share() -> tuple[float, str]:
    pop, res = population()
    ok = ~res.failed
    sbp, mean_ap = res.signals[SBP_MMHG][ok], res.signals[MAP_MMHG][ok]
    fall = (sbp[:, 0] - np.nanmin(sbp, axis=1) >= 20.0) | (mean_ap[:, 0] - np.nanmin(mean_ap, axis=1) >= 10.0)
    return 100.0 * float(np.mean(fall)), f"{int(ok.sum())} virtual sessions, falls from the first reading"


#: van der Sande 2001 compared dialysate 37.5 and 35.5 degC; the stable example with 3 L of UF stands in for
#: the study's sessions (its UF and session length are not in the abstract)
TEMPERATURES_C = (37.5, 35.5)


@cache
def _temperature_pair() -> tuple[object, np.ndarray]:
    scs = [
        variant("stable", prescription__uf_volume_l=3.0, prescription__dialysate__temp_c=t)
        for t in TEMPERATURES_C
    ]
    return simulate_batch(scs, keep_states=True), patient_parameters(scs).h_x


def _max_map_decline() -> tuple[float, str]:
    res, _ = _temperature_pair()
    m = res.signals[MAP_MMHG]
    decline = m[:, 0] - np.nanmin(m, axis=1)
    return float(decline[0] - decline[1]), (
        f"largest MAP fall {decline[0]:.1f} (37.5 degC) minus {decline[1]:.1f} mmHg (35.5 degC)"
    )


def _energy_transfer() -> tuple[float, str]:
    res, h_x = _temperature_pair()
    t_core = res.states["t_core"][:, : int(res.duration_min[0])]
    watts = h_x[:, None] * (np.array(TEMPERATURES_C)[:, None] - t_core) * 1000.0 / 60.0  # kJ/min -> W
    et = watts.mean(axis=1)
    return float(
        et[0] - et[1]
    ), f"mean energy transfer {et[0]:+.1f} W (37.5 degC) and {et[1]:+.1f} W (35.5 degC)"


STABLE = "examples/stable.yaml (75 kg man, 4 h, Qb 350, KoA 1200)"
POP = "seeded virtual population (400, seed 1)"
VDS_CA = ("van_der_sande_1997", "van_der_sande_1998", "maynard_1986")
NO_SPREAD = "no spread in the sources at hand; the range of the earlier card is kept (not a published spread)"
#: Known shortfalls of the current model, shown as gaps in the report.
GAPS: dict[str, str] = {
    "idh_rate": "the baroreflex gain was tuned to about 9-10 % before this range was set from the "
    "meta-analysis; the model sits below both pooled prevalences and is not re-fitted here",
    "bp_fall_share": "the model has no blood-pressure measurement variability (cuff error, beat-to-beat and "
    "postural swings of several mmHg), so a fall of 20 mmHg between two readings happens only with a real "
    "hemodynamic fall; in a noise-free model fewer sessions cross the thresholds",
}

CHECKS: tuple[Check, ...] = (
    Check(
        "rbv_end_10_ml_kg_h",
        "blood volume",
        "RBV 3 h into a 4-h session with UF 10 mL/kg/h",
        "Preciado P et al. NDT 2019;34:1401 (favourable range at 3 h)",
        STABLE + ", 3 L UF",
        "86-92 % at 3 h",
        "%",
        86.0,
        92.0,
        _rbv_3h_stable_10,
        role="calibration",
        publications=("preciado_2019",),
        range_basis="the published favourable range at 3 h; the refilling coefficient was tuned to it",
        covers=("uf_volume_l", "uf_rate", RBV_PCT),
    ),
    Check(
        "rbv_end_population",
        "blood volume",
        "Median RBV 3 h into 240-min sessions with UFR 9-11 mL/kg/h",
        "Preciado P et al. NDT 2019;34:1401 (favourable range at 3 h)",
        POP,
        "86-92 % at 3 h",
        "%",
        86.0,
        92.0,
        _rbv_3h_population,
        role="calibration",
        publications=("preciado_2019",),
        range_basis="the published favourable range at 3 h (same target and parameters as the check above)",
        covers=("uf_rate", RBV_PCT),
        depends="session_population",
    ),
    Check(
        "idh_rate",
        "blood pressure",
        "Sessions with intradialytic hypotension (nadir SBP < 90, < 100 if pre >= 160)",
        "Kuipers J et al. Am J Nephrol 2019;49:497 (meta-analysis): 11.6 % (nadir < 90), 10.1 % (EBPG); "
        "Flythe JASN 2015",
        POP,
        "10.1-11.6 % of sessions",
        "% of sessions",
        10.1,
        11.6,
        _idh_rate,
        role="calibration",
        publications=("kuipers_2019",),
        range_basis="between the two pooled prevalences (their 95 % CIs are not in the abstract); the "
        "baroreflex gain was tuned to this prevalence",
        covers=(SBP_MMHG,),
        depends="session_population",
    ),
    Check(
        "bp_fall_share",
        "blood pressure",
        "Sessions with an SBP fall >= 20 or a MAP fall >= 10 mmHg",
        "Kuipers J et al. BMC Nephrol 2016 (3818 sessions, 124 patients): 77.7 %",
        POP + "; the IDH calibration used the 2019 meta-analysis' nadir prevalence, a different quantity",
        "77.7 % of sessions",
        "% of sessions",
        73.4,
        82.0,
        _bp_fall_share,
        role="validation",
        publications=("kuipers_2016",),
        range_basis="binomial 95 % interval of the published share (3818 sessions; clustering in 124 "
        "patients "
        "ignored, so narrower than the true one) widened by the virtual population's own (400 sessions)",
        covers=(SBP_MMHG, MAP_MMHG),
        depends="session_population",
    ),
    Check(
        "cool_dialysate_map",
        "blood pressure",
        "Post-dialysis MAP, cool (35.5 degC) minus warm (37 degC) dialysate",
        "Selby NM & McIntyre CW, NDT 2006 (22 crossover RCTs): +11.3 mmHg (95 % CI 7.7-15.0)",
        STABLE + ", 3 L UF",
        "+11.3 mmHg (7.7-15.0)",
        "mmHg",
        7.7,
        15.0,
        _cool_dialysate,
        role="calibration",
        publications=("selby_2006",),
        range_basis="the published 95 % CI of the pooled difference; the vascular temperature gain was "
        "fitted "
        "to it",
        covers=(DIALYSATE_TEMP_C, MAP_MMHG),
    ),
    Check(
        "cool_dialysate_max_map_decline",
        "blood pressure",
        "Largest intradialytic MAP fall, dialysate 37.5 minus 35.5 degC",
        "van der Sande FM et al. JASN 2001;12:1916 (12 patients): -25.6 +- 13.5 vs -15.1 +- 13.8 mmHg",
        STABLE + ", 3 L UF",
        "+10.5 mmHg",
        "mmHg",
        -1.8,
        22.8,
        _max_map_decline,
        role="validation",
        publications=("van_der_sande_2001",),
        range_basis="95 % CI of the difference from the published SDs taken as unpaired (conservative; the "
        "paired SD is not given), t with 11 degrees of freedom",
        covers=(DIALYSATE_TEMP_C, MAP_MMHG),
    ),
    Check(
        "dialysate_temp_energy_transfer",
        "blood pressure",
        "Extracorporeal energy transfer, dialysate 37.5 minus 35.5 degC",
        "van der Sande FM et al. JASN 2001;12:1916 (12 patients): -3.53 +- 6.44 vs -26.61 +- 5.33 W",
        STABLE + ", 3 L UF; mean over the session",
        "+23.1 W",
        "W",
        17.8,
        28.4,
        _energy_transfer,
        role="validation",
        publications=("van_der_sande_2001",),
        range_basis="95 % CI of the difference from the published SDs taken as unpaired, t with 11 degrees "
        "of freedom",
        covers=(DIALYSATE_TEMP_C,),
    ),
    Check(
        "dialysate_ca_map",
        "blood pressure",
        "Intradialytic MAP, dialysate Ca 1.75 minus 1.25 mmol/L",
        "van der Sande FM et al. 1997 (normal cardiac function; cited in AJKD 1998;32:125): MAP fall 7 mmHg "
        "larger with 1.25; Maynard JC et al. Ann Intern Med 1986;104:358: less MAP fall with high Ca",
        STABLE,
        "+7 mmHg (several to ~10)",
        "mmHg",
        4.0,
        10.0,
        _ca_map,
        role="calibration",
        publications=VDS_CA,
        range_basis=NO_SPREAD + "; the Ca exponents were fitted to this difference",
        covers=("dialysate_ca_mmol_l", MAP_MMHG),
    ),
    Check(
        "dialysate_ca_sbp",
        "blood pressure",
        "Intradialytic SBP, dialysate Ca 1.75 minus 1.25 mmol/L",
        "van der Sande FM et al. 1997 (cited in AJKD 1998;32:125): SBP fall 13 mmHg larger with 1.25",
        STABLE,
        "+13 mmHg",
        "mmHg",
        7.0,
        19.0,
        _ca_sbp,
        role="calibration",
        publications=VDS_CA,
        range_basis=NO_SPREAD + "; the Ca exponents were fitted to the MAP 7 / SBP 13 mmHg differences",
        covers=("dialysate_ca_mmol_l", SBP_MMHG),
    ),
    Check(
        "dialysate_mg_low_ca_map_fall",
        "blood pressure",
        "MAP fall with dialysate Mg 0.25 and Ca 1.25 mmol/L (group IV)",
        "Kyriazis J et al. Kidney Int 2004;66:1221 (8 patients, 4 crossover baths): MAP -15.2 % in group IV",
        STABLE + ", 3 L UF; Mg/Ca 0.75/1.75, 0.25/1.75, 0.75/1.25, 0.25/1.25",
        "-15.2 %",
        "% of pre-dialysis MAP",
        10.0,
        20.0,
        _kyriazis_iv,
        role="calibration",
        publications=("kyriazis_2004",),
        range_basis=NO_SPREAD + "; the Mg weight was fitted to this fall",
        covers=("dialysate_mg_mmol_l", MAP_MMHG),
    ),
    Check(
        "dialysate_mg_attenuation",
        "blood pressure",
        "Extra MAP fall of group IV (Mg 0.25, Ca 1.25) over groups with higher Mg or Ca",
        "Kyriazis J et al. Kidney Int 2004;66:1221: MAP fell significantly more in group IV than in others",
        STABLE + ", 3 L UF",
        "group IV largest (P < 0.05)",
        "%-points",
        0.0,
        100.0,
        _kyriazis_attenuation,
        role="calibration",
        publications=("kyriazis_2004",),
        range_basis="the published direction (group IV fell most); the earlier card's 3-15 had no published "
        "basis. Same crossover as the calibrated group IV fall",
        covers=("dialysate_mg_mmol_l", MAP_MMHG),
    ),
)
register_all(CHECKS, GAPS)
