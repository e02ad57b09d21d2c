"""The cramp risk within the next 30 minutes: the analyzer's risk (or the unit model's) of the forecast.

The analyzer scores whole sessions. Here each member's session is scored as the forecast says it stands:
its start (the pre-dialysis values), its forecast from now over the window ``h = min(30, D - t)``, and the
state the forecast reaches then, held to the end of the prescribed session ``D`` (points every
:data:`SCORE_EVERY_MIN` minutes). The analyzer's risk ``R`` of that session -- RBV against the patient's
critical value and the favourable ranges at 1, 2 and 3 h, the RBV slope over the session, BP falls,
plasma-Na falls, and the patient's and prescription's own risk (UF rate, weight gain, dialysate) -- is a
session's chance of a cramp; spread evenly over the session, the window's share is

    ``P(cramp within h) = 1 - exp(-(h / D) (-ln(1 - R)))``

per member, averaged over the members. The risk thus rises as the forecast state worsens (before the RBV
reaches the patient's critical value, not after) and falls again when the state recovers (a UF pause). With
a unit model (``crampwatch calibrate``) its risk replaces the analyzer's, as in ``analyze --calibration``.

The analyzer's noisy-OR splits ``-ln(1 - R)`` into one term per cause, so the same formula gives each
cause's part of the window's hazard; the leading cause is the largest. Scored signals are physiological
(RBV, blood pressure, plasma Na, ionized Ca, Mg, bicarbonate, the brain-plasma osmotic gradient); the
prescription (UF rate, dialysate Na, dose) enters as the analyzer's context, so the dose of an unfinished
session is never mistaken for underdialysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crampwatch.causes.context import Context
from crampwatch.causes.registry import CAUSES
from crampwatch.causes.scoring import RISK_SCORE_EXPONENT, RISK_WEIGHTS, evaluate
from crampwatch.learn import UnitModel
from crampwatch.learn.inputs import table_from_evaluation
from crampwatch.physiology.model import OUTPUTS
from crampwatch.signals import (
    BRAIN_OSM_GRADIENT_MOSM_KG,
    HCO3_MMOL_L,
    ICA_MMOL_L,
    MAP_MMHG,
    MG_MMOL_L,
    PLASMA_NA_MMOL_L,
    RBV_PCT,
    SBP_MMHG,
)

#: Minutes between the points of the scored traces (modelling choice: the analyzer's features are minima,
#: values near 1-3 h and slopes, which a 5-min grid keeps).
SCORE_EVERY_MIN = 5.0
#: The risk window, minutes.
RISK_WINDOW_MIN = 30.0
#: Signals of the scored traces.
SCORED_SIGNALS: tuple[str, ...] = (
    RBV_PCT,
    SBP_MMHG,
    MAP_MMHG,
    PLASMA_NA_MMOL_L,
    ICA_MMOL_L,
    MG_MMOL_L,
    HCO3_MMOL_L,
    BRAIN_OSM_GRADIENT_MOSM_KG,
)
_COLUMNS = np.array([OUTPUTS.index(name) for name in SCORED_SIGNALS])
_J_SBP = SCORED_SIGNALS.index(SBP_MMHG)
_J_MAP = SCORED_SIGNALS.index(MAP_MMHG)
_WEIGHTS = np.array([RISK_WEIGHTS[c] for c in CAUSES])


def state_grid(t: float, ahead_min: np.ndarray, duration_min: float) -> np.ndarray:
    """Times of the scored traces: the start (when ``t > 0``), now and the forecast points ``t + ahead_min``,
    then the history grid on to the end of the session."""
    last = t + (ahead_min[-1] if ahead_min.size else 0.0)
    step = SCORE_EVERY_MIN
    tail = np.arange(np.floor(last / step) * step + step, duration_min + 1e-9, step)
    if duration_min > last + 1e-9 and (tail.size == 0 or tail[-1] < duration_min - 1e-9):
        tail = np.append(tail, duration_min)
    head = [0.0] if t > 0 else []
    return np.concatenate([head, [t], t + ahead_min, tail])


def state_rows(start: np.ndarray, blocks: list[np.ndarray], width: int, t: float) -> np.ndarray:
    """Scored rows [members x blocks, width, signals]: the start values ``start`` [n, signals] (when ``t >
    0``), each forecast block [n, m, signals] (now first), then its last value held."""
    n = start.shape[0]
    rows = np.empty((n * len(blocks), width, start.shape[1]))
    k = 1 if t > 0 else 0
    for b, block in enumerate(blocks):
        r = rows[b * n : (b + 1) * n]
        if k:
            r[:, 0] = start
        m = block.shape[1]
        r[:, k : k + m] = block
        r[:, k + m :] = block[:, -1][:, None, :]
    return rows


def scored(outputs: np.ndarray, sbp_offset: np.ndarray) -> np.ndarray:
    """The scored signals of model outputs [n, K, N_OUTPUTS] -> [n, K, signals]; blood pressures carry each
    member's BP offset."""
    x = outputs[:, :, _COLUMNS].copy()
    x[:, :, _J_SBP] += sbp_offset[:, None]
    x[:, :, _J_MAP] += sbp_offset[:, None]
    return x


@dataclass(frozen=True)
class Hazards:
    """``-ln(1 - R)`` of each scored row [rows] and its per-cause terms [rows, causes]."""

    total: np.ndarray
    causes: np.ndarray


def session_hazards(
    t_min: np.ndarray, signals: np.ndarray, ctx: Context, unit_model: UnitModel | None
) -> Hazards:
    """Score rows of member traces (signals [rows, T, scored signals] on the grid ``t_min``, NaN = no
    sample) with the analyzer (``ctx``: the session's context, one row) or the unit model."""
    rows = signals.shape[0]
    named = {name: signals[:, :, j] for j, name in enumerate(SCORED_SIGNALS)}
    ev = evaluate(np.asarray(t_min, dtype=float), named, ctx.take(np.zeros(rows, dtype=int)))
    strength = np.column_stack([np.clip(ev.scores[c], 0.0, 1.0) for c in CAUSES]) ** RISK_SCORE_EXPONENT
    causes = -np.log1p(-_WEIGHTS[None, :] * strength)
    if unit_model is None or unit_model.uses_prior:
        total = causes.sum(axis=1)
    else:
        risk = np.clip(unit_model.risk(table_from_evaluation(ev)), 0.0, 1.0 - 1e-12)
        total = -np.log1p(-risk)
    return Hazards(total, causes)


@dataclass(frozen=True)
class WindowRisk:
    """Risk of a cramp within the window (mean over members), each member's risk, and each cause's part of
    the window's hazard (mean over members; same order as :data:`crampwatch.causes.registry.CAUSES`)."""

    risk: float
    members: np.ndarray
    cause_hazard: np.ndarray

    @property
    def leading_cause(self) -> str | None:
        k = int(np.argmax(self.cause_hazard))
        return CAUSES[k] if self.cause_hazard[k] > 0 else None


def window_risk(hz: Hazards, fraction: float) -> WindowRisk:
    """Risk within a window that covers ``fraction`` of the session, from the session hazards of the
    members' forecast traces."""
    members = -np.expm1(-fraction * hz.total)
    return WindowRisk(float(np.mean(members)), members, fraction * hz.causes.mean(axis=0))
