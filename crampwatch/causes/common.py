"""Shared pieces of the cause modules: score ramps, noisy-OR, and the per-session input of a finding.

Scores are built from linear ramps between a cited threshold and a point where the evidence counts fully,
weighted per part and combined by noisy-OR. The ramp widths and part weights are modelling choices (no
source gives them); the thresholds the ramps start from are in :mod:`crampwatch.causes.thresholds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crampwatch.causes.features import Context, Features, time_of
from crampwatch.causes.findings import Confidence, Evidence
from crampwatch.causes.sentences import Direction, Sense
from crampwatch.causes.sentences import direction as direction_of
from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.model import Scenario
from crampwatch.signals import T_MIN


def ramp(x: np.ndarray | float, lo: float | np.ndarray, hi: float | np.ndarray) -> np.ndarray:
    """0 below ``lo``, 1 above ``hi``, linear between; NaN (no evidence) gives 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (np.asarray(x, dtype=float) - lo) / (np.asarray(hi, dtype=float) - lo)
    # fmax/fmin return the number where the other operand is NaN: NaN -> 0, then clipped to [0, 1]
    return np.fmin(np.fmax(r, 0.0), 1.0)


def noisy_or(*parts: np.ndarray) -> np.ndarray:
    """``1 - prod(1 - p)``: the chance that at least one independent piece of evidence holds."""
    out = np.zeros_like(np.asarray(parts[0], dtype=float))
    for p in parts:
        out = 1.0 - (1.0 - out) * (1.0 - np.clip(p, 0.0, 1.0))
    return out


@dataclass(frozen=True)
class SessionInput:
    """Everything a finding builder needs for one session (index ``i`` of a batch)."""

    i: int
    features: Features
    ctx: Context
    parts: dict[str, np.ndarray]  # sub-scores of the cause being explained
    scores: dict[str, np.ndarray]
    scenario: Scenario
    signal_status: dict[str, str]  # signal -> measured | simulated | estimated | missing
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, Any] = field(default_factory=dict)

    def f(self, name: str) -> float:
        """Feature ``name`` of this session (NaN when absent)."""
        return float(self.features.values[name][self.i])

    def p(self, name: str) -> float:
        """Sub-score ``name`` of this session."""
        return float(self.parts[name][self.i])

    def c(self, name: str) -> float:
        value = getattr(self.ctx, name)[self.i]
        return float(value)

    def lab(self, name: str) -> float:
        return float(self.ctx.labs[name][self.i])

    def lab_assumed(self, name: str) -> bool:
        return bool(self.ctx.lab_assumed[name][self.i])

    def lab_status(self, name: str) -> str:
        """``estimated`` when lab ``name`` is a default value, else ``measured``."""
        return "estimated" if self.lab_assumed(name) else "measured"

    def status(self, signal: str) -> str:
        return self.signal_status.get(signal, "missing")

    def estimated(self, signal: str) -> bool:
        return self.status(signal) == "estimated"

    def pre_estimated(self, from_signal: bool, lab: str, signal: str) -> bool:
        """Whether a pre-dialysis value is estimated: a default value of lab ``lab`` stood in for ``signal``,
        or the simulator filled ``signal``."""
        return (not from_signal and self.lab_assumed(lab)) or self.estimated(signal)

    def missing(self, *signals: str) -> list[str]:
        """Those of ``signals`` the session lacks."""
        return [s for s in signals if self.status(s) == "missing"]

    def cramp_times(self) -> np.ndarray:
        if self.events is None or self.events.empty:
            return np.empty(0)
        ev = self.events
        return ev.loc[ev["kind"] == "cramp", T_MIN].to_numpy(dtype=float)


def ev(
    signal: str,
    value: float | str | None,
    threshold_name: str | None,
    *,
    t_min: float | None = None,
    estimated: bool = False,
    note: str = "",
    threshold: float | str | None = None,
    sense: Sense | None = None,
    otherwise: Direction = "against",
    direction: Direction | None = None,
) -> Evidence:
    """Evidence comparing ``value`` with the named threshold (its value and source from the table).

    Its direction is ``direction`` when given, else ``supports`` when the value is past the threshold on the
    ``sense`` side and ``otherwise`` when not (:func:`crampwatch.causes.sentences.direction`)."""
    if threshold_name is not None:
        th = THRESHOLDS[threshold_name]
        thr: float | str | None = th.value if threshold is None else threshold
        source = th.source
    else:
        thr, source = threshold, "patient record"
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    if t_min is not None and not math.isfinite(t_min):
        t_min = None
    if direction is not None:
        return Evidence(signal, value, thr, source, t_min, estimated, note, direction)
    return Evidence(
        signal, value, thr, source, t_min, estimated, note, direction_of(value, thr, sense, otherwise), sense
    )


def tiered(value: float, names: tuple[str, ...], sense: Sense) -> str:
    """The threshold of ``names`` (mildest first) an evidence item compares with: the most severe one
    ``value`` is past, else the mildest (so the item supports the cause exactly when its value is past the
    first point where the score counts it)."""
    chosen = names[0]
    for name in names:
        if direction_of(value, THRESHOLDS[name].value, sense) == "supports":
            chosen = name
    return chosen


def pre_ev(
    si: SessionInput,
    name: str,
    feature: str,
    value: float,
    threshold_name: str,
    *,
    signal: str | None = None,
    lab_note: str = "",
    sense: Sense | None = None,
) -> Evidence:
    """Evidence of a pre-dialysis ``value``: the first sample of ``signal`` (default ``name``; at t = 0) when
    feature ``feature`` was recorded, else lab ``name`` (``lab_note`` added). It is estimated when a default
    lab value stood in, or when the simulator filled the signal."""
    from_signal = bool(np.isfinite(si.f(feature)))
    return ev(
        name,
        value,
        threshold_name,
        t_min=0.0 if from_signal else None,
        estimated=si.pre_estimated(from_signal, name, signal or name),
        note="pre-dialysis" + ("" if from_signal else lab_note),
        sense=sense,
    )


def feature_ev(
    si: SessionInput,
    signal: str,
    feature: str,
    threshold_name: str,
    *,
    name: str | None = None,
    note: str = "",
    sense: Sense | None = None,
) -> list[Evidence]:
    """``[evidence]`` of feature ``feature`` of ``signal`` (reported as ``name``, default ``signal``) at its
    time (:func:`crampwatch.causes.features.time_of`), or ``[]`` when the signal gave no value or its
    extreme is the starting value (the pre-dialysis evidence already shows it)."""
    value = si.f(feature)
    t_min = si.f(time_of(feature))
    if not np.isfinite(value) or (np.isfinite(t_min) and t_min <= 0.0):
        return []
    item = ev(
        name or signal,
        value,
        threshold_name,
        t_min=t_min,
        estimated=si.estimated(signal),
        note=note,
        sense=sense,
    )
    return [item]


def explain(bits: list[str], lead: str, otherwise: str) -> str:
    """``lead`` followed by the observations ``bits`` (one sentence), or ``otherwise`` when there are none."""
    return lead + "; ".join(bits) + "." if bits else otherwise


def confidence(statuses: list[str], weights: list[float] | None = None) -> Confidence:
    """High when every key input is measured/simulated, moderate when some are estimated or one is missing,
    low when most are missing (modelling choice)."""
    w = weights or [1.0] * len(statuses)
    total = sum(w)
    missing = sum(wi for s, wi in zip(statuses, w, strict=True) if s == "missing") / total
    estimated = sum(wi for s, wi in zip(statuses, w, strict=True) if s == "estimated") / total
    if missing >= 0.5:
        return "low"
    if missing > 0 or estimated > 0:
        return "moderate"
    return "high"


def fmt(x: float, digits: int = 1) -> str:
    """A number for plain-language text."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}f}"
