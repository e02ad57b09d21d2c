"""Latency of the session page under load: N concurrent users on loopback against a uvicorn server.

Builds a SQLite database with one simulated, assessed session, starts ``uvicorn`` (one worker) in a
subprocess, logs the users in and has them request ``/sessions/{id}`` (charts, causes, what-if form; every
view is written to the audit log) until the request budget is spent. Prints p50/p95/p99 and throughput.

    python3 benchmarks/web.py [--users 50] [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crampwatch.causes import assess  # noqa: E402
from crampwatch.model import load_scenario  # noqa: E402
from crampwatch.simulator import simulate  # noqa: E402
from crampwatch.store import Store  # noqa: E402
from crampwatch.web.live import LiveServer  # noqa: E402

PASSWORD = "bench-clinician-1"
N_LOGINS = 5  # argon2 verification costs 64 MiB each: users share a few login sessions


def build_db(path: Path) -> tuple[str, str]:
    url = f"sqlite:///{path}"
    store = Store.open(url=url)
    scenario = load_scenario(ROOT / "examples" / "high_uf.yaml")
    pid = store.add_patient(scenario.patient, name="Benchmark Patient")
    trace = simulate(scenario)
    sid = store.add_session(
        pid,
        scenario.prescription,
        trace,
        started_at=datetime(2026, 11, 2, 8, tzinfo=UTC),
        pre_weight_kg=scenario.patient.pre_weight_kg,
    )
    store.save_assessment(sid, {**assess(trace, scenario).to_dict(), "session_id": sid}, "benchmark")
    for i in range(N_LOGINS):
        store.add_user(f"bench{i}", PASSWORD, "clinician")
    store.close()
    return url, sid


async def run(base: str, sid: str, users: int, n_requests: int) -> tuple[list[float], int]:
    sessions = []
    async with httpx.AsyncClient(base_url=base) as c:
        for i in range(N_LOGINS):
            r = await c.post("/api/login", json={"username": f"bench{i}", "password": PASSWORD})
            r.raise_for_status()
            sessions.append(dict(c.cookies))
            c.cookies.clear()
    latencies: list[float] = []
    errors = 0
    budget = iter(range(n_requests))
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)

    async def user(k: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(
            base_url=base, cookies=sessions[k % N_LOGINS], limits=limits, timeout=60.0
        ) as c:
            for _ in budget:
                t0 = time.perf_counter()
                r = await c.get(f"/sessions/{sid}")
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200 or "Plotly.newPlot" not in r.text:
                    errors += 1

    await asyncio.gather(*(user(k) for k in range(users)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description="session page latency under concurrent load")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crampwatch-bench-") as tmp:
        url, sid = build_db(Path(tmp) / "bench.db")
        with LiveServer(url) as server:
            started = time.perf_counter()
            latencies, errors = asyncio.run(run(server.url, sid, args.users, args.requests))
            wall = time.perf_counter() - started
    q = statistics.quantiles(sorted(latencies), n=100)
    print(
        f"session page, {args.users} concurrent users, {len(latencies)} requests, {os.cpu_count()} CPUs, "
        f"1 uvicorn worker, SQLite"
    )
    print(
        f"  p50 {q[49] * 1000:.0f} ms   p95 {q[94] * 1000:.0f} ms   p99 {q[98] * 1000:.0f} ms   "
        f"mean {statistics.fmean(latencies) * 1000:.0f} ms"
    )
    print(f"  throughput {len(latencies) / wall:.1f} requests/s   errors {errors}")


if __name__ == "__main__":
    main()
