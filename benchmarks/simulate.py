"""Benchmark of the session simulator (run: ``python3 benchmarks/simulate.py [n] [--sample S]``).

Prints, in one run:

* accuracy against a tight solution (scipy DOP853, rtol 1e-9, baroreflex converged) on a sample of S
  virtual 4-h sessions: max |ΔRBV| (%-points) and max |ΔSBP| (mmHg) of the batch integrator and of the
  scipy reference at each candidate method/tolerance; the matched-accuracy reference is the fastest one
  whose errors do not exceed the batch's;
* compile time of the kernel in a fresh process with an empty cache, and the load time from the cache in a
  second fresh process;
* sessions/s of the batch on n (default 10 000) virtual 4-h sessions with 1 and 2 workers, wall and CPU,
  and where the 1-worker time goes (parameter derivation, integration);
* a single ``simulate()`` after warm-up; memory of the result per 10 000 sessions;
* ``speed-up vs matched-accuracy scipy loop: N x``: CPU time of the matched scipy loop (per session x n)
  over the CPU time of the 1-worker batch. The batch and the scipy loop are timed side by side in each of
  ``--rounds`` rounds and the medians are reported: the speed of a shared machine drifts, and the ratio of
  two timings taken together is steadier than either.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from crampwatch.errors import InputError
from crampwatch.model import parse_scenario
from crampwatch.population import virtual_population
from crampwatch.simulator import simulate, simulate_batch, simulate_reference

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [(m, r) for m in ("RK23", "RK45") for r in (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4)]


def _four_hours(scenarios: list) -> list:
    out = []
    for s in scenarios:
        d = s.model_dump(mode="json", exclude_none=True)
        d["prescription"]["duration_min"] = 240.0
        out.append(parse_scenario(d))
    return out


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - w0, time.process_time() - c0


def _errors(traces: list, tight: list) -> tuple[float, float]:
    rbv = max(
        float(np.max(np.abs(a.data["rbv_pct"] - b.data["rbv_pct"])))
        for a, b in zip(traces, tight, strict=True)
    )
    sbp = max(
        float(np.max(np.abs(a.data["sbp_mmhg"] - b.data["sbp_mmhg"])))
        for a, b in zip(traces, tight, strict=True)
    )
    return rbv, sbp


def _compile_times() -> tuple[float, float]:
    """(first call with an empty cache, first call loading the cache), each in a fresh process."""
    code = (
        "import time; from crampwatch.population import virtual_population as v; "
        "from crampwatch.simulator import simulate_batch as s; p = v(4); t = time.perf_counter(); "
        "s(p); s(p, workers=2); print(time.perf_counter() - t)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache
        times = [float(subprocess.check_output([sys.executable, "-c", code], env=env)) for _ in range(2)]
    return times[0], times[1]


def accuracy(sample: list) -> tuple[tuple[float, float], tuple[str, float], tuple[float, float]]:
    """Batch errors, the matched reference (method, rtol) and its errors; the scipy loop's speed is timed
    later, beside the batch, in :func:`main`."""
    tight = [simulate_reference(s, method="DOP853", rtol=1e-9, baro_iterations=12) for s in sample]
    batch = simulate_batch(sample)
    batch_err = _errors([batch.trace(i) for i in range(len(sample))], tight)
    print(f"accuracy vs tight solve_ivp (DOP853, rtol 1e-9) on {len(sample)} virtual 4-h sessions:")
    print(
        f"  batch (Euler, 1 min, compiled): max |dRBV| {batch_err[0]:.4f} %-points, "
        f"max |dSBP| {batch_err[1]:.3f} mmHg"
    )
    best = None
    for method, rtol in CANDIDATES:
        try:
            traces, wall, cpu = _timed(
                lambda m=method, r=rtol: [simulate_reference(s, method=m, rtol=r) for s in sample]
            )
        except InputError:  # too loose: the solution leaves the physiological range
            print(f"  scipy {method} rtol {rtol:g}: fails (solution leaves the model's range)")
            continue
        err = _errors(traces, tight)
        matched = err[0] <= batch_err[0] and err[1] <= batch_err[1]
        print(
            f"  scipy {method} rtol {rtol:g}: max |dRBV| {err[0]:.4f}, max |dSBP| {err[1]:.3f}; "
            f"{1000 * cpu / len(sample):.1f} ms/session CPU{'  (matched)' if matched else ''}"
        )
        if matched and (best is None or cpu < best[1]):
            best = ((method, rtol), cpu, err)
    if best is None:
        raise SystemExit("no candidate reached the batch's accuracy")
    (method, rtol), _, err = best
    return batch_err, (method, rtol), err


def _breakdown(pop: list) -> str:
    """Where the 1-worker batch time goes: parameter derivation and controls (Python, serial), integration,
    result assembly."""
    from crampwatch.physiology.derive import patient_parameters
    from crampwatch.simulator import session_controls, simulate_parameters

    (p, ctrl), _, c_in = _timed(lambda: (patient_parameters(pop), session_controls(pop)))
    _, _, c_run = _timed(simulate_parameters, p, ctrl)
    n = len(pop)
    return (
        f"per session (CPU): parameters and controls {1e6 * c_in / n:.1f} us, "
        f"integration and result {1e6 * c_run / n:.1f} us"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=10_000)
    ap.add_argument("--sample", type=int, default=20, help="sessions for the accuracy comparison")
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds (medians are reported)")
    ap.add_argument("--scipy-sessions", type=int, default=40, help="sessions of the scipy loop per round")
    args = ap.parse_args()
    n = args.n
    print(f"cores available: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")
    pop, wall, _ = _timed(lambda: _four_hours(virtual_population(n, seed=0)))
    print(f"virtual population of {n} (4-h sessions) built in {wall:.2f} s (not counted below)")
    cold, warm = _compile_times()
    print(f"compile time: {cold:.1f} s with an empty cache; {warm:.2f} s loading the cache in a new process")
    batch_err, (method, rtol), ref_err = accuracy(pop[: args.sample])
    simulate_batch(pop[:64])
    simulate_batch(pop[:64], workers=2)
    # timing rounds: the batch (1 and 2 workers) and the matched scipy loop measured side by side in each
    # round, so that a change in the machine's speed affects both sides of the ratio alike
    scipy_pop = pop[: args.scipy_sessions]
    rows = []
    for _ in range(args.rounds):
        res, w1, c1 = _timed(simulate_batch, pop)
        assert len(res) == n and not res.failed.any()
        del res
        _, w2, c2 = _timed(simulate_batch, pop, workers=2)
        _, _, c_ref = _timed(lambda: [simulate_reference(s, method=method, rtol=rtol) for s in scipy_pop])
        per_ref = c_ref / len(scipy_pop)
        rows.append((w1, c1, w2, c2, per_ref, per_ref * n / c1))
    w1, c1, w2, c2, per_ref, ratio = (float(np.median(col)) for col in zip(*rows, strict=True))
    print(f"timing: median of {args.rounds} rounds (each round: batch 1 worker, 2 workers, scipy loop)")
    print(f"batch, 1 worker : {w1:6.2f} s wall ({n / w1:8.0f} sessions/s), {c1:6.2f} s CPU ({n / c1:8.0f}/s)")
    print(f"batch, 2 workers: {w2:6.2f} s wall ({n / w2:8.0f} sessions/s), {c2:6.2f} s CPU")
    print(_breakdown(pop))
    res = simulate_batch(pop[:1000])
    mb = sum(v.nbytes for v in res.signals.values()) / 1e6 * 10_000 / len(res)
    print(
        f"memory of the result: {mb:.0f} MB per 10 000 sessions "
        f"({len(res.signals)} signals x {res.t_min.size} rows, float64)"
    )
    sc = pop[0]
    simulate(sc)
    reps = 50
    _, ws, cs = _timed(lambda: [simulate(sc) for _ in range(reps)])
    print(f"single simulate(): {1000 * ws / reps:.2f} ms wall, {1000 * cs / reps:.2f} ms CPU")
    print(
        f"matched-accuracy scipy loop: {method} rtol {rtol:g} (max |dRBV| {ref_err[0]:.4f}, max |dSBP| "
        f"{ref_err[1]:.3f}), {1000 * per_ref:.1f} ms/session CPU; extrapolated to {n}: {per_ref * n:.0f} s"
    )
    print(
        f"speed-up vs matched-accuracy scipy loop: {ratio:.0f} x (CPU time of the scipy loop over CPU time "
        f"of the 1-worker batch, per round; rounds: {', '.join(f'{r[5]:.0f}' for r in rows)})"
    )


if __name__ == "__main__":
    main()
