"""The compiled batch kernel: numba compiles :func:`crampwatch.physiology.model.rhs` (the same source the
numpy integrator runs) for one patient's floats and integrates the fixed-step scheme patient by patient,
``prange`` over patients when more than one thread is asked for.

Compiled code is cached on disk (numba ``cache=True``) and shared by later processes; the cache is keyed
on the sources of this module and of :mod:`crampwatch.physiology`, so an edited equation recompiles.
:func:`available` says whether the kernel can be used (numba installed, compilation succeeded); the
simulator falls back to the numpy integrator when it cannot.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import os
import threading
from pathlib import Path

import numpy as np

from crampwatch.physiology.derive import ParameterArrays
from crampwatch.physiology.model import (
    IDX,
    KERNEL_FUNCTIONS,
    KERNEL_INLINED,
    N_OUTPUTS,
    N_STATES,
    initial_state,
    rhs,
)
from crampwatch.simulator.controls import Controls, substeps_each
from crampwatch.simulator.output import RANGE_SIGNALS, out_of_range

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a declared dependency
    numba = None

_PHYSIOLOGY_DIR = Path(rhs.__code__.co_filename).parent
_LOCK = threading.Lock()
_STATUS: dict[str, object] = {"ok": None, "error": None}


def _sources_fingerprint() -> bytes:
    """Hash of the sources the compiled code depends on: this module, the physiology package and the module
    of every compiled function."""
    h = hashlib.sha256()
    modules = sorted(
        {Path(inspect.getsourcefile(fn) or "") for fn in KERNEL_FUNCTIONS} - {*_PHYSIOLOGY_DIR.glob("*.py")}
    )
    for path in [Path(__file__), *sorted(_PHYSIOLOGY_DIR.glob("*.py")), *modules]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.digest()


#: Floating-point contractions the compiled code may make: fused multiply-add and a shared reciprocal for
#: repeated divisions by the same value (results differ from the numpy execution only by round-off; NaN and
#: infinity keep their meaning, which the range check relies on).
FASTMATH = frozenset({"contract", "arcp"})


def _install_cache_locator() -> None:
    """Make numba's on-disk cache of this module's functions depend on the physiology sources too (numba
    itself only checks the file that defines the cached function)."""
    # numba may be absent (the numpy execution is the fallback): read only when it is present
    from numba.core import caching

    names = ("UserProvidedCacheLocator", "_UserProvidedCacheLocator")  # NUMBA_CACHE_DIR, when set
    names += ("InTreeCacheLocator", "_InTreeCacheLocator", "UserWideCacheLocator", "_UserWideCacheLocator")
    bases = [getattr(caching, n, None) for n in names]
    here = os.path.abspath(__file__)
    stamp = _sources_fingerprint()
    for base in reversed([b for b in bases if b is not None]):

        class _Locator(base):  # type: ignore[valid-type, misc]
            def get_source_stamp(self) -> bytes:
                return stamp

            @classmethod
            def from_function(cls, py_func, py_file):  # noqa: ANN001, ANN206
                if os.path.abspath(py_file) != here:
                    return None
                return super().from_function(py_func, py_file)

        caching._CacheImpl._locator_classes.insert(0, _Locator)


if numba is not None:
    with contextlib.suppress(AttributeError, ImportError, TypeError, OSError):  # another numba layout
        _install_cache_locator()
    from numba.extending import register_jitable

    for _fn in KERNEL_FUNCTIONS:  # compiled code may call these (their sources stay plain Python)
        register_jitable(fastmath=set(FASTMATH), inline="always" if _fn in KERNEL_INLINED else "never")(_fn)

    _jit = njit(cache=True, error_model="numpy", fastmath=set(FASTMATH))

    @_jit
    def _record_states(rows: np.ndarray, r: int, y: np.ndarray, keep_states: bool) -> None:
        if keep_states:
            for j in range(N_STATES):
                rows[r, N_OUTPUTS + j] = y[j]

    @_jit
    def _session(  # noqa: ANN202
        p,
        y,
        on_t,
        w_t,
        dif_t,
        na_t,
        uf_volume_l,
        n_sub,
        dt,
        stride,
        heun,
        n_iter,
        keep_states,
        rec,  # noqa: ANN001
    ):
        """Integrate one session from state ``y`` (updated in place); records go to ``rec`` [planes, records].
        Same scheme, operation for operation, as :func:`crampwatch.simulator.numpy_batch.integrate_chunk`.
        Records are first written row by row into a small session-local table (one cache-friendly row per
        record) and copied plane by plane into ``rec`` at the end."""
        n_steps = on_t.shape[0]
        h = dt / n_sub
        f1 = np.empty(N_STATES)
        f2 = np.empty(N_STATES)
        y1 = np.empty(N_STATES)
        rows = np.empty((rec.shape[1], rec.shape[0]))
        s = 0.0
        for k in range(n_steps):
            on = on_t[k]
            qf = uf_volume_l * w_t[k] / on if on > 0 else 0.0
            u = (on, qf, na_t[k], dif_t[k])
            for sub in range(n_sub):
                if sub == 0 and k % stride == 0:
                    s1 = rhs(y, u, p, s, n_iter, f1, rows[k // stride])
                    _record_states(rows, k // stride, y, keep_states)
                else:
                    s1 = rhs(y, u, p, s, n_iter, f1, None)
                for j in range(N_STATES):
                    y1[j] = y[j] + h * f1[j]
                if heun:
                    s = rhs(y1, u, p, s1, n_iter, f2, None)
                    for j in range(N_STATES):
                        y[j] = y[j] + (0.5 * h) * (f1[j] + f2[j])
                else:
                    s = s1
                    for j in range(N_STATES):
                        y[j] = y1[j]
        if n_steps % stride == 0:
            rhs(y, (0.0, 0.0, na_t[n_steps - 1], 0.0), p, s, n_iter, f1, rows[n_steps // stride])
            _record_states(rows, n_steps // stride, y, keep_states)
        for j in range(rec.shape[0]):
            for r in range(rec.shape[1]):
                rec[j, r] = rows[r, j]

    @_jit
    def _session_i(
        i,
        P,
        Y,
        on_t,
        w_t,
        dif_t,
        uf_idx,
        na_t,
        na_idx,
        uf_volume_l,
        n_sub,
        dt,
        stride,
        heun,
        n_iter,
        keep,
        out,
    ):  # noqa: ANN001, ANN202, N803
        """Session ``i`` of the batch, its state copied out of ``Y`` [states, n] and back."""
        y = Y[:, i].copy()
        k = uf_idx[i]
        on_i, w_i, dif_i, na_i = on_t[k], w_t[k], dif_t[k], na_t[na_idx[i]]
        _session(
            P[i],
            y,
            on_i,
            w_i,
            dif_i,
            na_i,
            uf_volume_l[i],
            n_sub[i],
            dt,
            stride,
            heun,
            n_iter,
            keep,
            out[:, i, :],
        )
        Y[:, i] = y

    # one loop per execution: numba compiles and caches a function once per set of flags
    @_jit
    def _batch_serial(P, Y, *args):  # noqa: ANN001, ANN002, ANN202, N803
        for i in range(P.shape[0]):
            _session_i(i, P, Y, *args)

    @njit(cache=True, error_model="numpy", fastmath=set(FASTMATH), parallel=True)
    def _batch_parallel(P, Y, *args):  # noqa: ANN001, ANN002, ANN202, N803
        for i in prange(P.shape[0]):
            _session_i(i, P, Y, *args)

    @_jit
    def _advance_members(P, Y, S, steps, on, qf, na, dif, u_end, n_sub, n_iter, out):  # noqa: ANN001, ANN202, N803
        """Advance member ``i`` from state ``Y[:, i]`` (baroreflex warm start ``S[i]``) through the steps of
        lengths ``steps`` (min) with explicit Euler, ``n_sub[i]`` sub-steps each, controls ``on``, ``qf``,
        ``na``, ``dif`` [n, steps]; outputs at each step start go to ``out[i, k]``, those of the final state
        (controls ``u_end`` [4, n]) to ``out[i, steps]``. ``Y`` and ``S`` are updated in place (the warm
        start is the last integration step's, so advancing in pieces equals advancing at once)."""
        f1 = np.empty(N_STATES)
        y = np.empty(N_STATES)
        for i in range(P.shape[0]):
            for j in range(N_STATES):
                y[j] = Y[j, i]
            s = S[i]
            for k in range(steps.shape[0]):
                u = (on[i, k], qf[i, k], na[i, k], dif[i, k])
                h = steps[k] / n_sub[i]
                for sub in range(n_sub[i]):
                    if sub == 0:
                        s = rhs(y, u, P[i], s, n_iter, f1, out[i, k])
                    else:
                        s = rhs(y, u, P[i], s, n_iter, f1, None)
                    for j in range(N_STATES):
                        y[j] = y[j] + h * f1[j]
            u = (u_end[0, i], u_end[1, i], u_end[2, i], u_end[3, i])
            rhs(y, u, P[i], s, n_iter, f1, out[i, steps.shape[0]])
            for j in range(N_STATES):
                Y[j, i] = y[j]
            S[i] = s


@functools.cache
def _record_dtype(names: tuple[str, ...]) -> np.dtype:
    return np.dtype([(name, "f8") for name in names])


def parameter_records(p: ParameterArrays) -> np.ndarray:
    """The parameter arrays as one structured array [n] (one record per patient, one field per parameter)."""
    names = tuple(sorted(vars(p)))
    table = np.stack([getattr(p, name) for name in names], axis=1)  # [n, parameters]
    return np.ascontiguousarray(table).view(_record_dtype(names)).reshape(p.n)


def integrate_compiled(
    p: ParameterArrays,
    ctrl: Controls,
    stride: int,
    keep_states: bool,
    heun: bool,
    n_iter: int,
    workers: int,
    out: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate every session with the compiled kernel into ``out`` [planes, n, records]; returns
    (``out``, urea clearance integral (L) [n], out-of-range flags [n]). ``workers`` threads (prange)."""
    if numba is None:
        raise RuntimeError("numba is not installed")
    y = np.empty((N_STATES, p.n))
    for k, v in enumerate(initial_state(p)):
        y[k] = v
    args = (
        parameter_records(p),
        y,
        np.ascontiguousarray(ctrl.on_t, dtype=float),
        np.ascontiguousarray(ctrl.w_t, dtype=float),
        np.ascontiguousarray(ctrl.dif_t, dtype=float),
        ctrl.uf_idx.astype(np.int64),
        np.ascontiguousarray(ctrl.na_t, dtype=float),
        ctrl.na_idx.astype(np.int64),
        np.asarray(ctrl.uf_volume_l, dtype=float),
        substeps_each(p, ctrl.dt_min).astype(np.int64),
        float(ctrl.dt_min),
        int(stride),
        bool(heun),
        int(n_iter),
        bool(keep_states),
        out,
    )
    if workers > 1 and p.n > 1:
        with _LOCK:  # numba's thread pool runs one parallel region at a time
            before = numba.get_num_threads()
            numba.set_num_threads(max(1, min(int(workers), numba.config.NUMBA_NUM_THREADS)))
            try:
                _batch_parallel(*args)
            finally:
                numba.set_num_threads(before)
    else:
        _batch_serial(*args)
    j_pv, j_isv, j_sbp = RANGE_SIGNALS
    failed = out_of_range(out[j_pv], out[j_isv], out[j_sbp])
    return out, y[IDX["kt"]], failed


def available() -> bool:
    """True when the compiled kernel can run here (numba importable and the kernel compiles); the first
    call compiles or loads the cache."""
    if _STATUS["ok"] is None:
        if numba is None:
            _STATUS.update(ok=False, error="numba is not installed")
        else:
            _STATUS["ok"] = True
    return bool(_STATUS["ok"])


def disable(reason: str) -> None:
    """Stop using the compiled kernel in this process (after a compilation or run failure)."""
    _STATUS.update(ok=False, error=reason)


def status() -> str:
    """A one-line description of the kernel's state (for diagnostics)."""
    if available():
        return "compiled (numba)"
    return f"numpy fallback ({_STATUS['error']})"
