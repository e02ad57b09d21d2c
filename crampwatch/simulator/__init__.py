"""Simulate hemodialysis sessions with the mechanistic model of :mod:`crampwatch.physiology`.

* :func:`simulate` -- one session -> :class:`~crampwatch.trace.Trace`.
* :func:`simulate_batch` -- many sessions at once -> :class:`BatchResult` (signals [n, steps]).
* :func:`simulate_reference` -- the same right-hand side integrated by scipy ``solve_ivp`` (validation).
* Lower level: :func:`patient_parameters` (scenarios -> :class:`ParameterArrays`), :func:`session_controls`
  (scenarios -> :class:`Controls`) and :func:`simulate_parameters` (arrays in, :class:`BatchResult` out),
  so that callers can perturb parameter arrays directly (ensembles, optimizers).

Modules: :mod:`~.controls` (step controls and grid checks), :mod:`~.batch` (the fixed-step scheme and the
public entry points), :mod:`~.kernel` (the numba-compiled execution, default), :mod:`~.numpy_batch` (the
numpy execution: reference and fallback), :mod:`~.reference` (scipy ``solve_ivp``), :mod:`~.output`
(results and traces).

With ``after_min`` a session continues with the machine off (no blood flow, no UF): urea rebounds from the
cells and brain water, electrolytes and water redistribute, blood pressure recovers. Prescriptions the model
cannot represent raise :class:`~crampwatch.errors.InputError` before integration (UF rate/volume, Na
gradient; see :mod:`crampwatch.physiology.derive`); a session that still leaves the physiological range is
refused by :func:`simulate` and flagged in ``BatchResult.failed`` by the batch functions.
"""

from crampwatch.physiology.derive import ParameterArrays, patient_parameters
from crampwatch.simulator.batch import (
    BACKENDS,
    DEFAULT_METHOD,
    METHODS,
    NEWTON_ITERATIONS,
    simulate,
    simulate_batch,
    simulate_parameters,
)
from crampwatch.simulator.controls import DEFAULT_DT_MIN, MAX_AFTER_MIN, Controls, session_controls
from crampwatch.simulator.output import SIGNAL_NAMES, BatchResult
from crampwatch.simulator.reference import simulate_reference

__all__ = [
    "BACKENDS",
    "DEFAULT_DT_MIN",
    "DEFAULT_METHOD",
    "MAX_AFTER_MIN",
    "METHODS",
    "NEWTON_ITERATIONS",
    "SIGNAL_NAMES",
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
