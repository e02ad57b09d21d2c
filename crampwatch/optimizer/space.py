"""Decision variables of a prescription search and cheap candidate generation.

A candidate is a :class:`Knobs` value: the handful of prescription settings the optimizer may change
(session time, UF profile, dialysate Na / Ca / Mg / bicarbonate / temperature, blood and dialysate flow,
sessions per week). Time points of UF and Na profiles are stored as *fractions of the session* so that a
profile keeps its shape when the session length changes. :func:`apply_knobs` turns knobs into a
:class:`Scenario` whose prescription is validated once (:func:`crampwatch.model.with_changes`, the dialysate
inside it), so a candidate outside the model's ranges raises ``ValidationError`` naming the setting. The
scenario around it is assembled without a second validation: :class:`Scenario` has no rule across patient
and prescription, and validating every copy cost the search 12-16 % more CPU time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

from crampwatch.model import Prescription, Scenario, with_changes
from crampwatch.prescription_settings import SETTING_BY_NAME, Change, PrescriptionSetting
from crampwatch.prescription_settings import describe_changes as describe_prescription_changes
from crampwatch.quantities import mean_dialysate_na_mmol_l
from crampwatch.signals import DIALYSATE_NA_MMOL_L, DIALYSATE_TEMP_C, QB_ML_MIN

#: A UF profile: a named profile or piecewise-constant ``((t_fraction, rate_fraction), ...)``.
UfShape = str | tuple[tuple[float, float], ...]
#: A dialysate Na profile: ``((t_fraction, na_mmol_l), ...)`` with linear interpolation, or ``None``.
NaShape = tuple[tuple[float, float], ...] | None
#: Pairs of knobs whose changed settings are remembered (a search compares a few thousand pairs).
CHANGED_CACHE_SIZE = 65536


@dataclass(frozen=True)
class Knobs:
    """The prescription settings the optimizer varies (hashable, so duplicates collapse)."""

    duration_min: float
    uf_profile: UfShape
    na_mmol_l: float
    na_profile: NaShape
    ca_mmol_l: float
    mg_mmol_l: float
    hco3_mmol_l: float
    temp_c: float
    qb_ml_min: float
    qd_ml_min: float
    sessions_per_week: int
    isolated_uf_min: float = 0.0
    #: The hash, computed once: candidates are looked up by their knobs many times per search.
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_hash", hash(tuple(getattr(self, f.name) for f in fields(self) if f.compare))
        )

    def __hash__(self) -> int:
        return self._hash

    def mean_na_mmol_l(self) -> float:
        """Time-averaged dialysate Na over the session (:func:`crampwatch.quantities.mean_dialysate_na_mmol_l`
        on the profile's session fractions), mmol/L."""
        return mean_dialysate_na_mmol_l(self.na_mmol_l, self.na_profile, 1.0)

    def with_(self, **changes: Any) -> Knobs:
        return replace(self, **changes)


def knobs_from(scenario: Scenario) -> Knobs:
    """The knobs of the scenario's own prescription."""
    rx = scenario.prescription
    dur = rx.duration_min
    uf: UfShape = (
        rx.uf_profile
        if isinstance(rx.uf_profile, str)
        else tuple((float(t) / dur, float(f)) for t, f in rx.uf_profile)
    )
    na_prof: NaShape = None
    if rx.dialysate.na_profile is not None:
        na_prof = tuple((float(t) / dur, float(na)) for t, na in rx.dialysate.na_profile)
    return Knobs(
        duration_min=float(dur),
        uf_profile=uf,
        na_mmol_l=rx.mean_dialysate_na(),
        na_profile=na_prof,
        ca_mmol_l=float(rx.dialysate.ca_mmol_l),
        mg_mmol_l=float(rx.dialysate.mg_mmol_l),
        hco3_mmol_l=float(rx.dialysate.hco3_mmol_l),
        temp_c=float(rx.dialysate.temp_c),
        qb_ml_min=float(rx.qb_ml_min),
        qd_ml_min=float(rx.qd_ml_min),
        sessions_per_week=int(rx.sessions_per_week),
        isolated_uf_min=float(rx.isolated_uf_min),
    )


def apply_knobs(scenario: Scenario, knobs: Knobs, uf_volume_l: float) -> Scenario:
    """A copy of ``scenario`` with ``knobs`` and a per-session UF volume (the prescription validated)."""
    return with_prescription(scenario, prescription_with(scenario.prescription, knobs, uf_volume_l))


def with_prescription(scenario: Scenario, rx: Prescription) -> Scenario:
    """``scenario`` with the validated prescription ``rx`` (nothing to check across the two)."""
    return scenario.model_copy(update={"prescription": rx})


def prescription_with(rx: Prescription, knobs: Knobs, uf_volume_l: float) -> Prescription:
    """A copy of prescription ``rx`` with ``knobs`` and a per-session UF volume, validated once (with its
    dialysate)."""
    dur = knobs.duration_min
    uf_profile: Any = knobs.uf_profile
    if not isinstance(uf_profile, str):
        uf_profile = [(round(t * dur, 3), f) for t, f in uf_profile]
    na_profile = None
    if knobs.na_profile is not None:
        na_profile = [(round(t * dur, 3), na) for t, na in knobs.na_profile]
    dialysate = {
        **dict(rx.dialysate),
        "na_mmol_l": knobs.na_mmol_l,
        "na_profile": na_profile,
        "ca_mmol_l": knobs.ca_mmol_l,
        "mg_mmol_l": knobs.mg_mmol_l,
        "hco3_mmol_l": knobs.hco3_mmol_l,
        "temp_c": knobs.temp_c,
    }
    return with_changes(
        rx,
        duration_min=dur,
        uf_volume_l=round(float(uf_volume_l), 4),
        uf_profile=uf_profile,
        qb_ml_min=knobs.qb_ml_min,
        qd_ml_min=knobs.qd_ml_min,
        sessions_per_week=knobs.sessions_per_week,
        isolated_uf_min=knobs.isolated_uf_min,
        dialysate=dialysate,
    )


# ------------------------------------------------------------------------------------------- describing


#: The registry setting (``crampwatch.prescription_settings``) each knob changes; a Na profile counts as
#: the dialysate Na setting.
KNOB_SETTINGS: dict[str, PrescriptionSetting] = {
    knob: SETTING_BY_NAME[name]
    for knob, name in {
        "duration_min": "duration_min",
        "uf_profile": "uf_profile",
        "na_mmol_l": DIALYSATE_NA_MMOL_L,
        "ca_mmol_l": "dialysate_ca_mmol_l",
        "mg_mmol_l": "dialysate_mg_mmol_l",
        "hco3_mmol_l": "dialysate_hco3_mmol_l",
        "temp_c": DIALYSATE_TEMP_C,
        QB_ML_MIN: QB_ML_MIN,
        "qd_ml_min": "qd_ml_min",
        "sessions_per_week": "sessions_per_week",
        "isolated_uf_min": "isolated_uf_min",
    }.items()
}


def change_size(old: Knobs, new: Knobs) -> float:
    """How far ``new`` moves from ``old``: per changed knob, the change in its search steps (1 for a
    profile or a knob without a step), summed."""
    size = 0.0
    for name in changed_knobs(old, new):
        step = KNOB_SETTINGS[name].search_step
        if name == "uf_profile" or (name == "na_mmol_l" and old.na_profile != new.na_profile) or not step:
            size += 1.0
        else:
            size += abs(float(getattr(new, name)) - float(getattr(old, name))) / step
    return size


def changed_knobs(old: Knobs, new: Knobs) -> list[str]:
    """Names of the knobs that differ (in :data:`KNOB_SETTINGS` order); a Na profile counts as Na."""
    return list(_changed(old, new))


@lru_cache(maxsize=CHANGED_CACHE_SIZE)
def _changed(old: Knobs, new: Knobs) -> tuple[str, ...]:
    """:func:`changed_knobs` of two (immutable, hashable) knobs, remembered: a search compares the same
    pairs many times while ranking."""
    out: list[str] = []
    for name in KNOB_SETTINGS:
        if name == "na_mmol_l":
            same = old.na_profile == new.na_profile and abs(old.na_mmol_l - new.na_mmol_l) < 1e-9
        elif name == "uf_profile":
            same = old.uf_profile == new.uf_profile
        else:
            same = abs(float(getattr(old, name)) - float(getattr(new, name))) < 1e-9
        if not same:
            out.append(name)
    return tuple(out)


def describe_changes(
    scenario: Scenario, old: Knobs, new: Knobs, uf_old_l: float, uf_new_l: float
) -> list[Change]:
    """What differs between two candidates of ``scenario`` (with their per-session UF volumes), described
    by the one registry function :func:`crampwatch.prescription_settings.describe_changes`."""
    return describe_prescription_changes(
        apply_knobs(scenario, old, uf_old_l).prescription, apply_knobs(scenario, new, uf_new_l).prescription
    )


# ------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    """Allowed values of each knob (the search lattice), built by ``constraints.options_for``."""

    duration_min: tuple[float, ...]
    uf_profile: tuple[UfShape, ...]
    na: tuple[tuple[float, NaShape], ...]
    ca_mmol_l: tuple[float, ...]
    mg_mmol_l: tuple[float, ...]
    hco3_mmol_l: tuple[float, ...]
    temp_c: tuple[float, ...]
    qb_ml_min: tuple[float, ...]
    qd_ml_min: tuple[float, ...]
    sessions_per_week: tuple[int, ...]
    isolated_uf_min: tuple[float, ...] = (0.0,)

    def only(self, base: Knobs, knobs: frozenset[str]) -> Options:
        """These options with every knob not in ``knobs`` held at ``base``'s value."""
        held: dict[str, Any] = {
            name: (getattr(base, name),)
            for name in KNOB_SETTINGS
            if name not in knobs and name != "na_mmol_l"
        }
        if "na_mmol_l" not in knobs:
            held["na"] = ((base.na_mmol_l, base.na_profile),)
        return replace(self, **held)

    def variants(self, base: Knobs) -> dict[str, list[Knobs]]:
        """One-knob-at-a-time variants of ``base`` per knob (the base itself excluded)."""
        out: dict[str, list[Knobs]] = {}
        simple = (
            "duration_min",
            "uf_profile",
            "ca_mmol_l",
            "mg_mmol_l",
            "hco3_mmol_l",
            "temp_c",
            QB_ML_MIN,
            "qd_ml_min",
            "sessions_per_week",
            "isolated_uf_min",
        )
        for name in simple:
            out[name] = [base.with_(**{name: v}) for v in getattr(self, name) if v != getattr(base, name)]
        out["na_mmol_l"] = [
            base.with_(na_mmol_l=na, na_profile=prof)
            for na, prof in self.na
            if not (prof == base.na_profile and abs(na - base.na_mmol_l) < 1e-9)
        ]
        return out


def grid(low: float, high: float, step: float, include: tuple[float, ...] = ()) -> tuple[float, ...]:
    """``low, low+step, ..., high`` (both ends included) plus ``include`` values inside the bounds."""
    if high < low:
        return ()
    n = int((high - low) / step + 1e-9)
    vals = {round(low + i * step, 4) for i in range(n + 1)} | {round(high, 4)}
    vals |= {round(v, 4) for v in include if low - 1e-9 <= v <= high + 1e-9}
    return tuple(sorted(vals))
