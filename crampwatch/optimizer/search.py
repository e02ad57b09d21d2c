"""Prescription search: a structured lattice, combinations of the best moves, then local refinement and a
robust re-scoring of the finalists over a patient ensemble.

Every stage builds all its candidates first and scores them in ONE batch call of the evaluator (the batch
simulator plus the analyzer), so a recommendation costs three vectorized simulations:

1. the current prescription over the whole ensemble, together with the lattice scored for the patient as
   entered: every one-setting move away from the current prescription (projected into the allowed
   ranges) plus the joint grids session time x UF profile and time x Qb (and on a first session time x Qb
   x Qd), because time, profile and flows trade dose against UF rate. The current session's causes decide
   whether dialysate Ca may go above 1.50 mmol/L (candidates above it are dropped otherwise);
2. combinations: the cartesian product of the base value and the best two or three values of each group
   of settings (time/profile/flows, Na, Ca, Mg, bicarbonate, temperature), capped at ``MAX_COMBINATIONS``;
   When fluid removal is a cause (hypovolemia), the same batch holds free piecewise UF profiles (four
   equal parts, a scrambled Sobol design from scipy.stats.qmc) for the best lattice candidate's other
   settings;
3. the finalists (the best feasible candidates so far, at most six per set of changed settings) and
   the local refinements of the best four (finer time and Qb steps, +-0.1 on each part of a free UF
   profile; each change undone in turn, the minimal-change variant), each over the whole ensemble. The
   recommendations are the best of these by the ensemble objective, one per set of changed settings.

Objective (lower is better): ensemble-mean overall cramp risk, plus modelling-choice penalties that
prefer simple, minimal changes when risks nearly tie: 0.02 per changed setting, 0.02 per extra hour of
session time, 0.06 per hour of session time cut (DOPPS: longer sessions, lower mortality), 0.1 per unit
of spKt/V lost below the current dose plus 0.3 per unit below min(current spKt/V, 1.4) (KDOQI 2006
target: dose is not traded away for small gains),
0.005 per mmol/L of positive Na gradient added (thirst, Trinh & Weber 2017).
Infeasible candidates rank after all feasible ones by how far they miss. IDH risk is reported beside
the cramp risk and breaks exact ties. ``risk`` is the ensemble mean and ``risk_range`` its 10th-90th
percentile; dose, UF and the constraints are those of the patient as entered (ensemble member 0).

A positive Na gradient costs thirst: +0.13 % of body weight interdialytic gain per +1 mmol/L (DOPPS, via
physiology.md §7.3; OR 1.33 for IDWG > 3 % per mmol/L, Trinh & Weber 2017). The search models this as the
next-session UF burden: a candidate whose positive gradient exceeds the current one is simulated removing
the goal plus that extra gain (steady state) and must remove it. An extra weekly session spreads the
weekly fluid gain over more sessions (UF per session x sessions / (sessions + 1)).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crampwatch.causes.dose import standard_ktv
from crampwatch.errors import InputError
from crampwatch.kinetics import KDOQI_TARGET_SP_KTV
from crampwatch.model import Scenario
from crampwatch.optimizer.constraints import (
    Constraints,
    na_gradient_mmol_l,
    options_for,
    outcome_violations,
    plasma_na_mmol_l,
    project,
    static_violations,
)
from crampwatch.optimizer.ensemble import patient_ensemble, volume_scales
from crampwatch.optimizer.evaluate import Evaluation, Evaluator
from crampwatch.optimizer.explain import addressed_causes, rationale
from crampwatch.optimizer.result import OptimizationResult, Outcome, Recommendation
from crampwatch.optimizer.space import (
    Knobs,
    Options,
    apply_knobs,
    changed_knobs,
    describe_changes,
    grid,
    knobs_from,
)
from crampwatch.trace import Trace

#: Objective penalty per changed setting (modelling choice: prefer minimal change when risks tie).
CHANGE_PENALTY = 0.02
#: Objective penalty per hour of extra session time (modelling choice: patient time burden).
EXTRA_HOUR_PENALTY = 0.02
#: Objective penalty per hour of session time cut (not on a first session): longer treatment time was
#: associated with lower mortality (DOPPS, Saran et al. Kidney Int 2006;69:1222: RR 0.93 per 30 min);
#: the size is a modelling choice.
SHORTER_HOUR_PENALTY = 0.06
#: Objective penalty per unit spKt/V lost below the current dose, and extra below min(current, KDOQI
#: target 1.4) (modelling choices: dose is not traded away for small risk gains).
DOSE_LOSS_PENALTY_ANY = 0.1
DOSE_LOSS_PENALTY = 0.3
#: Interdialytic weight gain per +1 mmol/L Na gradient, % of body weight (DOPPS, physiology.md §7.3).
IDWG_PCT_PER_MMOL_L = 0.13
#: Objective penalty per mmol/L of positive Na gradient added (thirst; OR 1.33 per mmol/L for IDWG > 3 %,
#: Trinh & Weber 2017); its size is a modelling choice that only breaks near-ties toward isonatremia.
NA_GRADIENT_PENALTY = 0.005
#: Largest number of combinations scored in stage 2.
MAX_COMBINATIONS = 300
#: Candidates refined locally in stage 3, finalists re-scored over the ensemble, and at most this many
#: finalists with the same set of changed settings (keeps alternatives in the final round).
N_REFINED = 4
N_FINALISTS = 24
PER_CHANGE_SET = 6
#: Risk percentiles reported as ``risk_range``.
RISK_PERCENTILES = (10.0, 90.0)

#: Free piecewise UF profile: fractions of the mean UF rate over four equal parts of the session, each
#: within these bounds and rounded to the step (modelling choices); a scrambled Sobol design of
#: ``N_FREE_PROFILES`` shapes is scored with the stage-2 batch and the best are refined +-0.1 per part.
FREE_PROFILE_BOUNDS = (0.4, 1.6)
FREE_PROFILE_STEP = 0.05
FREE_PROFILE_PARTS = 4
N_FREE_PROFILES = 32
#: Hypovolemia score (current session) above which the free UF profile is searched (modelling choice).
FREE_PROFILE_MIN_HYPOVOLEMIA = 0.2

TIME_GROUP = ("duration_min", "uf_profile", "qb_ml_min", "qd_ml_min", "sessions_per_week")
SINGLE_GROUPS = ("na_mmol_l", "ca_mmol_l", "mg_mmol_l", "hco3_mmol_l", "temp_c")


@dataclass(eq=False)
class _Candidate:
    knobs: Knobs
    uf_required_l: float
    idwg_change_kg: float
    static: list[str]
    penalty: float
    # outcome of the patient as entered
    evaluated: bool = False
    risk: float = float("nan")
    idh_risk: float = float("nan")
    sp_ktv: float = float("nan")
    urr_pct: float = float("nan")
    std_ktv: float = float("nan")
    uf_l: float = float("nan")
    duration_min: float = float("nan")
    causes: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    miss: float = 0.0
    dose_penalty: float = 0.0
    source: tuple[Evaluation, int] | None = None
    # outcome over the ensemble (member 0 first)
    ensemble_risk: np.ndarray | None = None
    ensemble_idh: np.ndarray | None = None
    ensemble_causes: dict[str, np.ndarray] | None = None

    @property
    def feasible(self) -> bool:
        return self.evaluated and not self.violations and not self.static

    @property
    def mean_risk(self) -> float:
        """Ensemble-mean risk once scored over the ensemble, else the nominal risk (1 when unknown)."""
        if self.ensemble_risk is not None and np.isfinite(self.ensemble_risk).any():
            return float(np.nanmean(self.ensemble_risk))
        return self.risk if np.isfinite(self.risk) else 1.0

    @property
    def objective(self) -> float:
        value = self.mean_risk + self.penalty + self.dose_penalty
        return value if self.feasible else 10.0 + self.miss + value


class _Search:
    def __init__(
        self,
        scenario: Scenario,
        constraints: Constraints,
        evaluator: Evaluator,
        n_ensemble: int,
        seed: int,
        twin: Any | None = None,
    ) -> None:
        self.scenario = scenario
        self.c = constraints
        self.evaluator = evaluator
        self.first = constraints.first_session(scenario)
        self.twin = twin
        self.members = (
            patient_ensemble(scenario.patient, n_ensemble, seed)
            if twin is None
            else twin.ensemble(scenario.patient, n_ensemble, seed)
        )
        self.member_scenarios = [scenario] + [
            scenario.model_copy(update={"patient": p}) for p in self.members[1:]
        ]
        self.v_scales = volume_scales(n_ensemble, seed)
        self.current = knobs_from(scenario)
        self.access = scenario.patient.access
        self.goal_l = scenario.uf_volume_l
        self.plasma_na = plasma_na_mmol_l(scenario)
        self.current_gradient = na_gradient_mmol_l(self.current, self.plasma_na)
        self.cache: dict[Knobs, _Candidate] = {}
        self.allow_high_ca = True  # until the current session's causes are known
        self.ref_ktv = float("nan")
        self.n_simulations = 0

    # ------------------------------------------------------------------------------------ candidates

    def uf_for(self, knobs: Knobs) -> tuple[float, float]:
        """(UF to remove per session, extra interdialytic gain in kg) for ``knobs``."""
        g_new = na_gradient_mmol_l(knobs, self.plasma_na)
        extra_kg = (
            IDWG_PCT_PER_MMOL_L
            / 100.0
            * self.scenario.patient.dry_weight_kg
            * (max(g_new, 0.0) - max(self.current_gradient, 0.0))
        )
        weekly_share = self.current.sessions_per_week / knobs.sessions_per_week
        uf = min(max((self.goal_l + extra_kg) * weekly_share, 0.0), 10.0)
        return uf, extra_kg

    def candidate(self, knobs: Knobs) -> _Candidate:
        cand = self.cache.get(knobs)
        if cand is None:
            uf, extra = self.uf_for(knobs)
            changed = changed_knobs(self.current, knobs)
            g_added = max(na_gradient_mmol_l(knobs, self.plasma_na), 0.0) - max(self.current_gradient, 0.0)
            delta_h = (knobs.duration_min - self.current.duration_min) / 60.0
            time_cost = EXTRA_HOUR_PENALTY * max(delta_h, 0.0)
            if not self.first:
                time_cost += SHORTER_HOUR_PENALTY * max(-delta_h, 0.0)
            cand = _Candidate(
                knobs=knobs,
                uf_required_l=uf,
                idwg_change_kg=extra,
                static=static_violations(knobs, self.scenario, self.c, allow_high_ca=self.allow_high_ca),
                penalty=CHANGE_PENALTY * len(changed) + time_cost + NA_GRADIENT_PENALTY * max(g_added, 0.0),
            )
            self.cache[knobs] = cand
        return cand

    def candidates(self, knobs: Iterable[Knobs]) -> list[_Candidate]:
        """Distinct candidates for ``knobs`` (order kept)."""
        return [self.candidate(k) for k in dict.fromkeys(knobs)]

    # ------------------------------------------------------------------------------------ evaluation

    def _run(self, scenarios: Sequence[Scenario], volume_scale: Sequence[float]) -> Evaluation:
        self.n_simulations += len(scenarios)
        return self.evaluator(scenarios, volume_scale=np.asarray(volume_scale, dtype=float))

    def _store_nominal(self, cd: _Candidate, ev: Evaluation, i: int) -> None:
        cd.evaluated = True
        cd.source = (ev, i)
        cd.risk, cd.idh_risk = float(ev.risk[i]), float(ev.idh_risk[i])
        cd.sp_ktv, cd.urr_pct = float(ev.sp_ktv[i]), float(ev.urr_pct[i])
        cd.uf_l, cd.duration_min = float(ev.uf_l[i]), float(ev.duration_min[i])
        cd.causes = {k: float(v[i]) for k, v in ev.causes.items()}
        if i in ev.errors:
            cd.violations = [f"not simulable: {ev.errors[i]}"]
            cd.miss = 50.0
            return
        cd.std_ktv = standard_ktv(cd.sp_ktv, cd.duration_min, cd.knobs.sessions_per_week, self.access)
        cd.violations = outcome_violations(
            constraints=self.c,
            first_session=self.first,
            sessions_per_week=cd.knobs.sessions_per_week,
            sp_ktv=cd.sp_ktv,
            urr_pct=cd.urr_pct,
            uf_achieved_l=cd.uf_l,
            uf_required_l=cd.uf_required_l,
            std_ktv=cd.std_ktv,
            schedule_changed=cd.knobs.sessions_per_week != self.current.sessions_per_week,
        )
        if not np.isfinite(cd.risk):
            cd.violations.append("simulation gave no risk score")
        cd.miss = self._miss(cd)
        if not self.first and np.isfinite(self.ref_ktv):
            ktv = cd.sp_ktv if np.isfinite(cd.sp_ktv) else 0.0
            ref = min(self.ref_ktv, KDOQI_TARGET_SP_KTV)
            cd.dose_penalty = DOSE_LOSS_PENALTY * max(0.0, ref - ktv) + DOSE_LOSS_PENALTY_ANY * max(
                0.0, self.ref_ktv - ktv
            )

    def _miss(self, cd: _Candidate) -> float:
        """How far a candidate misses the outcome constraints (0 when feasible; for ranking only)."""
        if not cd.violations:
            return 0.0
        uf = cd.uf_l if np.isfinite(cd.uf_l) else 0.0
        miss = 10.0 * max(0.0, cd.uf_required_l - self.c.uf_tolerance_l - uf)
        if self.first:
            urr = cd.urr_pct if np.isfinite(cd.urr_pct) else 100.0
            miss += 0.1 * max(0.0, urr - self.c.first_session_max_urr_pct + 0.5)
        else:
            ktv = cd.sp_ktv if np.isfinite(cd.sp_ktv) else 0.0
            miss += 10.0 * max(0.0, self.c.min_sp_ktv(cd.knobs.sessions_per_week) - ktv)
        return miss + (5.0 if not np.isfinite(cd.risk) else 0.0)

    def _mark_static(self, cands: Iterable[_Candidate]) -> None:
        for cd in cands:
            if cd.static and not cd.evaluated:
                cd.evaluated, cd.violations, cd.miss = True, list(cd.static), 100.0

    def evaluate_nominal(self, cands: list[_Candidate]) -> list[_Candidate]:
        """Score unscored candidates (patient as entered) in one batch."""
        pending = [cd for cd in cands if not cd.evaluated and not cd.static]
        if pending:
            ev = self._run(
                [apply_knobs(self.scenario, cd.knobs, cd.uf_required_l) for cd in pending],
                np.ones(len(pending)),
            )
            for i, cd in enumerate(pending):
                self._store_nominal(cd, ev, i)
        self._mark_static(cands)
        return cands

    def evaluate_ensemble(self, cands: list[_Candidate]) -> list[_Candidate]:
        """Score candidates over every ensemble member in one batch (member 0 = patient as entered)."""
        pending = [cd for cd in cands if cd.ensemble_risk is None and not cd.static]
        n_m = len(self.members)
        if pending:
            scenarios = [
                apply_knobs(self.member_scenarios[m], cd.knobs, cd.uf_required_l)
                for cd in pending
                for m in range(n_m)
            ]
            ev = self._run(scenarios, np.tile(self.v_scales, len(pending)))
            for j, cd in enumerate(pending):
                sl = slice(j * n_m, (j + 1) * n_m)
                if not cd.evaluated:
                    self._store_nominal(cd, ev, j * n_m)
                cd.ensemble_risk = ev.risk[sl]
                cd.ensemble_idh = ev.idh_risk[sl]
                cd.ensemble_causes = {k: v[sl] for k, v in ev.causes.items()}
        self._mark_static(cands)
        return cands

    def first_call(self, lattice: list[_Candidate]) -> tuple[Outcome, tuple[Evaluation, int]]:
        """The current prescription over the ensemble plus the lattice (nominal), in one batch."""
        n_m = len(self.members)
        pending = [cd for cd in lattice if not cd.static]
        scenarios = list(self.member_scenarios) + [
            apply_knobs(self.scenario, cd.knobs, cd.uf_required_l) for cd in pending
        ]
        ev = self._run(scenarios, np.concatenate([self.v_scales, np.ones(len(pending))]))
        if 0 in ev.errors:  # the prescription as entered cannot be simulated for this patient
            raise InputError(ev.errors[0], "prescription")
        self.ref_ktv = float(ev.sp_ktv[0])
        causes = {k: float(np.nanmean(v[:n_m])) for k, v in ev.causes.items()}
        self.allow_high_ca = causes.get("hypocalcemia", 0.0) >= self.c.hypocalcemia_score_threshold
        for i, cd in enumerate(pending):
            self._store_nominal(cd, ev, n_m + i)
        # Now that the Ca allowance is known, re-check every candidate built so far.
        for cd in self.cache.values():
            cd.static = static_violations(cd.knobs, self.scenario, self.c, allow_high_ca=self.allow_high_ca)
            if cd.static:
                cd.violations = list(cd.static) + cd.violations
                cd.miss = 100.0
        self._mark_static(lattice)
        viol = static_violations(self.current, self.scenario, self.c, allow_high_ca=self.allow_high_ca)
        viol += outcome_violations(
            constraints=self.c,
            first_session=self.first,
            sessions_per_week=self.current.sessions_per_week,
            sp_ktv=float(ev.sp_ktv[0]),
            urr_pct=float(ev.urr_pct[0]),
            uf_achieved_l=float(ev.uf_l[0]),
            uf_required_l=self.goal_l,
        )
        outcome = Outcome(
            risk=float(ev.risk[0]),
            risk_range=_risk_range(ev.risk[:n_m], float(ev.risk[0])),
            ensemble_mean_risk=float(np.nanmean(ev.risk[:n_m])),
            idh_risk=float(ev.idh_risk[0]),
            sp_ktv=float(ev.sp_ktv[0]),
            urr_pct=float(ev.urr_pct[0]),
            uf_l=float(ev.uf_l[0]),
            uf_required_l=self.goal_l,
            duration_min=float(ev.duration_min[0]),
            std_ktv=standard_ktv(
                float(ev.sp_ktv[0]), float(ev.duration_min[0]), self.current.sessions_per_week, self.access
            ),
            causes={k: float(v[0]) for k, v in ev.causes.items()},
            violations=viol,
        )
        return outcome, (ev, 0)

    # ------------------------------------------------------------------------------------ candidate sets

    @staticmethod
    def lattice(base: Knobs, options: Options) -> list[Knobs]:
        variants = options.variants(base)
        out = [base, *itertools.chain.from_iterable(variants.values())]
        durations = options.duration_min
        out += [base.with_(duration_min=d, uf_profile=p) for d in durations for p in options.uf_profile]
        out += [base.with_(duration_min=d, qb_ml_min=q) for d in durations for q in options.qb_ml_min]
        if len(options.qd_ml_min) > 1 or len(options.sessions_per_week) > 1:
            out += [
                base.with_(duration_min=d, qb_ml_min=q, qd_ml_min=qd, sessions_per_week=s)
                for d in durations
                for q in options.qb_ml_min
                for qd in options.qd_ml_min
                for s in options.sessions_per_week
            ]
        return out

    def combinations(self, base: Knobs, evaluated: list[_Candidate]) -> list[Knobs]:
        """Cartesian product of the best few values per group of settings (always incl. the base value)."""
        base_obj = self.candidate(base).objective

        def only_changes(cd: _Candidate, names: tuple[str, ...]) -> bool:
            diff = set(changed_knobs(base, cd.knobs))
            return bool(diff) and diff <= set(names)

        ranked = sorted((cd for cd in evaluated if not cd.static), key=lambda cd: cd.objective)
        time_choices = [tuple(getattr(base, n) for n in TIME_GROUP)]
        for cd in ranked:
            if only_changes(cd, TIME_GROUP):
                vals = tuple(getattr(cd.knobs, n) for n in TIME_GROUP)
                if vals not in time_choices:
                    time_choices.append(vals)
            if len(time_choices) >= 4:
                break
        single_choices: dict[str, list[tuple]] = {}
        improvement: dict[str, float] = {}
        for name in SINGLE_GROUPS:
            fields_ = ("na_mmol_l", "na_profile") if name == "na_mmol_l" else (name,)
            vals = [tuple(getattr(base, f) for f in fields_)]
            best = base_obj
            for cd in ranked:
                if only_changes(cd, (name,)) and cd.objective < base_obj:
                    v = tuple(getattr(cd.knobs, f) for f in fields_)
                    if v not in vals:
                        vals.append(v)
                        best = min(best, cd.objective)
                if len(vals) >= 3:
                    break
            single_choices[name] = vals
            improvement[name] = base_obj - best
        # Keep the groups that improved most while the product fits the budget.
        kept: list[str] = []
        size = len(time_choices)
        for n in sorted(SINGLE_GROUPS, key=lambda n: -improvement[n]):
            if len(single_choices[n]) > 1 and size * len(single_choices[n]) <= MAX_COMBINATIONS:
                kept.append(n)
                size *= len(single_choices[n])
        out: list[Knobs] = []
        for tvals in time_choices:
            for combo in itertools.product(*(single_choices[n] for n in kept)):
                upd = dict(zip(TIME_GROUP, tvals, strict=True))
                for n, v in zip(kept, combo, strict=True):
                    if n == "na_mmol_l":
                        upd["na_mmol_l"], upd["na_profile"] = v
                    else:
                        upd[n] = v[0]
                out.append(base.with_(**upd))
        return out

    @staticmethod
    def free_profiles(start: Knobs, seed: int) -> list[Knobs]:
        """Free piecewise UF profiles (four equal parts) for ``start``'s other settings: a scrambled Sobol
        design over the allowed fractions (scipy.stats.qmc), rounded to ``FREE_PROFILE_STEP``."""
        from scipy.stats import qmc

        lo, hi = FREE_PROFILE_BOUNDS
        points = qmc.scale(
            qmc.Sobol(d=FREE_PROFILE_PARTS, scramble=True, seed=seed).random(N_FREE_PROFILES), lo, hi
        )
        return [start.with_(uf_profile=_quarters(x)) for x in points]

    def refinements(self, cands: list[_Candidate], options: Options) -> list[Knobs]:
        """Finer time/Qb steps around each candidate, and each change undone in turn."""
        fine_d = grid(min(options.duration_min), max(options.duration_min), 5.0)
        fine_q = grid(min(options.qb_ml_min), max(options.qb_ml_min), 25.0)
        out: list[Knobs] = []
        for cd in cands:
            k = cd.knobs
            out += [k.with_(duration_min=d) for d in fine_d if 0 < abs(d - k.duration_min) <= 10]
            out += [k.with_(qb_ml_min=q) for q in fine_q if 0 < abs(q - k.qb_ml_min) <= 25]
            if isinstance(k.uf_profile, tuple) and len(k.uf_profile) == FREE_PROFILE_PARTS:
                fr = np.array([f for _, f in k.uf_profile])
                for i, d in itertools.product(range(FREE_PROFILE_PARTS), (-0.1, 0.1)):
                    x = fr.copy()
                    x[i] = min(max(x[i] + d, FREE_PROFILE_BOUNDS[0]), FREE_PROFILE_BOUNDS[1])
                    out.append(k.with_(uf_profile=_quarters(x)))
            for name in changed_knobs(self.current, k):
                if name == "na_mmol_l":
                    out.append(k.with_(na_mmol_l=self.current.na_mmol_l, na_profile=self.current.na_profile))
                else:
                    out.append(k.with_(**{name: getattr(self.current, name)}))
        return out


def _quarters(x: Iterable[float]) -> tuple[tuple[float, float], ...]:
    """A piecewise UF profile of equal parts with fractions ``x`` rounded to ``FREE_PROFILE_STEP``."""
    fr = [round(round(float(f) / FREE_PROFILE_STEP) * FREE_PROFILE_STEP, 3) for f in x]
    return tuple((i / len(fr), f) for i, f in enumerate(fr))


def _risk_range(ensemble: np.ndarray, predicted: float) -> tuple[float, float]:
    """The ``RISK_PERCENTILES`` of the ensemble risks, widened to include the predicted risk."""
    x = np.asarray(ensemble, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return (float("nan"), float("nan"))
    lo, hi = (float(v) for v in np.percentile(x, RISK_PERCENTILES))
    if np.isfinite(predicted):
        lo, hi = min(lo, predicted), max(hi, predicted)
    return lo, hi


def _finalists(ranked: list[_Candidate], current: Knobs) -> list[_Candidate]:
    """The best candidates by nominal objective, at most ``PER_CHANGE_SET`` per set of changed settings."""
    out: list[_Candidate] = []
    counts: dict[frozenset[str], int] = {}
    for cd in ranked:
        key = frozenset(changed_knobs(current, cd.knobs))
        if counts.get(key, 0) < PER_CHANGE_SET:
            counts[key] = counts.get(key, 0) + 1
            out.append(cd)
        if len(out) == N_FINALISTS:
            break
    return out


def _pick(cands: Iterable[_Candidate], k: int, current: Knobs) -> list[_Candidate]:
    """The ``k`` best candidates by objective: first one per distinct set of changed settings, then (to
    fill the list) the next best alternatives with the same settings changed to other values.

    A candidate whose changes strictly include those of one already picked is skipped unless its risk is
    lower by at least two change penalties: it ranked lower, so otherwise its extra changes do not pay.
    """
    ordered = sorted(cands, key=lambda c: (c.objective, c.idh_risk))
    keys = {id(cd): frozenset(changed_knobs(current, cd.knobs)) for cd in ordered}
    chosen: list[_Candidate] = []

    def redundant(cd: _Candidate) -> bool:
        key = keys[id(cd)]
        return any(key > keys[id(o)] and cd.mean_risk > o.mean_risk - 2 * CHANGE_PENALTY for o in chosen)

    for distinct in (True, False):
        for cd in ordered:
            if len(chosen) == k:
                return chosen
            if cd in chosen or redundant(cd):
                continue
            if distinct and any(keys[id(cd)] == keys[id(o)] for o in chosen):
                continue
            chosen.append(cd)
    return chosen


def search(
    scenario: Scenario,
    *,
    evaluator: Evaluator,
    constraints: Constraints | None = None,
    n_ensemble: int = 8,
    top_k: int = 3,
    seed: int = 0,
    twin: Any | None = None,
) -> OptimizationResult:
    """Run the staged search with ``evaluator`` (see the module docstring); with a ``twin``
    (:class:`crampwatch.twin.PatientTwin`) the patient is the fitted twin and the ensemble is drawn from
    the twin's uncertainty."""
    t0 = time.perf_counter()
    c = constraints or Constraints()
    if twin is not None:
        scenario = twin.personalize(scenario)
    s = _Search(scenario, c, evaluator, n_ensemble, seed, twin)
    opts_wide = options_for(scenario, c, allow_high_ca=True)
    opts_narrow = options_for(scenario, c, allow_high_ca=False)
    base = project(s.current, opts_narrow)

    stage1 = s.candidates(s.lattice(base, opts_wide))
    current, current_src = s.first_call(stage1)
    options = opts_wide if s.allow_high_ca else opts_narrow
    combos = s.combinations(base, stage1)
    best1 = sorted((cd for cd in stage1 if cd.feasible), key=lambda cd: cd.objective)
    if best1 and current.causes.get("hypovolemia", 0.0) >= FREE_PROFILE_MIN_HYPOVOLEMIA:
        combos += s.free_profiles(best1[0].knobs, seed)
    stage2 = s.evaluate_nominal(s.candidates(combos))

    pool = {id(cd): cd for cd in stage1 + stage2}
    ranked = sorted((cd for cd in pool.values() if cd.feasible), key=lambda cd: cd.objective)
    finalists = _finalists(ranked, s.current)
    refine = s.candidates(s.refinements(ranked[:N_REFINED], options)) if ranked else []
    stage3 = s.evaluate_ensemble(list(dict.fromkeys(finalists + refine)))
    pool.update({id(cd): cd for cd in stage3})

    notes = _notes(s, c)
    chosen: list[_Candidate] = []
    infeasible: str | None = None
    scored = [cd for cd in stage3 if cd.feasible and cd.ensemble_risk is not None]
    if scored:
        chosen = sorted(_pick(scored, top_k, s.current), key=lambda cd: (cd.risk, cd.mean_risk))
        # Options that do not lower the (ensemble-mean) risk are shown only when nothing does.
        better = [cd for cd in chosen if cd.mean_risk < current.ensemble_mean_risk]
        chosen = better or chosen[:1]
    else:
        infeasible = _explain_infeasible(s, list(pool.values()), c)
    recs = [_recommendation(s, cd, current) for cd in chosen]
    sources = [current_src] + [cd.source for cd in chosen]

    def getter(i: int) -> Trace | None:
        src = sources[i]
        if src is None or src[0].trace is None:
            return None
        return src[0].trace(src[1])

    return OptimizationResult(
        scenario=scenario,
        current=current,
        recommendations=recs,
        infeasible=infeasible,
        notes=notes,
        n_candidates=len(s.cache),
        n_simulations=s.n_simulations,
        elapsed_s=time.perf_counter() - t0,
        _trace_getter=getter,
    )


def _notes(s: _Search, c: Constraints) -> list[str]:
    notes: list[str] = []
    if s.first:
        qb_lo, qb_hi = c.first_session_qb_range_ml_min
        d_lo, d_hi = c.first_session_duration_range_min
        notes.append(
            "First session (vintage 0): the spKt/V target does not apply to this session; instead URR is "
            f"kept below {c.first_session_max_urr_pct:g} %, Qb {qb_lo:g}–{qb_hi:g} mL/min and time "
            f"{d_lo:g}–{d_hi:g} min to prevent dialysis disequilibrium (Handbook of Dialysis; CJASN DDS "
            "prevention table)."
        )
    if s.allow_high_ca:
        notes.append(
            "Hypocalcemia is a cause of the current session, so dialysate Ca up to "
            f"{c.ca_max_if_hypocalcemia_mmol_l:g} mmol/L was allowed (above the KDIGO 2017 1.25–1.50 range; "
            "review the calcium balance)."
        )
    if s.twin is None:
        notes.append(
            "Risk = predicted cramp risk of the prescription for the patient as entered; range = "
            f"{RISK_PERCENTILES[0]:g}th–{RISK_PERCENTILES[1]:g}th percentile over {len(s.members)} plausible "
            "patients (uncertain refill capacity, baroreflex, body water and lab error), which also rank the "
            "options by their mean risk. Dose and UF are those of the patient as entered."
        )
    else:
        notes.append(
            "Risk = predicted cramp risk of the prescription for the fitted twin; range = "
            f"{RISK_PERCENTILES[0]:g}th–{RISK_PERCENTILES[1]:g}th percentile over {len(s.members)} versions "
            f"of this patient drawn from the {s.twin.summary()}. Dose and UF are those of the fitted twin."
        )
    return notes


def _recommendation(s: _Search, cd: _Candidate, current: Outcome) -> Recommendation:
    assert cd.ensemble_risk is not None and cd.ensemble_idh is not None and cd.ensemble_causes is not None
    outcome = Outcome(
        risk=cd.risk,
        risk_range=_risk_range(cd.ensemble_risk, cd.risk),
        ensemble_mean_risk=cd.mean_risk,
        idh_risk=cd.idh_risk,
        sp_ktv=cd.sp_ktv,
        urr_pct=cd.urr_pct,
        uf_l=cd.uf_l,
        uf_required_l=cd.uf_required_l,
        duration_min=cd.duration_min,
        std_ktv=cd.std_ktv,
        causes=dict(cd.causes),
        violations=[],
    )
    # The recommended prescription carries the UF goal of the next session; the predicted extra
    # interdialytic gain of a higher Na gradient is reported separately (idwg_change_kg).
    presc_uf = s.goal_l * s.current.sessions_per_week / cd.knobs.sessions_per_week
    scenario = apply_knobs(s.scenario, cd.knobs, presc_uf)
    changes = describe_changes(s.scenario, s.current, cd.knobs, s.goal_l, presc_uf)
    addresses = addressed_causes(current.causes, outcome.causes)
    return Recommendation(
        scenario=scenario,
        outcome=outcome,
        changes=[ch.code for ch in changes],
        change_text=[ch.text for ch in changes],
        addresses=addresses,
        rationale=rationale(
            s.scenario,
            s.current,
            cd.knobs,
            current,
            outcome,
            addresses,
            cd.idwg_change_kg,
            s.plasma_na,
            first_session=s.first,
        ),
        idwg_change_kg=cd.idwg_change_kg,
    )


def _explain_infeasible(s: _Search, cands: list[_Candidate], c: Constraints) -> str:
    """One paragraph: which constraint cannot be met and the best the candidates reached."""
    evaluated = [cd for cd in cands if cd.evaluated and not cd.static]
    d_lo, d_hi = c.duration_bounds(s.scenario)
    q_lo, q_hi = c.qb_bounds(s.scenario)
    head = (
        f"No prescription among {len(evaluated)} candidates meets all constraints "
        f"(time {d_lo:g}–{d_hi:g} min, Qb {q_lo:g}–{q_hi:g} mL/min, UF goal {s.goal_l:.2f} L, "
    )
    head += (
        f"first-session URR < {c.first_session_max_urr_pct:g} %)."
        if s.first
        else f"spKt/V >= {c.target_sp_ktv:.2f})."
    )
    parts = [head]
    if evaluated:
        ufs = np.array([cd.uf_l - cd.uf_required_l for cd in evaluated], dtype=float)
        if np.all(~np.isfinite(ufs) | (ufs < -c.uf_tolerance_l)):
            parts.append(f"The UF goal is never removed: the smallest shortfall is {-np.nanmax(ufs):.2f} L.")
        if s.first:
            urr = np.array([cd.urr_pct for cd in evaluated], dtype=float)
            if not np.any(urr < c.first_session_max_urr_pct):
                parts.append(f"The lowest URR reachable is {np.nanmin(urr):.0f} %.")
        else:
            ktv = np.array([cd.sp_ktv for cd in evaluated], dtype=float)
            best = float(np.nanmax(ktv)) if np.isfinite(ktv).any() else float("nan")
            target = c.min_sp_ktv(s.current.sessions_per_week)
            if not best >= target:
                parts.append(f"The highest spKt/V reachable is {best:.2f} (target {target:.2f}).")
        closest = min(evaluated, key=lambda cd: cd.miss)
        ch = [c.text for c in describe_changes(s.scenario, s.current, closest.knobs, s.goal_l, s.goal_l)]
        ch = ch or ["no change"]
        parts.append(f"Closest candidate ({'; '.join(ch)}): " + "; ".join(closest.violations) + ".")
    hints = ["a longer maximum session time (max_duration_min)"]
    if not c.allow_extra_session:
        hints.append("an extra weekly session (allow_extra_session)")
    hints.append("a lower spKt/V target or a smaller UF goal after a dry-weight review")
    parts.append("Options: " + ", ".join(hints) + ".")
    return " ".join(parts)
