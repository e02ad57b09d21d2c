"""Decision variables of a prescription search and cheap candidate generation.

A candidate is a :class:`Knobs` value: the handful of prescription settings the optimizer may change
(session time, UF profile, dialysate Na / Ca / Mg / bicarbonate / temperature, blood and dialysate flow,
sessions per week). Time points of UF and Na profiles are stored as *fractions of the session* so that a
profile keeps its shape when the session length changes. :func:`apply_knobs` turns knobs into a
:class:`Scenario` with ``model_copy`` (no re-validation: the lattice only produces values inside the
model's ranges, and the tests check that every candidate validates).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from crampwatch.model import Dialysate, Prescription, Scenario

#: A UF profile: a named profile or piecewise-constant ``((t_fraction, rate_fraction), ...)``.
UfShape = str | tuple[tuple[float, float], ...]
#: A dialysate Na profile: ``((t_fraction, na_mmol_l), ...)`` with linear interpolation, or ``None``.
NaShape = tuple[tuple[float, float], ...] | None

#: Free piecewise UF profiles offered besides the named ones (fractions of the mean rate over quarters of
#: the session). Front-loading UF while the interstitium is full and easing off late, when cramps and
#: hypotension cluster (Lynch 2014, physiology.md §7.1), is the rationale; the exact numbers are a
#: modelling choice.
FREE_UF_PROFILES: dict[str, tuple[tuple[float, float], ...]] = {
    "front_loaded": ((0.0, 1.4), (0.25, 1.2), (0.5, 0.9), (0.75, 0.5)),
    "late_rest": ((0.0, 1.2), (0.25, 1.2), (0.5, 1.1), (0.75, 0.5)),
}


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

    def mean_na_mmol_l(self) -> float:
        """Time-averaged dialysate Na over the session (trapezoid on the profile), mmol/L."""
        if self.na_profile is None:
            return self.na_mmol_l
        pts = list(self.na_profile)
        if pts[0][0] > 0:
            pts.insert(0, (0.0, pts[0][1]))
        if pts[-1][0] < 1:
            pts.append((1.0, pts[-1][1]))
        return float(sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in zip(pts, pts[1:], strict=False)))

    def with_(self, **changes: Any) -> Knobs:
        return replace(self, **changes)


KNOB_NAMES = tuple(f.name for f in fields(Knobs))


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
        na_mmol_l=float(rx.mean_dialysate_na() if na_prof else rx.dialysate.na_mmol_l),
        na_profile=na_prof,
        ca_mmol_l=float(rx.dialysate.ca_mmol_l),
        mg_mmol_l=float(rx.dialysate.mg_mmol_l),
        hco3_mmol_l=float(rx.dialysate.hco3_mmol_l),
        temp_c=float(rx.dialysate.temp_c),
        qb_ml_min=float(rx.qb_ml_min),
        qd_ml_min=float(rx.qd_ml_min),
        sessions_per_week=int(rx.sessions_per_week),
    )


def apply_knobs(scenario: Scenario, knobs: Knobs, uf_volume_l: float) -> Scenario:
    """A copy of ``scenario`` with ``knobs`` and a per-session UF volume (cheap: no re-validation)."""
    rx = scenario.prescription
    dur = knobs.duration_min
    uf_profile: Any = knobs.uf_profile
    if not isinstance(uf_profile, str):
        uf_profile = [(round(t * dur, 3), f) for t, f in uf_profile]
    na_profile = None
    if knobs.na_profile is not None:
        na_profile = [(round(t * dur, 3), na) for t, na in knobs.na_profile]
    dialysate: Dialysate = rx.dialysate.model_copy(
        update={
            "na_mmol_l": knobs.na_mmol_l,
            "na_profile": na_profile,
            "ca_mmol_l": knobs.ca_mmol_l,
            "mg_mmol_l": knobs.mg_mmol_l,
            "hco3_mmol_l": knobs.hco3_mmol_l,
            "temp_c": knobs.temp_c,
        }
    )
    new_rx: Prescription = rx.model_copy(
        update={
            "duration_min": dur,
            "uf_volume_l": round(float(uf_volume_l), 4),
            "uf_profile": uf_profile,
            "qb_ml_min": knobs.qb_ml_min,
            "qd_ml_min": knobs.qd_ml_min,
            "sessions_per_week": knobs.sessions_per_week,
            "dialysate": dialysate,
        }
    )
    return scenario.model_copy(update={"prescription": new_rx})


# ------------------------------------------------------------------------------------------- describing


def _num(x: float) -> str:
    return f"{x:g}" if abs(x - round(x, 2)) < 1e-9 else f"{x:.2f}"


def uf_profile_label(shape: UfShape) -> str:
    if isinstance(shape, str):
        return shape
    for name, pts in FREE_UF_PROFILES.items():
        if pts == shape:
            return f"{name} [{', '.join(_num(f) for _, f in pts)}]"
    times = [t for t, _ in shape]
    n = len(shape)
    if n > 1 and all(abs(t - i / n) < 1e-9 for i, t in enumerate(times)):
        return f"piecewise, {n} equal parts [{', '.join(_num(f) for _, f in shape)}] x mean rate"
    return "piecewise [" + ", ".join(f"{_num(f)} from {_num(100 * t)}%" for t, f in shape) + "]"


def na_label(knobs: Knobs) -> str:
    if knobs.na_profile is None:
        return _num(knobs.na_mmol_l)
    start, end = knobs.na_profile[0][1], knobs.na_profile[-1][1]
    return f"profile {_num(start)}->{_num(end)} (mean {_num(round(knobs.mean_na_mmol_l(), 1))})"


#: The name each knob has in the prescription (used in the "changes" list) and how its value is shown.
CHANGE_NAMES: dict[str, str] = {
    "duration_min": "duration_min",
    "uf_profile": "uf_profile",
    "na_mmol_l": "dialysate.na_mmol_l",
    "ca_mmol_l": "dialysate.ca_mmol_l",
    "mg_mmol_l": "dialysate.mg_mmol_l",
    "hco3_mmol_l": "dialysate.hco3_mmol_l",
    "temp_c": "dialysate.temp_c",
    "qb_ml_min": "qb_ml_min",
    "qd_ml_min": "qd_ml_min",
    "sessions_per_week": "sessions_per_week",
}


def changed_knobs(old: Knobs, new: Knobs) -> list[str]:
    """Names of the knobs (in :data:`CHANGE_NAMES` terms) that differ; a Na profile counts as Na."""
    out: list[str] = []
    for name in CHANGE_NAMES:
        if name == "na_mmol_l":
            same = old.na_profile == new.na_profile and abs(old.na_mmol_l - new.na_mmol_l) < 1e-9
        elif name == "uf_profile":
            same = old.uf_profile == new.uf_profile
        else:
            same = abs(float(getattr(old, name)) - float(getattr(new, name))) < 1e-9
        if not same:
            out.append(name)
    return out


def describe_changes(old: Knobs, new: Knobs) -> list[str]:
    """Human-readable ``"field old -> new"`` lines (contracts.md "changes")."""
    lines = []
    for name in changed_knobs(old, new):
        if name == "uf_profile":
            a, b = uf_profile_label(old.uf_profile), uf_profile_label(new.uf_profile)
        elif name == "na_mmol_l":
            a, b = na_label(old), na_label(new)
        else:
            a, b = _num(float(getattr(old, name))), _num(float(getattr(new, name)))
        lines.append(f"{CHANGE_NAMES[name]} {a} -> {b}")
    return lines


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
            "qb_ml_min",
            "qd_ml_min",
            "sessions_per_week",
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


def nearest(values: tuple[float, ...], x: float) -> float:
    """The element of ``values`` nearest to ``x``."""
    return min(values, key=lambda v: (abs(v - x), v))


def neighbours(values: tuple[float, ...], x: float, k: int = 1) -> list[float]:
    """Up to ``k`` values on each side of ``x`` in the sorted ``values`` (x itself excluded)."""
    below = [v for v in values if v < x - 1e-9][-k:]
    above = [v for v in values if v > x + 1e-9][:k]
    return below + above
