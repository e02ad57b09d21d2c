"""A HEMOBP-sized recorded history analysed end to end: wall time, sessions/s and peak memory, with 1 and 2
Dask workers.

Usage: ``python benchmarks/recorded.py [--patients 1072] [--folder DIR] [--workers 1,2] [--no-twins]``.

The synthetic history (``crampwatch demo-history``: ~1 072 patients, ~165 849 sessions, ~4.37 million
monitor records in the HEMOBP layout) is written to ``--folder`` unless it is already there. Each run is
``crampwatch cohort --recorded FOLDER --out OUT --workers W`` in a fresh process with a fresh ``OUT``
(staging, every partition on a LocalCluster of W single-threaded workers, twins, report): the printed time is
that command's wall time, peak memory the largest resident set of its own process (staging, report) and of
each worker. The goal: the whole history in under 10 minutes within 4 GB on the 2-core machine. The
machine's load is printed with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def crampwatch(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "crampwatch", *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1072)
    parser.add_argument("--folder", default="/tmp/crampwatch-hemobp-synthetic")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--no-twins", action="store_true")
    args = parser.parse_args()
    folder = Path(args.folder) / f"patients-{args.patients}"
    if not (folder / "vip.csv").exists():
        t0 = time.perf_counter()
        crampwatch("demo-history", "--out", str(folder), "--patients", str(args.patients))
        print(f"synthetic history written in {time.perf_counter() - t0:.0f} s (load {load()})")
    size_mb = sum(p.stat().st_size for p in folder.glob("*.csv")) / 2**20
    print(f"history: {folder} ({size_mb:.0f} MB of CSV); {os.cpu_count()} CPU(s)")
    for workers in (int(w) for w in args.workers.split(",")):
        out = Path(args.folder) / f"out-{args.patients}-{workers}w"
        shutil.rmtree(out, ignore_errors=True)
        before = load()
        t0 = time.perf_counter()
        options = ["--no-twins"] if args.no_twins else []
        crampwatch(
            "cohort", "--recorded", str(folder), "--out", str(out), "--workers", str(workers), *options
        )
        wall = time.perf_counter() - t0
        info = json.loads((out / "quality.json").read_text())
        run = info["run"]
        workers_mb = info["worker_peak_memory_mb"]
        total = info["client_peak_memory_mb"] + sum(workers_mb)
        print(
            f"{workers} worker(s): {wall:6.0f} s end to end, {run['sessions']} sessions "
            f"({run['analysed']} analysed, {run['partitions']} partitions), "
            f"{run['sessions'] / wall:6.0f} sessions/s; "
            f"peak memory: client {info['client_peak_memory_mb']:.0f} MB, workers "
            f"{', '.join(f'{m:.0f}' for m in workers_mb)} MB, together {total:.0f} MB; load before {before}, "
            f"after {load()}"
        )


if __name__ == "__main__":
    main()
