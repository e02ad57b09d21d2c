"""Benchmark: recorded sessions analyzed per second with the vectorized scoring core (no simulator fill-in).

Sessions are 4-h traces at 1-min resolution (241 points) with 13 recorded signals and per-session
scenarios that vary in weight, UF volume, dialysate Na/Ca/Mg and labs. Timed parts:
  1. ``score_batch`` on ready arrays with prebuilt context (what the optimizer does),
  2. ``score_batch`` including building the context from Scenario objects,
  3. end to end from ``Trace`` objects (stacking their columns into arrays + 2).

Run: ``python3 benchmarks/analyze.py [--sessions 20000] [--chunk 4000]``; pinned to 2 CPU cores when the OS
allows it.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from crampwatch.causes import score_batch
from crampwatch.causes.context import build_context
from crampwatch.causes.scoring import stack_traces
from crampwatch.model import Scenario, parse_scenario
from crampwatch.trace import Trace


def make_scenarios(n: int, rng: np.random.Generator) -> list[Scenario]:
    out = []
    for i in range(n):
        dry = float(rng.uniform(50, 95))
        uf = float(rng.uniform(0.5, 4.5))
        out.append(
            parse_scenario(
                {
                    "patient": {
                        "id": f"B{i}",
                        "sex": "male" if i % 2 else "female",
                        "age_years": 60,
                        "height_cm": 170,
                        "pre_weight_kg": dry + uf,
                        "dry_weight_kg": dry,
                        "vintage_months": float(rng.integers(0, 120)),
                        "labs": {
                            "na_mmol_l": float(rng.uniform(132, 144)),
                            "bun_mg_dl": float(rng.uniform(30, 160)),
                        },
                    },
                    "prescription": {
                        "duration_min": 240,
                        "uf_volume_l": uf,
                        "dialysate": {
                            "na_mmol_l": float(rng.choice([132, 135, 138, 140])),
                            "ca_mmol_l": float(rng.choice([1.0, 1.25, 1.5])),
                            "mg_mmol_l": float(rng.choice([0.25, 0.375, 0.5])),
                        },
                    },
                }
            )
        )
    return out


def make_signals(scenarios: list[Scenario], t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(scenarios)
    x = (t / t[-1])[None, :]
    uf = np.array([s.uf_volume_l for s in scenarios])[:, None]
    na0 = rng.uniform(134, 142, (n, 1))
    noise = rng.normal(0, 1, (n, t.size))
    sig = {
        "rbv_pct": 100 - (3 + 3 * uf) * x**0.9 + 0.3 * noise,
        "sbp_mmhg": 140 - (5 + 8 * uf) * x**2 + 3 * noise,
        "dbp_mmhg": 78 - (2 + 3 * uf) * x**2 + 2 * noise,
        "hr_bpm": 72 + 6 * x + noise,
        "uf_cum_l": uf * x,
        "uf_rate_ml_h": np.repeat(uf * 250.0, t.size, axis=1),
        "plasma_na_mmol_l": na0 + rng.uniform(-6, 2, (n, 1)) * x**0.6 + 0.3 * noise,
        "osm_mosm_kg": 305 - 15 * x**0.7 + noise,
        "ica_mmol_l": 1.15 + rng.uniform(-0.2, 0.08, (n, 1)) * x**0.7,
        "mg_mmol_l": 0.85 + rng.uniform(-0.3, 0.0, (n, 1)) * x**0.7,
        "hco3_mmol_l": 22 + 6 * x**0.7,
        "urea_mmol_l": 21 * np.exp(-rng.uniform(0.8, 1.5, (n, 1)) * x),
        "dialysate_na_mmol_l": np.repeat(
            np.array([s.prescription.dialysate.na_mmol_l for s in scenarios])[:, None], t.size, axis=1
        ),
    }
    sig = {k: np.array(np.broadcast_to(v, (n, t.size))) for k, v in sig.items()}
    # recorded data has gaps: blank 5 % of the points
    for v in sig.values():
        v[rng.random(v.shape) < 0.05] = np.nan
    return sig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=4_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, set(cpus))
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 241.0)
    n, chunk = args.sessions, args.chunk
    scenarios = make_scenarios(chunk, rng)
    signals = make_signals(scenarios, t, rng)
    ctx = build_context(scenarios)
    reps = max(1, n // chunk)

    score_batch(t, signals, ctx)  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        out = score_batch(t, signals, ctx)
    core = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(reps):
        score_batch(t, signals, scenarios)
    with_ctx = time.perf_counter() - t0
    traces = [
        Trace(pd.DataFrame({"t_min": t, **{k: v[i] for k, v in signals.items()}})) for i in range(chunk)
    ]
    t0 = time.perf_counter()
    grid, stacked = stack_traces(traces)
    score_batch(grid, stacked, scenarios)
    e2e = time.perf_counter() - t0
    total = reps * chunk
    print(
        f"sessions: {total} (chunks of {chunk}), 241 points x {len(signals)} signals, cores: "
        f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}"
    )
    print(f"score_batch, prebuilt context : {total / core:10.0f} sessions/s = {60 * total / core:12.0f} /min")
    print(
        f"score_batch, context included : {total / with_ctx:10.0f} sessions/s = "
        f"{60 * total / with_ctx:12.0f} /min"
    )
    print(f"from Trace objects, end to end: {chunk / e2e:10.0f} sessions/s = {60 * chunk / e2e:12.0f} /min")
    print(
        f"mean overall risk {float(np.mean(out['overall_risk'])):.3f}; share with risk > 0.5: "
        f"{float(np.mean(out['overall_risk'] > 0.5)):.2f}"
    )


if __name__ == "__main__":
    main()
