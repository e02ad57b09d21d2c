"""Simulate a scenario table (:mod:`crampwatch.scenario_table`): many sessions from columns, without a
:class:`~crampwatch.model.Scenario` object per session.

The same model, parameters and scheme as :func:`crampwatch.simulator.simulate_batch` (equal to round-off
on the same sessions); UF is removed at a constant rate and dialysate Na is constant within each session.
Rows the model does not simulate (outside the scenario model's ranges, or beyond its UF and Na limits) are
found with :func:`crampwatch.physiology.feasibility.infeasible_rows` and must be left out by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from crampwatch.physiology.derive import parameters_from_columns
from crampwatch.scenario_table import complete_columns, uf_volume_l
from crampwatch.simulator.batch import DEFAULT_METHOD, simulate_parameters
from crampwatch.simulator.controls import DEFAULT_DT_MIN, Controls, check_after_min, check_grid
from crampwatch.simulator.output import BatchResult


def constant_controls(
    duration_min: np.ndarray,
    uf_volume_l: np.ndarray,
    dialysate_na_mmol_l: np.ndarray,
    dt_min: float = DEFAULT_DT_MIN,
    after_min: float = 0.0,
    isolated_uf_min: np.ndarray | None = None,
) -> Controls:
    """Controls of sessions with a constant UF rate and a constant dialysate Na (as
    :func:`crampwatch.simulator.controls.session_controls` builds them for such prescriptions), each
    starting with ``isolated_uf_min`` minutes of isolated UF (default 0)."""
    after = check_after_min(after_min)
    dur = np.asarray(duration_min, dtype=float)
    iso = np.zeros_like(dur) if isolated_uf_min is None else np.asarray(isolated_uf_min, dtype=float)
    n_steps = int(math.ceil((float(dur.max()) + after) / dt_min - 1e-9))
    t0 = np.arange(n_steps) * dt_min
    keys, uf_idx = np.unique(np.column_stack([dur, iso]), axis=0, return_inverse=True)
    on = np.clip((keys[:, :1] - t0[None, :]) / dt_min, 0.0, 1.0)
    dif = np.maximum(on - np.clip((keys[:, 1:] - t0[None, :]) / dt_min, 0.0, 1.0), 0.0)
    weights = np.empty_like(on)
    for k in range(len(keys)):  # one template per duration: the UF weight is the on-fraction, normalised
        total = float(np.sum(on[k]) * dt_min)
        weights[k] = on[k] / total if total > 0 else on[k]
    na_keys, na_idx = np.unique(
        np.column_stack([np.asarray(dialysate_na_mmol_l, dtype=float), dur]), axis=0, return_inverse=True
    )
    na_t = np.repeat(na_keys[:, :1], n_steps, axis=1)
    return Controls(
        dt_min,
        on,
        weights,
        uf_idx.ravel(),
        na_t,
        na_idx.ravel(),
        np.asarray(uf_volume_l, dtype=float),
        dur,
        dif,
        after,
    )


def simulate_columns(
    cols: Mapping[str, np.ndarray],
    *,
    record_every_min: float = 1.0,
    dt_min: float = DEFAULT_DT_MIN,
    workers: int = 1,
    method: str = DEFAULT_METHOD,
    after_min: float = 0.0,
    backend: str = "auto",
) -> BatchResult:
    """Simulate every row of a scenario table (signals ``[n, steps]``, NaN after each session's end); the
    options are those of :func:`crampwatch.simulator.simulate_batch`."""
    n = len(cols["patient.pre_weight_kg"])
    c = complete_columns(cols, n)
    dt, _ = check_grid(dt_min, record_every_min)
    ctrl = constant_controls(
        np.asarray(c["prescription.duration_min"], dtype=float),
        uf_volume_l(c),
        np.asarray(c["prescription.dialysate.na_mmol_l"], dtype=float),
        dt,
        after_min,
        np.asarray(c["prescription.isolated_uf_min"], dtype=float),
    )
    res = simulate_parameters(
        parameters_from_columns(c),
        ctrl,
        record_every_min=record_every_min,
        workers=workers,
        method=method,
        backend=backend,
    )
    return replace(res, session_ids=[str(x) for x in c["patient.id"]])
