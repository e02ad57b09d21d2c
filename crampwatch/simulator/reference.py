"""The scipy reference: the same right-hand side integrated by ``solve_ivp``, as a careful user would.

One ``solve_ivp`` call per interval of constant controls (for a constant UF rate and dialysate Na: one call
for the session, one for the last partial minute and one for the post-dialysis phase), so the adaptive
solver never steps across a control change. The baroreflex is solved the way the batch solves it (a
warm-started Newton iteration per call; ``baro_iterations=12`` solves it to convergence, for tight
solutions). The default method and tolerance give the batch integrator's accuracy (measured against a
tight solution, rtol 1e-9, by ``benchmarks/simulate.py``), so the two can be timed fairly.
"""

from __future__ import annotations

import numpy as np

from crampwatch.errors import InputError
from crampwatch.model import Scenario
from crampwatch.physiology.derive import patient_parameters
from crampwatch.physiology.model import N_OUTPUTS, N_STATES, initial_state, rhs
from crampwatch.simulator.batch import NEWTON_ITERATIONS
from crampwatch.simulator.controls import DEFAULT_DT_MIN, check_grid, session_controls
from crampwatch.simulator.output import (
    OUT_OF_RANGE,
    RANGE_SIGNALS,
    SIGNAL_NAMES,
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


def simulate_reference(
    scenario: Scenario,
    *,
    rtol: float = REFERENCE_RTOL,
    method: str = REFERENCE_METHOD,
    record_every_min: float = 1.0,
    after_min: float = 0.0,
    baro_iterations: int | None = None,
) -> Trace:
    """One session integrated by scipy ``solve_ivp`` (``method``, ``rtol``; ``atol`` = rtol x each state's
    starting magnitude, at least 1), recorded every ``record_every_min`` (at least 1 min).

    ``baro_iterations``: Newton iterations of the baroreflex per call, warm-started from the previous call;
    default: as the batch for explicit methods, converged for implicit ones (their finite-difference
    Jacobians need a smooth right-hand side)."""
    from scipy.integrate import solve_ivp

    if baro_iterations is None:
        explicit = method in ("RK23", "RK45", "DOP853")
        baro_iterations = NEWTON_ITERATIONS if explicit else CONVERGED_BARO_ITERATIONS
    dt = DEFAULT_DT_MIN
    _, stride = check_grid(dt, max(record_every_min, dt))
    p = patient_parameters([scenario]).take(0)
    ctrl = session_controls([scenario], dt, after_min)
    on, qf, na, dif = (c[:, 0] for c in ctrl.block())
    n_steps = ctrl.n_steps
    y = np.array([float(v) for v in initial_state(p)])
    atol = rtol * np.maximum(np.abs(y), 1.0)
    warm = [0.0]

    def fun(_t: float, yv: np.ndarray, u: tuple) -> np.ndarray:
        dy = np.empty(N_STATES)
        warm[0] = rhs(yv.tolist(), u, p, warm[0], baro_iterations, dy)
        return dy

    rows: list[np.ndarray] = []

    rec_warm = [0.0]  # records are computed after each solve, in time order: their own warm-start chain

    def record(yk: np.ndarray, u: tuple) -> None:
        out = np.empty(N_OUTPUTS)
        rec_warm[0] = rhs(yk.tolist(), u, p, rec_warm[0], baro_iterations, np.empty(N_STATES), out)
        rows.append(out)

    change = (np.diff(on) != 0) | (np.diff(qf) != 0) | (np.diff(na) != 0) | (np.diff(dif) != 0)
    starts = [0, *(np.flatnonzero(change) + 1).tolist()]
    for a, b in zip(starts, [*starts[1:], n_steps], strict=True):
        u = (float(on[a]), float(qf[a]), float(na[a]), float(dif[a]))
        rec_steps = [k for k in range(a, b) if k % stride == 0]
        t_eval = [k * dt for k in rec_steps] + [b * dt]
        sol = solve_ivp(
            fun, (a * dt, b * dt), y, method=method, rtol=rtol, atol=atol, t_eval=t_eval, args=(u,)
        )
        if not sol.success:
            raise InputError(OUT_OF_RANGE, "scenario")
        for j in range(len(rec_steps)):
            record(sol.y[:, j], u)
        y = sol.y[:, -1]
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
