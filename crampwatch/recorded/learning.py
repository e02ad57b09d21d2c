"""The unit cramp model's input table (:mod:`crampwatch.learn.inputs`) built on Dask, for units of 10^5
sessions and more.

:func:`virtual_unit_inputs` computes, partition by partition on a cluster, the same table and rule drivers
as :func:`crampwatch.learn.virtual.simulate_unit` does in one process (equal element by element): the
scenarios travel as scenario-table columns (:mod:`crampwatch.scenario_table`), and each task simulates and
scores its sessions with the columnar kernel path. A recorded history's table comes with
``crampwatch cohort --recorded ... --learning-table`` (:func:`crampwatch.recorded.run.run_recorded`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from crampwatch import optional
from crampwatch.causes.context import context_from_columns
from crampwatch.cohort import dask_scheduler, split_sizes
from crampwatch.learn.virtual import SIM_CHUNK, batch_inputs
from crampwatch.model import Scenario
from crampwatch.scenario_table import Columns, complete_columns, scenario_columns, take
from crampwatch.simulator.columns import simulate_columns


def inputs_of_columns(cols: Columns, first: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Input table and rule drivers of the sessions of a scenario table, indexed from ``first`` (sessions
    the model leaves out are dropped, their index kept), :data:`SIM_CHUNK` sessions at a time."""
    n = len(cols["patient.pre_weight_kg"])
    tables, found = [], []
    for start in range(0, n, SIM_CHUNK):
        part = take(cols, slice(start, start + SIM_CHUNK))
        index = np.arange(first + start, first + start + len(part["patient.pre_weight_kg"]))
        table, drv = batch_inputs(simulate_columns(part), context_from_columns(part), index)
        tables.append(table)
        found.append(drv)
    return pd.concat(tables), pd.concat(found)


def virtual_unit_inputs(
    scenarios: Sequence[Scenario], *, partitions: int = 16, scheduler: str | None = None, workers: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`crampwatch.learn.virtual.simulate_unit` of ``scenarios`` computed on Dask (``scheduler`` as
    for :func:`crampwatch.cohort.run_cohort`); the same table and drivers."""
    with optional.extra_imports():
        import dask

    n = len(scenarios)
    cols = complete_columns(scenario_columns(scenarios), n)
    bounds = np.cumsum([0, *split_sizes(n, partitions)])
    tasks = [
        dask.delayed(inputs_of_columns, pure=False)(take(cols, slice(lo, hi)), int(lo))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    with dask_scheduler(scheduler, workers=workers) as (sched, _):
        parts = dask.compute(*tasks, scheduler=sched)
    return pd.concat([p[0] for p in parts]), pd.concat([p[1] for p in parts])
