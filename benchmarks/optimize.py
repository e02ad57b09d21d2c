"""Time to a recommendation for one patient (target: worst example <= 0.1 s on 2 cores).

Usage: ``python benchmarks/optimize.py [SCENARIO.yaml ...] [--repeat N] [--workers N]``. Prints, per
scenario, the wall-clock time (and the process CPU time) of ``crampwatch.optimizer.optimize`` with the
default ensemble (8 plausible patients), the number of candidates and simulated sessions, and the best
recommendation; then the worst median and the machine's load average (``os.getloadavg``, as ``uptime``
shows it) before and after, since other load inflates both times. The first call also pays for imports
and is reported separately.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workers", type=int, default=None, help="kernel threads (default: optimize's default)")
    args = ap.parse_args()
    paths = args.scenarios or sorted(EXAMPLES.glob("*.yaml"))

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    from crampwatch.model import load_scenario
    from crampwatch.optimizer import optimize

    kw = {} if args.workers is None else {"workers": args.workers}
    first = optimize(load_scenario(paths[0]), **kw)
    print(
        f"cores: {os.cpu_count()}  first call incl. imports: {time.perf_counter() - t0:.2f} s "
        f"({first.n_simulations} sessions)"
    )
    worst = 0.0
    for path in paths:
        sc = load_scenario(path)
        times, cpu = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            res = optimize(sc, **kw)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        med = statistics.median(times)
        worst = max(worst, med)
        best = res.recommendations[0] if res.recommendations else None
        summary = "; ".join(best.changes) if best else f"infeasible: {res.infeasible}"
        risk = f"risk {res.current.risk:.2f} -> {best.outcome.risk:.2f}" if best else ""
        print(
            f"{path.stem:24s} median {med:6.3f} s  (min {min(times):.3f}, "
            f"CPU {statistics.median(cpu):.3f} s)  candidates {res.n_candidates:4d}  "
            f"sessions {res.n_simulations:4d}  {risk}  [{summary}]"
        )
    print(f"worst median time to a recommendation: {worst:.3f} s (target <= 0.1 s)")
    load = (
        ", ".join(f"{x:.2f}" for x in load_before) + " -> " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"load average (1, 5, 15 min) before -> after: {load}")


if __name__ == "__main__":
    main()
