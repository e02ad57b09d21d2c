"""Scenarios and seeded simulations shared by the checks (computed once per process)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import numpy as np

from crampwatch.model import Scenario, dump_scenario, load_scenario, parse_scenario
from crampwatch.population import virtual_population
from crampwatch.signals import T_MIN
from crampwatch.simulator import BatchResult, simulate, simulate_batch
from crampwatch.trace import Trace

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
#: Size and seed of the virtual population used by the population checks (small enough to run in seconds;
#: the population statistics of docs/calibration.md use 2000).
POPULATION_N = 400
POPULATION_SEED = 1


@cache
def example_data(name: str) -> dict:
    """An example scenario (``examples/<name>.yaml``) as plain data."""
    return dump_scenario(load_scenario(EXAMPLES_DIR / f"{name}.yaml"))


def variant(name: str, **changes: object) -> Scenario:
    """Example ``name`` with ``section__field=value`` changes."""
    d = copy.deepcopy(example_data(name))
    for key, value in changes.items():
        *path, last = key.split("__")
        node = d
        for part in path:
            node = node[part]
        node[last] = value
    return parse_scenario(d)


def run(name: str, after_min: float = 0.0, **changes: object) -> Trace:
    """Simulated trace of a variant of an example (``after_min`` minutes after the session included)."""
    return simulate(variant(name, **changes), after_min=after_min)


@cache
def examples() -> tuple[list[Scenario], BatchResult]:
    """All example scenarios and their batch simulation (with model states)."""
    scs = [load_scenario(f) for f in sorted(EXAMPLES_DIR.glob("*.yaml"))]
    return scs, simulate_batch(scs, keep_states=True)


@cache
def population() -> tuple[list[Scenario], BatchResult]:
    """The seeded virtual population and its simulation."""
    pop = virtual_population(POPULATION_N, POPULATION_SEED)
    return pop, simulate_batch(pop)


def last_values(signal: np.ndarray) -> np.ndarray:
    """The last finite value of each row of ``signal`` [n, steps] (signals are NaN after a session ends)."""
    finite = np.isfinite(signal)
    last = signal.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1)
    return signal[np.arange(signal.shape[0]), last]


def end(trace: Trace, name: str) -> float:
    return float(trace.data[name].iloc[-1])


def start(trace: Trace, name: str) -> float:
    return float(trace.data[name].iloc[0])


def at(trace: Trace, name: str, t_min: float) -> float:
    """The value of signal ``name`` at ``t_min`` (the first row at or after it)."""
    d = trace.data
    return float(d.loc[d[T_MIN] >= t_min - 1e-9, name].iloc[0])
