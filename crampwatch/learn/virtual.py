"""Virtual dialysis units whose cramps follow a known rule: the test bed of the unit model.

Each unit has ``n_patients`` virtual patients (:func:`crampwatch.population.virtual_population`) with
``sessions_per_patient`` sessions each; sessions of a patient share the prescription and differ in weight
gain and pre-dialysis Na and Mg, as a patient's sessions do. Every session is simulated, its cramp
probability follows the unit's rule, and a cramp is drawn from it. A patient-level random effect on the
log-odds (``PATIENT_SD``) makes one patient's sessions correlated, as real ones are.

Rules (modelling choices; each tuned to a ~20 % cramp rate):

* ``prior``: the analyzer's overall risk is right;
* ``sodium``: cramps follow the fall of plasma Na during the session (log-odds rise 1.5 per SD of fall)
  and nothing else (a unit whose other mechanisms are well controlled);
* ``magnesium``: cramps follow the serum Mg nadir (log-odds rise 1.5 per SD of lower Mg) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from crampwatch.learn.fit import prior_logit
from crampwatch.learn.inputs import PRIOR_COLUMN, input_table
from crampwatch.model import Scenario, dump_scenario, parse_scenario
from crampwatch.population import virtual_population
from crampwatch.series import first_valid, last_valid, row_min
from crampwatch.signals import MG_MMOL_L, PLASMA_NA_MMOL_L

RULES = ("prior", "sodium", "magnesium")
#: Cramp rate the rules are tuned to (~20 % of sessions: cramps accompany about one session in five).
TARGET_CRAMP_RATE = 0.20
#: Log-odds per standard deviation of the rule's driver (modelling choice).
RULE_SLOPE = 1.5
#: SD of the patient random effect on the log-odds (modelling choice).
PATIENT_SD = 0.5
#: Sessions simulated at once (bounds memory: ~110 kB per session).
SIM_CHUNK = 2000


def unit_scenarios(n_patients: int, sessions_per_patient: int, seed: int = 0) -> list[Scenario]:
    """Scenarios of a unit: each patient's sessions in turn (patient ids repeat across their sessions)."""
    rng = np.random.default_rng(seed + 7919)
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
            session["labs"] = {
                **labs,
                "na_mmol_l": round(
                    float(np.clip(labs.get("na_mmol_l", 138.0) + rng.normal(0.0, 1.5), 126, 149)), 1
                ),
                "mg_mmol_l": round(
                    float(np.clip(labs.get("mg_mmol_l", 0.9) + rng.normal(0.0, 0.05), 0.5, 1.6)), 2
                ),
            }
            out.append(parse_scenario({"patient": session, "prescription": data["prescription"]}))
    return out


@dataclass
class VirtualUnit:
    """Input table, labels, patients and the rule's own risk (its AUROC is the ceiling) of a unit."""

    rule: str
    table: pd.DataFrame
    cramp: np.ndarray
    patient_ids: np.ndarray
    rule_risk: np.ndarray

    def ceiling_auroc(self, index: np.ndarray | None = None) -> float:
        """AUROC of the rule's session risk (without the unknowable patient effect) on the drawn cramps."""
        sel = slice(None) if index is None else index
        return float(roc_auc_score(self.cramp[sel], self.rule_risk[sel]))


def rule_drivers(t: np.ndarray, signals: dict[str, np.ndarray]) -> pd.DataFrame:
    """The rules' drivers of simulated sessions: plasma-Na fall and Mg nadir."""
    na0, _ = first_valid(signals[PLASMA_NA_MMOL_L], t)
    na1, _ = last_valid(signals[PLASMA_NA_MMOL_L], t)
    mg_min, _ = row_min(signals[MG_MMOL_L], t)
    return pd.DataFrame({"na_fall_mmol_l": na0 - na1, "mg_min_mmol_l": mg_min})


def simulate_unit(scenarios: list[Scenario]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Input table and rule drivers of every session (failed simulations dropped: index kept)."""
    from crampwatch.simulator import simulate_batch

    tables, drivers = [], []
    for start in range(0, len(scenarios), SIM_CHUNK):
        part = scenarios[start : start + SIM_CHUNK]
        batch = simulate_batch(part)
        index = np.arange(start, start + len(part))
        tab = input_table(batch.t_min, batch.signals, part).set_axis(index)
        drv = rule_drivers(batch.t_min, batch.signals).set_axis(index)
        ok = np.ones(len(part), bool) if batch.failed is None else ~np.asarray(batch.failed, bool)
        tables.append(tab[ok])
        drivers.append(drv[ok])
    return pd.concat(tables), pd.concat(drivers)


def rule_logit(rule: str, table: pd.DataFrame, drivers: pd.DataFrame) -> np.ndarray:
    """Session log-odds of cramp under ``rule``, before the cramp-rate intercept."""
    if rule == "prior":
        return prior_logit(table[PRIOR_COLUMN].to_numpy(float))
    x = drivers["na_fall_mmol_l"] if rule == "sodium" else -drivers["mg_min_mmol_l"]
    x = x.to_numpy(float)
    return RULE_SLOPE * (x - np.nanmean(x)) / np.nanstd(x)


def virtual_unit(rule: str, n_patients: int, sessions_per_patient: int, seed: int = 0) -> VirtualUnit:
    """Simulate a unit and draw its cramps under ``rule`` (one of :data:`RULES`)."""
    if rule not in RULES:
        raise ValueError(f"rule: {rule!r} is not one of {', '.join(RULES)}")
    scenarios = unit_scenarios(n_patients, sessions_per_patient, seed)
    table, drivers = simulate_unit(scenarios)
    patients = np.array([scenarios[i].patient.id for i in table.index])
    eta = rule_logit(rule, table, drivers)
    if rule != "prior":  # intercept for the target cramp rate
        shift = brentq(lambda b: expit(eta + b).mean() - TARGET_CRAMP_RATE, -20.0, 20.0)
        eta = eta + shift
    rng = np.random.default_rng(seed + 104729)
    ids, inverse = np.unique(patients, return_inverse=True)
    effect = rng.normal(0.0, PATIENT_SD, len(ids))[inverse]
    cramp = (rng.random(len(eta)) < expit(eta + effect)).astype(int)
    return VirtualUnit(
        rule=rule,
        table=table.reset_index(drop=True),
        cramp=cramp,
        patient_ids=patients,
        rule_risk=expit(eta),
    )
