"""Virtual patients with known physiology, recorded like machine exports (for recovery checks and demos).

A patient is drawn from :func:`crampwatch.population.virtual_population`; each of their sessions has its own
interdialytic gain (UF goal), pre-dialysis SBP and Na and a small day-to-day variation of the refill
capacity. The true sessions are simulated and then sampled as a dialysis machine exports them: RBV every
5 min (noise SD 0.5 %-points, 0.1 % resolution), SBP every 30 min (noise SD 8 mmHg, whole mmHg). With a
critical RBV, cramps follow the first fall below it in most sessions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from crampwatch.population import draw_na_set_point_mmol_l, virtual_population
from crampwatch.signals import RBV_PCT, SBP_MMHG
from crampwatch.simulator import simulate_batch
from crampwatch.trace import Trace, empty_events
from crampwatch.twin.fit import apply_multipliers
from crampwatch.twin.priors import NAMES
from crampwatch.twin.sessions import SessionRecord

RBV_EVERY_MIN = 5.0
BP_EVERY_MIN = 30.0
RBV_NOISE_SD = 0.5
BP_NOISE_SD = 8.0
#: Day-to-day log-SD of the refill capacity within one patient (modelling choice).
REFILL_DAY_LOG_SD = 0.1
#: Probability of a cramp in a session whose RBV fell below the critical value, and otherwise.
P_CRAMP_BELOW, P_CRAMP_ABOVE = 0.8, 0.1


def virtual_sessions(
    truth: Mapping[str, float],
    n_sessions: int,
    *,
    seed: int = 0,
    rbv: bool = True,
    critical_rbv_pct: float | None = None,
    patient_index: int = 0,
) -> list[SessionRecord]:
    """``n_sessions`` recorded sessions of one virtual patient whose multipliers are ``truth`` (names of
    :data:`crampwatch.twin.priors.NAMES`, default 1). ``rbv=False`` records BP only."""
    rng = np.random.default_rng([seed, patient_index])
    base = virtual_population(1, seed=seed * 1000 + patient_index)[0]
    p = base.patient
    theta = np.array([float(truth.get(name, 1.0)) for name in NAMES])
    gain = max(1.0, p.pre_weight_kg - p.dry_weight_kg)
    sbp0 = float(np.clip(rng.normal(150.0, 15.0), 110.0, 190.0))
    na0 = float(draw_na_set_point_mmol_l(rng))
    fitted_view, true_view = [], []
    for _ in range(n_sessions):
        uf = float(np.clip(gain * np.exp(rng.normal(0.0, 0.25)), 0.8, 0.06 * p.dry_weight_kg))
        labs = p.labs.model_copy(
            update={"na_mmol_l": round(float(np.clip(rng.normal(na0, 1.5), 125, 150)), 1)}
        )
        day = p.model_copy(
            update={
                "id": f"VT{seed}-{patient_index}",
                "pre_weight_kg": round(p.dry_weight_kg + uf, 1),
                "labs": labs,
                "pre_sbp_mmhg": None,
            }
        )
        rx = base.prescription.model_copy(update={"uf_volume_l": round(uf, 2)})
        sc = base.model_copy(update={"patient": day, "prescription": rx})
        fitted_view.append(sc)
        day_theta = theta * np.array([np.exp(rng.normal(0.0, REFILL_DAY_LOG_SD)), 1.0, 1.0])
        pre_sbp = float(np.clip(rng.normal(sbp0, 8.0), 90.0, 220.0))
        true_sc = apply_multipliers(sc, day_theta)
        true_view.append(
            true_sc.model_copy(
                update={"patient": true_sc.patient.model_copy(update={"pre_sbp_mmhg": pre_sbp})}
            )
        )
    batch = simulate_batch(true_view, record_every_min=1.0)
    records = []
    for k, sc in enumerate(fitted_view):
        records.append(
            _record(batch, k, sc, rng, rbv, critical_rbv_pct, f"VT{seed}-{patient_index}-S{k + 1:02d}")
        )
    return records


def _record(batch, k, sc, rng, rbv, critical_rbv_pct, sid) -> SessionRecord:
    dur = sc.prescription.duration_min
    t = batch.t_min
    grid = np.union1d(np.arange(0.0, dur + 1e-9, RBV_EVERY_MIN if rbv else BP_EVERY_MIN), [dur])
    data = {"t_min": grid}
    true_rbv = np.interp(grid, t, batch.signals[RBV_PCT][k])
    if rbv:
        data[RBV_PCT] = np.round(true_rbv + rng.normal(0.0, RBV_NOISE_SD, grid.size), 1)
        data[RBV_PCT][0] = 100.0
    sbp = np.interp(grid, t, batch.signals[SBP_MMHG][k]) + rng.normal(0.0, BP_NOISE_SD, grid.size)
    on_bp = np.isclose(np.mod(grid, BP_EVERY_MIN), 0.0) | np.isclose(grid, dur)
    data[SBP_MMHG] = np.where(on_bp, np.round(sbp), np.nan)
    trace = Trace(pd.DataFrame(data), sources=dict.fromkeys([c for c in data if c != "t_min"], "measured"))
    trace.session_id = sid
    events = empty_events()
    cramp_t = None
    if critical_rbv_pct is not None:
        below = np.flatnonzero(batch.signals[RBV_PCT][k] < critical_rbv_pct)
        if below.size and rng.random() < P_CRAMP_BELOW:
            cramp_t = min(float(t[below[0]]) + 5.0, dur)
        elif not below.size and rng.random() < P_CRAMP_ABOVE:
            cramp_t = float(rng.uniform(60.0, dur))
    if cramp_t is not None:
        events = pd.DataFrame([{"t_min": cramp_t, "kind": "cramp", "severity": 5, "note": "calf"}])
    return SessionRecord(scenario=sc, trace=trace, events=events, session_id=sid)
