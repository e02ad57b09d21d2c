"""The cramp risk within the next 30 minutes: the analyzer's risk (or the unit model's) of the forecast.

The analyzer scores a session's trace; here each member's trace is its filtered course so far (one point every
:data:`HISTORY_EVERY_MIN` minutes and now) followed by its forecast. Scored on the session so far, the
analyzer's risk ``R(tau)`` grows as the signals show more (a fall in RBV or BP, a fall in plasma Na); on the
trace before any signal, ``R(0)`` is the risk from the patient and prescription alone. Read as the chance of a
cramp by ``tau`` -- the context's share spread evenly over the session, the signals' share added when they
show it -- the cumulative hazard is

    ``Lambda(tau) = (tau / D) Lambda(0) + [-ln(1 - R(tau))] - [-ln(1 - R(0))]``, ``Lambda(0) = -ln(1 - R(0))``

(``D`` the prescribed duration); at the end of the session it is exactly the analyzer's session risk. The
risk of a cramp within ``h = min(30, D - t)`` minutes is ``1 - exp(-(Lambda(t + h) - Lambda(t)))`` per member
(a negative change of the signals' part counts as none), averaged over the members. With a unit model
(``crampwatch calibrate``) its risk takes the place of the analyzer's, as in ``analyze --calibration``.

The analyzer's noisy-OR splits ``-ln(1 - R)`` into one term per cause, so the same formula gives each cause's
part of the window's hazard; the leading cause is the largest. Scored signals are physiological (RBV,
blood pressure, plasma Na, ionized Ca, Mg, bicarbonate, the brain-plasma osmotic gradient); the prescription
(UF rate, dialysate Na, dose) enters as the analyzer's context, so the dose of an unfinished session is never
mistaken for underdialysis.
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

#: Minutes between the points of each member's filtered course kept for scoring (modelling choice: the
#: analyzer's features are minima, values near 1-3 h and slopes, which a 5-min grid keeps).
HISTORY_EVERY_MIN = 5.0
#: The risk window, minutes.
RISK_WINDOW_MIN = 30.0
#: Signals of the scored traces.
SCORED_SIGNALS: tuple[str, ...] = (
    "rbv_pct",
    "sbp_mmhg",
    "map_mmhg",
    "plasma_na_mmol_l",
    "ica_mmol_l",
    "mg_mmol_l",
    "hco3_mmol_l",
    "brain_osm_gradient_mosm_kg",
)
_COLUMNS = np.array([OUTPUTS.index(name) for name in SCORED_SIGNALS])
_J_SBP = SCORED_SIGNALS.index("sbp_mmhg")
_J_MAP = SCORED_SIGNALS.index("map_mmhg")
_WEIGHTS = np.array([RISK_WEIGHTS[c] for c in CAUSES])


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


def window_risk(now: Hazards, ahead: Hazards, start: Hazards, fraction: float) -> WindowRisk:
    """Risk within a window that covers ``fraction`` of the session, from the hazards of the traces up to
    now, up to the window's end, and at the start (rows: members)."""
    signal_part = np.maximum(ahead.total - now.total, 0.0)
    hazard = fraction * start.total + signal_part
    members = -np.expm1(-hazard)
    causes = fraction * start.causes + np.maximum(ahead.causes - now.causes, 0.0)
    return WindowRisk(float(np.mean(members)), members, causes.mean(axis=0))
