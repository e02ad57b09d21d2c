"""The scipy references: the same right-hand side integrated by ``solve_ivp``, as a careful user would.

Three ways a scipy user integrates the model, each reusing :func:`crampwatch.physiology.model.rhs`:

* :func:`simulate_reference` -- one session per ``solve_ivp`` call, the right-hand side interpreted by
  Python (the per-session loop), or with ``compiled_rhs=True`` compiled by numba and called from
  ``solve_ivp`` (the Python overhead of the right-hand side removed; the solver's own remains);
* :func:`simulate_reference_stacked` -- all sessions stacked into one state vector, one ``solve_ivp`` call
  per interval of constant controls, the right-hand side evaluated for every session at once by numpy.

Each makes one ``solve_ivp`` call per interval of constant controls (for a constant UF rate and dialysate
Na: one call for the session, one for the last partial minute and one for the post-dialysis phase), so the
adaptive solver never steps across a control change. The baroreflex is solved the way the batch solves it
(a warm-started Newton iteration per call; ``baro_iterations=12`` solves it to convergence, for tight
solutions). ``benchmarks/simulate.py`` measures each one's error against a tight solution and times it
against the batch at matched accuracy. These are references and baselines: no product path calls them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from crampwatch.errors import InputError
from crampwatch.model import Scenario
from crampwatch.physiology.derive import patient_parameters
from crampwatch.physiology.model import IDX, N_OUTPUTS, N_STATES, initial_state, rhs
from crampwatch.simulator.batch import NEWTON_ITERATIONS
from crampwatch.simulator.controls import DEFAULT_DT_MIN, check_grid, session_controls
from crampwatch.simulator.output import (
    OUT_OF_RANGE,
    RANGE_SIGNALS,
    SIGNAL_NAMES,
    BatchResult,
    finish_batch,
    out_of_range,
    simulated_trace,
)
from crampwatch.trace import Trace

#: Matched-accuracy defaults: the loosest RK45 tolerance (of 1e-2, 3e-3, ... 1e-4) whose error against a
#: tight solution stays within the Euler batch's (max |dRBV| 0.01 vs 0.04 %-points, max |dSBP| 0.04 vs
#: 0.10 mmHg on 10 virtual 4-h sessions; rtol 3e-4 gives 0.10 mmHg; benchmarks/simulate.py).
REFERENCE_METHOD = "RK45"
REFERENCE_RTOL = 1e-4
#: Newton iterations that solve the baroreflex to convergence (tight reference solutions).
CONVERGED_BARO_ITERATIONS = 12
_EXPLICIT = ("RK23", "RK45", "DOP853")


def _iterations(method: str, baro_iterations: int | None) -> int:
    """Default Newton iterations: as the batch for explicit methods, converged for implicit ones (their
    finite-difference Jacobians need a smooth right-hand side)."""
    if baro_iterations is not None:
        return int(baro_iterations)
    return NEWTON_ITERATIONS if method in _EXPLICIT else CONVERGED_BARO_ITERATIONS


def _intervals(on: np.ndarray, qf: np.ndarray, na: np.ndarray, dif: np.ndarray) -> list[tuple[int, int]]:
    """Step ranges [a, b) over which every session's controls (each [steps, m]) stay constant."""
    change = np.zeros(on.shape[0] - 1, dtype=bool)
    for c in (on, qf, na, dif):
        change |= (np.diff(c, axis=0) != 0).reshape(on.shape[0] - 1, -1).any(axis=1)
    starts = [0, *(np.flatnonzero(change) + 1).tolist()]
    return list(zip(starts, [*starts[1:], on.shape[0]], strict=True))


@functools.cache
def _compiled_rhs() -> tuple[Callable, Callable]:
    """The model's right-hand side compiled by numba for one patient (a parameter record): (derivatives
    only, derivatives and outputs). Compiled on first use in each process (not cached on disk)."""
    # numba is compiled on first use in a process (the kernel's numpy fallback runs without it)
    from numba import njit

    from crampwatch.simulator import kernel  # registers rhs and the physiology functions it calls

    jit = njit(error_model="numpy", fastmath=set(kernel.FASTMATH))

    @jit
    def derivatives(y, on, qf, na, dif, table, s0, n_iter, dy):  # noqa: ANN001, ANN202
        return rhs(y, (on, qf, na, dif), table[0], s0, n_iter, dy, None)

    @jit
    def with_outputs(y, on, qf, na, dif, table, s0, n_iter, dy, out):  # noqa: ANN001, ANN202
        return rhs(y, (on, qf, na, dif), table[0], s0, n_iter, dy, out)

    return derivatives, with_outputs


def simulate_reference(
    scenario: Scenario,
    *,
    rtol: float = REFERENCE_RTOL,
    method: str = REFERENCE_METHOD,
    record_every_min: float = 1.0,
    after_min: float = 0.0,
    baro_iterations: int | None = None,
    compiled_rhs: bool = False,
) -> Trace:
    """One session integrated by scipy ``solve_ivp`` (``method``, ``rtol``; ``atol`` = rtol x each state's
    starting magnitude, at least 1), recorded every ``record_every_min`` (at least 1 min).

    ``baro_iterations``: Newton iterations of the baroreflex per call, warm-started from the previous call;
    default: as the batch for explicit methods, converged for implicit ones. ``compiled_rhs``: evaluate the
    right-hand side through numba-compiled code (same equations; needs numba)."""
    # 0.3 s on import, and the simulator package imports this module: only for the baselines
    from scipy.integrate import solve_ivp

    n_iter = _iterations(method, baro_iterations)
    dt = DEFAULT_DT_MIN
    _, stride = check_grid(dt, max(record_every_min, dt))
    p = patient_parameters([scenario])
    ctrl = session_controls([scenario], dt, after_min)
    on, qf, na, dif = (c[:, 0] for c in ctrl.block())
    n_steps = ctrl.n_steps
    p0 = p.take(0)
    y = np.array([float(v) for v in initial_state(p0)])
    atol = rtol * np.maximum(np.abs(y), 1.0)
    evaluate = _session_evaluator(p, p0, n_iter, compiled_rhs)
    warm, rec_warm = [0.0], [0.0]  # records are computed after each solve: their own warm-start chain
    rows: list[np.ndarray] = []

    def fun(_t: float, yv: np.ndarray, u: tuple) -> np.ndarray:
        dy = np.empty(N_STATES)
        warm[0] = evaluate(yv, u, warm[0], dy, None)
        return dy

    def record(yk: np.ndarray, u: tuple) -> None:
        out = np.empty(N_OUTPUTS)
        rec_warm[0] = evaluate(yk, u, rec_warm[0], np.empty(N_STATES), out)
        rows.append(out)

    for a, b in _intervals(on, qf, na, dif):
        u = (float(on[a]), float(qf[a]), float(na[a]), float(dif[a]))
        rec_steps = [k for k in range(a, b) if k % stride == 0]
        t_eval = [k * dt for k in rec_steps] + [b * dt]
        sol = solve_ivp(
            fun, (a * dt, b * dt), y, method=method, rtol=rtol, atol=atol, t_eval=t_eval, args=(u,)
        )
        if not sol.success:
            raise InputError(OUT_OF_RANGE, "scenario")
        for j in range(len(rec_steps)):
            record(np.ascontiguousarray(sol.y[:, j]), u)
        y = np.ascontiguousarray(sol.y[:, -1])
    if n_steps % stride == 0:
        record(y, (0.0, 0.0, float(na[-1]), 0.0))
    table = np.array(rows)
    columns = {name: table[:, j] for j, name in enumerate(SIGNAL_NAMES)}
    if out_of_range(*(table[:, j] for j in RANGE_SIGNALS)).any():
        raise InputError(OUT_OF_RANGE, "scenario")
    t = np.arange(table.shape[0]) * stride * dt
    return simulated_trace(
        t, columns, scenario.prescription.duration_min + ctrl.after_min, scenario.patient.id
    )


def _session_evaluator(p: object, p0: object, n_iter: int, compiled: bool) -> Callable:
    """``evaluate(y, u, s0, dy, out) -> s``: the right-hand side of one session, interpreted by Python or
    compiled (``out`` None: derivatives only)."""
    if not compiled:
        return lambda y, u, s0, dy, out: rhs(y.tolist(), u, p0, s0, n_iter, dy, out)
    from crampwatch.simulator.kernel import parameter_records  # imports numba: the compiled baseline only

    derivatives, with_outputs = _compiled_rhs()
    table = parameter_records(p)

    def evaluate(y: np.ndarray, u: tuple, s0: float, dy: np.ndarray, out: np.ndarray | None) -> float:
        if out is None:
            return derivatives(y, *u, table, s0, n_iter, dy)
        return with_outputs(y, *u, table, s0, n_iter, dy, out)

    return evaluate


def simulate_reference_stacked(
    scenarios: Sequence[Scenario],
    *,
    rtol: float = REFERENCE_RTOL,
    method: str = REFERENCE_METHOD,
    after_min: float = 0.0,
    baro_iterations: int | None = None,
) -> BatchResult:
    """All sessions stacked into one state vector [N_STATES x m] and integrated together by scipy
    ``solve_ivp`` (one call per interval over which no session's controls change), the right-hand side
    evaluated for all sessions at once by numpy; recorded every minute. ``atol`` = rtol x each state's
    starting magnitude (at least 1). The solver controls the error of the whole vector (its RMS norm), so
    a session's error depends on the others it is stacked with. Raises :class:`InputError` when the solver
    fails; sessions that leave the physiological range are flagged in ``failed``."""
    # 0.3 s on import, and the simulator package imports this module: only for the baselines
    from scipy.integrate import solve_ivp

    n_iter = _iterations(method, baro_iterations)
    dt = DEFAULT_DT_MIN
    p = patient_parameters(scenarios)
    ctrl = session_controls(scenarios, dt, after_min)
    on, qf, na, dif = ctrl.block()
    m, n_steps = p.n, ctrl.n_steps
    y = np.array([np.asarray(v, dtype=float) * np.ones(m) for v in initial_state(p)]).ravel()
    atol = rtol * np.maximum(np.abs(y), 1.0)
    planes = np.empty((N_OUTPUTS, m, n_steps + 1))
    warm, rec_warm = [np.zeros(m)], [np.zeros(m)]
    scratch, out = np.empty((N_STATES, m)), np.empty((N_OUTPUTS, m))

    def fun(_t: float, yv: np.ndarray, u: tuple) -> np.ndarray:
        dy = np.empty((N_STATES, m))
        warm[0] = rhs(yv.reshape(N_STATES, m), u, p, warm[0], n_iter, dy)
        return dy.ravel()

    def record(k: int, yk: np.ndarray, u: tuple) -> None:
        rec_warm[0] = rhs(yk.reshape(N_STATES, m), u, p, rec_warm[0], n_iter, scratch, out)
        planes[:, :, k] = out

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # failing sessions are flagged
        for a, b in _intervals(on, qf, na, dif):
            u = (on[a], qf[a], na[a], dif[a])
            t_eval = np.arange(a, b + 1) * dt
            sol = solve_ivp(
                fun, (a * dt, b * dt), y, method=method, rtol=rtol, atol=atol, t_eval=t_eval, args=(u,)
            )
            if not sol.success:
                raise InputError(OUT_OF_RANGE, "scenario")
            for j, k in enumerate(range(a, b)):
                record(k, sol.y[:, j], u)
            y = sol.y[:, -1]
        stopped = np.zeros(m)
        record(n_steps, y, (stopped, stopped, na[-1], stopped))
    j_pv, j_isv, j_sbp = RANGE_SIGNALS
    failed = out_of_range(planes[j_pv], planes[j_isv], planes[j_sbp])
    kt_l = y.reshape(N_STATES, m)[IDX["kt"]].copy()
    return finish_batch(p, ctrl, planes, kt_l, failed, 1, keep_states=False)
