"""Prescription search: the causes of the current session choose the settings to vary; a structured
lattice, combinations of the best moves and local refinement are scored for the patient as entered, and the
finalists are re-scored over a patient ensemble.

Every stage builds all its candidates first and scores them in ONE batch call of the evaluator (the batch
simulator plus the analyzer):

1. the current prescription over the whole ensemble. Its causes decide which settings the search varies
   (the levers of the active causes and what an unmet constraint needs, :mod:`crampwatch.optimizer.levers`;
   the others stay as prescribed or as projected into their allowed ranges) and whether dialysate Ca may go
   above 1.50 mmol/L. Its scores are reused for the unchanged prescription in every later stage;
2. the lattice: every one-setting move of the varied settings plus the joint grids session time x UF
   profile and time x Qb (and on a first session time x Qb x Qd), because time, profile and flows trade
   dose against UF rate;
3. combinations: the cartesian product of the base value and the best two or three values of each group
   of settings (time/profile/flows, Na, Ca, Mg, bicarbonate, temperature), capped at ``MAX_COMBINATIONS``.
   When fluid removal is a cause (hypovolemia), the same batch holds free piecewise UF profiles (four
   equal parts, a scrambled Sobol design from scipy.stats.qmc) for the best lattice candidate's other
   settings;
4. the local refinements of the best four (finer time and Qb steps, +-0.1 on each part of a free UF
   profile; each change undone in turn, the minimal-change variant);
5. the finalists over the whole ensemble: the best feasible candidates so far (at most
   ``PER_CHANGE_SET`` per set of changed settings) and, for each leading cause, the best candidate that
   changes one of its levers and lowers it;
6. the one-step neighbours (:func:`~crampwatch.optimizer.candidates.neighbours`) of the best finalist by
   the ensemble objective, over the whole ensemble.

The recommendations are the best of these by the ensemble objective, one per set of changed settings;
options that change the same settings with the same shown risks are one option; a leading cause no option
acts on gets the best option on its levers that lowers the risk, or one line per lever saying why none does.
Ensemble member 0 is the patient as entered, so a candidate scored for the patient as entered is simulated
over the other members only.

The objective and its penalties are described in :mod:`crampwatch.optimizer.ranking`.

A positive Na gradient costs thirst: +0.13 % of body weight interdialytic gain per +1 mmol/L (DOPPS, via
OR 1.33 for IDWG > 3 % per mmol/L, Trinh & Weber 2017). The search models this as the
next-session UF burden: a candidate whose positive gradient exceeds the current one is simulated removing
the goal plus that extra gain (steady state) and must remove it. An extra weekly session spreads the
weekly fluid gain over more sessions (UF per session x sessions / (sessions + 1)).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from crampwatch.causes.ids import HYPOCALCEMIA, HYPOVOLEMIA
from crampwatch.errors import InputError
from crampwatch.model import Patient, Scenario, with_changes
from crampwatch.optimizer.assemble import (
    MAX_EQUIVALENTS,
    current_outcome,
    explain_infeasible,
    leading,
    notes,
    recommendation,
)
from crampwatch.optimizer.candidates import combinations, free_profiles, lattice, neighbours, refinements
from crampwatch.optimizer.constraints import (
    Constraints,
    na_gradient_mmol_l,
    options_for,
    project,
    static_violations,
)
from crampwatch.optimizer.context import SearchContext, search_context
from crampwatch.optimizer.ensemble import patient_ensemble, volume_scales
from crampwatch.optimizer.evaluate import Evaluation, Evaluator
from crampwatch.optimizer.levers import add_lever_options, leading_causes, lever_candidates, searched_knobs
from crampwatch.optimizer.ranking import (
    CHANGE_PENALTY,
    EXTRA_HOUR_PENALTY,
    IDWG_PCT_PER_MMOL_L,
    MISS_STATIC,
    N_REFINED,
    NA_GRADIENT_PENALTY,
    SHORTER_HOUR_PENALTY,
    Candidate,
    EnsembleScores,
    Scores,
    equivalents,
    finalists,
    pick,
    rank_key,
)
from crampwatch.optimizer.result import OptimizationResult, Outcome
from crampwatch.optimizer.scoring import score_rows
from crampwatch.optimizer.space import (
    Knobs,
    Options,
    apply_knobs,
    changed_knobs,
    prescription_with,
    with_prescription,
)
from crampwatch.trace import Trace

if TYPE_CHECKING:  # the twin is imported by the callers that have one
    from crampwatch.twin.result import PatientTwin

#: Options whose one-step neighbours are scored over the ensemble (the best first; modelling choice).
N_POLISHED = 1
#: Hypovolemia score (current session) above which the free UF profile is searched (modelling choice).
FREE_PROFILE_MIN_HYPOVOLEMIA = 0.2


class Search:
    """The candidates of one search, each scored once, and the batch evaluations that score them."""

    def __init__(
        self, ctx: SearchContext, evaluator: Evaluator, members: Sequence[Patient], v_scales: np.ndarray
    ) -> None:
        self.ctx = ctx
        self.evaluator = evaluator
        self.member_scenarios = [ctx.scenario] + [with_changes(ctx.scenario, patient=p) for p in members[1:]]
        self.v_scales = v_scales
        self.cache: dict[Knobs, Candidate] = {}
        self.n_simulations = 0

    # ------------------------------------------------------------------------------------ candidates

    def uf_for(self, knobs: Knobs) -> tuple[float, float]:
        """(UF to remove per session, extra interdialytic gain in kg) for ``knobs``."""
        ctx = self.ctx
        g_now = max(na_gradient_mmol_l(ctx.current, ctx.plasma_na_mmol_l), 0.0)
        g_new = max(na_gradient_mmol_l(knobs, ctx.plasma_na_mmol_l), 0.0)
        extra_kg = IDWG_PCT_PER_MMOL_L / 100.0 * ctx.scenario.patient.dry_weight_kg * (g_new - g_now)
        weekly_share = ctx.current.sessions_per_week / knobs.sessions_per_week
        uf = min(max((ctx.goal_l + extra_kg) * weekly_share, 0.0), 10.0)
        return uf, extra_kg

    def candidate(self, knobs: Knobs) -> Candidate:
        cand = self.cache.get(knobs)
        if cand is None:
            ctx = self.ctx
            uf, extra = self.uf_for(knobs)
            g_added = max(na_gradient_mmol_l(knobs, ctx.plasma_na_mmol_l), 0.0) - max(
                na_gradient_mmol_l(ctx.current, ctx.plasma_na_mmol_l), 0.0
            )
            delta_h = (knobs.duration_min - ctx.current.duration_min) / 60.0
            time_cost = EXTRA_HOUR_PENALTY * max(delta_h, 0.0)
            if not ctx.first_session:
                time_cost += SHORTER_HOUR_PENALTY * max(-delta_h, 0.0)
            static = static_violations(
                knobs,
                ctx.scenario,
                ctx.constraints,
                allow_high_ca=ctx.allow_high_ca,
                plasma_na=ctx.plasma_na_mmol_l,
            )
            cand = Candidate(
                knobs=knobs,
                uf_required_l=uf,
                idwg_change_kg=extra,
                static=tuple(static),
                penalty=CHANGE_PENALTY * len(changed_knobs(ctx.current, knobs))
                + time_cost
                + NA_GRADIENT_PENALTY * max(g_added, 0.0),
                reference=ctx.current,
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

    @staticmethod
    def _ensemble_scores(nominal: Scores | None, ev: Evaluation | None, rows: slice) -> EnsembleScores:
        """Ensemble scores from rows ``rows`` of ``ev``, after member 0's ``nominal`` scores when given
        (member 0 is the patient as entered, already simulated for the nominal scores)."""
        head: list[Scores] = [] if nominal is None else [nominal]
        causes = set(ev.causes if ev is not None else ()) | {c for sc in head for c in sc.causes}

        def column(first: list[float], values: np.ndarray | None) -> np.ndarray:
            rest = values[rows] if values is not None else np.empty(0)
            return np.concatenate([np.asarray(first, dtype=float), rest])

        return EnsembleScores(
            risk=column([sc.risk for sc in head], None if ev is None else ev.risk),
            idh_risk=column([sc.idh_risk for sc in head], None if ev is None else ev.idh_risk),
            causes={
                c: column(
                    [sc.causes.get(c, np.nan) for sc in head],
                    None if ev is None else ev.causes.get(c, np.full(len(ev), np.nan)),
                )
                for c in causes
            },
        )

    def evaluate_nominal(self, cands: list[Candidate]) -> list[Candidate]:
        """Score unscored candidates (patient as entered) in one batch; returns them as scored."""
        pending = [cd for cd in cands if not cd.evaluated and not cd.static]
        if pending:
            ev = self._run(
                [apply_knobs(self.ctx.scenario, cd.knobs, cd.uf_required_l) for cd in pending],
                np.ones(len(pending)),
            )
            for cd, scores in zip(
                pending, score_rows(self.ctx, pending, ev, range(len(pending))), strict=True
            ):
                self._update(cd, scores=scores)
        return self._mark_static(cands)

    def evaluate_ensemble(self, cands: list[Candidate]) -> list[Candidate]:
        """Score candidates over every ensemble member in one batch (member 0 = patient as entered, reused
        from the nominal scores when the candidate has them); returns them as scored."""
        pending = [cd for cd in cands if cd.ensemble is None and not cd.static]
        if pending:
            scenarios: list[Scenario] = []
            scales: list[np.ndarray] = []
            rows: list[slice] = []
            for cd in pending:
                first = 0 if cd.scores is None else 1
                members = self.member_scenarios[first:]
                rows.append(slice(len(scenarios), len(scenarios) + len(members)))
                rx = prescription_with(self.ctx.scenario.prescription, cd.knobs, cd.uf_required_l)
                scenarios += [with_prescription(member, rx) for member in members]
                scales.append(self.v_scales[first:])
            ev = self._run(scenarios, np.concatenate(scales)) if scenarios else None
            unscored = [(cd, row.start) for cd, row in zip(pending, rows, strict=True) if cd.scores is None]
            nominal: dict[Knobs, Scores] = {}
            if ev is not None and unscored:
                found = score_rows(self.ctx, [cd for cd, _ in unscored], ev, [i for _, i in unscored])
                nominal = {cd.key: sc for (cd, _), sc in zip(unscored, found, strict=True)}
            for cd, row in zip(pending, rows, strict=True):
                scores = cd.scores or nominal[cd.key]
                self._update(cd, scores=scores, ensemble=self._ensemble_scores(cd.scores, ev, row))
        return self._mark_static(cands)

    def baseline(self) -> tuple[Outcome, Evaluation]:
        """The current prescription over the ensemble; completes the context with what it showed (the
        reference spKt/V and whether hypocalcemia allows dialysate Ca above the KDIGO range)."""
        n_m = len(self.member_scenarios)
        ev = self._run(self.member_scenarios, self.v_scales)
        if 0 in ev.errors:  # the prescription as entered cannot be simulated for this patient
            raise InputError(ev.errors[0], "prescription")
        hypocalcemia = float(np.nanmean(ev.causes[HYPOCALCEMIA][:n_m])) if HYPOCALCEMIA in ev.causes else 0.0
        self.ctx = replace(
            self.ctx,
            ref_ktv=float(ev.sp_ktv[0]),
            allow_high_ca=hypocalcemia >= self.ctx.constraints.hypocalcemia_score_threshold,
        )
        return current_outcome(self.ctx, ev), ev

    def reuse_baseline(self, knobs: Knobs, ev: Evaluation) -> None:
        """Give the unchanged prescription the baseline's scores instead of simulating it again."""
        cd = self.candidate(knobs)
        if knobs == self.ctx.current and not cd.static and abs(cd.uf_required_l - self.ctx.goal_l) < 1e-12:
            rows = slice(0, len(self.member_scenarios))
            self._update(
                cd,
                scores=score_rows(self.ctx, [cd], ev, [0])[0],
                ensemble=self._ensemble_scores(None, ev, rows),
            )


def _varied(ctx: SearchContext, current: Outcome, ev: Evaluation) -> frozenset[str]:
    """The knobs the search varies for the current session's causes and unmet constraints."""
    n_m = ctx.n_members
    mean_causes = {k: float(np.nanmean(v[:n_m])) for k, v in ev.causes.items()}
    c = ctx.constraints
    return searched_knobs(
        (current.causes, mean_causes),
        uf_short=not current.uf_l >= ctx.goal_l - c.uf_tolerance_l,
        dose_short=not ctx.first_session
        and not current.sp_ktv >= c.min_sp_ktv(ctx.current.sessions_per_week),
        first_session=ctx.first_session,
    )


def _ranked(cands: Iterable[Candidate], current: Knobs) -> list[Candidate]:
    return sorted((cd for cd in cands if cd.feasible), key=lambda cd: rank_key(cd, current))


def _nominal_stages(
    s: Search, base: Knobs, options: Options, current: Outcome, seed: int
) -> dict[Knobs, Candidate]:
    """Lattice, combinations (with free UF profiles) and refinements, each scored for the patient as
    entered in one batch; returns every candidate by its settings."""
    stage1 = s.evaluate_nominal(s.candidates(lattice(base, options)))
    combos = combinations(base, s.candidate(base).objective, stage1)
    best1 = _ranked(stage1, s.ctx.current)
    if (
        best1
        and len(options.uf_profile) > 1
        and current.causes.get(HYPOVOLEMIA, 0.0) >= FREE_PROFILE_MIN_HYPOVOLEMIA
    ):
        combos += free_profiles(best1[0].knobs, seed)
    stage2 = s.evaluate_nominal(s.candidates(combos))
    pool = {cd.key: cd for cd in stage1 + stage2}
    best = _ranked(pool.values(), s.ctx.current)[:N_REFINED]
    stage3 = s.evaluate_nominal(s.candidates(refinements(best, options, s.ctx.current)))
    pool.update({cd.key: cd for cd in stage3})
    return pool


def _finalists(pool: dict[Knobs, Candidate], ctx: SearchContext, current: Outcome) -> list[Candidate]:
    """The best candidates by nominal objective plus the best one acting on each leading cause."""
    ranked = _ranked(pool.values(), ctx.current)
    final = finalists(ranked, ctx.current)
    keys = {cd.key for cd in final}
    for cause in leading_causes(current.causes):
        for cd in lever_candidates(cause, ranked, ctx.current, current.causes)[:1]:
            if cd.key not in keys:
                final.append(cd)
                keys.add(cd.key)
    return final


def _ensemble_stages(
    s: Search, pool: dict[Knobs, Candidate], options: Options, current: Outcome, top_k: int
) -> list[Candidate]:
    """The finalists over the ensemble, then the one-step neighbours of the best ``top_k`` (by the
    ensemble objective) over the ensemble; returns the feasible ensemble-scored candidates."""
    ctx = s.ctx
    final = s.evaluate_ensemble(_finalists(pool, ctx, current))
    pool.update({cd.key: cd for cd in final})
    scored = [cd for cd in final if cd.feasible and cd.ensemble is not None]
    best = pick(scored, min(top_k, N_POLISHED), ctx.current)
    near = [k for cd in best for k in neighbours(cd.knobs, options, ctx.current)]
    polished = s.evaluate_ensemble(s.candidates(near))
    pool.update({cd.key: cd for cd in polished})
    keys = {cd.key for cd in scored}
    return scored + [cd for cd in polished if cd.feasible and cd.ensemble is not None and cd.key not in keys]


def _choose(scored: list[Candidate], ctx: SearchContext, current: Outcome, top_k: int) -> list[Candidate]:
    """The options: the best ``top_k`` (see :func:`~crampwatch.optimizer.ranking.pick`), only those that
    lower the ensemble-mean risk unless none does, then an option for each leading cause left without."""
    chosen = sorted(pick(scored, top_k, ctx.current), key=lambda cd: (cd.nominal.risk, cd.mean_risk))
    better = [cd for cd in chosen if cd.mean_risk < current.ensemble_mean_risk]
    chosen = better or chosen[:1]
    chosen = add_lever_options(chosen, scored, ctx, current.causes, current.ensemble_mean_risk, top_k)
    return sorted(chosen, key=lambda cd: (cd.nominal.risk, cd.mean_risk))


def search(
    scenario: Scenario,
    *,
    evaluator: Evaluator,
    constraints: Constraints | None = None,
    n_ensemble: int = 8,
    top_k: int = 3,
    seed: int = 0,
    twin: PatientTwin | None = None,
) -> OptimizationResult:
    """Run the staged search with ``evaluator`` (see the module docstring); with a ``twin``
    (:class:`crampwatch.twin.PatientTwin`) the patient is the fitted twin and the ensemble is drawn from
    the twin's uncertainty."""
    t0 = time.perf_counter()
    c = constraints or Constraints()
    if twin is not None:
        scenario = twin.personalize(scenario)
    members = (
        patient_ensemble(scenario.patient, n_ensemble, seed)
        if twin is None
        else twin.ensemble(scenario.patient, n_ensemble, seed)
    )
    ctx = search_context(scenario, c, len(members), None if twin is None else twin.summary())
    s = Search(ctx, evaluator, members, volume_scales(n_ensemble, seed))
    current, current_ev = s.baseline()
    ctx = s.ctx
    base = project(ctx.current, options_for(scenario, c, allow_high_ca=False))
    base = ctx.current if base == ctx.current else base  # the same value: one object, one set of changes
    options = options_for(scenario, c, allow_high_ca=ctx.allow_high_ca).only(
        base, _varied(ctx, current, current_ev)
    )
    s.reuse_baseline(base, current_ev)
    pool = _nominal_stages(s, base, options, current, seed)
    scored = _ensemble_stages(s, pool, options, current, top_k)
    chosen = _choose(scored, ctx, current, top_k) if scored else []
    infeasible = None if scored else explain_infeasible(ctx, list(pool.values()))
    chosen_keys = {cd.key for cd in chosen}
    alike = [cd for cd in scored if cd.key not in chosen_keys]
    recs = [
        recommendation(ctx, cd, current, equivalents(cd, alike, ctx.current, MAX_EQUIVALENTS))
        for cd in chosen
    ]
    sources = [(current_ev, 0)] + [cd.nominal.source for cd in chosen]

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
        notes=notes(ctx),
        leading_causes=leading(ctx, chosen, current, base, options, list(pool.values())),
        n_candidates=len(s.cache),
        n_simulations=s.n_simulations,
        elapsed_s=time.perf_counter() - t0,
        _trace_getter=getter,
    )
