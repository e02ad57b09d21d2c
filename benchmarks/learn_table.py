"""The unit cramp model's input table of a large virtual unit, in-process and on Dask.

Usage: ``python benchmarks/learn_table.py [--patients 10000] [--sessions-per-patient 10] [--partitions 16]``
(10 000 x 10 = 100 000 sessions). It builds the unit's scenarios once
(:func:`crampwatch.learn.virtual.unit_scenarios`), then the input table and rule drivers with
:func:`crampwatch.learn.virtual.simulate_unit` in this process and with
:func:`crampwatch.recorded.learning.virtual_unit_inputs` on a LocalCluster of 2 single-threaded workers
(start-up timed apart), checks that both give the same table, and prints wall and CPU seconds of each and
the machine's load before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd

from crampwatch.learn.virtual import simulate_unit, unit_scenarios
from crampwatch.recorded.learning import virtual_unit_inputs


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--sessions-per-patient", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=16)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPU(s); load before: {load()}")
    scenarios = unit_scenarios(args.patients, args.sessions_per_patient, seed=12)
    print(f"{len(scenarios)} sessions of {args.patients} patients")
    simulate_unit(scenarios[:50])  # warm-up: compiled kernel
    t0, c0 = time.perf_counter(), time.process_time()
    table, drivers = simulate_unit(scenarios)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"in-process: {wall:8.1f} s wall, {cpu:8.1f} s CPU")
    virtual_unit_inputs(scenarios[:200], partitions=2)  # warm-up cluster start and workers' compiled code
    t0, c0 = time.perf_counter(), time.process_time()
    on_dask, drivers_on_dask = virtual_unit_inputs(scenarios, partitions=args.partitions)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"Dask, 2 workers x 1 thread (incl. cluster start-up): {wall:8.1f} s wall, {cpu:6.1f} s CPU here"
    )
    pd.testing.assert_frame_equal(on_dask, table)
    pd.testing.assert_frame_equal(drivers_on_dask, drivers)
    print(f"tables equal: yes; load after: {load()}")


if __name__ == "__main__":
    main()
