"""Virtual dialysis units whose cramps follow a known rule: the test bed of the unit model.

Each unit has ``n_patients`` virtual patients (:func:`crampwatch.population.virtual_population`) with
``sessions_per_patient`` sessions each; sessions of a patient share the prescription and differ in weight
gain and pre-dialysis Na, K and Mg, as a patient's sessions do. A patient-level random effect on the
log-odds (``PATIENT_SD``) makes one patient's sessions correlated, as real ones are.

What the unit model sees is what a unit records (:func:`measured_unit`), not the simulation's truth:

* the labs of the month's draw (the first session's values with analytical error), missing for some
  patients; the pre-dialysis weight from a scale with its error (the UF volume is set from it);
* the machine's signals from the true session with measurement noise and missing samples: RBV each minute,
  blood pressure and heart rate every 15 minutes; every other signal (Na, K, Mg, urea ...) is what the
  analyzer simulates from the recorded scenario, as it does for a recorded session;
* cramp labels with missed reports: a true cramp is reported with probability ``1 - MISSED_REPORT_RATE``.

Rules (modelling choices; each tuned to a 20 % rate of true cramps, ~14 % reported): the log-odds rise
``RULE_SLOPE`` per SD of the rule's driver, computed from the true session, plus ``HIDDEN_SLOPE`` per SD of a
session factor nothing records (the rules depend partly on something the model does not measure):

* ``prior``: the analyzer's overall risk (on what it sees) is right;
* ``sodium``: the fall of plasma Na during the session;
* ``magnesium``: the serum Mg nadir (lower Mg, more cramps);
* ``potassium``: the fall of plasma K during the session, which the dialysate K sets and the analyzer's
  causes do not weigh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from crampwatch.labs import DEFAULT_LABS
from crampwatch.learn.fit import prior_logit
from crampwatch.learn.inputs import PRIOR_COLUMN, input_table
from crampwatch.model import Prescription, Scenario, dump_scenario, field_range, parse_scenario
from crampwatch.population import virtual_population
from crampwatch.series import first_valid, last_valid, row_min
from crampwatch.signals import (
    DBP_MMHG,
    HR_BPM,
    MAP_MMHG,
    MG_MMOL_L,
    PLASMA_K_MMOL_L,
    PLASMA_NA_MMOL_L,
    RBV_PCT,
    SBP_MMHG,
)
from crampwatch.simulator import simulate_batch

if TYPE_CHECKING:
    from crampwatch.causes.context import Context
    from crampwatch.simulator.output import BatchResult

RULES = ("prior", "sodium", "magnesium", "potassium")
#: Rate of true cramps the rules are tuned to (~20 % of sessions: cramps accompany about one session in
#: five).
TARGET_CRAMP_RATE = 0.20
#: Share of true cramps nobody reports (modelling choice: patients and busy nurses miss some).
MISSED_REPORT_RATE = 0.30
#: Log-odds per standard deviation of the rule's driver and of the unmeasured session factor (modelling
#: choices).
RULE_SLOPE = 1.5
HIDDEN_SLOPE = 1.0
#: SD of the patient random effect on the log-odds (modelling choice).
PATIENT_SD = 0.5
#: Session-to-session SD of a patient's pre-dialysis labs (modelling choice).
SESSION_LAB_SD = {"na_mmol_l": 1.5, "k_mmol_l": 0.4, MG_MMOL_L: 0.05}
#: Analytical error SD of the monthly labs (modelling choice: CVs ~1 % Na, ~2 % K, ~3 % Mg).
LAB_ERROR_SD = {"na_mmol_l": 1.0, "k_mmol_l": 0.1, MG_MMOL_L: 0.03}
#: Share of patients whose month's labs are not available (each lab independently; modelling choice).
LAB_MISSING_RATE = 0.15
#: Scale error SD of the pre-dialysis weight, kg (modelling choice).
SCALE_SD_KG = 0.3
#: Machine signals: (signal, noise SD, recording interval in minutes); RBV and BP noise as the patient twin
#: assumes (crampwatch.twin.virtual), BP and HR from a cuff every 15 min (modelling choice).
MEASURED_SIGNALS = (
    (RBV_PCT, 0.5, 1),
    (SBP_MMHG, 8.0, 15),
    (DBP_MMHG, 5.0, 15),
    (MAP_MMHG, 5.0, 15),
    (HR_BPM, 3.0, 15),
)
#: Share of the machine's samples that are missing (modelling choice).
MISSING_SAMPLE_RATE = 0.2
#: Largest UF volume a prescription takes, L (the scenario model's range).
MAX_UF_VOLUME_L = field_range(Prescription, "uf_volume_l")[1]
#: Sessions simulated at once (bounds memory: ~110 kB per session).
SIM_CHUNK = 2000


def unit_scenarios(n_patients: int, sessions_per_patient: int, seed: int = 0) -> list[Scenario]:
    """Scenarios of a unit: each patient's sessions in turn (patient ids repeat across their sessions), each
    with the session's true weight and labs."""
    rng = np.random.default_rng(seed + 7919)
    lo_hi = {"na_mmol_l": (126, 149, 1), "k_mmol_l": (2.5, 7.5, 1), MG_MMOL_L: (0.5, 1.6, 2)}
    out = []
    for base in virtual_population(n_patients, seed=seed):
        data = dump_scenario(base)
        patient = data["patient"]
        dry = float(patient["dry_weight_kg"])
        idwg0 = 100.0 * (float(patient["pre_weight_kg"]) - dry) / dry
        labs = patient.get("labs") or {}
        for _ in range(sessions_per_patient):
            idwg = float(np.clip(idwg0 * np.exp(rng.normal(0.0, 0.25)), 0.5, 6.0))
            session = {**patient, "pre_weight_kg": round(dry * (1.0 + idwg / 100.0), 2)}
            session["labs"] = dict(labs)
            for lab, (lo, hi, digits) in lo_hi.items():
                value = labs.get(lab, DEFAULT_LABS[lab]) + rng.normal(0.0, SESSION_LAB_SD[lab])
                session["labs"][lab] = round(float(np.clip(value, lo, hi)), digits)
            out.append(parse_scenario({"patient": session, "prescription": data["prescription"]}))
    return out


def recorded_scenarios(truth: list[Scenario], seed: int = 0) -> tuple[list[Scenario], list[Scenario]]:
    """(what the unit records, the true sessions with the UF it programs): the month's labs (the patient's
    first session with analytical error, or missing) and the weighed pre-dialysis weight; both scenarios
    get the UF volume the unit sets from the weighed weight."""
    rng = np.random.default_rng(seed + 3571)
    recorded, true_sessions = [], []
    month: dict[str, dict] = {}
    for sc in truth:
        data = dump_scenario(sc)
        patient = data["patient"]
        pid = str(patient.get("id"))
        if pid not in month:
            month[pid] = {}
            for lab, sd in LAB_ERROR_SD.items():
                if rng.random() >= LAB_MISSING_RATE and lab in patient["labs"]:
                    month[pid][lab] = round(float(patient["labs"][lab] + rng.normal(0.0, sd)), 2)
        weighed = round(float(patient["pre_weight_kg"]) + rng.normal(0.0, SCALE_SD_KG), 1)
        uf = round(min(max(weighed - float(patient["dry_weight_kg"]), 0.0), MAX_UF_VOLUME_L), 2)
        data["prescription"]["uf_volume_l"] = uf
        true_sessions.append(parse_scenario(data))
        labs = {k: v for k, v in patient["labs"].items() if k not in LAB_ERROR_SD} | month[pid]
        rec = {**patient, "pre_weight_kg": max(weighed, float(patient["dry_weight_kg"])), "labs": labs}
        recorded.append(parse_scenario({"patient": rec, "prescription": data["prescription"]}))
    return recorded, true_sessions


@dataclass(frozen=True)
class VirtualUnit:
    """Input table, reported labels, patients and the rule's own risk of a unit; ``driver_risk`` is the
    rule's risk without the unmeasured session factor, ``true_cramp`` the cramps before missed reports."""

    rule: str
    table: pd.DataFrame
    cramp: np.ndarray
    patient_ids: np.ndarray
    rule_risk: np.ndarray
    driver_risk: np.ndarray | None = None
    true_cramp: np.ndarray | None = None

    def ceiling_auroc(self, index: np.ndarray | None = None) -> float:
        """AUROC of the rule's session risk (without the unknowable patient effect) on the reported cramps."""
        sel = slice(None) if index is None else index
        return float(roc_auc_score(self.cramp[sel], self.rule_risk[sel]))

    def driver_ceiling_auroc(self) -> float:
        """AUROC of the rule's driver alone (what perfect measurement of the true driver would reach)."""
        risk = self.rule_risk if self.driver_risk is None else self.driver_risk
        return float(roc_auc_score(self.cramp, risk))


def rule_drivers(t: np.ndarray, signals: dict[str, np.ndarray]) -> pd.DataFrame:
    """The rules' drivers of simulated sessions: plasma-Na fall, Mg nadir, plasma-K fall."""
    na0, _ = first_valid(signals[PLASMA_NA_MMOL_L], t)
    na1, _ = last_valid(signals[PLASMA_NA_MMOL_L], t)
    k0, _ = first_valid(signals[PLASMA_K_MMOL_L], t)
    k1, _ = last_valid(signals[PLASMA_K_MMOL_L], t)
    mg_min, _ = row_min(signals[MG_MMOL_L], t)
    return pd.DataFrame({"na_fall_mmol_l": na0 - na1, "mg_min_mmol_l": mg_min, "k_fall_mmol_l": k0 - k1})


def simulate_unit(scenarios: list[Scenario]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Input table and rule drivers of every session from its noise-free simulated signals (failed
    simulations dropped: index kept)."""

    tables, drivers = [], []
    for start in range(0, len(scenarios), SIM_CHUNK):
        part = scenarios[start : start + SIM_CHUNK]
        tab, drv = batch_inputs(simulate_batch(part), part, np.arange(start, start + len(part)))
        tables.append(tab)
        drivers.append(drv)
    return pd.concat(tables), pd.concat(drivers)


def batch_inputs(
    batch: BatchResult, scenarios: Sequence[Scenario] | Context, index: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Input table and rule drivers of one simulated batch of ``scenarios`` (or their context), indexed by
    ``index``; the sessions the simulation lost are dropped."""
    tab = input_table(batch.t_min, batch.signals, scenarios).set_axis(index)
    drv = rule_drivers(batch.t_min, batch.signals).set_axis(index)
    ok = np.ones(len(index), bool) if batch.failed is None else ~np.asarray(batch.failed, bool)
    return tab[ok], drv[ok]


def measured_signals(
    t: np.ndarray,
    true_signals: dict[str, np.ndarray],
    analyzer_signals: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The signals a unit has of its sessions: the machine's channels (:data:`MEASURED_SIGNALS`) from the
    true sessions with noise, their recording interval and missing samples; every other signal from the
    analyzer's simulation of the recorded scenarios."""
    out = dict(analyzer_signals)
    for name, sd, every in MEASURED_SIGNALS:
        true = true_signals[name]
        noisy = true + rng.normal(0.0, sd, true.shape)
        keep = (np.round(t) % every == 0)[None, :] & (rng.random(true.shape) >= MISSING_SAMPLE_RATE)
        keep[:, 0] = True  # the pre-dialysis reading is always taken
        out[name] = np.where(keep & np.isfinite(true), noisy, np.nan)
    return out


def measured_unit(
    recorded: list[Scenario], true_sessions: list[Scenario], seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Input table of what the unit records (:func:`measured_signals`, the recorded scenarios) and the rule
    drivers of the true sessions (sessions either simulation leaves out are dropped: index kept)."""

    rng = np.random.default_rng(seed + 6007)
    tables, drivers = [], []
    for start in range(0, len(recorded), SIM_CHUNK):
        rec, true = recorded[start : start + SIM_CHUNK], true_sessions[start : start + SIM_CHUNK]
        b_true, b_rec = simulate_batch(true), simulate_batch(rec)
        index = np.arange(start, start + len(rec))
        signals = measured_signals(b_true.t_min, b_true.signals, b_rec.signals, rng)
        tab = input_table(b_true.t_min, signals, rec).set_axis(index)
        drv = rule_drivers(b_true.t_min, b_true.signals).set_axis(index)
        ok = ~(np.asarray(b_true.failed, bool) | np.asarray(b_rec.failed, bool))
        tables.append(tab[ok])
        drivers.append(drv[ok])
    return pd.concat(tables), pd.concat(drivers)


def rule_logit(rule: str, table: pd.DataFrame, drivers: pd.DataFrame) -> np.ndarray:
    """Session log-odds of cramp under ``rule`` from its driver, before the cramp-rate intercept."""
    if rule == "prior":
        return prior_logit(table[PRIOR_COLUMN].to_numpy(float))
    column = {"sodium": "na_fall_mmol_l", "magnesium": "mg_min_mmol_l", "potassium": "k_fall_mmol_l"}[rule]
    x = drivers[column].to_numpy(float) * (-1.0 if rule == "magnesium" else 1.0)
    return RULE_SLOPE * (x - np.nanmean(x)) / np.nanstd(x)


def virtual_unit(
    rule: str, n_patients: int, sessions_per_patient: int, seed: int = 0, *, measured: bool = True
) -> VirtualUnit:
    """Simulate a unit and draw its cramps under ``rule`` (one of :data:`RULES`). ``measured``: the model
    sees what the unit records, the rule has an unmeasured part and reports are missed (module docstring);
    ``measured=False`` gives the idealised unit (noise-free signals, exact labs, every cramp reported, no
    unmeasured part)."""
    if rule not in RULES:
        raise ValueError(f"rule: {rule!r} is not one of {', '.join(RULES)}")
    truth = unit_scenarios(n_patients, sessions_per_patient, seed)
    rng = np.random.default_rng(seed + 104729)
    if measured:
        recorded, true_sessions = recorded_scenarios(truth, seed)
        table, drivers = measured_unit(recorded, true_sessions, seed)
    else:
        recorded = truth
        table, drivers = simulate_unit(truth)
    patients = np.array([recorded[i].patient.id for i in table.index])
    driver = rule_logit(rule, table, drivers)
    hidden = HIDDEN_SLOPE * rng.normal(0.0, 1.0, len(driver)) if measured else np.zeros(len(driver))
    eta = driver + hidden
    shift = 0.0
    if rule != "prior" or measured:  # intercept for the target rate of true cramps
        shift = brentq(lambda b: expit(eta + b).mean() - TARGET_CRAMP_RATE, -20.0, 20.0)
    ids, inverse = np.unique(patients, return_inverse=True)
    effect = rng.normal(0.0, PATIENT_SD, len(ids))[inverse]
    true_cramp = (rng.random(len(eta)) < expit(eta + shift + effect)).astype(int)
    missed = rng.random(len(eta)) < (MISSED_REPORT_RATE if measured else 0.0)
    return VirtualUnit(
        rule=rule,
        table=table.reset_index(drop=True),
        cramp=true_cramp * ~missed,
        patient_ids=patients,
        rule_risk=expit(eta + shift),
        driver_risk=expit(driver + shift),
        true_cramp=true_cramp,
    )
