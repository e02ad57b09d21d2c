"""The numpy batch integrator: the reference execution of the fixed-step scheme, and the fallback when the
compiled kernel (:mod:`crampwatch.simulator.kernel`) is unavailable.

States are arrays [N_STATES, m] for a chunk of m patients; :func:`crampwatch.physiology.model.rhs` runs on
whole rows. Patients are integrated in chunks of :data:`CHUNK_SIZE`; patients that need sub-stepping (very
high filtration coefficient in a small body) form their own chunks so that they do not slow down the rest.
``workers > 1`` runs chunks in forked processes writing into shared memory (POSIX only).
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import multiprocessing as mp
from dataclasses import dataclass

import numpy as np

from crampwatch.physiology.derive import ParameterArrays
from crampwatch.physiology.model import IDX, N_OUTPUTS, N_STATES, initial_state, rhs
from crampwatch.simulator.controls import Controls, substeps_each
from crampwatch.simulator.output import RANGE_SIGNALS, out_of_range

#: Patients integrated together; arrays of this size stay in the CPU cache, which is faster than one
#: huge vector per state.
CHUNK_SIZE = 1024


def integrate_numpy(
    p: ParameterArrays,
    ctrl: Controls,
    stride: int,
    keep_states: bool,
    heun: bool,
    n_iter: int,
    workers: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate every session; returns (planes [signals (+ states), n, records], urea clearance integral
    (L) [n], out-of-range flags [n])."""
    n = p.n
    n_rec = ctrl.n_steps // stride + 1
    n_planes = N_OUTPUTS + (N_STATES if keep_states else 0)
    n_sub = substeps_each(p, ctrl.dt_min)
    chunks: list[np.ndarray] = []
    for g in np.unique(n_sub):
        idx = np.flatnonzero(n_sub == g)
        chunks += [idx[i : i + CHUNK_SIZE] for i in range(0, len(idx), CHUNK_SIZE)]
    workers = max(1, min(int(workers), len(chunks)))
    job = _Job(p, ctrl, stride, keep_states, heun, n_iter)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # failing states flagged
        if workers == 1:
            out, extra = alloc((n_planes, n, n_rec)), np.empty((2, n))
            job.run(chunks, out, extra)
        else:
            out, extra = _run_parallel(job, chunks, (n_planes, n, n_rec), workers)
    return out, extra[0], extra[1] > 0.5


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs to integrate chunks of a batch."""

    p: ParameterArrays
    ctrl: Controls
    stride: int
    keep_states: bool
    heun: bool
    n_iter: int

    def run(self, chunks: list[np.ndarray], out: np.ndarray, extra: np.ndarray) -> None:
        """Integrate ``chunks`` into ``out`` [planes, n, records] and ``extra`` [2, n] (Kt, failed)."""
        if not chunks:
            return
        m_max = max(len(c) for c in chunks)
        buf = np.empty((out.shape[0], out.shape[2], m_max))  # reused: fresh pages are costly
        for idx in chunks:
            self.run_chunk(idx, out, extra, buf)

    def run_chunk(self, idx: np.ndarray, out: np.ndarray, extra: np.ndarray, buf_all: np.ndarray) -> None:
        """Integrate patients ``idx``; write signals (and states) into ``out[:, idx, :]``, the urea
        clearance integral (L) and the out-of-range flag into ``extra[:, idx]``."""
        contiguous = len(idx) > 0 and idx[-1] - idx[0] == len(idx) - 1
        sel = slice(int(idx[0]), int(idx[-1]) + 1) if contiguous else idx
        p = self.p.subset(sel)
        buf = buf_all[:, :, : p.n]
        y = np.array([np.asarray(v, dtype=float) * np.ones(p.n) for v in initial_state(p)])
        y = integrate_chunk(
            y, self.ctrl.block(sel), p, self, int(substeps_each(p, self.ctrl.dt_min).max()), buf
        )
        j_pv, j_isv, j_sbp = RANGE_SIGNALS
        extra[1, sel] = out_of_range(buf[j_pv].T, buf[j_isv].T, buf[j_sbp].T)
        out[:, sel, :] = buf.transpose(0, 2, 1)
        extra[0, sel] = y[IDX["kt"]]


def integrate_chunk(
    y: np.ndarray,
    controls: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    p: ParameterArrays,
    job: _Job,
    n_sub: int,
    buf: np.ndarray,
) -> np.ndarray:
    """Step the states ``y`` [N_STATES, m] through the step controls ``(on, UF rate, dialysate Na,
    dialysate-contact fraction)`` (each [steps, m]) with ``n_sub`` sub-steps per step; write outputs (and
    states) of every ``stride``-th step start into ``buf`` [planes, records, m]. After the last step the
    machine is stopped (no UF, no blood flow) for the final record. Returns the final state."""
    on, qf, na, dif = controls
    n_steps = len(on)
    h = job.ctrl.dt_min / n_sub
    s = np.zeros(p.n)
    f1, f2 = np.empty_like(y), np.empty_like(y)
    out = np.empty((N_OUTPUTS, p.n))
    for k in range(n_steps):
        u = (on[k], qf[k], na[k], dif[k])
        for sub in range(n_sub):
            want = sub == 0 and k % job.stride == 0
            s1 = rhs(y, u, p, s, job.n_iter, f1, out if want else None)
            if want:
                _record(buf, k // job.stride, out, y, job.keep_states)
            y1 = y + h * f1
            if job.heun:
                s = rhs(y1, u, p, s1, job.n_iter, f2)
                y = y + (0.5 * h) * (f1 + f2)
            else:
                y, s = y1, s1
    if n_steps % job.stride == 0:
        stopped = on[-1] * 0.0
        rhs(y, (stopped, stopped, na[-1], stopped), p, s, job.n_iter, f1, out)
        _record(buf, n_steps // job.stride, out, y, job.keep_states)
    return y


def _record(buf: np.ndarray, r: int, out: np.ndarray, y: np.ndarray, keep_states: bool) -> None:
    buf[:N_OUTPUTS, r] = out
    if keep_states:
        buf[N_OUTPUTS:, r] = y


@functools.cache
def _huge_pages_available() -> bool:
    """True when the OS backs large anonymous mappings with huge pages on request (Linux THP)."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[never]" not in f.read()
    except OSError:
        return False


def alloc(shape: tuple[int, ...], shared: bool = False) -> np.ndarray:
    """An uninitialised float array in anonymous memory; ``shared`` makes it visible to forked children.

    Faulting in hundreds of MB page by page is costly: a private array asks for huge pages (2 MB; its first
    writers, possibly several threads, fault it in a few hundred steps), otherwise the mapping is
    pre-faulted in one go (MAP_POPULATE)."""

    size = int(np.prod(shape))
    flags = (mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE) | getattr(mmap, "MAP_ANONYMOUS", 0x20)
    huge = not shared and hasattr(mmap, "MADV_HUGEPAGE") and _huge_pages_available()
    if not huge:
        flags |= getattr(mmap, "MAP_POPULATE", 0)
    try:
        buf = mmap.mmap(-1, max(8, size * 8), flags=flags)
    except (OSError, ValueError, TypeError):
        if shared:
            buf = mmap.mmap(-1, max(8, size * 8))
        else:
            return np.empty(shape)
    if huge:
        with contextlib.suppress(OSError):  # a kernel without THP: ordinary pages
            buf.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(buf, dtype=float)[:size].reshape(shape)


def _run_parallel(
    job: _Job, chunks: list[np.ndarray], shape: tuple[int, int, int], workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Forked workers write their chunks into shared memory; the parent integrates its own share."""

    out, extra = alloc(shape, shared=True), alloc((2, shape[1]), shared=True)
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
