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

The objective and its penalties are described in :mod:`crampwatch.optimizer.ranking`.

A positive Na gradient costs thirst: +0.13 % of body weight interdialytic gain per +1 mmol/L (DOPPS, via
OR 1.33 for IDWG > 3 % per mmol/L, Trinh & Weber 2017). The search models this as the
next-session UF burden: a candidate whose positive gradient exceeds the current one is simulated removing
the goal plus that extra gain (steady state) and must remove it. An extra weekly session spreads the
weekly fluid gain over more sessions (UF per session x sessions / (sessions + 1)).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from crampwatch.causes.dose import standard_ktv
from crampwatch.errors import InputError
from crampwatch.model import Scenario
from crampwatch.optimizer.assemble import explain_infeasible, notes, recommendation
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
from crampwatch.optimizer.ranking import (
    CHANGE_PENALTY,
    EXTRA_HOUR_PENALTY,
    IDWG_PCT_PER_MMOL_L,
    MAX_COMBINATIONS,
    MISS_STATIC,
    N_REFINED,
    NA_GRADIENT_PENALTY,
    SHORTER_HOUR_PENALTY,
    Candidate,
    EnsembleScores,
    Scores,
    finalists,
    pick,
    rank_key,
    risk_range,
)
from crampwatch.optimizer.result import OptimizationResult, Outcome
from crampwatch.optimizer.scoring import score_row
from crampwatch.optimizer.space import (
    Knobs,
    Options,
    apply_knobs,
    changed_knobs,
    grid,
    knobs_from,
)
from crampwatch.trace import Trace

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


class Search:
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
        self.cache: dict[Knobs, Candidate] = {}
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

    def candidate(self, knobs: Knobs) -> Candidate:
        cand = self.cache.get(knobs)
        if cand is None:
            uf, extra = self.uf_for(knobs)
            changed = changed_knobs(self.current, knobs)
            g_added = max(na_gradient_mmol_l(knobs, self.plasma_na), 0.0) - max(self.current_gradient, 0.0)
            delta_h = (knobs.duration_min - self.current.duration_min) / 60.0
            time_cost = EXTRA_HOUR_PENALTY * max(delta_h, 0.0)
            if not self.first:
                time_cost += SHORTER_HOUR_PENALTY * max(-delta_h, 0.0)
            cand = Candidate(
                knobs=knobs,
                uf_required_l=uf,
                idwg_change_kg=extra,
                static=tuple(
                    static_violations(knobs, self.scenario, self.c, allow_high_ca=self.allow_high_ca)
                ),
                penalty=CHANGE_PENALTY * len(changed) + time_cost + NA_GRADIENT_PENALTY * max(g_added, 0.0),
            )
            self.cache[knobs] = cand
        return cand

    def candidates(self, knobs: Iterable[Knobs]) -> list[Candidate]:
        """Distinct candidates for ``knobs`` (order kept), each as last scored."""
        return [self.candidate(k) for k in dict.fromkeys(knobs)]

    # ------------------------------------------------------------------------------------ evaluation

    def _run(self, scenarios: Sequence[Scenario], volume_scale: Sequence[float]) -> Evaluation:
        self.n_simulations += len(scenarios)
        return self.evaluator(scenarios, volume_scale=np.asarray(volume_scale, dtype=float))

    def _update(self, cd: Candidate, **stage: Any) -> None:
        """Record a stage's result for ``cd``: the cache holds the candidate as last scored."""
        self.cache[cd.key] = replace(cd, **stage)

    def _mark_static(self, cands: Iterable[Candidate]) -> list[Candidate]:
        """``cands`` as last scored, those outside the static limits scored as missing them."""
        for cd in self.candidates(cd.key for cd in cands):
            if cd.static and not cd.evaluated:
                self._update(cd, scores=Scores(violations=cd.static, miss=MISS_STATIC))
        return self.candidates(cd.key for cd in cands)

    def evaluate_nominal(self, cands: list[Candidate]) -> list[Candidate]:
        """Score unscored candidates (patient as entered) in one batch; returns them as scored."""
        pending = [cd for cd in cands if not cd.evaluated and not cd.static]
        if pending:
            ev = self._run(
                [apply_knobs(self.scenario, cd.knobs, cd.uf_required_l) for cd in pending],
                np.ones(len(pending)),
            )
            for i, cd in enumerate(pending):
                self._update(cd, scores=score_row(self, cd, ev, i))
        return self._mark_static(cands)

    def evaluate_ensemble(self, cands: list[Candidate]) -> list[Candidate]:
        """Score candidates over every ensemble member in one batch (member 0 = patient as entered);
        returns them as scored."""
        pending = [cd for cd in cands if cd.ensemble is None and not cd.static]
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
                ens = EnsembleScores(
                    risk=ev.risk[sl],
                    idh_risk=ev.idh_risk[sl],
                    causes={k: v[sl] for k, v in ev.causes.items()},
                )
                self._update(cd, scores=cd.scores or score_row(self, cd, ev, j * n_m), ensemble=ens)
        return self._mark_static(cands)

    def first_call(self, lattice: list[Candidate]) -> tuple[Outcome, tuple[Evaluation, int]]:
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
            self._update(cd, scores=score_row(self, cd, ev, n_m + i))
        # Now that the Ca allowance is known, re-check every candidate built so far.
        for cd in list(self.cache.values()):
            static = tuple(
                static_violations(cd.knobs, self.scenario, self.c, allow_high_ca=self.allow_high_ca)
            )
            scores = cd.scores
            if static and scores is not None:
                scores = replace(scores, violations=static + scores.violations, miss=MISS_STATIC)
            self._update(cd, static=static, scores=scores)
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
            risk_range=risk_range(ev.risk[:n_m], float(ev.risk[0])),
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

    def combinations(self, base: Knobs, evaluated: list[Candidate]) -> list[Knobs]:
        """Cartesian product of the best few values per group of settings (always incl. the base value)."""
        base_obj = self.candidate(base).objective

        def only_changes(cd: Candidate, names: tuple[str, ...]) -> bool:
            diff = set(changed_knobs(base, cd.knobs))
            return bool(diff) and diff <= set(names)

        ranked = sorted((cd for cd in evaluated if not cd.static), key=lambda cd: rank_key(cd, base))
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

    def refinements(self, cands: list[Candidate], options: Options) -> list[Knobs]:
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
    s = Search(scenario, c, evaluator, n_ensemble, seed, twin)
    opts_wide = options_for(scenario, c, allow_high_ca=True)
    opts_narrow = options_for(scenario, c, allow_high_ca=False)
    base = project(s.current, opts_narrow)

    lattice = list(dict.fromkeys(s.lattice(base, opts_wide)))
    current, current_src = s.first_call(s.candidates(lattice))
    stage1 = s.candidates(lattice)
    options = opts_wide if s.allow_high_ca else opts_narrow
    combos = s.combinations(base, stage1)
    best1 = sorted((cd for cd in stage1 if cd.feasible), key=lambda cd: rank_key(cd, s.current))
    if best1 and current.causes.get("hypovolemia", 0.0) >= FREE_PROFILE_MIN_HYPOVOLEMIA:
        combos += s.free_profiles(best1[0].knobs, seed)
    stage2 = s.evaluate_nominal(s.candidates(combos))

    pool = {cd.key: cd for cd in stage1 + stage2}
    ranked = sorted((cd for cd in pool.values() if cd.feasible), key=lambda cd: rank_key(cd, s.current))
    final = finalists(ranked, s.current)
    refine = s.candidates(s.refinements(ranked[:N_REFINED], options)) if ranked else []
    stage3 = s.evaluate_ensemble(list({cd.key: cd for cd in final + refine}.values()))
    pool.update({cd.key: cd for cd in stage3})

    result_notes = notes(s, c)
    chosen: list[Candidate] = []
    infeasible: str | None = None
    scored = [cd for cd in stage3 if cd.feasible and cd.ensemble is not None]
    if scored:
        chosen = sorted(pick(scored, top_k, s.current), key=lambda cd: (cd.nominal.risk, cd.mean_risk))
        # Options that do not lower the (ensemble-mean) risk are shown only when nothing does.
        better = [cd for cd in chosen if cd.mean_risk < current.ensemble_mean_risk]
        chosen = better or chosen[:1]
    else:
        infeasible = explain_infeasible(s, list(pool.values()), c)
    recs = [recommendation(s, cd, current) for cd in chosen]
    sources = [current_src] + [cd.nominal.source for cd in chosen]

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
        notes=result_notes,
        n_candidates=len(s.cache),
        n_simulations=s.n_simulations,
        elapsed_s=time.perf_counter() - t0,
        _trace_getter=getter,
    )
