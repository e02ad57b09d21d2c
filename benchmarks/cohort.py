"""Cohort throughput: sessions/s on a 2-worker Dask LocalCluster vs in-process (dask synchronous scheduler).

Usage: ``python benchmarks/cohort.py [--sessions 100000] [--partitions 32] [--seed 0] [--skip-in-process]``.
Both runs simulate and score the same virtual cohort (same seed and partitions); the script checks that
their tables are equal and prints sessions/s for each (cluster start-up timed separately).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd
from distributed import LocalCluster

from crampwatch import cohort


def _run(label: str, n: int, partitions: int, seed: int, scheduler: str) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    df = cohort.run_cohort(n, seed=seed, partitions=partitions, scheduler=scheduler)
    seconds = time.perf_counter() - t0
    print(f"{label:<36} {n:>8} sessions {seconds:8.1f} s {n / seconds:9.0f} sessions/s", flush=True)
    return df, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-in-process", action="store_true", help="Only run the LocalCluster.")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPU(s), {args.partitions} partitions")
    _run("warm-up (in-process, 100)", 100, 2, args.seed, "synchronous")
    t0 = time.perf_counter()
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0", silence_logs=40
    ) as cluster:
        print(f"LocalCluster start-up: {time.perf_counter() - t0:.1f} s")
        _run("warm-up (LocalCluster, 100)", 100, 2, args.seed, cluster.scheduler_address)
        label = "LocalCluster 2 workers x 1 thread"
        cluster_df, cluster_s = _run(
            label, args.sessions, args.partitions, args.seed, cluster.scheduler_address
        )
    if args.skip_in_process:
        return
    local_df, local_s = _run(
        "in-process (synchronous)", args.sessions, args.partitions, args.seed, "synchronous"
    )
    pd.testing.assert_frame_equal(cluster_df, local_df)
    print(f"tables equal: yes; LocalCluster speed-up over in-process: {local_s / cluster_s:.2f}x")


if __name__ == "__main__":
    main()
