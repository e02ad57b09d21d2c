"""The causes steer the search: which settings it varies, which options it must keep, and why a leading
cause gets no option.

Each cause in :mod:`crampwatch.causes.registry` names its levers (prescription settings). A search varies
the levers of the causes active in the current session (score >= ``ACTIVE_CAUSE_MIN_SCORE``) and the
settings an unmet outcome constraint needs (UF goal: time, schedule, UF profile; dose: time, blood flow,
schedule; a first session: time, blood flow, dialysate flow); every other setting stays as prescribed
(or as projected into its allowed range). For each leading cause (score >= ``LEADING_CAUSE_MIN_SCORE``,
at most ``MAX_LEADING_CAUSES``) the result keeps an option that changes one of its levers and lowers it,
or gives one line per lever saying why not: no other value is allowed, no allowed value lowers it, the
value that lowers it breaks a limit (dose, UF goal, guideline range), or it raises the overall risk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crampwatch.causes.registry import CAUSE_REGISTRY
from crampwatch.optimizer.context import SearchContext
from crampwatch.optimizer.explain import MIN_CAUSE_DROP, MIN_CAUSE_SCORE
from crampwatch.optimizer.ranking import Candidate, rank_key
from crampwatch.optimizer.space import KNOB_SETTINGS, Knobs, Options, changed_knobs, describe_changes
from crampwatch.prescription_settings import format_number
from crampwatch.signals import QB_ML_MIN

#: The knob of each prescription setting the optimizer varies (a Na profile is the dialysate Na knob).
SETTING_KNOB: dict[str, str] = {spec.name: knob for knob, spec in KNOB_SETTINGS.items()}
#: A cause is active, and its levers are searched, from this score of the current session (the score
#: from which a cause counts as addressed; modelling choice).
ACTIVE_CAUSE_MIN_SCORE = MIN_CAUSE_SCORE
#: A cause leads from this score (the analyzer score at which hypocalcemia allows dialysate Ca above the
#: KDIGO range; modelling choice), at most ``MAX_LEADING_CAUSES`` of them, highest first.
LEADING_CAUSE_MIN_SCORE = 0.3
MAX_LEADING_CAUSES = 3
#: A cause score change below this counts as no change (simulation round-off; modelling choice).
NO_CHANGE = 0.005
#: Settings an unmet outcome constraint needs, whatever the causes.
UF_GOAL_KNOBS = ("duration_min", "sessions_per_week", "uf_profile")
DOSE_KNOBS = ("duration_min", QB_ML_MIN, "sessions_per_week")
FIRST_SESSION_KNOBS = ("duration_min", QB_ML_MIN, "qd_ml_min")


def lever_knobs(cause: str) -> tuple[str, ...]:
    """The optimizer's knobs for the levers of ``cause`` (registry order)."""
    knobs = (SETTING_KNOB.get(name) for name in CAUSE_REGISTRY[cause].levers)
    return tuple(dict.fromkeys(k for k in knobs if k is not None))


def searched_knobs(
    causes: Iterable[Mapping[str, float]], *, uf_short: bool, dose_short: bool, first_session: bool
) -> frozenset[str]:
    """The knobs a search varies: the levers of every cause at or above ``ACTIVE_CAUSE_MIN_SCORE`` in any
    of ``causes`` (e.g. the nominal scores and the ensemble means), plus what unmet constraints need."""
    out: set[str] = set()
    for scores in causes:
        for cause, score in scores.items():
            if cause in CAUSE_REGISTRY and score >= ACTIVE_CAUSE_MIN_SCORE:
                out.update(lever_knobs(cause))
    for needed, knobs in (
        (uf_short, UF_GOAL_KNOBS),
        (dose_short, DOSE_KNOBS),
        (first_session, FIRST_SESSION_KNOBS),
    ):
        if needed:
            out.update(knobs)
    return frozenset(out)


def leading_causes(causes: Mapping[str, float]) -> list[str]:
    """Causes scoring at least ``LEADING_CAUSE_MIN_SCORE``, highest first, at most ``MAX_LEADING_CAUSES``."""
    ranked = sorted(
        ((s, c) for c, s in causes.items() if c in CAUSE_REGISTRY and s >= LEADING_CAUSE_MIN_SCORE),
        key=lambda sc: -sc[0],
    )
    return [c for _, c in ranked[:MAX_LEADING_CAUSES]]


def lowers(cd: Candidate, cause: str, current_causes: Mapping[str, float]) -> bool:
    """Whether ``cd`` (patient as entered) lowers ``cause`` by at least ``MIN_CAUSE_DROP``."""
    after = cd.nominal.causes.get(cause, float("nan"))
    return bool(current_causes.get(cause, 0.0) - after >= MIN_CAUSE_DROP)


def acts_on(cd: Candidate, cause: str, current: Knobs, current_causes: Mapping[str, float]) -> bool:
    """Whether ``cd`` changes one of the levers of ``cause`` and lowers it."""
    levers = set(lever_knobs(cause))
    return bool(levers.intersection(cd.changes_from(current))) and lowers(cd, cause, current_causes)


def lever_candidates(
    cause: str, cands: Iterable[Candidate], current: Knobs, current_causes: Mapping[str, float]
) -> list[Candidate]:
    """Feasible candidates acting on ``cause``, best first."""
    found = [cd for cd in cands if cd.feasible and acts_on(cd, cause, current, current_causes)]
    return sorted(found, key=lambda cd: rank_key(cd, current))


def covers(chosen: Sequence[Candidate], cause: str, ctx: SearchContext, causes: Mapping[str, float]) -> bool:
    return any(acts_on(cd, cause, ctx.current, causes) for cd in chosen)


def add_lever_options(
    chosen: list[Candidate],
    scored: Sequence[Candidate],
    ctx: SearchContext,
    current_causes: Mapping[str, float],
    current_mean_risk: float,
    top_k: int,
) -> list[Candidate]:
    """``chosen`` with, for each leading cause no option acts on, the best ensemble-scored option that does
    and lowers the mean risk: in a free place, else in place of the last option that is not the only one
    acting on a leading cause."""
    out = list(chosen)
    leading = leading_causes(current_causes)
    for cause in leading:
        if covers(out, cause, ctx, current_causes):
            continue
        keys = {o.key for o in out}
        found = [
            cd
            for cd in lever_candidates(cause, scored, ctx.current, current_causes)
            if cd.ensemble is not None and cd.mean_risk < current_mean_risk and cd.key not in keys
        ]
        if not found:
            continue
        if len(out) < top_k:
            out.append(found[0])
            continue
        for i in range(len(out) - 1, -1, -1):
            rest = out[:i] + out[i + 1 :]
            if all(
                covers(rest, c, ctx, current_causes) for c in leading if covers(out, c, ctx, current_causes)
            ):
                out[i] = found[0]
                break
    return out


# ------------------------------------------------------------------------------------------ why not


def _value_text(knob: str, value: float) -> str:
    spec = KNOB_SETTINGS[knob]
    if spec.unit.startswith("/"):  # a rate such as sessions per week: "3 a week"
        return f"{format_number(value)} a {spec.unit[1:]}"
    return f"{format_number(value)} {spec.unit}".strip()


def _moves(knob: str, base: Knobs, evaluated: Iterable[Candidate]) -> list[Candidate]:
    """Scored candidates that differ from ``base`` in ``knob`` only."""
    return [cd for cd in evaluated if cd.evaluated and changed_knobs(base, cd.knobs) == [knob]]


def _option_values(knob: str, options: Options) -> tuple:
    return options.na if knob == "na_mmol_l" else getattr(options, knob)


def _at(value: float, end: float) -> bool:
    return abs(value - end) < 1e-9


def _no_effect_line(
    knob: str, base: Knobs, moves: Sequence[Candidate], options: Options, cause: str, before: float
) -> str:
    """Why no allowed value of ``knob`` lowers ``cause`` (from ``before``) by ``MIN_CAUSE_DROP``: the best
    value lowers it less, ``knob`` is at the end of its allowed range, or no value changes it."""
    spec = KNOB_SETTINGS[knob]
    label = CAUSE_REGISTRY[cause].label.lower()
    values = _option_values(knob, options)
    scored = [cd for cd in moves if np.isfinite(cd.nominal.causes.get(cause, np.nan))]
    best = min(scored, key=lambda cd: cd.nominal.causes[cause], default=None)
    if best is None:
        return f"{spec.label}: the other allowed values could not be simulated."
    after = best.nominal.causes[cause]
    if knob in ("uf_profile", "na_mmol_l"):
        return (
            f"{spec.label}: none of the {len(values) - 1} other allowed settings lowers {label} by "
            f"{MIN_CAUSE_DROP:g} or more (at best {before:.2f} → {after:.2f})."
        )
    lo, hi = min(values), max(values)
    value, best_value = float(getattr(base, knob)), float(getattr(best.knobs, knob))
    if before - after > NO_CHANGE:
        end = (
            " (the highest allowed)"
            if best_value == hi
            else " (the lowest allowed)"
            if best_value == lo
            else ""
        )
        return (
            f"{spec.label} {_value_text(knob, best_value)}{end} lowers {label} only from {before:.2f} to "
            f"{after:.2f}."
        )
    if _at(value, lo) or _at(value, hi):
        end = "highest" if _at(value, hi) else "lowest"
        return (
            f"{spec.label} is at the {end} allowed value, {_value_text(knob, value)}; the other allowed "
            f"values leave {label} at {before:.2f} or more."
        )
    allowed = f"{format_number(lo)}–{_value_text(knob, hi)}"
    return f"{spec.label} {allowed} (the allowed range) leaves {label} at {before:.2f}."


def _change_text(ctx: SearchContext, base: Knobs, cd: Candidate) -> str:
    changes = describe_changes(ctx.scenario, base, cd.knobs, ctx.goal_l, ctx.goal_l)
    return "; ".join(ch.text for ch in changes)


@dataclass(frozen=True)
class Tried:
    """What a search tried, for the lines on the levers: its context, the base it moved from, the values it
    allowed, the candidates it scored, and the current prescription's nominal risk, ensemble-mean risk
    and nominal cause scores."""

    ctx: SearchContext
    base: Knobs
    options: Options
    evaluated: Sequence[Candidate]
    risk: float
    mean_risk: float
    causes: Mapping[str, float]


def lever_line(knob: str, cause: str, tried: Tried) -> str:
    """One clinical line: why lever ``knob`` gives no option for ``cause``."""
    ctx, base, options = tried.ctx, tried.base, tried.options
    risk, mean_risk, causes = tried.risk, tried.mean_risk, tried.causes
    label = CAUSE_REGISTRY[cause].label.lower()
    spec = KNOB_SETTINGS[knob]
    if len(_option_values(knob, options)) < 2:
        value = getattr(base, knob)
        shown = _value_text(knob, value) if isinstance(value, int | float) else "as prescribed"
        return f"{spec.label} stays at {shown}: the constraints of this search allow no other value."
    moves = _moves(knob, base, tried.evaluated)
    helpful = sorted((cd for cd in moves if lowers(cd, cause, causes)), key=lambda cd: rank_key(cd, base))
    if not helpful:
        return _no_effect_line(knob, base, moves, options, cause, causes.get(cause, np.nan))
    feasible = [cd for cd in helpful if cd.feasible]
    cd = (feasible or helpful)[0]
    text = f"{_change_text(ctx, base, cd)} lowers {label} to {cd.nominal.causes[cause]:.2f}"
    if not feasible:
        limits = cd.static or cd.nominal.violations
        return f"{text} but is outside the limits: {'; '.join(limits)}."
    if cd.ensemble is not None and cd.mean_risk >= mean_risk:
        return (
            f"{text} but raises the mean predicted cramp risk over plausible patients "
            f"{mean_risk:.2f} → {cd.mean_risk:.2f}."
        )
    if cd.nominal.risk >= risk:
        return f"{text} but raises the predicted cramp risk {risk:.2f} → {cd.nominal.risk:.2f}."
    return f"{text} (predicted cramp risk {cd.nominal.risk:.2f}); the options shown lower the risk more."


def why_not(cause: str, tried: Tried) -> tuple[str, ...]:
    """One line per lever of ``cause`` saying why none gives an option (or that it has no lever)."""
    knobs = lever_knobs(cause)
    if not knobs:
        label = CAUSE_REGISTRY[cause].label
        return (f"{label}: no dialysis prescription setting acts on it; the assessment's advice applies.",)
    return tuple(lever_line(k, cause, tried) for k in knobs)
