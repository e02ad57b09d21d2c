"""The live early-warning engine of one running session, and the batch path that updates many at once.

``LiveEngine(scenario, twin=..., unit_model=..., policy=..., seed=...)`` starts the filter's members at the
pre-dialysis state. ``observe(t_min, values)`` advances them to ``t_min`` under the machine settings seen so
far, takes the new settings, assimilates relative blood volume and systolic BP, forecasts the next hour,
scores the cramp risk of the next 30 minutes (:mod:`crampwatch.live.risk`), applies the alert policy and,
during a warning, simulates the actions for the leading cause. ``acknowledge`` changes the policy state
only. Everything is seeded: replaying the same calls in the same order gives the same updates (a restarted
service resumes a session that way). :func:`observe_many` updates many engines with one kernel call per
stage; each engine's result is the one its own ``observe`` gives. :func:`assimilate_many` only advances and
corrects the members (no forecast, risk or policy step): a service that is behind folds several observations
of one session into its next update that way without losing any of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from crampwatch.causes.context import build_context
from crampwatch.causes.ids import HYPOVOLEMIA
from crampwatch.causes.registry import CAUSES
from crampwatch.causes.thresholds import th
from crampwatch.learn import UnitModel
from crampwatch.live import forecast as fc
from crampwatch.live.actions import LiveAction, candidates
from crampwatch.live.ensemble import Ensemble, FilterSettings
from crampwatch.live.inputs import ASSIMILATED, Schedule, Settings, checked_time, checked_values
from crampwatch.live.policy import AlertPolicy, PolicyState, acknowledged, step
from crampwatch.live.risk import (
    RISK_WINDOW_MIN,
    SCORE_EVERY_MIN,
    Hazards,
    WindowRisk,
    scored,
    session_hazards,
    state_grid,
    state_rows,
    window_risk,
)
from crampwatch.live.update import ActionEffect, LiveUpdate
from crampwatch.model import Scenario
from crampwatch.physiology.model import OUTPUTS
from crampwatch.quantities import idh_nadir_sbp_threshold_mmhg_array
from crampwatch.signals import SBP_MMHG, UF_RATE_ML_H
from crampwatch.simulator.stepping import StepControls, advance, substeps
from crampwatch.twin import PatientTwin

_J_UF = OUTPUTS.index(UF_RATE_ML_H)


@dataclass(frozen=True)
class _Run:
    """One kernel run of an engine's members: which engine, the parameter table, state copies and controls."""

    table: np.ndarray
    y: np.ndarray
    s: np.ndarray
    steps: np.ndarray
    controls: StepControls


class LiveEngine:
    """The warning for one session (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        twin: PatientTwin | None = None,
        unit_model: UnitModel | None = None,
        policy: AlertPolicy | None = None,
        seed: int = 0,
        settings: FilterSettings | None = None,
    ) -> None:
        if twin is not None:
            twin.check_patient(scenario.patient)
        self.scenario = scenario
        self.twin = twin
        self.unit_model = unit_model
        self.policy = policy or AlertPolicy()
        personal = twin.personalize(scenario) if twin is not None else scenario
        self.context = build_context([personal])
        self.schedule = Schedule.of(scenario)
        self.ensemble = Ensemble(
            scenario, twin, settings or FilterSettings(), np.random.default_rng([seed, 19])
        )
        self.machine = Settings()
        self.t_now = 0.0
        self.first_sbp = scenario.patient.pre_sbp_mmhg
        self._policy_before = PolicyState()
        self._policy = PolicyState()
        self._policy_t: float | None = None
        self._acks_now: list[tuple[str, float]] = []
        self._fired_at: float | None = None
        self.last: LiveUpdate | None = None
        self._start = self._start_outputs()[:, 0]

    # ---------------------------------------------------------------------------------------- public

    def observe(self, t_min: float, values: Mapping[str, float]) -> LiveUpdate:
        """Assimilate the observations ``values`` (signal-registry names) at ``t_min`` and update the
        warning; only what was observed at or before ``t_min`` is used."""
        return observe_many([(self, t_min, values)])[0]

    def assimilate(self, t_min: float, values: Mapping[str, float]) -> None:
        """Take the observations ``values`` at ``t_min`` in without an update (:func:`assimilate_many`)."""
        assimilate_many([(self, t_min, values)])

    def acknowledge(self, t_min: float, reason: str, snooze_min: float = 0.0) -> LiveUpdate:
        """A nurse's acknowledgement with ``reason`` (and a snooze of ``snooze_min`` minutes); policy state
        only (storing and auditing it is the caller's job)."""
        t = checked_time(t_min, self.t_now)
        self._policy = acknowledged(self._policy, self.policy, t, reason, snooze_min)
        if self._policy_t is not None and abs(t - self._policy_t) < 1e-9:
            self._acks_now.append((reason, snooze_min))
        if self.last is None:
            self.last = self._empty_update()
        self.last = replace(self._with_policy(self.last), t_min=t)
        return self.last

    @property
    def members(self) -> int:
        return self.ensemble.n

    # ---------------------------------------------------------------------------------------- stages

    def _start_outputs(self) -> np.ndarray:
        run = self._forecast_run(0)
        return advance(run.table, run.y, run.s, run.steps, run.controls, substeps(run.table, 1.0))

    def _controls(self, minutes: np.ndarray, end_minute: float, settings: Settings) -> StepControls:
        now = settings.controls(self.schedule, np.floor(minutes))
        end = np.array(settings.controls(self.schedule, np.array([math.floor(end_minute)])))
        n = self.ensemble.n
        return StepControls(
            *(np.broadcast_to(x, (n, x.shape[0])) for x in now), end=np.repeat(end, n, axis=1)
        )

    def _advance_run(self, t: float) -> _Run:
        """The run from the last update to ``t`` under the settings seen so far (states advanced in place)."""
        inner = np.arange(math.floor(self.t_now) + 1, math.ceil(t))
        bounds = np.unique(np.concatenate([[self.t_now], inner[inner > self.t_now], [t]]))
        steps = np.diff(bounds) if bounds.size > 1 else np.empty(0)
        ens = self.ensemble
        ens.random_walk(t - self.t_now)
        return _Run(ens.table, ens.y, ens.s, steps, self._controls(bounds[:-1], t, self.machine))

    def _after_advance(self, t: float, out: np.ndarray, values: dict[str, float]) -> None:
        self.machine = self.machine.updated(t, values)
        self.t_now = t
        if SBP_MMHG in values and self.first_sbp is None:
            self.first_sbp = values[SBP_MMHG]
        observed = {name: (values[name], sd) for name, sd in ASSIMILATED.items() if name in values}
        self.ensemble.assimilate(out[:, -1], observed)

    def _forecast_run(self, horizon: int, action: LiveAction | None = None) -> _Run:
        ens = self.ensemble
        minutes = self.t_now + np.arange(horizon, dtype=float)
        c = self._controls(minutes, self.t_now + horizon, self.machine)
        table = ens.table
        if action is not None:
            on, qf, na = action.controls(c.on, c.qf_l_min, c.na_mmol_l, np.arange(horizon, dtype=float))
            c = StepControls(on, qf, na, c.dif, c.end)
            table = action.table(table)
        return _Run(table, ens.y.copy(), ens.s.copy(), np.ones(horizon), c)

    def _hazards(self, t_grid: np.ndarray, signals: np.ndarray) -> Hazards:
        return session_hazards(t_grid, signals, self.context, self.unit_model)

    def _window(self) -> tuple[float, int]:
        """The risk window now: (its share of the session, its length in whole forecast minutes)."""
        h = min(RISK_WINDOW_MIN, self.schedule.duration_min - self.t_now)
        if h <= 0:
            return 0.0, 0
        return h / self.schedule.duration_min, max(1, int(round(h)))

    def _ahead_points(self, k_h: int) -> np.ndarray:
        step = int(SCORE_EVERY_MIN)
        return np.array(sorted({*range(step, k_h, step), k_h})) if k_h > 0 else np.empty(0, dtype=int)

    def _risk(self, out: np.ndarray, extra: Sequence[np.ndarray] = ()) -> tuple[WindowRisk, list[WindowRisk]]:
        """The window risk of the forecast ``out`` and of each forecast in ``extra`` (the same members)."""
        fraction, k_h = self._window()
        n = self.ensemble.n
        if k_h == 0:  # the session has ended: no window left
            none = WindowRisk(0.0, np.zeros(n), np.zeros(len(CAUSES)))
            return none, [none for _ in extra]
        offset = self.ensemble.sbp_offset
        pts = np.concatenate([[0], self._ahead_points(k_h)])
        grid = state_grid(self.t_now, pts[1:].astype(float), self.schedule.duration_min)
        start = scored(self._start[:, None, :], offset)[:, 0]
        blocks = [scored(block[:, pts], offset) for block in (out, *extra)]
        hz = self._hazards(grid, state_rows(start, blocks, grid.size, self.t_now))
        risks = [
            window_risk(Hazards(hz.total[b * n : (b + 1) * n], hz.causes[b * n : (b + 1) * n]), fraction)
            for b in range(len(blocks))
        ]
        return risks[0], risks[1:]

    def _confirming_bp(self, values: dict[str, float], cause: str | None) -> bool:
        """A cuff SBP in ``values`` that confirms a hypovolemic forecast (the analyzer's fall criteria)."""
        sbp = values.get(SBP_MMHG)
        if sbp is None or cause != HYPOVOLEMIA or self.first_sbp is None:
            return False
        pre = np.array([self.first_sbp])
        fall = self.first_sbp - sbp >= th("idh_sbp_fall_mmhg")
        low = sbp < float(idh_nadir_sbp_threshold_mmhg_array(pre)[0]) + 5.0
        return bool(fall or low)

    def _policy_step(self, t: float, risk: float, confirming: bool) -> bool:
        """Advance the policy; several calls at one time count as one update (the state is recomputed from
        the one before that time, with that time's acknowledgements). Returns whether the alert fired now
        (reported once)."""
        if self._policy_t is None or t > self._policy_t + 1e-9:
            self._policy_before, self._policy_t, self._acks_now = self._policy, t, []
        state = step(self._policy_before, self.policy, t, risk, confirming)
        for reason, snooze in self._acks_now:
            state = acknowledged(state, self.policy, t, reason, snooze)
        self._policy = state
        fired = state.alerted and state.alert_t_min == t and self._fired_at != t
        if fired:
            self._fired_at = t
        return fired

    def _with_policy(self, u: LiveUpdate) -> LiveUpdate:
        p = self._policy
        return replace(
            u,
            level=p.level,
            episode_id=p.episode if p.in_episode else None,
            acknowledged=p.acknowledged if p.in_episode else False,
            acknowledgement_reason=p.ack_reason if p.in_episode else None,
            snoozed_until_min=p.snoozed_until_min if p.snoozed(u.t_min) else None,
            escalated=p.escalated if p.in_episode else False,
        )

    def _empty_update(self) -> LiveUpdate:
        return LiveUpdate(
            self.t_now, 0.0, "none", None, None, {}, risk_model=self._risk_model(), twin=self.twin is not None
        )

    def _risk_model(self) -> str:
        return "unit model" if self.unit_model is not None and not self.unit_model.uses_prior else "analyzer"

    def running_uf_ml_h(self, out: np.ndarray) -> float:
        """The UF rate the forecast runs at now, mL/h (member 0; the settings are shared)."""
        return float(out[0, 0, _J_UF])


def _run_all(runs: Sequence[_Run]) -> list[np.ndarray]:
    """Integrate several runs, one kernel call per distinct step sequence; returns each run's outputs."""
    results: list[np.ndarray | None] = [None] * len(runs)
    groups: dict[bytes, list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault(r.steps.tobytes(), []).append(i)
    for idx in groups.values():
        if len(idx) == 1:
            r = runs[idx[0]]
            results[idx[0]] = advance(r.table, r.y, r.s, r.steps, r.controls, substeps(r.table, 1.0))
            continue
        table = np.concatenate([runs[i].table for i in idx])
        y = np.concatenate([runs[i].y for i in idx], axis=1)
        s = np.concatenate([runs[i].s for i in idx])
        c = [runs[i].controls for i in idx]
        controls = StepControls(
            np.concatenate([x.on for x in c]),
            np.concatenate([x.qf_l_min for x in c]),
            np.concatenate([x.na_mmol_l for x in c]),
            np.concatenate([x.dif for x in c]),
            np.concatenate([x.end for x in c], axis=1),
        )
        out = advance(table, y, s, runs[idx[0]].steps, controls, substeps(table, 1.0))
        start = 0
        for i in idx:
            m = runs[i].table.shape[0]
            runs[i].y[:] = y[:, start : start + m]
            runs[i].s[:] = s[start : start + m]
            results[i] = out[start : start + m]
            start += m
    return results  # type: ignore[return-value]


def observe_many(calls: Sequence[tuple[LiveEngine, float, Mapping[str, float]]]) -> list[LiveUpdate]:
    """Update many engines (``(engine, t_min, values)`` each); an engine that appears several times is
    updated in order. The same result as calling each engine's ``observe`` in turn."""
    return _in_rounds(calls, _observe_round)


def assimilate_many(calls: Sequence[tuple[LiveEngine, float, Mapping[str, float]]]) -> None:
    """Advance many engines to their ``t_min`` and assimilate their ``values`` without forecasting, scoring
    or stepping the alert policy (in order for an engine that appears several times). An ``observe`` after
    it gives the forecast and risk that observing each call in turn would have given; the alert policy
    counts that one update only."""
    _in_rounds(calls, _assimilate_round)


def _in_rounds(calls: Sequence[tuple[LiveEngine, float, Mapping[str, float]]], run_round: Any) -> list[Any]:
    """``run_round`` over the calls, each engine at most once per round, in call order per engine."""
    results: list[Any] = [None] * len(calls)
    pending = list(range(len(calls)))
    while pending:
        seen: set[int] = set()
        batch, later = [], []
        for i in pending:
            (batch if id(calls[i][0]) not in seen else later).append(i)
            seen.add(id(calls[i][0]))
        for i, u in zip(batch, run_round([calls[i] for i in batch]), strict=True):
            results[i] = u
        pending = later
    return results


def _advanced(
    calls: Sequence[tuple[LiveEngine, float, Mapping[str, float]]],
) -> list[tuple[LiveEngine, float, dict[str, float]]]:
    """The calls checked (before any engine changes), their members advanced and corrected."""
    checked = [(e, checked_time(t, e.t_now), checked_values(v)) for e, t, v in calls]
    runs = [e._advance_run(t) for e, t, _ in checked]
    outs = _run_all(runs)
    for (e, t, v), out in zip(checked, outs, strict=True):
        e._after_advance(t, out, v)
    return checked


def _assimilate_round(calls: Sequence[tuple[LiveEngine, float, Mapping[str, float]]]) -> list[None]:
    _advanced(calls)
    return [None] * len(calls)


def _observe_round(calls: Sequence[tuple[LiveEngine, float, Mapping[str, float]]]) -> list[LiveUpdate]:
    checked = _advanced(calls)
    forecasts = _run_all([e._forecast_run(fc.FORECAST_MIN) for e, _, _ in checked])
    risks = []
    for (e, t, v), out in zip(checked, forecasts, strict=True):
        risk, _ = e._risk(out)
        confirming = e._confirming_bp(v, risk.leading_cause)
        fired = e._policy_step(t, risk.risk, confirming)
        risks.append((risk, fired, confirming))
    action_lists = [
        candidates(
            risk.leading_cause,
            e.scenario,
            e.running_uf_ml_h(out),
            e.machine.dialysate_temp_c or e.scenario.prescription.dialysate.temp_c,
        )
        if e._policy.level != "none"
        else []
        for (e, _, _), out, (risk, _, _) in zip(checked, forecasts, risks, strict=True)
    ]
    action_runs = [
        e._forecast_run(fc.FORECAST_MIN, a)
        for (e, _, _), acts in zip(checked, action_lists, strict=True)
        for a in acts
    ]
    action_outs = iter(_run_all(action_runs) if action_runs else [])
    updates = []
    for (e, t, _), out, (risk, fired, confirming), acts in zip(
        checked, forecasts, risks, action_lists, strict=True
    ):
        outs = [next(action_outs) for _ in acts]
        updates.append(_update(e, t, out, risk, (fired, confirming), acts, outs))
    return updates


def _update(
    e: LiveEngine,
    t: float,
    out: np.ndarray,
    risk: WindowRisk,
    flags: tuple[bool, bool],
    acts: list[LiveAction],
    outs: list[np.ndarray],
) -> LiveUpdate:
    _, k_h = e._window()
    k30 = int(RISK_WINDOW_MIN)
    offset = e.ensemble.sbp_offset
    action, effect = None, None
    if outs:
        _, risks = e._risk(out, outs)
        best = min(range(len(acts)), key=lambda k: (round(risks[k].risk, 6), k))
        action = acts[best].text
        effect = ActionEffect(risks[best].risk, fc.at_json(outs[best], offset, k30))
    warning = e._policy.level != "none"
    u = LiveUpdate(
        t_min=t,
        cramp_risk_30min=risk.risk,
        level=e._policy.level,
        cause=risk.leading_cause,
        action=action if warning else None,
        forecast_30min=fc.at_json(out, offset, k30),
        action_effect=effect if warning else None,
        new_alert=flags[0],
        confirming_bp=flags[1],
        forecast=tuple(fc.curve_json(t, out, offset)),
        risk_model=e._risk_model(),
        twin=e.twin is not None,
    )
    e.last = e._with_policy(u)
    return e.last
