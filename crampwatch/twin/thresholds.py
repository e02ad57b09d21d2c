"""Personal cramp thresholds: the value of a signal below which this patient cramps, with the counts.

For each signal the patient's sessions are compared: the lowest value reached *before the first cramp*
(sessions with a cramp) or over the whole session (sessions without). A candidate threshold ``v`` (each
cramp session's value, rounded up to the signal's step) splits the sessions into those that fell below
``v`` and those that stayed above; the threshold reported is the candidate with the largest Youden index
(share of cramp sessions below + share of cramp-free sessions above - 1; Youden WJ, Cancer 1950;3:32; ties:
the higher value, i.e. the earlier warning), provided at least :data:`MIN_CRAMP_SESSIONS` cramp sessions
fell below it. The result reads "cramps in 4 of 5 sessions once RBV fell below 89 %; in 1 of 5 sessions
that stayed above".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from crampwatch.signals import PLASMA_NA_MMOL_L, RBV_PCT, SBP_MMHG, T_MIN
from crampwatch.twin.sessions import SessionRecord

#: Fewest cramp sessions below a threshold for it to be reported (modelling choice: one cramp is an
#: anecdote, two that follow the same fall are a pattern).
MIN_CRAMP_SESSIONS = 2


@dataclass(frozen=True)
class ThresholdSignal:
    """A signal a personal threshold is looked for: name, clinical label, unit, rounding step."""

    name: str
    label: str
    unit: str
    step: float


#: Signals that carry personal thresholds (all "cramps once the value fell below").
THRESHOLD_SIGNALS: tuple[ThresholdSignal, ...] = (
    ThresholdSignal(RBV_PCT, "relative blood volume", "%", 0.5),
    ThresholdSignal(SBP_MMHG, "systolic BP", "mmHg", 1.0),
    ThresholdSignal(PLASMA_NA_MMOL_L, "plasma Na", "mmol/L", 0.5),
)


@dataclass(frozen=True)
class PersonalThreshold:
    """Cramps in ``n_cramps`` of ``n_sessions_below`` sessions once ``signal`` fell below ``value``;
    in ``n_cramps_above`` of ``n_sessions_above`` sessions that stayed above."""

    signal: str
    value: float
    unit: str
    n_cramps: int
    n_sessions_below: int
    n_cramps_above: int
    n_sessions_above: int
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


def _lowest_before(t: np.ndarray, v: np.ndarray, until: float) -> float:
    ok = np.isfinite(t) & np.isfinite(v) & (t <= until + 1e-9)
    return float(np.min(v[ok])) if ok.any() else math.nan


def session_lows(records: Sequence[SessionRecord], signal: str) -> list[tuple[float, bool]]:
    """Per session with measured ``signal``: (lowest value before the first cramp or over the session,
    cramped)."""
    out = []
    for rec in records:
        tr = rec.trace
        if not tr.has(signal) or tr.sources.get(signal, "measured") != "measured":
            continue
        t = pd.to_numeric(tr.data[T_MIN], errors="coerce").to_numpy(dtype=float)
        v = pd.to_numeric(tr.data[signal], errors="coerce").to_numpy(dtype=float)
        cramps = rec.cramp_times_min
        until = float(cramps[0]) if cramps.size else math.inf
        low = _lowest_before(t, v, until)
        if math.isfinite(low):
            out.append((low, bool(cramps.size)))
    return out


def personal_threshold(records: Sequence[SessionRecord], sig: ThresholdSignal) -> PersonalThreshold | None:
    """The patient's threshold for ``sig`` (see the module docstring), or None when the sessions show
    none."""
    lows = session_lows(records, sig.name)
    cramp_lows = sorted({math.ceil(low / sig.step) * sig.step for low, cramped in lows if cramped})
    best: tuple[float, float, tuple[int, int, int, int]] | None = None
    for v in cramp_lows:
        below = [c for low, c in lows if low <= v + 1e-9]
        above = [c for low, c in lows if low > v + 1e-9]
        k_b, n_b, k_a, n_a = sum(below), len(below), sum(above), len(above)
        if k_b < MIN_CRAMP_SESSIONS:
            continue
        n_cramp, n_free = k_b + k_a, len(lows) - k_b - k_a
        diff = k_b / n_cramp + ((n_a - k_a) / n_free if n_free else 1.0) - 1.0
        if best is None or diff > best[0] + 1e-12 or (abs(diff - best[0]) <= 1e-12 and v > best[1]):
            best = (diff, v, (k_b, n_b, k_a, n_a))
    if best is None or best[0] <= 0:
        return None
    _, v, (k_b, n_b, k_a, n_a) = best
    shown = f"{v:g} {sig.unit}" if sig.unit != "%" else f"{v:g} %"
    text = f"cramps in {k_b} of {n_b} sessions once {sig.label} fell below {shown}"
    if n_a:
        text += f"; in {k_a} of {n_a} sessions that stayed above"
    return PersonalThreshold(sig.name, float(v), sig.unit, k_b, n_b, k_a, n_a, text)


def personal_thresholds(records: Sequence[SessionRecord]) -> list[PersonalThreshold]:
    """Every signal's personal threshold that the sessions support."""
    found = (personal_threshold(records, sig) for sig in THRESHOLD_SIGNALS)
    return [t for t in found if t is not None]
