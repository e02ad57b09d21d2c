"""Cohort throughput against the simulation kernel, and Dask scaling with workers.

Usage: ``python benchmarks/cohort.py [--sessions 20000] [--partitions 16] [--seed 0]``.

In one run it measures, on the same virtual cohort (same seed and partitions):

1. the kernel: :func:`crampwatch.simulator.columns.simulate_columns` on the cohort's scenario table, in the
   cohort's chunks (the fastest way to call the compiled kernel: no scenario objects, no scoring);
2. ``cohort`` in-process (``run_cohort(..., scheduler="synchronous")``: draw, simulate, score, table, end to
   end) and its sessions/s as a share of the kernel's (goal >= 60 %);
3. ``cohort`` on a LocalCluster of 1 and of 2 single-threaded worker processes (cluster start-up and a
   warm-up run excluded) and the ratio 2 workers / 1 worker (goal >= 1.7); the tables must equal the
   in-process table.

It prints the machine's load (``/proc/loadavg``) before and after: figures taken on a loaded machine are
not comparable with an idle one.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd
from distributed import LocalCluster

from crampwatch import cohort
from crampwatch.population import virtual_population_columns
from crampwatch.scenario_table import complete_columns, take
from crampwatch.simulator.columns import simulate_columns


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def kernel_rate(n: int, partitions: int, seed: int) -> float:
    """Sessions/s of the kernel alone on the cohort's scenario tables (same draws and chunks)."""
    seconds = 0.0
    for k, size in enumerate(cohort.split_sizes(n, partitions)):
        cols = complete_columns(virtual_population_columns(size, seed=seed + k), size)
        for start in range(0, size, cohort.DEFAULT_CHUNK):
            part = take(cols, slice(start, start + cohort.DEFAULT_CHUNK))
            t0 = time.perf_counter()
            simulate_columns(part)
            seconds += time.perf_counter() - t0
    return n / seconds


def cohort_rate(n: int, partitions: int, seed: int, scheduler: str) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    df = cohort.run_cohort(n, seed=seed, partitions=partitions, scheduler=scheduler)
    return df, n / (time.perf_counter() - t0)


def cluster_rate(workers: int, n: int, partitions: int, seed: int) -> tuple[pd.DataFrame, float]:
    with LocalCluster(
        n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=":0", silence_logs=40
    ) as cluster:
        cohort_rate(100 * workers, workers, seed, cluster.scheduler_address)  # warm-up: loads compiled code
        return cohort_rate(n, partitions, seed, cluster.scheduler_address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n, parts, seed = args.sessions, args.partitions, args.seed
    print(f"python {platform.python_version()}, {os.cpu_count()} CPU(s); load before: {load()}")
    print(f"{n} sessions in {parts} partitions")
    cohort_rate(200, 2, seed, "synchronous")  # warm-up: compiled kernel and imports
    kernel = kernel_rate(n, parts, seed)
    local_df, local = cohort_rate(n, parts, seed, "synchronous")
    print(f"kernel alone (simulate_columns)          {kernel:9.0f} sessions/s")
    print(f"cohort in-process (synchronous)          {local:9.0f} sessions/s")
    print(f"cohort in-process / kernel               {local / kernel:9.2f}  (goal >= 0.60)")
    one_df, one = cluster_rate(1, n, parts, seed)
    two_df, two = cluster_rate(2, n, parts, seed)
    pd.testing.assert_frame_equal(one_df, local_df)
    pd.testing.assert_frame_equal(two_df, local_df)
    print(f"LocalCluster 1 worker x 1 thread         {one:9.0f} sessions/s")
    print(f"LocalCluster 2 workers x 1 thread        {two:9.0f} sessions/s")
    print(f"2 workers / 1 worker                     {two / one:9.2f}  (goal >= 1.70)")
    print(f"tables equal (in-process, 1 and 2 workers): yes; load after: {load()}")


if __name__ == "__main__":
    main()
