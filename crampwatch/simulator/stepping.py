"""Advance many patients from their current states through given controls: the step-by-step use of the
session model that sequential filters and short forecasts need (a live session is integrated one update at a
time, not from t = 0 to the end).

Each member carries its model state ``y`` (:data:`crampwatch.physiology.model.STATES`) and the baroreflex
warm start ``s``; :func:`advance` integrates every member through the same step lengths with its own controls
(dialyzer on-fraction, UF rate while running, dialysate Na), with the fixed-step explicit Euler scheme and
sub-steps of :mod:`crampwatch.simulator.batch`, and returns the outputs at each step start and at the end.
The compiled kernel runs it by default; the numpy execution of the same right-hand side is the fallback
(and agrees to round-off). Advancing in pieces gives the same states as advancing at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from crampwatch.physiology.derive import ParameterArrays
from crampwatch.physiology.model import N_OUTPUTS, N_STATES, initial_state, rhs
from crampwatch.simulator import kernel
from crampwatch.simulator.batch import NEWTON_ITERATIONS
from crampwatch.simulator.controls import substeps_each


@dataclass(frozen=True)
class StepControls:
    """Controls of ``n`` members over ``k`` steps: on-fraction (blood pump and UF running), UF rate while
    running (L/min), dialysate Na (mmol/L) and dialysate-contact fraction (0 during isolated UF), each
    [n, k]; ``end`` [4, n] are the controls at the final time (for its outputs)."""

    on: np.ndarray
    qf_l_min: np.ndarray
    na_mmol_l: np.ndarray
    dif: np.ndarray
    end: np.ndarray


def parameter_table(p: ParameterArrays) -> np.ndarray:
    """The members' parameters as one structured array [n] (one record per member, one field per
    parameter), the layout :func:`advance` reads; edit a field (``table["kf"][i] = ...``) to change a
    member's parameter."""
    return kernel.parameter_records(p).copy()


def parameter_view(table: np.ndarray) -> SimpleNamespace:
    """Attribute access to the fields of a parameter table (views: no copy)."""
    return SimpleNamespace(**{name: table[name] for name in table.dtype.names})


def start_states(p: ParameterArrays) -> tuple[np.ndarray, np.ndarray]:
    """Pre-dialysis states [N_STATES, n] and baroreflex warm starts [n] of every member."""
    y = np.empty((N_STATES, p.n))
    for k, v in enumerate(initial_state(p)):
        y[k] = v
    return y, np.zeros(p.n)


def substeps(table: np.ndarray, dt_min: float) -> np.ndarray:
    """Sub-steps per step of each member (:func:`crampwatch.simulator.controls.substeps_each`)."""
    return substeps_each(parameter_view(table), dt_min).astype(np.int64)


def advance(
    table: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    steps_min: np.ndarray,
    controls: StepControls,
    n_sub: np.ndarray,
) -> np.ndarray:
    """Integrate every member through ``steps_min`` (step lengths, min); ``y`` [N_STATES, n] and ``s`` [n]
    are updated in place. Returns the outputs [n, k + 1, N_OUTPUTS] (:data:`~crampwatch.physiology.model.
    OUTPUTS` order) at each step start and at the end."""
    steps = np.ascontiguousarray(steps_min, dtype=float)
    n = table.shape[0]
    out = np.empty((n, steps.shape[0] + 1, N_OUTPUTS))
    args = (
        np.ascontiguousarray(controls.on, dtype=float),
        np.ascontiguousarray(controls.qf_l_min, dtype=float),
        np.ascontiguousarray(controls.na_mmol_l, dtype=float),
        np.ascontiguousarray(controls.dif, dtype=float),
        np.ascontiguousarray(controls.end, dtype=float),
        np.ascontiguousarray(n_sub, dtype=np.int64),
    )
    if kernel.available():
        kernel._advance_members(table, y, s, steps, *args, NEWTON_ITERATIONS, out)
        return out
    _advance_numpy(table, y, s, steps, *args, out)
    return out


def _advance_numpy(
    table: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    steps: np.ndarray,
    on: np.ndarray,
    qf: np.ndarray,
    na: np.ndarray,
    dif: np.ndarray,
    end: np.ndarray,
    n_sub: np.ndarray,
    out: np.ndarray,
) -> None:
    """The numpy execution of :func:`advance` (members grouped by their number of sub-steps)."""
    f1 = np.empty_like(y)
    rec = np.empty((N_OUTPUTS, y.shape[1]))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for g in np.unique(n_sub):
            idx = np.flatnonzero(n_sub == g)
            p = parameter_view(table[idx])
            yy, ss, ff, oo = y[:, idx], s[idx], f1[:, idx], rec[:, idx]
            for k in range(steps.shape[0]):
                u = (on[idx, k], qf[idx, k], na[idx, k], dif[idx, k])
                h = steps[k] / g
                for sub in range(int(g)):
                    ss = rhs(yy, u, p, ss, NEWTON_ITERATIONS, ff, oo if sub == 0 else None)
                    if sub == 0:
                        out[idx, k] = oo.T
                    yy = yy + h * ff
            u_end = (end[0, idx], end[1, idx], end[2, idx], end[3, idx])
            rhs(yy, u_end, p, ss, NEWTON_ITERATIONS, ff, oo)
            out[idx, steps.shape[0]] = oo.T
            y[:, idx] = yy
            s[idx] = ss
