"""Piecewise-constant session controls on the integration grid, and the grid checks.

Controls (machine on-fraction, UF rate, dialysate Na, dialysate-contact fraction) are constant within a step;
the last step of a session is partially "on" so that the session time and UF volume are exact. During isolated
(sequential) UF at the start of a session (``Prescription.isolated_uf_min``) blood flows and UF runs but no
dialysate flows: the dialysate-contact fraction is 0, so nothing diffuses and no heat is exchanged. After the
session the machine is off (no blood flow, no UF): steps past a session's end, including an optional
post-dialysis phase, have on-fraction 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crampwatch.errors import InputError
from crampwatch.model import Scenario

DEFAULT_DT_MIN = 1.0
#: Longest post-dialysis phase, minutes (rebound is finished by ~60 min; Tattersall JE et al. 1996).
MAX_AFTER_MIN = 120.0


@dataclass(frozen=True)
class Controls:
    """Piecewise-constant controls on a step grid, stored as shared templates.

    ``on_t``/``w_t``/``dif_t`` ([K, steps]): machine on-fraction, normalised UF weight and dialysate-contact
    fraction per distinct (UF profile, duration, isolated UF time); ``na_t`` ([J, steps]) dialysate Na per
    distinct Na prescription; ``uf_idx``/``na_idx`` ([n]) pick each session's template; ``uf_volume_l``
    ([n]) the prescribed UF volumes; ``after_min`` the post-dialysis phase (machine off) simulated after each
    session. :meth:`block` expands them to [steps, m].
    """

    dt_min: float
    on_t: np.ndarray
    w_t: np.ndarray
    uf_idx: np.ndarray
    na_t: np.ndarray
    na_idx: np.ndarray
    uf_volume_l: np.ndarray
    duration_min: np.ndarray
    dif_t: np.ndarray
    after_min: float = 0.0

    @property
    def n_steps(self) -> int:
        return int(self.on_t.shape[1])

    def block(
        self, sel: slice | np.ndarray = slice(None)
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(on-fraction, UF rate while running in L/min, dialysate Na, dialysate-contact fraction), each
        [steps, m], for ``sel``."""
        ui = self.uf_idx[sel]
        on = np.ascontiguousarray(self.on_t[ui].T)
        running = on > 0
        w = self.w_t[ui].T
        qf = np.where(running, self.uf_volume_l[sel][None, :] * w / np.where(running, on, 1.0), 0.0)
        na = np.ascontiguousarray(self.na_t[self.na_idx[sel]].T)
        dif = np.ascontiguousarray(self.dif_t[ui].T)
        return on, qf, na, dif


def check_grid(dt_min: float, record_every_min: float) -> tuple[float, int]:
    """(integration step, record stride in steps); :class:`InputError` for an impossible grid."""
    if not (math.isfinite(dt_min) and 0.01 <= dt_min <= 5.0):
        raise InputError(f"dt_min: {dt_min!r} is out of range (allowed 0.01–5 min)", "dt_min")
    if not (math.isfinite(record_every_min) and 0.01 <= record_every_min <= 60.0):
        raise InputError(
            f"record_every_min: {record_every_min!r} is out of range (allowed 0.01–60 min)",
            "record_every_min",
        )
    dt = min(dt_min, record_every_min)
    stride = round(record_every_min / dt)
    if abs(stride * dt - record_every_min) > 1e-9 * record_every_min:
        raise InputError("record_every_min: must be a whole multiple of dt_min", "record_every_min")
    return dt, stride


def check_after_min(after_min: float) -> float:
    """The post-dialysis phase in minutes; :class:`InputError` outside 0–120 min."""
    value = float(after_min)
    if not (math.isfinite(value) and 0.0 <= value <= MAX_AFTER_MIN):
        raise InputError(
            f"after_min: {after_min!r} is out of range (allowed 0–{MAX_AFTER_MIN:g} min)", "after_min"
        )
    return value


def session_controls(
    scenarios: Sequence[Scenario], dt_min: float = DEFAULT_DT_MIN, after_min: float = 0.0
) -> Controls:
    """UF rate, dialysate Na, machine on-fraction and dialysate-contact fraction per step for every scenario
    ([steps, n]), followed by ``after_min`` minutes with the machine off.

    Profiles are evaluated once per distinct (profile, duration) and shared, so large batches with a few
    prescriptions are cheap."""
    after = check_after_min(after_min)
    rx = [s.prescription for s in scenarios]
    dur = np.array([r.duration_min for r in rx], dtype=float)
    n_steps = int(math.ceil((float(dur.max()) + after) / dt_min - 1e-9))
    t0 = np.arange(n_steps) * dt_min
    uf_keys: dict[tuple, int] = {}
    uf_templates: list[np.ndarray] = []
    na_keys: dict[tuple, int] = {}
    na_templates: list[np.ndarray] = []
    uf_idx = np.empty(len(rx), dtype=int)
    na_idx = np.empty(len(rx), dtype=int)
    on_of: dict[float, np.ndarray] = {}  # on-fraction per distinct duration

    def on_fraction(d: float) -> np.ndarray:
        if d not in on_of:
            on_of[d] = np.clip((d - t0) / dt_min, 0.0, 1.0)
        return on_of[d]

    for j, r in enumerate(rx):
        d = r.duration_min
        prof = r.uf_profile
        key = (prof if isinstance(prof, str) else tuple(map(tuple, prof)), d, r.isolated_uf_min)
        k = uf_keys.get(key)
        if k is None:
            on_j = on_fraction(d)
            w = r.uf_fraction(t0 + 0.5 * on_j * dt_min) * on_j
            total = float(np.sum(w) * dt_min)
            dif = np.maximum(on_j - np.clip((r.isolated_uf_min - t0) / dt_min, 0.0, 1.0), 0.0)
            k = uf_keys[key] = len(uf_templates)
            uf_templates.append(np.stack([on_j, w / total if total > 0 else w, dif]))
        uf_idx[j] = k
        na_prof = r.dialysate.na_profile
        key = (None if na_prof is None else tuple(map(tuple, na_prof)), r.dialysate.na_mmol_l, d)
        k = na_keys.get(key)
        if k is None:
            k = na_keys[key] = len(na_templates)
            na_templates.append(r.dialysate_na_at(np.minimum(t0 + 0.5 * on_fraction(d) * dt_min, d)))
        na_idx[j] = k
    tmpl = np.stack(uf_templates)  # [K, 3, steps]
    uf_volume_l = np.array([s.uf_volume_l for s in scenarios], dtype=float)
    na_t = np.stack(na_templates)
    return Controls(
        dt_min, tmpl[:, 0, :], tmpl[:, 1, :], uf_idx, na_t, na_idx, uf_volume_l, dur, tmpl[:, 2, :], after
    )


def substeps_each(p: Any, dt: float) -> np.ndarray:
    """Sub-steps per step and patient so that dt/tau stays below 1 for the fastest exchange (Heun is
    stable up to 2; the fast modes are quasi-steady, so their error stays small)."""
    # capillary refill: rate ~ Kf dpi/dVp; dpi/dVp ~ 6 mmHg/(g/dL) * cp/Vp (Landis slope near 7 g/dL),
    # plus interstitial stiffness. Cell water: time constant from the parameter table.
    rate = p.kf * (6.0 * p.cp0 / p.y0_v_pl + p.e_is) + 1.0 / 3.0
    return np.maximum(1, np.ceil(rate * dt / 1.0 - 1e-9)).astype(int)
