"""Checks on urea kinetics and dose: published formula vectors, Meyer's simulator, the shared spKt/V
convention, population dose, first-session disequilibrium."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.causes.ids import DISEQUILIBRIUM
from crampwatch.kinetics import ekt_v_rate, michaels_clearance_ml_min, sp_ktv_daugirdas, watson_volume_l
from crampwatch.signals import QB_ML_MIN, UREA_MMOL_L
from crampwatch.simulator import patient_parameters
from crampwatch.units import BUN_MG_DL_PER_UREA_MMOL_L
from crampwatch.validation.fixtures import examples, last_values, population, run
from crampwatch.validation.registry import Check, register_all
from crampwatch.weekly import midweek_session_index, simulate_week, weekly_dose

MEYER_CASES = Path(__file__).resolve().parent / "data" / "dialsim-meyer-cases.csv"


def _tv_daugirdas() -> tuple[float, str]:
    return float(sp_ktv_daugirdas(60, 18, 4, 3, 70)), "pre BUN 60, post 18 mg/dL, 4 h, UF 3 L, W 70 kg"


def _tv_watson() -> tuple[float, str]:
    return watson_volume_l("male", 50, 175, 70), "man, 50 y, 175 cm, 70 kg"


def _tv_michaels() -> tuple[float, str]:
    return float(michaels_clearance_ml_min(1000, 300, 500)), "KoA 1000, Qb 300, Qd 500 mL/min"


def _meyer() -> tuple[float, str]:
    df = pd.read_csv(MEYER_CASES)
    worst = 0.0
    cols = {
        "avgclearance": "avg_clearance_ml_min",
        "timeavgconc": "tac_mg_dl",
        "avgpeakconc": "avg_peak_mg_dl",
    }
    got = {k: [] for k in cols}
    for _, r in df.iterrows():
        res = simulate_week(
            duration_h=r["duration"],
            qb_ml_min=r["bloodflow"],
            qd_ml_min=r["dialysateflow"],
            koa_ml_min=r["koa"],
            hct_pct=r["hematocrit"],
            generation_mg_day=r["generationrate"],
            v_l=r["volumeofdist"],
            kr_ml_min=0.0 if pd.isna(r["endogenousclearance"]) else float(r["endogenousclearance"]),
            blood_water="meyer",
        )
        for k, attr in cols.items():
            got[k].append(getattr(res, attr))
    for k in cols:
        worst = max(worst, float(np.median(np.abs(np.array(got[k]) / df[k].to_numpy() - 1.0))))
    return 100.0 * worst, f"{len(df)} cases; largest median relative error of clearance, TAC, peak BUN"


def _session_vs_weekly() -> tuple[float, str]:
    scs, res = examples()
    worst, who = 0.0, ""
    for i, sc in enumerate(scs):
        if sc.patient.vintage_months == 0:  # a first session is not at the weekly model's steady state
            continue
        u = res.signals[UREA_MMOL_L][i]
        u = u[np.isfinite(u)]
        f = BUN_MG_DL_PER_UREA_MMOL_L
        t_h = sc.prescription.duration_min / 60.0
        session = float(sp_ktv_daugirdas(u[0] * f, u[-1] * f, t_h, sc.uf_volume_l, sc.post_weight_kg))
        week = weekly_dose(sc, model="two_pool")
        weekly = week.sp_ktv_daugirdas_sessions[midweek_session_index(week.days)]
        diff = 100.0 * (weekly / session - 1.0)
        if abs(diff) > abs(worst):
            worst, who = diff, sc.patient.id
    return worst, f"largest difference over the examples at a weekly steady state ({who})"


def _clearance_integral() -> tuple[float, str]:
    scs, res = examples()
    diffs = [
        100.0 * (weekly_dose(sc).sp_ktv / res.summary["clearance_ktv"][i] - 1.0) for i, sc in enumerate(scs)
    ]
    j = int(np.argmax(np.abs(diffs)))
    return diffs[j], "largest difference over the 5 examples"


def _population_low_dose() -> tuple[float, str]:
    pop, res = population()
    urea = res.signals[UREA_MMOL_L]
    f = BUN_MG_DL_PER_UREA_MMOL_L
    ok = ~res.failed
    pre, post = urea[ok, 0] * f, last_values(urea[ok]) * f
    sc = [s for s, k in zip(pop, ok, strict=True) if k]
    t_h = np.array([s.prescription.duration_min / 60.0 for s in sc])
    uf = np.array([s.uf_volume_l for s in sc])
    w = np.array([s.post_weight_kg for s in sc])
    sp = np.asarray(sp_ktv_daugirdas(pre, post, t_h, uf, w))
    return 100.0 * float(np.mean(sp < 1.2)), f"{len(sp)} virtual sessions, Daugirdas II from simulated urea"


def _urr(name: str, **changes: object) -> float:
    u = run(name, **changes).data[UREA_MMOL_L]
    return 100.0 * (1.0 - float(u.iloc[-1]) / float(u.iloc[0]))


def _first_session_gentle() -> tuple[float, str]:
    return _urr("first_session_high_bun", prescription__duration_min=120, prescription__qb_ml_min=200), (
        "examples/first_session_high_bun.yaml (BUN 165) with 2 h, Qb 200"
    )


def _ekt_v() -> tuple[float, str]:
    scs, res = examples()
    st = res.states
    worst = 0.0
    for i, sc in enumerate(scs):
        last = int(np.flatnonzero(res.t_min <= res.duration_min[i] + 1e-9)[-1])
        u = res.signals[UREA_MMOL_L][i]
        t_h = sc.prescription.duration_min / 60.0
        f = BUN_MG_DL_PER_UREA_MMOL_L
        sp = float(sp_ktv_daugirdas(u[0] * f, u[last] * f, t_h, sc.uf_volume_l, sc.post_weight_kg))
        p = patient_parameters([sc])
        v = st["v_ic"][i, last] + st["v_is"][i, last] + st["v_pl"][i, last] + p.v_br[0]
        c_eq = (st["u_ex"][i, last] + st["u_ic"][i, last] + st["u_br"][i, last]) / v * p.f_urea[0]
        e_model = float(sp_ktv_daugirdas(u[0] * f, c_eq * f, t_h, sc.uf_volume_l, sc.post_weight_kg))
        worst = max(worst, abs(e_model - float(ekt_v_rate(sp, t_h, sc.patient.access))))
    return worst, "largest |model eKt/V (equilibrated urea) - rate equation| over the 5 examples"


#: Known shortfalls of the current model, shown as gaps in the report (none for the dose checks).
GAPS: dict[str, str] = {}

CHECKS: tuple[Check, ...] = (
    Check(
        "tv_daugirdas_ii",
        "dose",
        "Daugirdas II spKt/V (TV-2.1)",
        "Daugirdas JT. JASN 1993;4:1205",
        "formula",
        "1.443 +- 0.001",
        "1",
        1.442,
        1.444,
        _tv_daugirdas,
        role="verification",
        publications=("daugirdas_1993",),
        range_basis="the formula's value for these inputs to its third decimal",
        depends="formula",
    ),
    Check(
        "tv_watson",
        "dose",
        "Watson total body water (TV-2.8)",
        "Watson PE et al. Am J Clin Nutr 1980;33:27",
        "formula",
        "40.02 +- 0.01 L",
        "L",
        40.01,
        40.03,
        _tv_watson,
        role="verification",
        publications=("watson_1980",),
        range_basis="the formula's value for these inputs to its second decimal",
        depends="formula",
    ),
    Check(
        "tv_michaels",
        "dose",
        "Michaels diffusive clearance (TV-2.11)",
        "Michaels AS. Trans ASAIO 1966;12:387",
        "formula",
        "262.4 +- 0.1 mL/min",
        "mL/min",
        262.3,
        262.5,
        _tv_michaels,
        role="verification",
        publications=("michaels_1966",),
        range_basis="the formula's value for these inputs to its first decimal",
        depends="formula",
    ),
    Check(
        "meyer_cases",
        "dose",
        "Weekly urea model vs T. W. Meyer's simulator",
        "T. W. Meyer urea simulator, 149 golden cases (aaaahn/dialsim, MIT)",
        "weekly model, Meyer constants",
        "median relative error <= 1 %",
        "%",
        0.0,
        1.0,
        _meyer,
        role="verification",
        publications=("meyer_dialsim",),
        range_basis="the tolerance of the simulator's own test suite (1 %)",
        covers=("duration_min", QB_ML_MIN, "qd_ml_min", "dialyzer_koa_ml_min", UREA_MMOL_L),
        depends="weekly",
    ),
    Check(
        "spktv_session_vs_weekly",
        "dose",
        "Measured spKt/V: weekly model vs session simulator",
        "one convention (crampwatch.weekly.clearance.SESSION); KDOQI 2000 guideline 2: delivered dose from "
        "pre/post BUN",
        "examples at a weekly steady state (the first-session example excluded); weekly two-pool model, "
        "mid-week session, Daugirdas II",
        "equal (within 5 %)",
        "%",
        -5.0,
        5.0,
        _session_vs_weekly,
        role="consistency",
        range_basis="agreement the project requires between its two urea models (not a publication)",
    ),
    Check(
        "clearance_ktv_session_vs_weekly",
        "dose",
        "K t / V: weekly model vs session clearance integral",
        "same V (Watson, dry weight), blood water and clearance",
        "examples",
        "equal (within 1 %)",
        "%",
        -1.0,
        1.0,
        _clearance_integral,
        role="consistency",
        range_basis="agreement the project requires between its two urea models (not a publication)",
    ),
    Check(
        "population_low_dose",
        "dose",
        "Sessions with spKt/V < 1.2",
        "DOPPS 2012-18 (AlSahow A et al. 2021, PMID 33777365): 5-17 % in Canada, Europe, Japan, USA",
        "seeded virtual population (400, seed 1); 60 % of low prescriptions titrated to 1.2",
        "5-17 %",
        "% of sessions",
        5.0,
        17.0,
        _population_low_dose,
        role="calibration",
        publications=("alsahow_2021",),
        range_basis="the published range between countries; the population's titration was tuned to it",
        covers=(UREA_MMOL_L,),
        depends="session_population",
    ),
    Check(
        "first_session_urr",
        DISEQUILIBRIUM,
        "URR of a gentle first session",
        "Daugirdas Handbook of Dialysis (acute prescription): first session URR < 40 % with Qb 200, 2 h",
        "BUN 165 mg/dL, 2 h, Qb 200",
        "< 40 %",
        "%",
        0.0,
        40.0,
        _first_session_gentle,
        role="calibration",
        publications=("daugirdas_handbook",),
        range_basis="the handbook's bound (< 40 %); no lower bound is published. Calibration: the model sits "
        "at the bound, as if chosen to it (which parameter was tuned is not recorded)",
        covers=(QB_ML_MIN, "duration_min", UREA_MMOL_L),
    ),
    Check(
        "ekt_v_rate_equation",
        "dose",
        "Equilibrated Kt/V: model rebound vs Daugirdas rate equation",
        "Daugirdas & Schneditz ASAIO J 1995; Smye et al. ASAIO J 1999;45:562",
        "examples",
        "|difference| <= 0.1",
        "Kt/V",
        0.0,
        0.1,
        _ekt_v,
        role="validation",
        publications=("daugirdas_schneditz_1995", "smye_1999"),
        range_basis="no prediction error of the rate equation is given in the sources at hand; 0.1 Kt/V is "
        "the tolerance of the earlier card (not a published spread)",
        covers=("after:urea_mmol_l",),
    ),
)
register_all(CHECKS, GAPS)
