"""Candidate prescriptions of each search stage, from plain values (the base knobs, the allowed options and
the candidates scored so far): the lattice of one-setting moves and joint grids, the combinations of the
best moves, free piecewise UF profiles and the local refinements (see :mod:`crampwatch.optimizer.search`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.stats import qmc

from crampwatch.optimizer.ranking import MAX_COMBINATIONS, Candidate, rank_key
from crampwatch.optimizer.space import KNOB_SETTINGS, Knobs, Options, changed_knobs, grid
from crampwatch.signals import QB_ML_MIN

#: Free piecewise UF profile: fractions of the mean UF rate over four equal parts of the session, each
#: within these bounds and rounded to the step (modelling choices); a scrambled Sobol design of
#: ``N_FREE_PROFILES`` shapes is scored with the stage-2 batch and the best are refined +-0.1 per part.
FREE_PROFILE_BOUNDS = (0.4, 1.6)
FREE_PROFILE_STEP = 0.05
FREE_PROFILE_PARTS = 4
N_FREE_PROFILES = 16

#: Settings that trade dose against UF rate, combined as one group; the other groups vary alone.
TIME_GROUP = ("duration_min", "uf_profile", QB_ML_MIN, "qd_ml_min", "sessions_per_week", "isolated_uf_min")
SINGLE_GROUPS = ("na_mmol_l", "ca_mmol_l", "mg_mmol_l", "hco3_mmol_l", "temp_c")
#: Steps of the finer time and Qb grids of the refinements, min and mL/min (modelling choice).
FINE_DURATION_STEP_MIN = 5.0
FINE_QB_STEP_ML_MIN = 25.0
#: The joint grids take every n-th allowed session time (plus the longest and the current); the
#: refinements then step through the times between (modelling choice).
JOINT_DURATION_STRIDE = 1
#: Choices kept per group: the base value and the best moves (modelling choice).
TIME_CHOICES = 4
SINGLE_CHOICES = 3


def lattice(base: Knobs, options: Options) -> list[Knobs]:
    """Every one-setting move from ``base`` plus the joint grids time x UF profile and time x Qb (and time
    x Qb x Qd x sessions when those vary), distinct, ``base`` first."""
    variants = options.variants(base)
    out = [base, *itertools.chain.from_iterable(variants.values())]
    every = options.duration_min[::JOINT_DURATION_STRIDE]
    durations = tuple(sorted({*every, options.duration_min[-1], base.duration_min}))
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
    return list(dict.fromkeys(out))


def _only_changes(base: Knobs, cd: Candidate, names: tuple[str, ...]) -> bool:
    diff = set(changed_knobs(base, cd.knobs))
    return bool(diff) and diff <= set(names)


def _time_choices(base: Knobs, ranked: Sequence[Candidate]) -> list[tuple]:
    choices = [tuple(getattr(base, n) for n in TIME_GROUP)]
    for cd in ranked:
        if _only_changes(base, cd, TIME_GROUP):
            vals = tuple(getattr(cd.knobs, n) for n in TIME_GROUP)
            if vals not in choices:
                choices.append(vals)
        if len(choices) >= TIME_CHOICES:
            break
    return choices


def _group_fields(name: str) -> tuple[str, ...]:
    return ("na_mmol_l", "na_profile") if name == "na_mmol_l" else (name,)


def _single_choices(
    base: Knobs, ranked: Sequence[Candidate], base_objective: float
) -> tuple[dict[str, list[tuple]], dict[str, float]]:
    """Per single group: the base value and the best moves that beat the base, and the best improvement."""
    choices: dict[str, list[tuple]] = {}
    improvement: dict[str, float] = {}
    for name in SINGLE_GROUPS:
        fields = _group_fields(name)
        vals = [tuple(getattr(base, f) for f in fields)]
        best = base_objective
        for cd in ranked:
            if _only_changes(base, cd, (name,)) and cd.objective < base_objective:
                v = tuple(getattr(cd.knobs, f) for f in fields)
                if v not in vals:
                    vals.append(v)
                    best = min(best, cd.objective)
            if len(vals) >= SINGLE_CHOICES:
                break
        choices[name] = vals
        improvement[name] = base_objective - best
    return choices, improvement


def combinations(base: Knobs, base_objective: float, evaluated: Iterable[Candidate]) -> list[Knobs]:
    """Cartesian product of the best few values per group of settings (always incl. the base value), the
    groups that improved most first while the product stays within ``MAX_COMBINATIONS``."""
    ranked = sorted((cd for cd in evaluated if not cd.static), key=lambda cd: rank_key(cd, base))
    time_choices = _time_choices(base, ranked)
    single, improvement = _single_choices(base, ranked, base_objective)
    kept: list[str] = []
    size = len(time_choices)
    for name in sorted(SINGLE_GROUPS, key=lambda n: -improvement[n]):
        if len(single[name]) > 1 and size * len(single[name]) <= MAX_COMBINATIONS:
            kept.append(name)
            size *= len(single[name])
    out: list[Knobs] = []
    for tvals in time_choices:
        for combo in itertools.product(*(single[n] for n in kept)):
            update = dict(zip(TIME_GROUP, tvals, strict=True))
            for name, v in zip(kept, combo, strict=True):
                update.update(zip(_group_fields(name), v, strict=True))
            out.append(base.with_(**update))
    return out


def quarters(x: Iterable[float]) -> tuple[tuple[float, float], ...]:
    """A piecewise UF profile of equal parts with fractions ``x`` rounded to ``FREE_PROFILE_STEP``."""
    fr = [round(round(float(f) / FREE_PROFILE_STEP) * FREE_PROFILE_STEP, 3) for f in x]
    return tuple((i / len(fr), f) for i, f in enumerate(fr))


def free_profiles(start: Knobs, seed: int) -> list[Knobs]:
    """Free piecewise UF profiles (four equal parts) for ``start``'s other settings: a scrambled Sobol
    design over the allowed fractions (scipy.stats.qmc), rounded to ``FREE_PROFILE_STEP``."""
    lo, hi = FREE_PROFILE_BOUNDS
    design = qmc.Sobol(d=FREE_PROFILE_PARTS, scramble=True, seed=seed).random(N_FREE_PROFILES)
    return [start.with_(uf_profile=quarters(x)) for x in qmc.scale(design, lo, hi)]


def refinements(cands: Iterable[Candidate], options: Options, current: Knobs) -> list[Knobs]:
    """Finer time/Qb steps around each candidate, +-0.1 on each part of a free UF profile, and each change
    from ``current`` undone in turn (the minimal-change variants)."""
    fine_d = grid(min(options.duration_min), max(options.duration_min), FINE_DURATION_STEP_MIN)
    fine_q = grid(min(options.qb_ml_min), max(options.qb_ml_min), FINE_QB_STEP_ML_MIN)
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
                out.append(k.with_(uf_profile=quarters(x)))
        for name in changed_knobs(current, k):
            fields = _group_fields(name)
            out.append(k.with_(**{f: getattr(current, f) for f in fields}))
    return out


def _step(name: str) -> float | None:
    if name == "duration_min":
        return FINE_DURATION_STEP_MIN
    if name == QB_ML_MIN:
        return FINE_QB_STEP_ML_MIN
    return KNOB_SETTINGS[name].search_step


def _na_neighbours(k: Knobs, options: Options) -> list[Knobs]:
    """The allowed Na settings of the same kind (constant or profile) with a mean 1 step lower or higher."""
    step = _step("na_mmol_l") or 1.0
    out = []
    for na, profile in options.na:
        same_kind = (profile is None) == (k.na_profile is None)
        if same_kind and abs(abs(na - k.na_mmol_l) - step) < 1e-9:
            out.append(k.with_(na_mmol_l=na, na_profile=profile))
    return out


def neighbours(k: Knobs, options: Options, current: Knobs) -> list[Knobs]:
    """One step down and up on every numeric setting ``k`` changes from ``current`` (finer steps for time
    and Qb), inside the range of the allowed values."""
    out: list[Knobs] = []
    for name in changed_knobs(current, k):
        if name == "na_mmol_l":
            out += _na_neighbours(k, options)
            continue
        step = _step(name)
        values = getattr(options, name)
        if name in ("uf_profile", "qd_ml_min", "sessions_per_week") or not step:
            continue
        value = float(getattr(k, name))
        for v in (value - step, value + step):
            if min(values) - 1e-9 <= v <= max(values) + 1e-9:
                out.append(k.with_(**{name: round(v, 4)}))
    return out
