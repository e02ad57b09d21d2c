"""What the live engine reads from a running session: checked observations, the signals it assimilates, and
the machine settings it follows (the running prescription).

Observations are keyed by signal-registry names (:mod:`crampwatch.signals`); every value is checked against
the registry's plausible range with the readers' message. Relative blood volume and systolic BP are
assimilated with the measurement SDs of the patient twin's observation model (:data:`crampwatch.twin.priors.
OBSERVED`, one truth). UF rate (or cumulative UF), dialysate Na (or conductivity), dialysate temperature and
blood flow are machine settings: the forecast follows the prescription while the machine does, and holds a
setting that differs from it (a nurse lowered the UF rate, paused UF, changed the Na).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from crampwatch.errors import InputError
from crampwatch.model import Scenario
from crampwatch.signals import (
    CONDUCTIVITY_MS_CM,
    DIALYSATE_NA_MMOL_L,
    DIALYSATE_TEMP_C,
    MAX_T_MIN,
    QB_ML_MIN,
    SIGNAL_SPECS,
    T_MIN,
    UF_CUM_L,
    UF_RATE_ML_H,
    implausible,
    range_message,
)
from crampwatch.simulator import session_controls
from crampwatch.twin.priors import OBSERVED
from crampwatch.units import MIN_PER_H, ML_PER_L, conductivity_to_na_mmol_l

#: Assimilated signals and their measurement SD (the twin's observation model).
ASSIMILATED: dict[str, float] = {s.name: s.sd for s in OBSERVED}
#: Machine settings the forecast follows.
SETTINGS = (
    UF_RATE_ML_H,
    UF_CUM_L,
    DIALYSATE_NA_MMOL_L,
    CONDUCTIVITY_MS_CM,
    DIALYSATE_TEMP_C,
    QB_ML_MIN,
)
#: A setting within this fraction (UF rate) or distance (dialysate Na, mmol/L) of the prescription's value
#: at the same time means the machine follows the prescription (modelling choice: machine display
#: resolution and the conductivity-to-Na conversion stay inside it).
FOLLOWS_UF_FRACTION = 0.1
FOLLOWS_NA_MMOL_L = 1.0
#: Minutes between two cumulative-UF readings for a UF rate to be read from them (modelling choice).
MIN_UF_CUM_SPAN_MIN = 5.0
#: Minutes after the prescribed end that the prescription schedule covers (machine off).
AFTER_END_MIN = 120.0


def checked_time(t_min: float, last_t_min: float) -> float:
    """``t_min`` as a float; :class:`InputError` when it is not a time of the session or goes back."""
    try:
        t = float(t_min)
    except (TypeError, ValueError):
        raise InputError(f"t_min: {t_min!r} is not a number", T_MIN) from None
    if not (math.isfinite(t) and 0.0 <= t <= MAX_T_MIN):
        raise InputError(f"t_min: {t_min!r} is out of range (allowed 0–{MAX_T_MIN:g} min)", T_MIN)
    if t < last_t_min - 1e-9:
        raise InputError(
            f"t_min: {t:g} is before the last update at {last_t_min:g} min (observations come in time order)",
            T_MIN,
        )
    return t


def checked_values(values: Mapping[str, float]) -> dict[str, float]:
    """The finite observations of ``values`` (NaN and None are "not measured"); :class:`InputError` names an
    unknown signal or an implausible value."""
    if not isinstance(values, Mapping):
        raise InputError("values: expected a mapping of signal names to numbers", "values")
    out: dict[str, float] = {}
    for name, raw in values.items():
        if name not in SIGNAL_SPECS:
            raise InputError(f"values: unknown signal {name!r} (see docs/formats.md, trace columns)", name)
        if raw is None:
            continue
        try:
            v = float(raw)
        except (TypeError, ValueError):
            raise InputError(f"{name}: {raw!r} is not a number", name) from None
        if math.isnan(v):
            continue
        if math.isinf(v) or bool(implausible(name, v)):
            raise InputError(range_message(name, v), name)
        out[name] = v
    return out


@dataclass(frozen=True)
class Schedule:
    """The prescription per minute from the start to :data:`AFTER_END_MIN` after the end: on-fraction
    (blood pump and UF running), UF rate while running (L/min), dialysate Na (mmol/L) and dialysate-contact
    fraction (0 during isolated UF), each indexed by whole minutes."""

    on: np.ndarray
    qf_l_min: np.ndarray
    na_mmol_l: np.ndarray
    dif: np.ndarray
    duration_min: float

    @classmethod
    def of(cls, scenario: Scenario) -> Schedule:
        ctrl = session_controls([scenario], 1.0, AFTER_END_MIN)
        on, qf, na, dif = (x[:, 0].copy() for x in ctrl.block())
        return cls(on, qf, na, dif, float(scenario.prescription.duration_min))

    def at(self, minute: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        k = np.clip(np.asarray(minute, dtype=int), 0, self.on.shape[0] - 1)
        return self.on[k], self.qf_l_min[k], self.na_mmol_l[k], self.dif[k]


@dataclass(frozen=True)
class Settings:
    """The machine settings last seen (None: not seen, the prescription applies) and the time they were
    seen; ``uf_cum`` keeps the last cumulative-UF reading (time, L) for a rate read from two of them."""

    uf_rate_ml_h: float | None = None
    dialysate_na_mmol_l: float | None = None
    dialysate_temp_c: float | None = None
    qb_ml_min: float | None = None
    seen_at_min: float = 0.0
    uf_cum: tuple[float, float] | None = None

    def updated(self, t_min: float, values: Mapping[str, float]) -> Settings:
        """The settings after the observations ``values`` at ``t_min``."""
        change: dict[str, object] = {}
        if UF_RATE_ML_H in values:
            change[UF_RATE_ML_H] = values[UF_RATE_ML_H]
        elif UF_CUM_L in values:
            if self.uf_cum is not None and t_min - self.uf_cum[0] >= MIN_UF_CUM_SPAN_MIN:
                rate = (values[UF_CUM_L] - self.uf_cum[1]) * ML_PER_L * MIN_PER_H / (t_min - self.uf_cum[0])
                change[UF_RATE_ML_H] = max(0.0, rate)
            if self.uf_cum is None or t_min - self.uf_cum[0] >= MIN_UF_CUM_SPAN_MIN:
                change["uf_cum"] = (t_min, values[UF_CUM_L])
        if DIALYSATE_NA_MMOL_L in values:
            change[DIALYSATE_NA_MMOL_L] = values[DIALYSATE_NA_MMOL_L]
        elif CONDUCTIVITY_MS_CM in values:
            change[DIALYSATE_NA_MMOL_L] = float(conductivity_to_na_mmol_l(values[CONDUCTIVITY_MS_CM]))
        for name in (DIALYSATE_TEMP_C, QB_ML_MIN):
            if name in values:
                change[name] = values[name]
        if not change:
            return self
        return replace(self, seen_at_min=t_min, **change)

    def controls(
        self, schedule: Schedule, minutes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """On-fraction, UF rate while running (L/min), dialysate Na and dialysate-contact fraction at the
        (whole-minute) ``minutes`` under the running prescription: the prescription where the machine
        follows it, else the setting held (blood flow 0: machine stopped)."""
        on, qf, na, dif = schedule.at(minutes)
        seen = int(self.seen_at_min)
        on_seen, qf_seen, na_seen, _ = schedule.at(np.array([seen]))
        if self.qb_ml_min is not None and self.qb_ml_min <= 0.0:
            on, dif = np.zeros_like(on), np.zeros_like(dif)
        if self.uf_rate_ml_h is not None:
            rate = self.uf_rate_ml_h / (ML_PER_L * MIN_PER_H)
            prescribed = float(qf_seen[0]) if on_seen[0] > 0 else 0.0
            if abs(rate - prescribed) > FOLLOWS_UF_FRACTION * max(prescribed, 1e-9):
                qf = np.where(on > 0, rate, 0.0)
        if (
            self.dialysate_na_mmol_l is not None
            and abs(self.dialysate_na_mmol_l - na_seen[0]) > FOLLOWS_NA_MMOL_L
        ):
            na = np.full_like(na, self.dialysate_na_mmol_l)
        return on, qf, na, dif
