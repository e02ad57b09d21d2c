"""Benchmark of the session simulator against the strongest scipy baselines (run:
``python3 benchmarks/simulate.py [n] [--sample S] [--stack K]``).

Prints, in one run:

* accuracy against a tight solution (scipy DOP853, rtol 1e-9, baroreflex converged, one session per call)
  on S typical virtual 4-h sessions and on three groups of extreme sessions (UF 33 mL/kg/h for 2 h,
  refill capacity 0.35x, 8-h sessions): max |dRBV| (%-points), max |dSBP| (mmHg) and max |dNa| (mmol/L)
  of the batch integrator and of every baseline at each candidate method/tolerance;
* three scipy baselines, each at matched accuracy (the fastest candidate whose RBV and SBP errors on the
  typical sample do not exceed the batch's), all integrating the model's own right-hand side
  (:mod:`crampwatch.simulator.reference`):
  - the per-session loop: one ``solve_ivp`` per session, right-hand side interpreted by Python;
  - compiled right-hand side: the same loop, the right-hand side compiled by numba;
  - stacked: K sessions in one state vector, one vectorized (numpy) right-hand-side call per solver stage
    (the typical sample is the first S of those K sessions, so its errors are measured as timed);
* compile time of the kernel in a fresh process with an empty cache, and the load time from the cache in a
  second fresh process;
* sessions/s of the batch on n (default 10 000) virtual 4-h sessions with 1 and 2 workers, wall and CPU,
  and where the 1-worker time goes; a single ``simulate()``; memory of the result per 10 000 sessions;
* ``speed-up vs <baseline>: N x``: CPU time per session of the baseline over that of the 1-worker batch.
  The batch and every baseline are timed side by side in each of ``--rounds`` rounds and the medians are
  reported (the speed of a shared machine drifts; the ratio of timings taken together is steadier);
  the last line names the strongest baseline (the smallest speed-up).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from crampwatch.errors import InputError
from crampwatch.model import parse_scenario
from crampwatch.physiology.derive import patient_parameters
from crampwatch.population import virtual_population
from crampwatch.signals import PLASMA_NA_MMOL_L, RBV_PCT, SBP_MMHG
from crampwatch.simulator import simulate, simulate_batch
from crampwatch.simulator.reference import simulate_reference, simulate_reference_stacked

ROOT = Path(__file__).resolve().parents[1]
LOOP_CANDIDATES = [(m, r) for m in ("RK23", "RK45") for r in (1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5)]
STACK_METHODS = [(m, r) for m in ("RK23", "RK45", "DOP853") for r in (1e-3, 3e-4, 1e-4, 3e-5, 1e-5)]
ERROR_SIGNALS = (
    (RBV_PCT, "dRBV", "%-points"),
    (SBP_MMHG, "dSBP", "mmHg"),
    (PLASMA_NA_MMOL_L, "dNa", "mmol/L"),
)
BASELINES = (
    "per-session loop (Python RHS)",
    "compiled-RHS solve_ivp per session",
    "stacked vectorized solve_ivp",
)


def _edited(s, **prescription):  # noqa: ANN001, ANN003, ANN202
    d = s.model_dump(mode="json", exclude_none=True)
    patient = d["patient"]
    refill = prescription.pop("refill_capacity", None)
    if refill is not None:
        patient["refill_capacity"] = refill
    d["prescription"].update(prescription)
    return parse_scenario(d)


def _four_hours(scenarios: list) -> list:
    return [_edited(s, duration_min=240.0) for s in scenarios]


def extreme_groups(base: list, per_group: int = 5) -> dict[str, list]:
    """Sessions far from the typical: UF 33 mL/kg/h of post-weight for 2 h, refill capacity 0.35x in 4-h
    sessions, 8-h sessions; sessions the model refuses (UF beyond its limits) are left out."""
    rate, hours = 33.0, 2.0
    groups = {
        "UF 33 mL/kg/h, 2 h": [
            _edited(
                s,
                duration_min=60 * hours,
                uf_volume_l=round(rate * hours * s.patient.pre_weight_kg / (1000 + rate * hours), 3),
            )
            for s in base
        ],
        "refill 0.35x, 4 h": [_edited(s, duration_min=240.0, refill_capacity=0.35) for s in base],
        "8-h sessions": [_edited(s, duration_min=480.0) for s in base],
    }
    out = {}
    for name, scs in groups.items():
        ok = []
        for s in scs:
            try:
                patient_parameters([s])
            except InputError:
                continue
            ok.append(s)
        out[name] = ok[:per_group]
    return out


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - w0, time.process_time() - c0


def _errors(traces: list, tight: list) -> tuple[float, ...]:
    """Max |difference| per signal of :data:`ERROR_SIGNALS` over the sessions and their records."""
    return tuple(
        max(
            float(np.max(np.abs(a.data[name].to_numpy() - b.data[name].to_numpy())))
            for a, b in zip(traces, tight, strict=True)
        )
        for name, _, _ in ERROR_SIGNALS
    )


def _fmt(err: tuple[float, ...]) -> str:
    return ", ".join(
        f"max |{label}| {e:.4f} {unit}" for e, (_, label, unit) in zip(err, ERROR_SIGNALS, strict=True)
    )


def _tight(scenarios: list) -> list:
    return [simulate_reference(s, method="DOP853", rtol=1e-9, baro_iterations=12) for s in scenarios]


def _batch_traces(scenarios: list, run: Callable = simulate_batch) -> list:
    res = run(scenarios)
    return [res.trace(i) for i in range(len(scenarios))]


def _loop(scenarios: list, method: str, rtol: float, compiled: bool) -> list:
    return [simulate_reference(s, method=method, rtol=rtol, compiled_rhs=compiled) for s in scenarios]


def _stacked_runs(scenarios: list, method: str, rtol: float, chunk: int) -> list:
    """The stacked baseline over ``scenarios`` in stacks of ``chunk`` sessions."""
    return [
        simulate_reference_stacked(scenarios[i : i + chunk], method=method, rtol=rtol)
        for i in range(0, len(scenarios), chunk)
    ]


def _stacked(scenarios: list, method: str, rtol: float, chunk: int, keep: int | None = None) -> list:
    """Traces of the first ``keep`` sessions (default all) of the stacked baseline's solution."""
    runs = _stacked_runs(scenarios, method, rtol, chunk)
    traces = [r.trace(i) for r in runs for i in range(len(r))] if keep is None else []
    return traces or [runs[0].trace(i) for i in range(keep or 0)]


def _scan(name: str, candidates: list, run: Callable, tight: list, limit: tuple, n_timed: int) -> tuple:
    """Errors and CPU time per session of every candidate setting (method, rtol[, stack size]); the fastest
    whose RBV and SBP errors stay within ``limit`` is returned as (*setting, errors)."""
    best = None
    for setting in candidates:
        method, rtol = setting[:2]
        stack = f", stacks of {setting[2]}" if len(setting) > 2 else ""
        try:
            traces, _, cpu = _timed(run, *setting)
            err = _errors(traces[: len(tight)], tight)
        except InputError:  # too loose: the solution leaves the physiological range
            print(f"  {name} {method} rtol {rtol:g}{stack}: fails (solution leaves the model's range)")
            continue
        matched = err[0] <= limit[0] and err[1] <= limit[1]
        per = cpu / n_timed
        print(
            f"  {name} {method} rtol {rtol:g}{stack}: {_fmt(err)}; {1000 * per:.2f} ms/session CPU"
            f"{'  (matched)' if matched else ''}"
        )
        if matched and (best is None or per < best[1]):
            best = ((*setting, err), per)
    if best is None:
        raise SystemExit(f"{name}: no candidate reached the batch's accuracy")
    return best[0]


def accuracy(sample: list, stack: list, chunks: list[int]) -> dict[str, tuple]:
    """The batch's errors and each baseline's matched (method, rtol, errors) on the typical sample."""
    tight = _tight(sample)
    batch_err = _errors(_batch_traces(sample), tight)
    print(f"accuracy vs tight solve_ivp (DOP853, rtol 1e-9) on {len(sample)} typical virtual 4-h sessions:")
    print(f"  batch (Euler, 1 min, compiled): {_fmt(batch_err)}")
    simulate_reference(sample[0], compiled_rhs=True)  # compile once, outside the scan's timing
    matched = {
        BASELINES[0]: _scan(
            "loop", LOOP_CANDIDATES, lambda m, r: _loop(sample, m, r, False), tight, batch_err, len(sample)
        ),
        BASELINES[1]: _scan(
            "compiled RHS", LOOP_CANDIDATES, lambda m, r: _loop(sample, m, r, True), tight, batch_err,
            len(sample),
        ),
        BASELINES[2]: _scan(
            f"stacked ({len(stack)} sessions)", [(*mr, c) for c in chunks for mr in STACK_METHODS],
            lambda m, r, c: _stacked(stack, m, r, c, len(sample)), tight, batch_err, len(stack),
        ),
    }  # fmt: skip
    return {"batch": batch_err, **matched}


def extreme_accuracy(groups: dict[str, list], matched: dict[str, tuple]) -> None:
    """Errors of the batch and of each matched baseline on each group of extreme sessions (the stacked
    baseline stacks each group's sessions together)."""
    print("accuracy on extreme sessions (vs tight solve_ivp; baselines at their matched settings):")
    for name, scs in groups.items():
        tight = _tight(scs)
        print(f"  {name} ({len(scs)} sessions): batch {_fmt(_errors(_batch_traces(scs), tight))}")
        for base in BASELINES:
            method, rtol = matched[base][:2]
            try:
                if base == BASELINES[2]:
                    traces = _stacked(scs, method, rtol, len(scs))
                else:
                    traces = _loop(scs, method, rtol, base == BASELINES[1])
                text = _fmt(_errors(traces, tight))
            except InputError:
                text = "fails (solution leaves the model's range)"
            print(f"    {base} ({method}, rtol {rtol:g}): {text}")


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


def _breakdown(pop: list) -> str:
    """Where the 1-worker batch time goes: parameter derivation and controls (Python, serial), integration,
    result assembly."""
    from crampwatch.simulator import session_controls, simulate_parameters

    (p, ctrl), _, c_in = _timed(lambda: (patient_parameters(pop), session_controls(pop)))
    _, _, c_run = _timed(simulate_parameters, p, ctrl)
    n = len(pop)
    return (
        f"per session (CPU): parameters and controls {1e6 * c_in / n:.1f} us, "
        f"integration and result {1e6 * c_run / n:.1f} us"
    )


def timing_rounds(pop: list, matched: dict[str, tuple], args: argparse.Namespace) -> list[tuple]:
    """Per round: batch 1 worker (wall, CPU), 2 workers (wall, CPU), then CPU s per session of each
    baseline, timed side by side."""
    loop_pop, compiled_pop, stack_pop = (
        pop[: args.loop_sessions],
        pop[: args.compiled_sessions],
        pop[: args.stack],
    )
    runs = {
        BASELINES[0]: (lambda m, r: _loop(loop_pop, m, r, False), len(loop_pop)),
        BASELINES[1]: (lambda m, r: _loop(compiled_pop, m, r, True), len(compiled_pop)),
        BASELINES[2]: (lambda m, r, c: _stacked_runs(stack_pop, m, r, c), len(stack_pop)),
    }
    rows = []
    for _ in range(args.rounds):
        res, w1, c1 = _timed(simulate_batch, pop)
        assert len(res) == len(pop) and not res.failed.any()
        del res
        _, w2, c2 = _timed(simulate_batch, pop, workers=2)
        per = []
        for base in BASELINES:
            fn, count = runs[base]
            _, _, cpu = _timed(fn, *matched[base][:-1])
            per.append(cpu / count)
        rows.append((w1, c1, w2, c2, *per))
    return rows


def _report_batch(pop: list, rows: list[tuple], rounds: int) -> float:
    """Print the batch's speed, time breakdown, memory and single-session time; returns its median CPU s."""
    n = len(pop)
    w1, c1, w2, c2 = (float(np.median([r[j] for r in rows])) for j in range(4))
    print(f"timing: median of {rounds} rounds (each round: batch 1 worker, 2 workers, then each baseline)")
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
    return c1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=10_000)
    ap.add_argument("--sample", type=int, default=20, help="typical sessions for the accuracy comparison")
    ap.add_argument("--extreme", type=int, default=5, help="sessions per group of extreme sessions")
    ap.add_argument("--stack", type=int, default=1000, help="sessions of the stacked baseline per round")
    ap.add_argument(
        "--stack-sizes",
        default="100,300,1000",
        help="sessions per stack tried (comma-separated; each at least --sample)",
    )
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds (medians are reported)")
    ap.add_argument("--loop-sessions", type=int, default=40, help="sessions of the Python loop per round")
    ap.add_argument(
        "--compiled-sessions", type=int, default=200, help="sessions of the compiled loop per round"
    )
    args = ap.parse_args()
    n = args.n
    print(f"cores available: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")
    pop, wall, _ = _timed(lambda: _four_hours(virtual_population(max(n, args.stack), seed=0)))
    print(f"virtual population of {len(pop)} (4-h sessions) built in {wall:.2f} s (not counted below)")
    cold, warm = _compile_times()
    print(f"compile time: {cold:.1f} s with an empty cache; {warm:.2f} s loading the cache in a new process")
    sample = pop[: min(args.sample, args.stack)]
    chunks = sorted({max(int(c), len(sample)) for c in args.stack_sizes.split(",")})
    matched = accuracy(sample, pop[: args.stack], chunks)
    extreme_accuracy(extreme_groups(virtual_population(4 * args.extreme, seed=1), args.extreme), matched)
    simulate_batch(pop[:64])
    simulate_batch(pop[:64], workers=2)
    rows = timing_rounds(pop[:n], matched, args)
    c1 = _report_batch(pop[:n], rows, args.rounds)
    ratios = {}
    for j, base in enumerate(BASELINES):
        method, rtol, *rest, err = matched[base]
        stacks = f", stacks of {rest[0]}" if rest else ""
        per = float(np.median([r[4 + j] for r in rows]))
        per_round = [r[4 + j] * n / r[1] for r in rows]
        ratios[base] = float(np.median(per_round))
        print(
            f"{base}: {method} rtol {rtol:g}{stacks} ({_fmt(err)}), {1000 * per:.2f} ms/session CPU; "
            f"speed-up vs it: {ratios[base]:.1f} x (rounds: {', '.join(f'{x:.1f}' for x in per_round)})"
        )
    strongest = min(ratios, key=ratios.get)
    print(
        f"speed-up vs the strongest baseline ({strongest}): {ratios[strongest]:.1f} x "
        f"(CPU time per session of the baseline over that of the 1-worker batch, {1e6 * c1 / n:.0f} us; "
        f"load average now {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
