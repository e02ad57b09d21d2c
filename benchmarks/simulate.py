"""Benchmark of the session simulator (run: ``python3 benchmarks/simulate.py [n]``).

Prints, in one run: sessions/s of the vectorized batch integrator on n (default 10 000) virtual 4-h
sessions (1 and 2 worker processes), a single ``simulate`` call in ms, and the speed-up over a per-session
scipy ``solve_ivp`` loop (a sample of 20 sessions, extrapolated). Wall-clock and CPU times are both shown:
on a shared machine the CPU time of this process is the fairer measure.
"""

from __future__ import annotations

import os
import sys
import time

from crampwatch.model import parse_scenario
from crampwatch.population import virtual_population
from crampwatch.simulator import simulate, simulate_batch, simulate_reference


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


def main(n: int = 10_000) -> None:
    print(f"cores available: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")
    pop, wall, _ = _timed(lambda: _four_hours(virtual_population(n, seed=0)))
    print(f"virtual population of {n} (4-h sessions) built in {wall:.2f} s (not counted below)")
    simulate_batch(pop[:64])  # warm-up
    res, w1, c1 = _timed(simulate_batch, pop)
    assert len(res) == n
    print(f"batch, 1 worker : {w1:6.2f} s wall ({n / w1:8.0f} sessions/s), {c1:6.2f} s CPU ({n / c1:8.0f}/s)")
    _, w2, c2 = _timed(simulate_batch, pop, workers=2)
    print(f"batch, 2 workers: {w2:6.2f} s wall ({n / w2:8.0f} sessions/s)")
    sc = pop[0]
    simulate(sc)
    reps = 20
    _, ws, cs = _timed(lambda: [simulate(sc) for _ in range(reps)])
    print(f"single simulate(): {1000 * ws / reps:.1f} ms wall, {1000 * cs / reps:.1f} ms CPU")
    sample = pop[:20]
    _, wr, cr = _timed(lambda: [simulate_reference(s, rtol=1e-6) for s in sample])
    per_ref_wall, per_ref_cpu = wr / len(sample), cr / len(sample)
    print(
        f"scipy solve_ivp (LSODA, rtol 1e-6): {per_ref_wall:.3f} s/session wall; "
        f"extrapolated to {n}: {per_ref_wall * n:.0f} s"
    )
    best_wall = min(w1, w2)
    ratio_wall, ratio_cpu = per_ref_wall * n / best_wall, per_ref_cpu * n / c1
    print(f"speed-up vs scipy loop: {ratio_wall:.0f}x wall, {ratio_cpu:.0f}x CPU")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
