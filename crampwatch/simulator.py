"""Simulate hemodialysis sessions with the mechanistic model of :mod:`crampwatch.physiology`.

* :func:`simulate` -- one session -> :class:`~crampwatch.trace.Trace` (Python-float integrator, fast
  for n = 1).
* :func:`simulate_batch` -- many sessions at once, vectorized over patients (numpy arrays [n]).
* :func:`simulate_reference` -- the same right-hand side integrated by scipy ``solve_ivp`` (validation).
* Lower level: :func:`patient_parameters` (scenarios -> :class:`ParameterArrays`), :func:`session_controls`
  (scenarios -> :class:`Controls`) and :func:`simulate_parameters` (arrays in, :class:`BatchResult` out),
  so that callers can perturb parameter arrays directly (ensembles, optimizers).

Integrator: explicit Euler (default) or Heun (trapezoidal RK2) with a fixed step (default 1 min). Controls
(UF rate, dialysate Na, dialyzer on/off) are constant within a step; the last step of a session is
partially "on" so that the dialysis time and UF volume are exact. The step is subdivided automatically when
a patient's fastest exchange (capillary refill with a high filtration coefficient in a small body) would make
it inaccurate. Traces are recorded every ``record_every_min`` from t = 0 to the session end; after the last
step the machine is stopped (UF rate and blood flow 0 in the final row).

Prescriptions the model cannot represent raise :class:`InputError` before integration (UF rate/volume, Na
gradient; see :mod:`crampwatch.physiology.derive`); a session that still leaves the physiological range is
refused by :func:`simulate` and flagged in ``BatchResult.failed`` by the batch functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crampwatch.errors import InputError
from crampwatch.model import Patient, Prescription, Scenario, as_scenario
from crampwatch.physiology.derive import ParameterArrays, patient_parameters
from crampwatch.physiology.mathops import ARRAY, SCALAR
from crampwatch.physiology.model import IDX, N_STATES, STATES, initial_state, rhs
from crampwatch.physiology.ukm import single_pool_ktv
from crampwatch.trace import SIGNALS, Trace

DEFAULT_DT_MIN = 1.0
#: Newton iterations of the baroreflex per right-hand-side call (warm-started; see circulation.py).
NEWTON_ITERATIONS = 1
#: Fixed-step schemes: explicit Euler (default; within 0.06 %-points RBV and 0.15 mmHg SBP of solve_ivp on
#: the examples) or Heun/RK2 (about 30x more accurate, half the speed).
METHODS = ("euler", "heun")
DEFAULT_METHOD = "euler"
SIGNAL_NAMES: tuple[str, ...] = tuple(SIGNALS)
OUT_OF_RANGE = (
    "scenario: the session drives the patient outside the model's physiological range (a fluid compartment "
    "empties or blood pressure is lost); reduce UF volume/rate or the Na gradient"
)
#: Signals whose range :func:`_out_of_range` checks (plasma volume, interstitial volume, SBP), as row indices.
_RANGE_SIGNALS = tuple(
    SIGNAL_NAMES.index(n) for n in ("plasma_volume_l", "interstitial_volume_l", "sbp_mmhg")
)

__all__ = [
    "BatchResult",
    "Controls",
    "ParameterArrays",
    "patient_parameters",
    "session_controls",
    "simulate",
    "simulate_batch",
    "simulate_parameters",
    "simulate_reference",
]


@dataclass
class Controls:
    """Piecewise-constant controls on a step grid, stored as shared templates.

    ``on_t``/``w_t`` ([K, steps]): dialyzer on-fraction and normalised UF weight per distinct (UF profile,
    duration); ``na_t`` ([J, steps]) dialysate Na per distinct Na prescription; ``uf_idx``/``na_idx`` ([n])
    pick each session's template; ``uf_l`` ([n]) the UF volumes. :meth:`block` expands them to [steps, m].
    """

    dt_min: float
    on_t: np.ndarray
    w_t: np.ndarray
    uf_idx: np.ndarray
    na_t: np.ndarray
    na_idx: np.ndarray
    uf_l: np.ndarray
    duration_min: np.ndarray

    @property
    def n_steps(self) -> int:
        return int(self.on_t.shape[1])

    def block(self, sel: slice | np.ndarray = slice(None)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(on-fraction, UF rate while running in L/min, dialysate Na), each [steps, m], for ``sel``."""
        ui = self.uf_idx[sel]
        on = np.ascontiguousarray(self.on_t[ui].T)
        running = on > 0
        w = self.w_t[ui].T
        qf = np.where(running, self.uf_l[sel][None, :] * w / np.where(running, on, 1.0), 0.0)
        na = np.ascontiguousarray(self.na_t[self.na_idx[sel]].T)
        return on, qf, na


@dataclass
class BatchResult:
    """Signals of n sessions on a shared time grid (NaN after each session's end).

    ``signals[name]`` has shape [n, steps]; ``states[name]`` (model states incl. cumulative removal
    counters) likewise; ``summary`` holds per-session numbers (``delivered_ktv``, ``clearance_ktv``).
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

    def __len__(self) -> int:
        return int(self.duration_min.shape[0])

    def trace(self, i: int) -> Trace:
        """Session ``i`` as a :class:`Trace` (rows up to its end)."""
        if self.failed is not None and self.failed[i]:
            raise InputError(f"{OUT_OF_RANGE} (session {i})", "scenario")
        sid = self.session_ids[i] if i < len(self.session_ids) else None
        columns = {name: self.signals[name][i] for name in SIGNAL_NAMES}
        return _simulated_trace(self.t_min, columns, self.duration_min[i], sid)


def _simulated_trace(
    t_min: np.ndarray, columns: dict[str, np.ndarray], duration_min: float, session_id: str | None
) -> Trace:
    """A :class:`Trace` of simulated signals (``columns``, on the grid ``t_min``) up to the session end."""
    keep = t_min <= duration_min + 1e-9
    data = {"t_min": t_min[keep], **{name: columns[name][keep] for name in SIGNAL_NAMES}}
    return Trace(pd.DataFrame(data), sources=dict.fromkeys(SIGNAL_NAMES, "simulated"), session_id=session_id)


# --------------------------------------------------------------------------------------------- controls


def _check_grid(dt_min: float, record_every_min: float) -> tuple[float, int]:
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


def session_controls(scenarios: Sequence[Scenario], dt_min: float = DEFAULT_DT_MIN) -> Controls:
    """UF rate, dialysate Na and dialyzer on-fraction per step for every scenario ([steps, n]).

    Profiles are evaluated once per distinct (profile, duration) and shared, so large batches with a few
    prescriptions are cheap."""
    rx = [s.prescription for s in scenarios]
    dur = np.array([r.duration_min for r in rx], dtype=float)
    n_steps = int(math.ceil(float(dur.max()) / dt_min - 1e-9))
    t0 = np.arange(n_steps) * dt_min
    uf_keys: dict[tuple, int] = {}
    uf_templates: list[np.ndarray] = []
    na_keys: dict[tuple, int] = {}
    na_templates: list[np.ndarray] = []
    uf_idx = np.empty(len(rx), dtype=int)
    na_idx = np.empty(len(rx), dtype=int)
    for j, r in enumerate(rx):
        d = r.duration_min
        key = (repr(r.uf_profile), d)
        if key not in uf_keys:
            on_j = np.clip((d - t0) / dt_min, 0.0, 1.0)
            w = r.uf_fraction(t0 + 0.5 * on_j * dt_min) * on_j
            total = float(np.sum(w) * dt_min)
            uf_keys[key] = len(uf_templates)
            uf_templates.append(np.stack([on_j, w / total if total > 0 else w]))
        uf_idx[j] = uf_keys[key]
        prof = r.dialysate.na_profile
        key = (None if prof is None else tuple(map(tuple, prof)), r.dialysate.na_mmol_l, d)
        if key not in na_keys:
            on_j = np.clip((d - t0) / dt_min, 0.0, 1.0)
            na_keys[key] = len(na_templates)
            na_templates.append(r.dialysate_na_at(np.minimum(t0 + 0.5 * on_j * dt_min, d)))
        na_idx[j] = na_keys[key]
    tmpl = np.stack(uf_templates)  # [K, 2, steps]
    uf_l = np.array([s.uf_volume_l for s in scenarios], dtype=float)
    return Controls(dt_min, tmpl[:, 0, :], tmpl[:, 1, :], uf_idx, np.stack(na_templates), na_idx, uf_l, dur)


# --------------------------------------------------------------------------------------------- integrators


def _substeps_each(p: Any, dt: float) -> np.ndarray:
    """Sub-steps per step and patient so that dt/tau stays below 1 for the fastest exchange (Heun is
    stable up to 2; the fast modes are quasi-steady, so their error stays small)."""
    # capillary refill: rate ~ Kf dpi/dVp; dpi/dVp ~ 6 mmHg/(g/dL) * cp/Vp (Landis slope near 7 g/dL),
    # plus interstitial stiffness. Cell water: time constant from the parameter table.
    rate = p.kf * (6.0 * p.cp0 / p.y0_v_pl + p.e_is) + 1.0 / 3.0
    return np.maximum(1, np.ceil(rate * dt / 1.0 - 1e-9)).astype(int)


def _substeps(p: Any, dt: float) -> int:
    return int(np.max(_substeps_each(p, dt)))


#: Patients integrated together; arrays of this size stay in the CPU cache, which is faster than one
#: huge vector per state.
CHUNK_SIZE = 1024


def simulate_parameters(
    p: ParameterArrays,
    ctrl: Controls,
    *,
    record_every_min: float = 1.0,
    keep_states: bool = False,
    workers: int = 1,
    method: str = DEFAULT_METHOD,
) -> BatchResult:
    """Integrate n sessions given parameter arrays and controls (vectorized over patients).

    Patients are integrated in chunks of :data:`CHUNK_SIZE`; patients that need sub-stepping (very high
    filtration coefficient in a small body) form their own chunks so that they do not slow down the rest.
    ``keep_states`` also returns every model state (incl. cumulative removal counters) per record time.
    ``workers > 1`` runs chunks in that many forked processes writing into shared memory (POSIX only).
    """
    heun = _check_method(method)
    dt, stride = _check_grid(ctrl.dt_min, record_every_min)
    if abs(dt - ctrl.dt_min) > 1e-12:
        raise InputError(
            "record_every_min: must not be shorter than the controls' dt_min", "record_every_min"
        )
    n = p.n
    n_rec = ctrl.n_steps // stride + 1
    t_rec = np.arange(n_rec) * stride * dt
    n_planes = len(SIGNAL_NAMES) + (len(STATES) if keep_states else 0)
    n_sub = _substeps_each(p, dt)
    chunks: list[np.ndarray] = []
    for g in np.unique(n_sub):
        idx = np.flatnonzero(n_sub == g)
        chunks += [idx[i : i + CHUNK_SIZE] for i in range(0, len(idx), CHUNK_SIZE)]
    workers = max(1, min(int(workers), len(chunks)))
    job = _Job(p, ctrl, stride, keep_states, heun)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # failing states flagged below
        if workers == 1:
            out, extra = _alloc((n_planes, n, n_rec)), np.empty((2, n))
            job.run(chunks, out, extra)
        else:
            out, extra = _run_parallel(job, chunks, (n_planes, n, n_rec), workers)
    failed = extra[1] > 0.5
    # NaN after each session's end (grouped by duration) and for sessions that left the model's range
    last = np.floor(ctrl.duration_min / (stride * dt) + 1e-9).astype(int)
    n_sig = len(SIGNAL_NAMES)
    for k in np.unique(last):
        if k + 1 < n_rec:
            out[:n_sig, np.flatnonzero(last == k), k + 1 :] = np.nan
    summary = _urea_dose(p, ctrl, out[SIGNAL_NAMES.index("urea_mmol_l")], last, stride * dt, extra[0])
    if failed.any():
        out[:, failed, :] = np.nan
        for v in summary.values():
            v[failed] = np.nan
    signals = {name: out[j] for j, name in enumerate(SIGNAL_NAMES)}
    states = {name: out[n_sig + i] for i, name in enumerate(STATES)} if keep_states else {}
    return BatchResult(t_rec, signals, ctrl.duration_min.copy(), states, summary, failed=failed)


@dataclass
class _Job:
    """Everything a worker needs to integrate chunks of a batch."""

    p: ParameterArrays
    ctrl: Controls
    stride: int
    keep_states: bool
    heun: bool

    def run(self, chunks: list[np.ndarray], out: np.ndarray, extra: np.ndarray) -> None:
        """Integrate ``chunks`` into ``out`` [planes, n, records] and ``extra`` [2, n] (Kt/V, failed)."""
        if not chunks:
            return
        m_max = max(len(c) for c in chunks)
        buf = np.empty((out.shape[0], out.shape[2], m_max))  # reused: fresh pages are costly
        for idx in chunks:
            _run_chunk(self, idx, out, extra, buf)


def _alloc(shape: tuple[int, ...], shared: bool = False) -> np.ndarray:
    """An uninitialised float array in anonymous memory, pre-faulted in one go where the OS allows
    (MAP_POPULATE is several times cheaper than faulting in hundreds of MB page by page); ``shared`` makes it
    visible to forked children."""
    import mmap

    size = int(np.prod(shape))
    flags = (mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE) | getattr(mmap, "MAP_ANONYMOUS", 0x20)
    flags |= getattr(mmap, "MAP_POPULATE", 0)
    try:
        buf = mmap.mmap(-1, max(8, size * 8), flags=flags)
    except (OSError, ValueError, TypeError):
        if shared:
            buf = mmap.mmap(-1, max(8, size * 8))
        else:
            return np.empty(shape)
    return np.frombuffer(buf, dtype=float)[:size].reshape(shape)


def _run_parallel(
    job: _Job, chunks: list[np.ndarray], shape: tuple[int, int, int], workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Forked workers write their chunks into shared memory; the parent integrates its own share."""
    import multiprocessing as mp

    out, extra = _alloc(shape, shared=True), _alloc((2, shape[1]), shared=True)
    ctx = mp.get_context("fork")
    parts = [chunks[w::workers] for w in range(workers)]
    procs = [ctx.Process(target=job.run, args=(part, out, extra)) for part in parts[1:]]
    for proc in procs:
        proc.start()
    job.run(parts[0], out, extra)
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"simulation worker failed with exit code {proc.exitcode}")
    return out, extra


def _run_chunk(job: _Job, idx: np.ndarray, out: np.ndarray, extra: np.ndarray, buf_all: np.ndarray) -> None:
    """Integrate patients ``idx``; write signals (and states) into ``out[:, idx, :]``, the urea clearance
    integral (L) and the out-of-range flag into ``extra[:, idx]``."""
    contiguous = len(idx) > 0 and idx[-1] - idx[0] == len(idx) - 1
    sel = slice(int(idx[0]), int(idx[-1]) + 1) if contiguous else idx
    p = job.p.subset(sel)
    buf = buf_all[:, :, : p.n]
    y0 = [np.array(v, dtype=float) for v in initial_state(p)]

    def record(r: int, out: dict, y: list) -> None:
        _store(buf, r, out, y, job.keep_states)

    y, _ = _integrate(
        y0, np.zeros(p.n), job.ctrl.block(sel), p, ARRAY, job.ctrl.dt_min, job.stride, job.heun, record
    )
    j_pv, j_isv, j_sbp = _RANGE_SIGNALS
    extra[1, sel] = _out_of_range(buf[j_pv].T, buf[j_isv].T, buf[j_sbp].T)
    out[:, sel, :] = buf.transpose(0, 2, 1)
    extra[0, sel] = y[IDX["kt"]]


def _urea_dose(
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
            p.uf_l * np.minimum(t_post / ctrl.duration_min, 1.0),
            t_post,
        )
    return {"delivered_ktv": sp, "clearance_ktv": kt_l / (p.v_tbw0 - p.uf_l)}


def _out_of_range(
    pv: np.ndarray, isv: np.ndarray, sbp: np.ndarray, inside: np.ndarray | None = None
) -> np.ndarray:
    """Sessions ([n] bool; arrays [n, steps]) in which the patient leaves the range the model represents
    (a compartment empties, pressure is lost): not survivable, so not simulated. ``inside`` marks the
    record times within each session (default: all)."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(pv) & np.isfinite(isv) & np.isfinite(sbp) & (pv > 0.05) & (isv > 0.05) & (sbp > 20.0)
    bad = ~ok if inside is None else (~ok & inside)
    return np.atleast_2d(bad).any(axis=-1)


def _check_physiological(pv: np.ndarray, isv: np.ndarray, sbp: np.ndarray) -> None:
    """Raise :class:`InputError` for a single session that leaves the model's range."""
    if _out_of_range(pv, isv, sbp).any():
        raise InputError(OUT_OF_RANGE, "scenario")


def _integrate(
    y: list,
    s: Any,
    controls: tuple[Sequence, Sequence, Sequence],
    p: Any,
    xp: Any,
    dt: float,
    stride: int,
    heun: bool,
    record: Callable[[int, dict, list], None],
) -> tuple[list, Any]:
    """Step the model from state ``y`` (baroreflex warm start ``s``) through the step controls ``(on, UF rate,
    dialysate Na)``, each indexed by step, with :func:`_substeps` sub-steps per step of ``dt``.

    Every ``stride``-th step start, and the session end (when it falls on a record time), is passed to
    ``record(record_index, output_signals, state)``; after the last step the machine is stopped (no UF, no
    blood flow). Returns the final state and warm start."""
    on, qf, na = controls
    n_steps = len(on)
    n_sub = _substeps(p, dt)
    h = dt / n_sub
    for k in range(n_steps):
        u = (on[k], qf[k], na[k])
        for sub in range(n_sub):
            want = sub == 0 and k % stride == 0
            f1, aux = rhs(y, u, p, xp, s, NEWTON_ITERATIONS, want)
            if want:
                record(k // stride, aux.out, y)
            y, s = _advance(y, f1, aux.s, u, p, xp, h, heun)
    if n_steps % stride == 0:
        stopped = on[-1] * 0.0
        _, aux = rhs(y, (stopped, stopped, na[-1]), p, xp, s, NEWTON_ITERATIONS, True)
        record(n_steps // stride, aux.out, y)
    return y, s


def _advance(y: list, f1: list, s1: object, u: tuple, p: object, xp: object, h: float, heun: bool) -> tuple:
    """One step from the derivative ``f1`` at ``y``: explicit Euler, or Heun (trapezoidal RK2)."""
    y1 = [yi + h * fi for yi, fi in zip(y, f1, strict=True)]
    if not heun:
        return y1, s1
    f2, aux2 = rhs(y1, u, p, xp, s1, NEWTON_ITERATIONS)
    return [yi + (0.5 * h) * (a + b) for yi, a, b in zip(y, f1, f2, strict=True)], aux2.s


def _check_method(method: str) -> bool:
    if method not in METHODS:
        raise InputError(f"method: {method!r} is not one of {', '.join(METHODS)}", "method")
    return method == "heun"


def _store(buf: np.ndarray, r: int, out: dict, y: list, keep_states: bool) -> None:
    for j, name in enumerate(SIGNAL_NAMES):
        buf[j, r] = out[name]
    if keep_states:
        n_sig = len(SIGNAL_NAMES)
        for i, v in enumerate(y):
            buf[n_sig + i, r] = v


def simulate_batch(
    scenarios: Sequence[Scenario],
    *,
    record_every_min: float = 1.0,
    dt_min: float = DEFAULT_DT_MIN,
    keep_states: bool = False,
    workers: int = 1,
    method: str = DEFAULT_METHOD,
) -> BatchResult:
    """Simulate many sessions at once; signals have shape [n, steps] (NaN after each session's end).

    ``workers`` > 1 splits the batch over that many forked processes; ``keep_states`` adds the model states
    (``BatchResult.states``); ``method`` is ``"euler"`` or ``"heun"``."""
    sc = list(scenarios)
    if not sc:
        raise InputError("scenarios: at least one scenario is required", "scenarios")
    dt, _ = _check_grid(dt_min, record_every_min)
    p = patient_parameters(sc)
    ctrl = session_controls(sc, dt)
    res = simulate_parameters(
        p, ctrl, record_every_min=record_every_min, keep_states=keep_states, workers=workers, method=method
    )
    res.session_ids = [s.patient.id for s in sc]
    return res


def simulate(
    scenario: Scenario | Patient,
    prescription: Prescription | None = None,
    *,
    dt_min: float = DEFAULT_DT_MIN,
    record_every_min: float = 1.0,
    method: str = DEFAULT_METHOD,
) -> Trace:
    """Simulate one session (scalar integrator: same model and scheme as :func:`simulate_batch`).

    Call it with a :class:`Scenario`, or with a :class:`Patient` and a :class:`Prescription`.
    """
    scenario = as_scenario(scenario, prescription)
    heun = _check_method(method)
    dt, stride = _check_grid(dt_min, record_every_min)
    p = patient_parameters([scenario]).take(0)
    controls = tuple(c[:, 0].tolist() for c in session_controls([scenario], dt).block())
    y0 = [float(v) for v in initial_state(p)]
    rows: list[dict] = []
    try:
        _integrate(y0, 0.0, controls, p, SCALAR, dt, stride, heun, lambda _r, out, _y: rows.append(out))
    except (ValueError, OverflowError, ZeroDivisionError):  # math domain errors of a failing state
        raise InputError(OUT_OF_RANGE, "scenario") from None
    trace = _rows_to_trace(rows, stride * dt, scenario)
    d = trace.data
    _check_physiological(
        d["plasma_volume_l"].to_numpy(), d["interstitial_volume_l"].to_numpy(), d["sbp_mmhg"].to_numpy()
    )
    return trace


def _rows_to_trace(rows: list[dict], every: float, scenario: Scenario) -> Trace:
    columns = {name: np.array([r[name] for r in rows], dtype=float) for name in SIGNAL_NAMES}
    t = np.arange(len(rows)) * every
    return _simulated_trace(t, columns, scenario.prescription.duration_min, scenario.patient.id)


def simulate_reference(
    scenario: Scenario, *, rtol: float = 1e-6, record_every_min: float = 1.0, method: str = "LSODA"
) -> Trace:
    """The same right-hand side integrated by scipy ``solve_ivp`` (adaptive, stiff-capable), for validation.

    Controls are the same piecewise-constant step controls (dt = 1 min grid), integrated step by step so
    the solver never steps across a control change. The baroreflex is solved to convergence.
    """
    from scipy.integrate import solve_ivp

    _, stride = _check_grid(DEFAULT_DT_MIN, max(record_every_min, DEFAULT_DT_MIN))
    pa = patient_parameters([scenario])
    ctrl = session_controls([scenario], DEFAULT_DT_MIN)
    on_a, qf_a, na_a = ctrl.block()
    p = pa.take(0)
    dt = ctrl.dt_min
    y = np.array([float(v) for v in initial_state(p)])
    state = {"s": 0.0}

    def fun(_t: float, yv: np.ndarray, u: tuple) -> np.ndarray:
        dy, aux = rhs(list(yv), u, p, SCALAR, state["s"], 12)
        state["s"] = aux.s
        return np.array(dy)

    rows = []
    n_steps = ctrl.n_steps
    for k in range(n_steps + 1):
        kk = min(k, n_steps - 1)
        u = (float(on_a[kk, 0]), float(qf_a[kk, 0]), float(na_a[kk, 0]))
        if k == n_steps:
            u = (0.0, 0.0, u[2])
        if k % stride == 0:
            _, aux = rhs(list(y), u, p, SCALAR, state["s"], 12, True)
            rows.append(aux.out)
        if k == n_steps:
            break
        sol = solve_ivp(fun, (k * dt, (k + 1) * dt), y, method=method, rtol=rtol, atol=rtol * 1e-3, args=(u,))
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        y = sol.y[:, -1]
    assert len(y) == N_STATES
    return _rows_to_trace(rows, stride * dt, scenario)
