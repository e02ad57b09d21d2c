"""The virtual cohort of ``benchmarks/warning.py``: patients with recorded history sessions (their twins are
fitted from them) and held-out sessions streamed minute by minute, with cramps drawn from a known rule.

Patients: ``crampwatch.population.virtual_population`` draws (as in ``crampwatch.twin.virtual``), each
with its true refill capacity and vascular reserve (the population draw), blood volume (log-normal, sigma
0.12 around Nadler's value), a critical RBV (normal 89 +- 2 %, 84-93; the mean is the analyzer's 88 % + 1)
and a plasma-Na fall that triggers cramps (3 mmol/L). History: ``virtual_sessions`` (8 sessions, RBV every
5 min, SBP every 30 min, cramps after the first fall below the critical RBV), the twin is ``fit_twin`` of
them.

Streamed sessions (the held-out data): a new day of the same patient (interdialytic gain, pre-dialysis SBP
and Na drawn around the patient's own, day-to-day refill variation 10 %); one session in four runs a low
dialysate Na (5-8 mmol/L below the plasma Na). The truth is simulated minute by minute; the machine stream
has RBV every minute (noise SD 0.5 %-points, 0.1 resolution), UF rate and conductivity every minute, SBP
every 15 min (noise SD 8 mmHg).

Cramps (the benchmark's truth, a modelling choice independent of the analyzer's scores): 5 min after the
true RBV first falls below the patient's critical RBV with probability 0.8 (the rule of
``crampwatch.twin.virtual``); 5 min after the true plasma Na has fallen 3 mmol/L with probability 0.7
(osmotic); otherwise with probability 0.1 at a uniform time after the first hour (no mechanism: it cannot
be predicted). The first cramp of a session counts.

Mismatch arm (physiology the engine does not know): refill capacity falling linearly to half by the end of
the session (another refill law), RBV noise SD 1.0 with 2 % spikes of +-4 points, 15 % of RBV samples and
one 15-min stretch missing, SBP every 30 min with noise SD 12 mmHg, and a scenario whose dry and pre-dialysis
weights are 1.5 kg too high and whose albumin is 0.4 g/dL too high.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crampwatch.model import Scenario
from crampwatch.physiology.model import OUTPUTS
from crampwatch.population import virtual_population
from crampwatch.simulator import patient_parameters, session_controls, simulate_batch
from crampwatch.simulator.stepping import StepControls, advance, parameter_table, start_states, substeps
from crampwatch.twin import PatientTwin, fit_twin
from crampwatch.twin.fit import apply_multipliers
from crampwatch.twin.sessions import SessionRecord
from crampwatch.twin.virtual import REFILL_DAY_LOG_SD, virtual_sessions
from crampwatch.units import na_to_conductivity_ms_cm

HISTORY_SESSIONS = 8
CRIT_RBV_MEAN, CRIT_RBV_SD, CRIT_RBV_RANGE = 89.0, 2.0, (84.0, 93.0)
NA_FALL_MMOL_L = 3.0
P_HYPO, P_OSMO, P_OTHER = 0.8, 0.7, 0.1
CRAMP_DELAY_MIN = 5.0
LOW_NA_SHARE, LOW_NA_BELOW = 0.25, (5.0, 8.0)
RBV_SD, SBP_SD, SBP_EVERY = 0.5, 8.0, 15
MISMATCH = {
    "rbv_sd": 1.0,
    "spike_share": 0.02,
    "spike_pct": 4.0,
    "rbv_missing": 0.15,
    "gap_min": 15,
    "sbp_sd": 12.0,
    "sbp_every": 30,
    "weight_kg": 1.5,
    "albumin_g_dl": 0.4,
    "refill_end_fraction": 0.5,
}


@dataclass
class Patient:
    index: int
    truth: dict[str, float]
    crit_rbv_pct: float
    history: list[SessionRecord]
    twin: PatientTwin


@dataclass
class Session:
    """A streamed session: what the engine is told (``view``), the stream, the truth and the cramp."""

    patient: int
    key: str
    view: Scenario
    duration_min: float
    stream: list[tuple[float, dict[str, float]]]
    true_rbv: np.ndarray
    true_sbp: np.ndarray
    cramp_t: float | None
    cramp_cause: str | None
    low_na: bool = False
    extra: dict = field(default_factory=dict)


def make_patients(n: int, seed: int, first_index: int = 0) -> list[Patient]:
    rng = np.random.default_rng([seed, 1, first_index])
    out = []
    for i in range(first_index, first_index + n):
        base = virtual_population(1, seed=seed * 1000 + i)[0].patient
        truth = {
            "refill_capacity": float(base.refill_capacity),
            "vascular_reserve": float(base.baroreflex_strength),
            "blood_volume": float(np.clip(np.exp(rng.normal(0.0, 0.12)), 0.7, 1.4)),
        }
        crit = float(np.clip(rng.normal(CRIT_RBV_MEAN, CRIT_RBV_SD), *CRIT_RBV_RANGE))
        history = virtual_sessions(truth, HISTORY_SESSIONS, seed=seed, critical_rbv_pct=crit, patient_index=i)
        out.append(Patient(i, truth, crit, history, fit_twin(history)))
    return out


def _day(p: Patient, rng: np.random.Generator, low_na: bool) -> tuple[Scenario, Scenario]:
    """(engine's view, truth) of a new session day of patient ``p``."""
    last = p.history[-1].scenario
    pat = last.patient
    na_hist = np.mean([r.scenario.patient.labs.na_mmol_l for r in p.history])
    gains = [r.scenario.prescription.uf_volume_l for r in p.history]
    uf = float(np.clip(np.mean(gains) * np.exp(rng.normal(0.0, 0.25)), 0.8, 0.06 * pat.dry_weight_kg))
    na = round(float(np.clip(rng.normal(na_hist, 1.5), 125, 150)), 1)
    labs = pat.labs.model_copy(update={"na_mmol_l": na})
    day = pat.model_copy(update={"pre_weight_kg": round(pat.dry_weight_kg + uf, 1), "labs": labs})
    rx = last.prescription.model_copy(update={"uf_volume_l": round(uf, 2)})
    if low_na:
        dial_na = float(np.clip(round(na - rng.uniform(*LOW_NA_BELOW)), 130.0, 145.0))
        rx = rx.model_copy(update={"dialysate": rx.dialysate.model_copy(update={"na_mmol_l": dial_na})})
    view = last.model_copy(update={"patient": day, "prescription": rx})
    theta = np.array([p.truth[k] for k in ("refill_capacity", "vascular_reserve", "blood_volume")])
    theta[0] *= np.exp(rng.normal(0.0, REFILL_DAY_LOG_SD))
    sbp_hist = [r.trace.data["sbp_mmhg"].dropna().iloc[0] for r in p.history]
    pre_sbp = float(np.clip(np.mean(sbp_hist) + rng.normal(0.0, 8.0), 90.0, 220.0))
    truth = apply_multipliers(view, theta)
    truth = truth.model_copy(update={"patient": truth.patient.model_copy(update={"pre_sbp_mmhg": pre_sbp})})
    return view, truth


def _mismatched_view(view: Scenario) -> Scenario:
    pat = view.patient
    w = MISMATCH["weight_kg"]
    labs = pat.labs.model_copy(
        update={"albumin_g_dl": round(pat.labs.resolved()[0]["albumin_g_dl"] + 0.4, 2)}
    )
    pat = pat.model_copy(
        update={"dry_weight_kg": pat.dry_weight_kg + w, "pre_weight_kg": pat.pre_weight_kg + w, "labs": labs}
    )
    return view.model_copy(update={"patient": pat})


def _simulate_truth(truths: list[Scenario], mismatch: bool) -> dict[str, np.ndarray]:
    """True signals per minute [n, minutes] (the mismatch arm's refill capacity falls during the session)."""
    if not mismatch:
        b = simulate_batch(truths, record_every_min=1.0)
        return {k: b.signals[k] for k in ("rbv_pct", "sbp_mmhg", "plasma_na_mmol_l", "uf_rate_ml_h")}
    params = patient_parameters(truths)
    ctrl = session_controls(truths, 1.0)
    on, qf, na, dif = ctrl.block()
    table = parameter_table(params)
    y, s = start_states(params)
    kf0 = table["kf"].copy()
    dur = ctrl.duration_min
    rows = []
    for k in range(ctrl.n_steps):
        frac = 1.0 - (1.0 - MISMATCH["refill_end_fraction"]) * np.minimum(k / dur, 1.0)
        table["kf"] = kf0 * frac
        c = StepControls(on[k : k + 1].T, qf[k : k + 1].T, na[k : k + 1].T, dif[k : k + 1].T,
                         np.stack([on[k], qf[k], na[k], dif[k]]))  # fmt: skip
        out = advance(table, y, s, np.ones(1), c, substeps(table, 1.0))
        rows.append(out[:, 0])
    rows.append(out[:, 1])
    x = np.stack(rows, axis=1)
    t = np.arange(x.shape[1])
    x[t[None, :] > dur[:, None]] = np.nan
    return {k: x[:, :, OUTPUTS.index(k)] for k in ("rbv_pct", "sbp_mmhg", "plasma_na_mmol_l", "uf_rate_ml_h")}


def _cramp(rbv, na, dur, crit, rng) -> tuple[float | None, str | None]:
    times = []
    below = np.flatnonzero(rbv[: int(dur) + 1] < crit)
    if below.size and rng.random() < P_HYPO:
        times.append((float(below[0]) + CRAMP_DELAY_MIN, "hypovolemia"))
    fall = np.flatnonzero(na[0] - na[: int(dur) + 1] >= NA_FALL_MMOL_L)
    if fall.size and rng.random() < P_OSMO:
        times.append((float(fall[0]) + CRAMP_DELAY_MIN, "osmotic"))
    times = [(t, c) for t, c in times if t <= dur]
    if not times and rng.random() < P_OTHER:
        times.append((float(rng.uniform(60.0, dur)), "other"))
    if not times:
        return None, None
    return min(times)


def _stream(truth, k, view, dur, rng, mismatch) -> list[tuple[float, dict[str, float]]]:
    m = MISMATCH if mismatch else {}
    rbv_sd, sbp_sd = m.get("rbv_sd", RBV_SD), m.get("sbp_sd", SBP_SD)
    every = m.get("sbp_every", SBP_EVERY)
    gap0 = rng.uniform(30.0, dur - 30.0) if mismatch else -1.0
    cond = float(na_to_conductivity_ms_cm(view.prescription.dialysate.na_mmol_l))
    out = []
    for t in range(int(dur) + 1):
        values = {"uf_rate_ml_h": float(truth["uf_rate_ml_h"][k, t]), "conductivity_ms_cm": round(cond, 2)}
        rbv = truth["rbv_pct"][k, t] + rng.normal(0.0, rbv_sd)
        if mismatch and rng.random() < m["spike_share"]:
            rbv += rng.choice([-1.0, 1.0]) * m["spike_pct"]
        dropped = mismatch and (rng.random() < m["rbv_missing"] or gap0 <= t < gap0 + m["gap_min"])
        if not dropped:
            values["rbv_pct"] = round(float(np.clip(rbv, 50.0, 130.0)), 1)
        if t % every == 0:
            values["sbp_mmhg"] = float(round(truth["sbp_mmhg"][k, t] + rng.normal(0.0, sbp_sd)))
        out.append((float(t), values))
    return out


def make_sessions(
    patients: list[Patient], per_patient: int, seed: int, mismatch: bool = False
) -> list[Session]:
    rng = np.random.default_rng([seed, 2, int(mismatch)])
    days = []
    for p in patients:
        for j in range(per_patient):
            low = rng.random() < LOW_NA_SHARE
            view, truth = _day(p, rng, low)
            days.append((p, j, low, view, truth))
    truth = _simulate_truth([d[4] for d in days], mismatch)
    sessions = []
    for k, (p, j, low, view, _) in enumerate(days):
        dur = float(view.prescription.duration_min)
        cramp_t, cause = _cramp(truth["rbv_pct"][k], truth["plasma_na_mmol_l"][k], dur, p.crit_rbv_pct, rng)
        shown = _mismatched_view(view) if mismatch else view
        sessions.append(
            Session(
                p.index, f"P{p.index}-D{j}", shown, dur, _stream(truth, k, view, dur, rng, mismatch),
                truth["rbv_pct"][k, : int(dur) + 1].copy(), truth["sbp_mmhg"][k, : int(dur) + 1].copy(),
                cramp_t, cause, low,
            )
        )  # fmt: skip
    return sessions
