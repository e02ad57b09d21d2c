"""The compiled kernel and the numpy integrator run the same right-hand side: equal traces to round-off."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from crampwatch.model import load_scenario
from crampwatch.physiology.model import KERNEL_FUNCTIONS, KERNEL_INLINED, rhs
from crampwatch.population import virtual_population
from crampwatch.simulator import kernel, simulate, simulate_batch

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def _assert_same(a: object, b: object) -> None:
    assert a.signals.keys() == b.signals.keys()
    np.testing.assert_array_equal(a.failed, b.failed)
    for name in a.signals:
        np.testing.assert_allclose(a.signals[name], b.signals[name], rtol=1e-9, atol=1e-9, err_msg=name)
    for name in a.states:
        np.testing.assert_allclose(a.states[name], b.states[name], rtol=1e-9, atol=1e-9, err_msg=name)
    for name in a.summary:
        np.testing.assert_allclose(a.summary[name], b.summary[name], rtol=1e-9, err_msg=name)


def test_the_kernel_compiles_exactly_the_listed_functions() -> None:
    """KERNEL_FUNCTIONS names every crampwatch function the right-hand side calls (directly or through another
    listed one), and nothing it does not call: a new call fails here, not inside numba."""
    listed = set(KERNEL_FUNCTIONS)
    called: set[object] = set()
    todo = [rhs]
    while todo:
        fn = todo.pop()
        for name in fn.__code__.co_names:
            obj = fn.__globals__.get(name)
            if inspect.isfunction(obj) and obj.__module__.startswith("crampwatch.") and obj not in called:
                called.add(obj)
                todo.append(obj)
    assert {f.__qualname__ for f in called - listed} == set()
    assert {f.__qualname__ for f in listed - called - {rhs}} == set()
    assert len(KERNEL_FUNCTIONS) == len(listed)
    assert set(KERNEL_INLINED) <= listed


def test_kernel_is_used_by_default() -> None:
    assert kernel.available(), kernel.status()


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_compiled_equals_numpy_on_examples(method: str) -> None:
    scs = [load_scenario(f) for f in EXAMPLES]
    kw = {"keep_states": True, "method": method, "after_min": 30.0}
    _assert_same(simulate_batch(scs, backend="compiled", **kw), simulate_batch(scs, backend="numpy", **kw))


def test_compiled_equals_numpy_on_1000_virtual_sessions() -> None:
    pop = virtual_population(1000, seed=3)
    compiled = simulate_batch(pop, backend="compiled", record_every_min=5.0)
    _assert_same(compiled, simulate_batch(pop, backend="numpy", record_every_min=5.0))
    assert np.isfinite(compiled.signals["sbp_mmhg"][~compiled.failed, 0]).all()


def test_two_threads_equal_one() -> None:
    pop = virtual_population(64, seed=4)
    _assert_same(simulate_batch(pop, workers=2), simulate_batch(pop, workers=1))


def test_single_simulate_equals_batch_row() -> None:
    scs = [load_scenario(f) for f in EXAMPLES]
    res = simulate_batch(scs, backend="numpy")
    for i, sc in enumerate(scs):
        one = simulate(sc).data
        np.testing.assert_allclose(one.to_numpy(), res.trace(i).data.to_numpy(), rtol=1e-9, atol=1e-9)


def test_numpy_fallback_when_the_kernel_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing compiled kernel warns once and the numpy integrator answers."""

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("no compiler")

    monkeypatch.setattr(kernel, "integrate_compiled", broken)
    monkeypatch.setitem(kernel._STATUS, "ok", True)
    monkeypatch.setitem(kernel._STATUS, "error", None)
    sc = load_scenario(EXAMPLES[0])
    with pytest.warns(RuntimeWarning, match="numpy"):
        trace = simulate(sc)
    assert not kernel.available()
    reference = simulate_batch([sc], backend="numpy").trace(0).data
    np.testing.assert_allclose(trace.data.to_numpy(), reference.to_numpy(), rtol=0, atol=0)
