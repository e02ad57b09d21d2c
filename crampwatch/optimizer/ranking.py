"""Ranking of the optimizer's candidates: objective penalties, the candidate record, finalist and final
picks (see :mod:`crampwatch.optimizer.search` for the method).

Objective (lower is better): ensemble-mean overall cramp risk, plus modelling-choice penalties that
prefer simple, minimal changes when risks nearly tie: 0.02 per changed setting, 0.02 per extra hour of
session time, 0.06 per hour of session time cut (DOPPS: longer sessions, lower mortality), 0.1 per unit
of spKt/V lost below the current dose plus 0.3 per unit below min(current spKt/V, 1.4) (KDOQI 2006
target: dose is not traded away for small gains),
0.005 per mmol/L of positive Na gradient added (thirst, Trinh & Weber 2017).
Infeasible candidates rank after all feasible ones by how far they miss. IDH risk is reported beside
the cramp risk and breaks exact ties. ``risk`` is the ensemble mean and ``risk_range`` its 10th-90th
percentile; dose, UF and the constraints are those of the patient as entered (ensemble member 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from crampwatch.optimizer.evaluate import Evaluation
from crampwatch.optimizer.space import Knobs, change_size, changed_knobs

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
#: Interdialytic weight gain per +1 mmol/L Na gradient, % of body weight (DOPPS).
IDWG_PCT_PER_MMOL_L = 0.13
#: Objective penalty per mmol/L of positive Na gradient added (thirst; OR 1.33 per mmol/L for IDWG > 3 %,
#: Trinh & Weber 2017); its size is a modelling choice that only breaks near-ties toward isonatremia.
NA_GRADIENT_PENALTY = 0.005
#: Largest number of combinations scored in stage 2.
MAX_COMBINATIONS = 300
#: Candidates refined locally in stage 3, finalists re-scored over the ensemble, and at most this many
#: finalists with the same set of changed settings (keeps alternatives in the final round).
N_REFINED = 4
N_FINALISTS = 10
PER_CHANGE_SET = 3
#: Risk percentiles reported as ``risk_range``.
RISK_PERCENTILES = (10.0, 90.0)

#: Objective offset that ranks every infeasible candidate after every feasible one (modelling choice).
INFEASIBLE_OFFSET = 10.0
#: How far a candidate misses (ranking only): per litre of UF shortfall, per spKt/V unit below target, per
#: URR % above the first-session cap, and fixed misses for a candidate without a risk score, one the
#: simulator refuses, and one outside the static constraints (modelling choices).
MISS_PER_L_UF_SHORT = 10.0
MISS_PER_KTV_SHORT = 10.0
MISS_PER_URR_PCT_OVER = 0.1
MISS_NO_RISK = 5.0
MISS_NOT_SIMULABLE = 50.0
MISS_STATIC = 100.0


@dataclass(frozen=True, slots=True)
class Scores:
    """What scoring found for one candidate with the patient as entered (ensemble member 0); the
    defaults (NaN) stand for a quantity not simulated, e.g. for a candidate outside the static limits."""

    risk: float = float("nan")
    idh_risk: float = float("nan")
    sp_ktv: float = float("nan")
    urr_pct: float = float("nan")
    std_ktv: float = float("nan")
    uf_l: float = float("nan")
    duration_min: float = float("nan")
    causes: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    violations: tuple[str, ...] = ()
    #: How far the constraints are missed (ranking only) and the dose-loss penalty, objective units.
    miss: float = 0.0
    dose_penalty: float = 0.0
    #: The evaluation batch and row that produced these scores (for the trace of a recommendation).
    source: tuple[Evaluation, int] | None = None


#: Scores of a candidate not scored yet.
UNSCORED = Scores()


@dataclass(frozen=True, slots=True)
class EnsembleScores:
    """Cramp risk, IDH risk and cause scores of one candidate over the ensemble (member 0 first)."""

    risk: np.ndarray
    idh_risk: np.ndarray
    causes: Mapping[str, np.ndarray]
    #: Mean cramp risk over the members with a risk (NaN when none has one).
    mean_risk: float = field(init=False, default=float("nan"))

    def __post_init__(self) -> None:
        finite = np.isfinite(self.risk)
        object.__setattr__(self, "mean_risk", float(np.mean(self.risk[finite])) if finite.any() else np.nan)


@dataclass(frozen=True, slots=True, eq=False)
class Candidate:
    """One candidate prescription of a search: an immutable value; each scoring stage attaches its
    record with :func:`dataclasses.replace`. A search tells candidates apart by :attr:`key`.

    With a ``reference`` (the search's current prescription), ``changes`` and ``size`` are the changed
    settings and the size of the change from it (:func:`changed_knobs`, :func:`change_size`), computed
    once."""

    knobs: Knobs
    uf_required_l: float
    idwg_change_kg: float
    static: tuple[str, ...]
    penalty: float
    scores: Scores | None = None
    ensemble: EnsembleScores | None = None
    reference: Knobs | None = None
    changes: tuple[str, ...] | None = None
    size: float | None = None

    def __post_init__(self) -> None:
        if self.reference is not None and self.changes is None:  # stages keep them through replace()
            object.__setattr__(self, "changes", tuple(changed_knobs(self.reference, self.knobs)))
            object.__setattr__(self, "size", change_size(self.reference, self.knobs))

    def changes_from(self, current: Knobs) -> tuple[str, ...]:
        """The settings changed from ``current``."""
        if self.reference is current and self.changes is not None:
            return self.changes
        return tuple(changed_knobs(current, self.knobs))

    def size_from(self, current: Knobs) -> float:
        """The size of the change from ``current``."""
        if self.reference is current and self.size is not None:
            return self.size
        return change_size(current, self.knobs)

    @property
    def key(self) -> Knobs:
        """The prescription settings: the candidate's identity within a search."""
        return self.knobs

    @property
    def evaluated(self) -> bool:
        return self.scores is not None

    @property
    def nominal(self) -> Scores:
        """The scores for the patient as entered (all NaN while not scored)."""
        return self.scores if self.scores is not None else UNSCORED

    @property
    def feasible(self) -> bool:
        return self.evaluated and not self.nominal.violations and not self.static

    @property
    def mean_risk(self) -> float:
        """Ensemble-mean risk once scored over the ensemble, else the nominal risk (1 when unknown)."""
        if self.ensemble is not None and np.isfinite(self.ensemble.mean_risk):
            return self.ensemble.mean_risk
        risk = self.nominal.risk
        return risk if np.isfinite(risk) else 1.0

    @property
    def objective(self) -> float:
        """Ranking value (lower is better): risk plus penalties; infeasible candidates after all
        feasible ones, ordered by how far they miss."""
        value = self.mean_risk + self.penalty + self.nominal.dose_penalty
        return value if self.feasible else INFEASIBLE_OFFSET + self.nominal.miss + value


def risk_range(ensemble: np.ndarray, predicted: float) -> tuple[float, float]:
    """The ``RISK_PERCENTILES`` of the ensemble risks, widened to include the predicted risk."""
    x = np.asarray(ensemble, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return (float("nan"), float("nan"))
    lo, hi = (float(v) for v in np.percentile(x, RISK_PERCENTILES))
    if np.isfinite(predicted):
        lo, hi = min(lo, predicted), max(hi, predicted)
    return lo, hi


def finalists(ranked: list[Candidate], current: Knobs) -> list[Candidate]:
    """The best candidates by nominal objective, at most ``PER_CHANGE_SET`` per set of changed settings."""
    out: list[Candidate] = []
    counts: dict[frozenset[str], int] = {}
    for cd in ranked:
        key = frozenset(cd.changes_from(current))
        if counts.get(key, 0) < PER_CHANGE_SET:
            counts[key] = counts.get(key, 0) + 1
            out.append(cd)
        if len(out) == N_FINALISTS:
            break
    return out


#: Decimal places of the objective and the IDH risk that ranking compares: candidates that differ by less
#: are equally good, so round-off in the simulation cannot reorder them (modelling choice; 1e-6 is far
#: below any clinically meaningful risk difference).
RANK_DECIMALS = 6


def rank_key(cd: Candidate, current: Knobs) -> tuple[float, float, float]:
    """Sort key: objective, then IDH risk (lower first), each rounded to :data:`RANK_DECIMALS`; among
    equally good candidates the smaller change from the current prescription first."""
    return (
        round(cd.objective, RANK_DECIMALS),
        round(cd.nominal.idh_risk, RANK_DECIMALS),
        cd.size_from(current),
    )


#: Risks are shown in whole percent: options that change the same settings and whose predicted cramp
#: risk and IDH risk each differ by less than one shown percent are one option (the others are its
#: equivalents). The risk range is the spread over plausible patients, not the prediction, and is not
#: compared.
SHOWN_RISK_STEP = 0.01


def same_option(a: Candidate, b: Candidate, current: Knobs) -> bool:
    """Whether ``a`` and ``b`` change the same settings and show the same risks (within one percent)."""
    if a.changes_from(current) != b.changes_from(current):
        return False
    pairs = ((a.nominal.risk, b.nominal.risk), (a.nominal.idh_risk, b.nominal.idh_risk))
    return all(abs(x - y) < SHOWN_RISK_STEP for x, y in pairs)


def pick(cands: Iterable[Candidate], k: int, current: Knobs) -> list[Candidate]:
    """The ``k`` best candidates by objective: first one per distinct set of changed settings, then (to
    fill the list) the next best alternatives with the same settings changed to other values, unless they
    show the same risks as one already picked (:func:`same_option`).

    A candidate whose changes strictly include those of one already picked is skipped unless its risk is
    lower by at least two change penalties: it ranked lower, so otherwise its extra changes do not pay.
    """
    ordered = sorted(cands, key=lambda cd: rank_key(cd, current))
    changes = {cd.key: frozenset(cd.changes_from(current)) for cd in ordered}
    chosen: dict[Knobs, Candidate] = {}

    def redundant(cd: Candidate) -> bool:
        key = changes[cd.key]
        return any(
            (key > changes[o.key] and cd.mean_risk > o.mean_risk - 2 * CHANGE_PENALTY)
            or same_option(cd, o, current)
            for o in chosen.values()
        )

    for distinct in (True, False):
        for cd in ordered:
            if len(chosen) == k:
                return list(chosen.values())
            if cd.key in chosen or redundant(cd):
                continue
            if distinct and any(changes[cd.key] == changes[o] for o in chosen):
                continue
            chosen[cd.key] = cd
    return list(chosen.values())


def equivalents(option: Candidate, pool: Iterable[Candidate], current: Knobs, limit: int) -> list[Candidate]:
    """Up to ``limit`` other candidates of ``pool`` that are the same option as ``option``, best first."""
    same = [cd for cd in pool if cd.key != option.key and same_option(cd, option, current)]
    return sorted(same, key=lambda cd: rank_key(cd, current))[:limit]
