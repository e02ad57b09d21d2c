"""Batch and single-session simulation through the fixed-step scheme.

Integrator: explicit Euler (default) or Heun (trapezoidal RK2) with a fixed step (default 1 min); the
baroreflex is solved within each right-hand-side call (one warm-started Newton iteration; it acts in
seconds). The step is subdivided automatically when a patient's fastest exchange (capillary refill with a
high filtration coefficient in a small body) would make it inaccurate.

Two executions of the same right-hand side: the compiled kernel (:mod:`~crampwatch.simulator.kernel`,
default) and the numpy integrator (:mod:`~crampwatch.simulator.numpy_batch`, the reference and the
fallback); they agree to round-off.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace

from crampwatch.errors import InputError
from crampwatch.model import Patient, Prescription, Scenario, as_scenario
from crampwatch.physiology.derive import ParameterArrays, patient_parameters
from crampwatch.physiology.model import N_OUTPUTS, N_STATES
from crampwatch.simulator.controls import DEFAULT_DT_MIN, Controls, check_grid, session_controls
from crampwatch.simulator.numpy_batch import alloc, integrate_numpy
from crampwatch.simulator.output import BatchResult, finish_batch
from crampwatch.trace import Trace

#: Newton iterations of the baroreflex per right-hand-side call (warm-started; see circulation.py).
NEWTON_ITERATIONS = 1
#: Fixed-step schemes: explicit Euler (default; within 0.06 %-points RBV and 0.15 mmHg SBP of solve_ivp on
#: the examples) or Heun/RK2 (about 30x more accurate, half the speed).
METHODS = ("euler", "heun")
DEFAULT_METHOD = "euler"
#: Executions: ``auto`` (compiled kernel, numpy when numba is unavailable or fails), ``compiled``, ``numpy``.
BACKENDS = ("auto", "compiled", "numpy")


def check_method(method: str) -> bool:
    """True for Heun, False for Euler; :class:`InputError` for anything else."""
    if method not in METHODS:
        raise InputError(f"method: {method!r} is not one of {', '.join(METHODS)}", "method")
    return method == "heun"


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InputError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}", "backend")
    return backend


def simulate_parameters(
    p: ParameterArrays,
    ctrl: Controls,
    *,
    record_every_min: float = 1.0,
    keep_states: bool = False,
    workers: int = 1,
    method: str = DEFAULT_METHOD,
    backend: str = "auto",
    dose_summary: bool = True,
) -> BatchResult:
    """Integrate n sessions given parameter arrays and controls.

    ``keep_states`` also returns every model state (incl. cumulative removal counters) per record time;
    ``dose_summary`` the per-session urea dose (``BatchResult.summary``).
    ``workers > 1`` runs that many threads (compiled kernel) or forked processes (numpy integrator).
    """
    heun = check_method(method)
    _check_backend(backend)
    dt, stride = check_grid(ctrl.dt_min, record_every_min)
    if abs(dt - ctrl.dt_min) > 1e-12:
        raise InputError(
            "record_every_min: must not be shorter than the controls' dt_min", "record_every_min"
        )
    workers = max(1, int(workers))
    from crampwatch.simulator import kernel  # imports numba: deferred to the first simulation

    result = None
    if backend == "compiled" or (backend == "auto" and kernel.available()):
        n_planes = N_OUTPUTS + (N_STATES if keep_states else 0)
        try:
            out = alloc((n_planes, p.n, ctrl.n_steps // stride + 1))
            result = kernel.integrate_compiled(
                p, ctrl, stride, keep_states, heun, NEWTON_ITERATIONS, workers, out
            )
        except Exception as exc:  # compilation or run failure: numpy integrator instead
            if backend == "compiled":
                raise
            kernel.disable(f"{type(exc).__name__}: {exc}")
            warnings.warn(
                f"compiled simulation kernel unavailable, using numpy ({exc})", RuntimeWarning, stacklevel=2
            )
    if result is None:
        result = integrate_numpy(p, ctrl, stride, keep_states, heun, NEWTON_ITERATIONS, workers)
    out, kt_l, failed = result
    return finish_batch(p, ctrl, out, kt_l, failed, stride, keep_states, dose_summary)


def simulate_batch(
    scenarios: Sequence[Scenario],
    *,
    record_every_min: float = 1.0,
    dt_min: float = DEFAULT_DT_MIN,
    keep_states: bool = False,
    workers: int = 1,
    method: str = DEFAULT_METHOD,
    after_min: float = 0.0,
    backend: str = "auto",
) -> BatchResult:
    """Simulate many sessions at once; signals have shape [n, steps] (NaN after each session's end).

    ``after_min`` (0–120) continues each session with the machine off (no blood flow, no UF) for that many
    minutes; ``workers`` > 1 splits the batch over that many threads (compiled) or processes (numpy);
    ``keep_states`` adds the model states (``BatchResult.states``); ``method`` is ``"euler"`` or ``"heun"``;
    ``backend`` is ``"auto"``, ``"compiled"`` or ``"numpy"``."""
    sc = list(scenarios)
    if not sc:
        raise InputError("scenarios: at least one scenario is required", "scenarios")
    dt, _ = check_grid(dt_min, record_every_min)
    p = patient_parameters(sc)
    ctrl = session_controls(sc, dt, after_min)
    res = simulate_parameters(
        p,
        ctrl,
        record_every_min=record_every_min,
        keep_states=keep_states,
        workers=workers,
        method=method,
        backend=backend,
    )
    return replace(res, session_ids=[s.patient.id for s in sc])


def simulate(
    scenario: Scenario | Patient,
    prescription: Prescription | None = None,
    *,
    dt_min: float = DEFAULT_DT_MIN,
    record_every_min: float = 1.0,
    method: str = DEFAULT_METHOD,
    after_min: float = 0.0,
    backend: str = "auto",
) -> Trace:
    """Simulate one session (same model and scheme as :func:`simulate_batch`) and return its trace.

    Call it with a :class:`Scenario`, or with a :class:`Patient` and a :class:`Prescription`.
    ``after_min`` (0–120) adds the post-dialysis phase: rows with ``t_min`` past the session's duration,
    machine off (blood flow and UF 0). Raises :class:`InputError` when the session leaves the model's range.
    """
    scenario = as_scenario(scenario, prescription)
    dt, _ = check_grid(dt_min, record_every_min)
    ctrl = session_controls([scenario], dt, after_min)
    res = simulate_parameters(
        patient_parameters([scenario]),
        ctrl,
        record_every_min=record_every_min,
        method=method,
        backend=backend,
        dose_summary=False,  # a trace does not carry it
    )
    return replace(res, session_ids=[scenario.patient.id]).trace(0)
