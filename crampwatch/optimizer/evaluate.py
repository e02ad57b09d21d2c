"""Scoring a batch of candidate scenarios with the session simulator and the cause analyzer.

One call simulates every scenario with :func:`crampwatch.simulator.simulate_batch`, scores the batch with
:func:`crampwatch.causes.score_batch`, and derives the delivered dose from the simulated plasma urea:
spKt/V by Daugirdas' second-generation formula (Daugirdas JT, JASN 1993;4:1205) and URR (KDOQI 2006 CPG 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from crampwatch.causes import score_batch
from crampwatch.causes.context import context_from_columns
from crampwatch.errors import InputError
from crampwatch.kinetics import sp_ktv_daugirdas_array
from crampwatch.model import Scenario
from crampwatch.physiology.derive import ParameterArrays, patient_parameters
from crampwatch.quantities import post_weight_kg_array
from crampwatch.scenario_table import Columns, scenario_columns, take
from crampwatch.series import first_valid, last_valid
from crampwatch.signals import UF_CUM_L, UREA_MMOL_L
from crampwatch.simulator import session_controls, simulate_parameters
from crampwatch.trace import Trace


@dataclass(frozen=True)
class Evaluation:
    """Per-scenario outcome arrays (length n) of one evaluated batch."""

    risk: np.ndarray
    idh_risk: np.ndarray
    causes: dict[str, np.ndarray]
    sp_ktv: np.ndarray
    urr_pct: np.ndarray
    uf_l: np.ndarray
    duration_min: np.ndarray
    trace: Callable[[int], Trace | None] | None = field(default=None, repr=False)
    #: Row -> reason, for scenarios that could not be evaluated (their outcome values are NaN).
    errors: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.risk)


#: Anything that turns scenarios (and optional per-scenario body-water multipliers, keyword
#: ``volume_scale``) into an :class:`Evaluation`; the real one is :class:`SimulatorEvaluator`.
Evaluator = Callable[..., Evaluation]


def _first_last_finite(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last valid value of each row (NaN where a row has none)."""
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan), np.full(x.shape[0], np.nan)
    steps = np.arange(x.shape[1], dtype=float)
    return first_valid(x, steps)[0], last_valid(x, steps)[0]


def dose_from_urea(
    urea_mmol_l: np.ndarray, duration_min: np.ndarray, uf_l: np.ndarray, pre_weight_kg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """spKt/V (Daugirdas II) and URR (%) per row from simulated plasma urea ``[n, steps]``.

    ``spKt/V = -ln(R - 0.008 t) + (4 - 3.5 R) UF / W`` with R = post/pre urea, t in hours, UF in L and W the
    post-dialysis weight (Daugirdas 1993). Rows where the formula is undefined give NaN.
    """
    pre, post = _first_last_finite(np.asarray(urea_mmol_l, dtype=float))
    # Urea and BUN differ by a constant factor, so the ratio is the same in either unit.
    with np.errstate(invalid="ignore", divide="ignore"):
        r = post / pre
        t_h = np.asarray(duration_min, dtype=float) / 60.0
        w_post = post_weight_kg_array(pre_weight_kg, np.asarray(uf_l, dtype=float))
        sp = np.where(r > 0, sp_ktv_daugirdas_array(r, t_h, uf_l, w_post), np.nan)
        urr = 100.0 * (1.0 - r)
    return sp, urr


def simulator_rejection(scenario: Scenario) -> str | None:
    """The simulator's one-line reason for refusing ``scenario`` (e.g. an impossible UF), or ``None``."""
    try:
        patient_parameters([scenario])
    except InputError as exc:
        return exc.message
    return None


def _checked_parameters(scenarios: list[Scenario], scale: np.ndarray, cols: Columns) -> ParameterArrays:
    """Parameters with scaled body water, after the simulator's own checks at the entered body water
    (``cols``: the scenario table of ``scenarios``)."""
    # raises InputError for what the simulator refuses (checked at the entered body water)
    return patient_parameters(scenarios, tbw_scale=None if np.all(scale == 1.0) else scale, columns=cols)


class SimulatorEvaluator:
    """The real evaluator: batch simulation (optionally with scaled body water) plus the analyzer's scores.

    Scenarios the simulator refuses (its physical UF limits) are left out of the batch; their outcome is
    NaN and ``Evaluation.errors`` holds the reason.
    """

    def __init__(
        self, record_every_min: float = 1.0, risk_model: Callable | None = None, workers: int = 1
    ) -> None:
        self.record_every_min = record_every_min
        #: ``risk_model(t_min, signals, scenarios)`` replaces the analyzer's overall risk (a unit model).
        self.risk_model = risk_model
        #: Threads of the compiled simulation kernel (:func:`crampwatch.simulator.simulate_parameters`).
        self.workers = workers

    def __call__(self, scenarios: Sequence[Scenario], volume_scale: np.ndarray | None = None) -> Evaluation:
        scenarios = list(scenarios)
        n = len(scenarios)
        scale = np.ones(n) if volume_scale is None else np.asarray(volume_scale, dtype=float)
        cols = scenario_columns(scenarios)  # one table for the parameters and the analyzer's context
        kept = scenarios
        try:
            params = _checked_parameters(scenarios, scale, cols)
            keep = np.arange(n)
            errors: dict[int, str] = {}
        except InputError:
            reasons = [simulator_rejection(s) for s in scenarios]
            errors = {i: r for i, r in enumerate(reasons) if r is not None}
            keep = np.array([i for i in range(n) if i not in errors], dtype=int)
            cols = take(cols, keep)
            kept = [scenarios[i] for i in keep]
            params = _checked_parameters(kept, scale[keep], cols) if len(keep) else None
        out = _empty(n, errors)
        if params is not None:
            out = self._fill(out, kept, keep, params, cols)
        return out

    def _fill(
        self,
        out: Evaluation,
        scenarios: list[Scenario],
        keep: np.ndarray,
        params: ParameterArrays,
        cols: Columns,
    ) -> Evaluation:
        ctrl = session_controls(scenarios, min(1.0, self.record_every_min))
        batch = simulate_parameters(
            params,
            ctrl,
            record_every_min=self.record_every_min,
            keep_states=False,
            dose_summary=False,
            workers=self.workers,
        )
        batch = replace(batch, session_ids=[s.patient.id for s in scenarios])
        signals = batch.signals
        scores = score_batch(batch.t_min, signals, context_from_columns(cols))
        _, uf_l = _first_last_finite(np.asarray(signals[UF_CUM_L], dtype=float))
        duration = np.asarray(batch.duration_min, dtype=float)
        pre_w = np.array([s.patient.pre_weight_kg for s in scenarios], dtype=float)
        sp, urr = dose_from_urea(signals[UREA_MMOL_L], duration, np.nan_to_num(uf_l), pre_w)
        risk = scores["overall_risk"]
        if self.risk_model is not None:
            risk = self.risk_model(batch.t_min, signals, scenarios)
        out.risk[keep] = np.asarray(risk, dtype=float)
        out.idh_risk[keep] = np.asarray(scores["idh_risk"], dtype=float)
        for k, v in scores.items():
            if k not in ("overall_risk", "idh_risk"):
                out.causes.setdefault(k, np.full(len(out), np.nan))[keep] = np.asarray(v, dtype=float)
        out.sp_ktv[keep], out.urr_pct[keep], out.uf_l[keep], out.duration_min[keep] = sp, urr, uf_l, duration
        position = {int(i): j for j, i in enumerate(keep)}
        return replace(out, trace=lambda i: batch.trace(position[i]) if i in position else None)


def _empty(n: int, errors: dict[int, str]) -> Evaluation:
    nan = np.full(n, np.nan)
    return Evaluation(
        risk=nan.copy(),
        idh_risk=nan.copy(),
        causes={},
        sp_ktv=nan.copy(),
        urr_pct=nan.copy(),
        uf_l=nan.copy(),
        duration_min=nan.copy(),
        errors=errors,
    )
