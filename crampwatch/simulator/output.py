"""Simulation results: :class:`BatchResult`, traces of single sessions, the physiological-range check and
the per-session urea dose.

Signals are recorded every ``record_every_min`` from t = 0 to each session's end plus its post-dialysis
phase (``after_min``, machine off); later rows of a batch are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.physiology.derive import ParameterArrays
from crampwatch.physiology.model import OUTPUTS, STATES
from crampwatch.physiology.ukm import single_pool_ktv
from crampwatch.signals import INTERSTITIAL_VOLUME_L, PLASMA_VOLUME_L, SBP_MMHG, T_MIN, UREA_MMOL_L
from crampwatch.simulator.controls import Controls
from crampwatch.trace import SIGNALS, Trace

SIGNAL_NAMES: tuple[str, ...] = tuple(SIGNALS)
if OUTPUTS != SIGNAL_NAMES:  # the model writes its outputs in the order of the trace's signal table
    raise ImportError("crampwatch.physiology.model.OUTPUTS must list crampwatch.trace.SIGNALS in order")
OUT_OF_RANGE = (
    "scenario: the session drives the patient outside the model's physiological range (a fluid compartment "
    "empties or blood pressure is lost); reduce UF volume/rate or the Na gradient"
)
#: Signals whose range :func:`out_of_range` checks (plasma volume, interstitial volume, SBP), as row indices.
#: Columns of a simulated trace's table (an immutable index, built once).
TRACE_COLUMNS = pd.Index([T_MIN, *SIGNAL_NAMES])
RANGE_SIGNALS = tuple(SIGNAL_NAMES.index(n) for n in (PLASMA_VOLUME_L, INTERSTITIAL_VOLUME_L, SBP_MMHG))


@dataclass(frozen=True)
class BatchResult:
    """Signals of n sessions on a shared time grid (NaN after each session's end and post-dialysis phase).

    ``signals[name]`` has shape [n, steps]; ``states[name]`` (model states incl. cumulative removal
    counters) likewise; ``summary`` holds per-session numbers (``delivered_ktv``, ``clearance_ktv``).
    ``after_min`` is the post-dialysis phase (machine off) recorded after each session's end, minutes.
    ``failed[i]`` is True when session i left the model's physiological range (a fluid compartment emptied
    or blood pressure was lost); its signals are then all NaN and :meth:`trace` raises :class:`InputError`.
    """

    t_min: np.ndarray
    signals: dict[str, np.ndarray]
    duration_min: np.ndarray
    states: dict[str, np.ndarray] = field(default_factory=dict)
    summary: dict[str, np.ndarray] = field(default_factory=dict)
    session_ids: list[str | None] = field(default_factory=list)
    failed: np.ndarray | None = None
    after_min: float = 0.0

    def __len__(self) -> int:
        return int(self.duration_min.shape[0])

    def trace(self, i: int) -> Trace:
        """Session ``i`` as a :class:`Trace` (rows up to its end plus the post-dialysis phase)."""
        if self.failed is not None and self.failed[i]:
            raise InputError(f"{OUT_OF_RANGE} (session {i})", "scenario")
        sid = self.session_ids[i] if i < len(self.session_ids) else None
        columns = {name: self.signals[name][i] for name in SIGNAL_NAMES}
        return simulated_trace(self.t_min, columns, self.duration_min[i] + self.after_min, sid)


def simulated_trace(
    t_min: np.ndarray, columns: dict[str, np.ndarray], end_min: float, session_id: str | None
) -> Trace:
    """A :class:`Trace` of simulated signals (``columns``, on the grid ``t_min``) up to ``end_min``."""
    keep = t_min <= end_min + 1e-9
    table = np.column_stack([t_min[keep], *(columns[name][keep] for name in SIGNAL_NAMES)])
    data = pd.DataFrame(table, columns=TRACE_COLUMNS, copy=False)  # one block: cheaper than column by column
    return Trace(data, sources=dict.fromkeys(SIGNAL_NAMES, "simulated"), session_id=session_id)


def out_of_range(pv: np.ndarray, isv: np.ndarray, sbp: np.ndarray) -> np.ndarray:
    """Sessions ([n] bool; arrays [n, steps]) in which the patient leaves the range the model represents
    (a compartment empties, pressure is lost): not survivable, so not simulated."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(pv) & np.isfinite(isv) & np.isfinite(sbp) & (pv > 0.05) & (isv > 0.05) & (sbp > 20.0)
    return np.atleast_2d(~ok).any(axis=-1)


def finish_batch(
    p: ParameterArrays,
    ctrl: Controls,
    out: np.ndarray,
    kt_l: np.ndarray,
    failed: np.ndarray,
    stride: int,
    keep_states: bool,
    dose_summary: bool = True,
) -> BatchResult:
    """A :class:`BatchResult` from the integrators' planes ``out`` [signals (+ states), n, records], the
    urea clearance integral ``kt_l`` (L) and the out-of-range flags; ``dose_summary`` adds the per-session
    urea dose (:func:`urea_dose`)."""
    dt_rec = stride * ctrl.dt_min
    n_rec = out.shape[2]
    t_rec = np.arange(n_rec) * dt_rec
    last = np.floor(ctrl.duration_min / dt_rec + 1e-9).astype(int)  # the session's last record
    last_row = np.floor((ctrl.duration_min + ctrl.after_min) / dt_rec + 1e-9).astype(int)
    n_sig = len(SIGNAL_NAMES)
    for k in np.unique(last_row):  # NaN after each session's end (grouped by duration)
        if k + 1 < n_rec:
            out[:n_sig, np.flatnonzero(last_row == k), k + 1 :] = np.nan
    urea = out[SIGNAL_NAMES.index(UREA_MMOL_L)]
    summary = urea_dose(p, ctrl, urea, last, dt_rec, kt_l) if dose_summary else {}
    if failed.any():
        out[:, failed, :] = np.nan
        for v in summary.values():
            v[failed] = np.nan
    signals = {name: out[j] for j, name in enumerate(SIGNAL_NAMES)}
    states = {name: out[n_sig + i] for i, name in enumerate(STATES)} if keep_states else {}
    return BatchResult(
        t_rec, signals, ctrl.duration_min.copy(), states, summary, failed=failed, after_min=ctrl.after_min
    )


def urea_dose(
    p: ParameterArrays, ctrl: Controls, urea: np.ndarray, last: np.ndarray, dt_rec: float, kt_l: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-session urea dose: ``delivered_ktv``, the spKt/V that formal single-pool variable-volume UKM
    measures from the session's pre/post plasma urea with the model's clearance, generation and UF
    (:mod:`crampwatch.physiology.ukm`), and ``clearance_ktv``, the clearance integral over the whole-body
    urea volume after UF (incl. brain water). Post = the last record at or before the end of the session."""
    n = urea.shape[0]
    rows = np.arange(n)
    t_post = np.maximum(last * dt_rec, dt_rec)
    k_mean = kt_l / ctrl.duration_min
    with np.errstate(invalid="ignore", divide="ignore"):
        sp = single_pool_ktv(
            urea[:, 0] / p.f_urea,
            urea[rows, np.minimum(last, urea.shape[1] - 1)] / p.f_urea,
            k_mean,
            p.kr,
            p.g_urea,
            p.uf_volume_l * np.minimum(t_post / ctrl.duration_min, 1.0),
            t_post,
        )
    return {"delivered_ktv": sp, "clearance_ktv": kt_l / (p.v_tbw0 - p.uf_volume_l)}
