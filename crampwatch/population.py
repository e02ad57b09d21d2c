"""A seeded virtual hemodialysis population drawn from published distributions.

Each draw is a :class:`~crampwatch.model.Scenario` (patient + prescription). Distributions and their
sources (rounded; "modelling choice" where no single source gives the number):

* sex: 58 % male (USRDS Annual Data Report, prevalent HD); age: normal 63 +- 14 y, 20-95 (USRDS).
* height: men 175 +- 7.5 cm, women 161.5 +- 7 cm (NHANES 2015-2018, Fryar CD et al. NCHS 2021).
* dry weight from BMI: log-normal, median 27 kg/m2, ~22 % CV (USRDS; HEMO study BMI ~25-28).
* diabetes: 50 % (DOPPS; USRDS ~45-60 % with diabetes).
* IDWG: 3.5 +- 1.1 % of dry weight (Lopez-Gomez JM et al. Kidney Int 2005;67 Suppl 93:S63), kept within
  1-5 %; the UF goal equals the IDWG.
* vintage: exponential, mean 48 months (USRDS median ~3.5 y); access fistula/graft/catheter 63/17/20 %
  (DOPPS 5, US and Europe pooled, rounded).
* prescription: duration 180/210/240/270 min (10/30/45/15 %; DOPPS mean ~220-240 min); Qb 340 +- 50 mL/min
  (DOPPS); Qd 500/600/800; KoA 1200 +- 200 mL/min (modelling choice, high-efficiency dialyzers); for 60 % of
  patients whose prescription would give K t / V < 1.2, Qb and then the session length are raised until it
  reaches 1.2 (titration to the KDOQI minimum; DOPPS 2012-18: 5-17 % of patients below 1.2).
* dialysate: Na 136-142 (DOPPS practice, mostly 138-140), K 2/3, Ca 1.25/1.5/1.75, Mg 0.375/0.5/0.75,
  HCO3 32/35/38, temperature 35.5-37.0 degC (modelling choice reflecting common practice).
* labs: Na 137.9 +- 2.4 mmol/L ("sodium set point", Trinh & Weber Nephron Extra 2017);
  K 5.0 +- 0.6; albumin 3.8 +- 0.4 g/dL; total Ca
  9.0 +- 0.7 mg/dL; Mg 0.95 +- 0.15 mmol/L; HCO3 22 +- 3 mmol/L; Hct 33 +- 3.5 % (DOPPS/HEMO ranges);
  glucose 100 +- 15 (150 +- 40 with diabetes) mg/dL.
* pre-dialysis BUN is not drawn but follows from urea kinetics: nPCR 1.0 +- 0.25 g/kg/day, 0.6-1.8 (HEMO Study
  / DOPPS range, rounded; KDOQI 2006 target >= 1.0) gives the urea nitrogen generation by the Borah/Depner
  relation ``PCR = 9.35 G + 0.294 V`` (same parameters as the simulator,
  :mod:`crampwatch.physiology.parameters`; PCR = nPCR x V/0.58, the standard normalisation), and the BUN is
  the mid-week (Wednesday) pre-dialysis value of the Mon/Wed/Fri single-pool fixed-volume periodic steady
  state (:func:`crampwatch.weekly.simulate_week`, solved here in closed form for all patients at once) with
  the prescription's dialyzer clearance (:func:`crampwatch.weekly.dialyzer_urea_clearance_ml_min`,
  KoA/Qb/Qd/Hct and catheter recirculation by the convention the session model uses), duration, Watson V at
  dry weight and residual Kr (as :func:`crampwatch.weekly.weekly_dose` does). The drawn nPCR is the patient's
  ``npcr_g_kg_d``, so the session simulator generates urea at the same rate.
* pre-dialysis SBP (only when :class:`~crampwatch.model.Patient` has ``pre_sbp_mmhg``): 147 +- 22 mmHg,
  90-220 (DOPPS/USRDS pre-dialysis SBP; rounded); otherwise the model derives it from age, IDWG, diabetes.
* baroreflex strength: log-normal, median 1, sigma 0.3; refill capacity (relative LpS): log-normal, median 1,
  sigma 0.6 (LpS 10.0 +- 8.4 mL/min/mmHg, Pietribiasi et al. PLoS One 2016).
"""

from __future__ import annotations

import numpy as np

from crampwatch.errors import require_range
from crampwatch.kinetics import KDOQI_MIN_SP_KTV, urea_generation_array, watson_volume_array
from crampwatch.model import Patient, Scenario, parse_scenario
from crampwatch.quantities import cutoff
from crampwatch.weekly import MINUTES_PER_WEEK, SCHEDULES, dialyzer_urea_clearance_ml_min, parse_days

#: Mean adult height by sex, cm (NHANES 2015-2018, Fryar CD et al. NCHS 2021).
MEAN_HEIGHT_CM = {"male": 175.0, "female": 161.5}
#: Pre-dialysis SBP is drawn (DOPPS/USRDS: mean ~147, SD ~22 mmHg) when the patient model has the field.
HAS_PRE_SBP = "pre_sbp_mmhg" in Patient.model_fields


def _choice(rng: np.random.Generator, values: list, probs: list[float], n: int) -> np.ndarray:
    return rng.choice(np.array(values), size=n, p=np.array(probs) / np.sum(probs))


def steady_state_pre_bun_mg_dl(
    g_mg_min: np.ndarray,
    k_ml_min: np.ndarray,
    duration_min: np.ndarray,
    v_l: np.ndarray,
    kr_ml_min: np.ndarray,
    days: tuple[str, ...] = SCHEDULES[3],
) -> np.ndarray:
    """Mid-week pre-dialysis BUN, mg/dL, at the weekly periodic steady state of a single fixed-volume pool
    (arrays broadcast). The same mass balance as :func:`crampwatch.weekly.simulate_week` with
    ``model="single_pool"``: within each interval ``V dC/dt = G - K C`` is solved exactly
    (``C' = e C + G/K (1 - e)``, ``e = exp(-K tau/V)``; ``C' = C + G tau/V`` for K = 0), the week is
    composed and its fixed point taken; the mid-week session is the one after the shortest gap."""
    g, k, t, v_ml, kr = np.broadcast_arrays(
        *(
            np.asarray(x, dtype=float)
            for x in (g_mg_min, k_ml_min, duration_min, np.asarray(v_l) * 1e3, kr_ml_min)
        )
    )
    starts = np.array(parse_days(days), dtype=float) * 1440.0  # same start time every treatment day
    gaps = np.diff(np.concatenate([[starts[-1] - MINUTES_PER_WEEK], starts]))  # gap before each session
    n = len(gaps)
    mid = int(np.argmin(gaps))

    def interval(tau: np.ndarray, kk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = np.exp(-kk * tau / v_ml)
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(kk > 0, g / kk * (1.0 - e), g * tau / v_ml)
        return e, b

    maps: list[tuple[np.ndarray, np.ndarray]] = []
    for i in range(n):  # session i, then the gap to session i+1
        maps.append(interval(t, k + kr))
        maps.append(interval(gaps[(i + 1) % n] - t, kr))
    big, small = np.ones_like(g), np.zeros_like(g)
    for a, b in maps:
        big, small = a * big, a * small + b
    c = small / (1.0 - big)  # pre-dialysis concentration of session 0, mg/mL
    for a, b in maps[: 2 * mid]:
        c = a * c + b
    return c * 100.0


#: Share of patients whose prescription the unit titrates to the KDOQI minimum dose (modelling choice fitted
#: to DOPPS 2012-18, where 5-17 % of patients had spKt/V < 1.2; AlSahow A et al. 2021, PMID 33777365).
TITRATED_FRACTION = 0.6
#: Highest blood flow and session length the titration goes to (mL/min, min; modelling choice).
TITRATION_MAX_QB_ML_MIN = 450.0
TITRATION_MAX_DURATION_MIN = 300.0


def _titrate_dose(
    qb: np.ndarray,
    dur: np.ndarray,
    qd: np.ndarray,
    koa: np.ndarray,
    hct_pct: np.ndarray,
    catheter: np.ndarray,
    v_l: np.ndarray,
    titrated: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Raise Qb (50 mL/min steps to 450) and then the session length (30-min steps to 300 min) of the
    ``titrated`` patients until the prescribed K t / V (the session model's clearance convention) reaches the
    KDOQI minimum 1.2, as units adjust prescriptions to body size."""
    qb, dur = qb.copy(), dur.copy()
    for _ in range(12):
        ktv = dialyzer_urea_clearance_ml_min(qb, qd, koa, hct_pct, catheter=catheter) * dur / (v_l * 1000.0)
        low = titrated & (ktv < KDOQI_MIN_SP_KTV)
        if not low.any():
            break
        raise_qb = low & (qb < TITRATION_MAX_QB_ML_MIN)
        qb = np.where(raise_qb, np.minimum(qb + 50.0, TITRATION_MAX_QB_ML_MIN), qb)
        longer = low & ~raise_qb & (dur < TITRATION_MAX_DURATION_MIN)
        dur = np.where(longer, dur + 30.0, dur)
    return qb, dur


def _round(values: np.ndarray, digits: int) -> np.ndarray:
    """Python's ``round`` of each value (as a scenario file stores it; numpy's ``round`` can differ)."""
    return np.array([round(float(x), digits) for x in values], dtype=float)


def _draw_patients(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """The patients' own values (sex, age, body size, weight gain, history, physiology), unrounded."""
    male = rng.random(n) < 0.58
    age = np.clip(rng.normal(63.0, 14.0, n), 20.0, 95.0)
    height = np.where(
        male, rng.normal(MEAN_HEIGHT_CM["male"], 7.5, n), rng.normal(MEAN_HEIGHT_CM["female"], 7.0, n)
    ).clip(140.0, 205.0)
    bmi = np.clip(27.0 * np.exp(rng.normal(0.0, 0.22, n)), 16.0, 50.0)
    dry = np.clip(bmi * (height / 100.0) ** 2, 35.0, 180.0)
    diabetes = rng.random(n) < 0.5
    idwg_pct = np.clip(rng.normal(3.5, 1.1, n), 1.0, 5.0)
    return {
        "male": male,
        "age": age,
        "height": height,
        "dry": dry,
        "diabetes": diabetes,
        "pre": dry * (1.0 + idwg_pct / 100.0),
        "vintage": np.clip(rng.exponential(48.0, n), 0.0, 480.0),
        "access": _choice(rng, ["fistula", "graft", "catheter"], [0.63, 0.17, 0.20], n),
        "vit_d": rng.random(n) < 0.6,
        "kr": np.where(rng.random(n) < 0.6, 0.0, rng.uniform(0.0, 4.0, n)),
        "baro": np.clip(np.exp(rng.normal(0.0, 0.3, n)), 0.2, 2.5),
        "refill": np.clip(np.exp(rng.normal(0.0, 0.6, n)), 0.15, 4.0),
    }


def _draw_prescriptions(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Session time, flows, dialyzer and dialysate of each patient (before the dose is titrated)."""
    return {
        "dur": _choice(rng, [180.0, 210.0, 240.0, 270.0], [0.10, 0.30, 0.45, 0.15], n),
        "qb": np.clip(rng.normal(340.0, 50.0, n), 200.0, 500.0).round(-1),
        "qd": _choice(rng, [500.0, 600.0, 800.0], [0.6, 0.2, 0.2], n),
        "koa": np.clip(rng.normal(1200.0, 200.0, n), 700.0, 1800.0).round(-1),
        "d_na": _choice(
            rng, [136.0, 137.0, 138.0, 139.0, 140.0, 142.0], [0.1, 0.1, 0.35, 0.1, 0.3, 0.05], n
        ),
        "d_k": _choice(rng, [2.0, 3.0], [0.7, 0.3], n),
        "d_ca": _choice(rng, [1.25, 1.5, 1.75], [0.35, 0.5, 0.15], n),
        "d_mg": _choice(rng, [0.375, 0.5, 0.75], [0.2, 0.6, 0.2], n),
        "d_hco3": _choice(rng, [32.0, 35.0, 38.0], [0.3, 0.5, 0.2], n),
        "d_temp": _choice(rng, [35.5, 36.0, 36.5, 37.0], [0.1, 0.3, 0.4, 0.2], n),
    }


def _draw_labs(rng: np.random.Generator, n: int, diabetes: np.ndarray) -> dict[str, np.ndarray]:
    """Pre-dialysis labs, nPCR and pre-dialysis SBP (glucose higher with diabetes), unrounded."""
    return {
        "na": draw_na_set_point_mmol_l(rng, n),
        "k": np.clip(rng.normal(5.0, 0.6, n), 3.0, 7.5),
        "npcr": np.clip(rng.normal(1.0, 0.25, n), 0.6, 1.8),
        "alb": np.clip(rng.normal(3.8, 0.4, n), 2.2, 5.0),
        "ca": np.clip(rng.normal(9.0, 0.7, n), 7.0, 11.5),
        "mg": np.clip(rng.normal(0.95, 0.15, n), 0.5, 1.6),
        "hco3": np.clip(rng.normal(22.0, 3.0, n), 14.0, 32.0),
        "hct": np.clip(rng.normal(33.0, 3.5, n), 22.0, 45.0),
        "pre_sbp": np.clip(rng.normal(147.0, 22.0, n), 90.0, 220.0),
        "glu": np.where(diabetes, rng.normal(150.0, 40.0, n), rng.normal(100.0, 15.0, n)).clip(60.0, 400.0),
    }


def _draws(n: int, seed: int) -> dict[str, np.ndarray]:
    """The drawn population as arrays, keyed by scenario-table path (rounded as stored). The draws come in
    a fixed order from one generator: patients, prescriptions, labs, then who has a titrated dose."""
    rng = np.random.default_rng(seed)
    p = _draw_patients(rng, n)
    rx = _draw_prescriptions(rng, n)
    lab = _draw_labs(rng, n, p["diabetes"])
    male, age, height, dry, access, kr = p["male"], p["age"], p["height"], p["dry"], p["access"], p["kr"]
    qb, dur, qd, koa = rx["qb"], rx["dur"], rx["qd"], rx["koa"]
    hct = lab["hct"]
    # pre-dialysis BUN from nPCR and the prescription (weekly steady state), with the values as stored
    hct_r, dry_r = hct.round(1), dry.round(2)
    v_l = watson_volume_array(male, age.round(1), height.round(1), dry_r)
    catheter = access == "catheter"
    titrated = rng.random(n) < TITRATED_FRACTION  # drawn last, so the draws above keep their sequence
    qb, dur = _titrate_dose(qb, dur, qd, koa, hct_r, catheter, v_l, titrated)
    k_dial = dialyzer_urea_clearance_ml_min(qb, qd, koa, hct_r, catheter=catheter)
    npcr = lab["npcr"].round(3)
    g_mg_min = urea_generation_array(npcr, v_l)
    bun = np.clip(steady_state_pre_bun_mg_dl(g_mg_min, k_dial, dur, v_l, kr.round(2)), 5.0, 200.0)
    return {
        "patient.id": np.array([f"V{seed}-{i:06d}" for i in range(n)], dtype=object),
        "patient.sex": np.where(male, "male", "female").astype(object),
        "patient.age_years": _round(age, 1),
        "patient.height_cm": _round(height, 1),
        "patient.pre_weight_kg": _round(p["pre"], 2),
        "patient.dry_weight_kg": _round(dry, 2),
        "patient.vintage_months": _round(p["vintage"], 1),
        "patient.diabetes": p["diabetes"],
        "patient.active_vitamin_d": p["vit_d"],
        "patient.access": access.astype(object),
        "patient.residual_kr_ml_min": _round(kr, 2),
        "patient.npcr_g_kg_d": _round(npcr, 3),
        "patient.baroreflex_strength": _round(p["baro"], 3),
        "patient.refill_capacity": _round(p["refill"], 3),
        "patient.labs.na_mmol_l": _round(lab["na"], 1),
        "patient.labs.k_mmol_l": _round(lab["k"], 2),
        "patient.labs.bun_mg_dl": _round(bun, 1),
        "patient.labs.ca_total_mg_dl": _round(lab["ca"], 2),
        "patient.labs.albumin_g_dl": _round(lab["alb"], 2),
        "patient.labs.mg_mmol_l": _round(lab["mg"], 2),
        "patient.labs.hco3_mmol_l": _round(lab["hco3"], 1),
        "patient.labs.hct_pct": _round(hct, 1),
        "patient.labs.glucose_mg_dl": _round(lab["glu"], 0),
        "patient.pre_sbp_mmhg": _round(lab["pre_sbp"], 0),
        "prescription.duration_min": dur.astype(float),
        "prescription.qb_ml_min": qb.astype(float),
        "prescription.qd_ml_min": qd.astype(float),
        "prescription.dialyzer_koa_ml_min": koa.astype(float),
        "prescription.dialysate.na_mmol_l": rx["d_na"].astype(float),
        "prescription.dialysate.k_mmol_l": rx["d_k"].astype(float),
        "prescription.dialysate.ca_mmol_l": rx["d_ca"].astype(float),
        "prescription.dialysate.mg_mmol_l": rx["d_mg"].astype(float),
        "prescription.dialysate.hco3_mmol_l": rx["d_hco3"].astype(float),
        "prescription.dialysate.temp_c": rx["d_temp"].astype(float),
    }


#: Range of a drawn pre-dialysis plasma Na, mmol/L (modelling choice: about 5 SD around the set point).
NA_SET_POINT_RANGE_MMOL_L = (125.0, 150.0)


def draw_na_set_point_mmol_l(rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Pre-dialysis plasma Na "set points" of ``n`` patients (one value when ``n`` is None), mmol/L: normal
    with the registry's mean and SD between patients (:data:`crampwatch.quantities.CUTOFFS`), clipped to
    :data:`NA_SET_POINT_RANGE_MMOL_L`."""
    draw = rng.normal(cutoff("na_set_point_mmol_l"), cutoff("na_set_point_sd_mmol_l"), n)
    return np.clip(draw, *NA_SET_POINT_RANGE_MMOL_L)


def virtual_population_columns(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The same patients as :func:`virtual_population` as a scenario table (:mod:`crampwatch.scenario_table`),
    without a Scenario object per patient."""
    n = int(require_range("n", n, 1, 1_000_000))
    cols = _draws(n, seed)
    cols["prescription.dialysate.na_mean_mmol_l"] = cols["prescription.dialysate.na_mmol_l"]
    return cols


def virtual_population(n: int, seed: int = 0) -> list[Scenario]:
    """``n`` reproducible virtual patients with one session prescription each."""
    n = int(require_range("n", n, 1, 1_000_000))
    d = _draws(n, seed)
    out: list[Scenario] = []
    for i in range(n):
        data = {
            "patient": {
                "id": str(d["patient.id"][i]),
                "sex": str(d["patient.sex"][i]),
                "age_years": float(d["patient.age_years"][i]),
                "height_cm": float(d["patient.height_cm"][i]),
                "pre_weight_kg": float(d["patient.pre_weight_kg"][i]),
                "dry_weight_kg": float(d["patient.dry_weight_kg"][i]),
                "vintage_months": float(d["patient.vintage_months"][i]),
                "diabetes": bool(d["patient.diabetes"][i]),
                "active_vitamin_d": bool(d["patient.active_vitamin_d"][i]),
                "access": str(d["patient.access"][i]),
                "residual_kr_ml_min": float(d["patient.residual_kr_ml_min"][i]),
                "npcr_g_kg_d": float(d["patient.npcr_g_kg_d"][i]),
                "baroreflex_strength": float(d["patient.baroreflex_strength"][i]),
                "refill_capacity": float(d["patient.refill_capacity"][i]),
                "labs": {
                    k.split(".")[-1]: float(v[i]) for k, v in d.items() if k.startswith("patient.labs.")
                },
            },
            "prescription": {
                **{
                    k.split(".")[-1]: float(v[i])
                    for k, v in d.items()
                    if k.startswith("prescription.") and not k.startswith("prescription.dialysate.")
                },
                "dialysate": {
                    k.split(".")[-1]: float(v[i])
                    for k, v in d.items()
                    if k.startswith("prescription.dialysate.")
                },
            },
        }
        if HAS_PRE_SBP:
            data["patient"]["pre_sbp_mmhg"] = float(d["patient.pre_sbp_mmhg"][i])
        out.append(parse_scenario(data))
    return out
