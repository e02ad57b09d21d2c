"""Clinic pages under load: the session page, the trend page and the unit overview.

Builds the demo database (10 patients, 3 weeks of sessions, every session assessed), starts
``uvicorn --workers 2`` with the application factory of ``crampwatch serve`` in its own process and drives
it from this process over loopback:

0. one request at a time, per page (``--single`` requests): latency p50/p95 and the server's CPU time
   per request (all its processes, from ``/proc``; far less sensitive to other load than latency);
1. open loop, per page: ``--users`` users each request the page once per second (jittered start) for
   ``--seconds`` seconds; p50/p95/p99 latency of the answered requests;
2. saturation: ``--users`` users request the pages back to back (closed loop) for ``--seconds``
   seconds; throughput in requests/s.

``--pages session`` measures only the session page (default: all three).

Every page view is audited (a committed write), as in production. The machine's load average (1, 5 and
15 minutes, as ``uptime`` prints it) is printed before the run and with each figure: on a shared machine
the figures mean little without it.

    PYTHONPATH=$PWD python3 benchmarks/web.py [--users 50] [--seconds 20] [--workers 2] [--pages session]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crampwatch.cli.web_cmd import FACTORY  # noqa: E402
from crampwatch.demo import build_demo  # noqa: E402
from crampwatch.store import Store  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

PASSWORD = "bench-clinician-1"
SECRET_KEY = "benchmark-secret-key-0123456789abcdef"
N_LOGINS = 5  # argon2 verification costs 64 MiB each: users share a few login sessions
#: A page counts as answered when its status is 200 and this marker is in the body.
MARKERS = {"session": 'class="plot-figure"', "trend": 'id="trend-chart"', "unit": 'class="list unit'}


def build_db(path: Path) -> tuple[str, dict[str, str]]:
    """The demo database plus benchmark logins; returns its URL and one path per page kind."""
    url = f"sqlite:///{path}"
    store = Store.open(url=url)
    build_demo(store, n_patients=10, weeks=3)
    for i in range(N_LOGINS):
        store.add_user(f"bench{i}", PASSWORD, "clinician")
    patient = max(store.list_patients(), key=lambda p: p.n_cramp_sessions)
    session = store.list_sessions(patient.id)[-1]
    store.close()
    return url, {
        "session": f"/sessions/{session.id}",
        "trend": f"/patients/{patient.id}/trend",
        "unit": "/unit",
    }


async def login_cookies(base: str) -> list[dict[str, str]]:
    cookies = []
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as c:
        for i in range(N_LOGINS):
            r = await c.post("/api/login", json={"username": f"bench{i}", "password": PASSWORD})
            r.raise_for_status()
            cookies.append(dict(c.cookies))
            c.cookies.clear()
    return cookies


async def warm_up(base: str, cookies: list[dict[str, str]], paths: dict[str, str]) -> None:
    """Fill the per-worker caches (charts, trend rows) before measuring."""
    async with httpx.AsyncClient(base_url=base, cookies=cookies[0], timeout=120.0) as c:
        for _ in range(8):
            await asyncio.gather(*(c.get(p) for p in paths.values()))


def _ok(kind: str, r: httpx.Response) -> bool:
    return r.status_code == 200 and MARKERS[kind] in r.text


async def open_loop(
    base: str, cookies: list[dict[str, str]], kind: str, path: str, users: int, seconds: float
) -> tuple[list[float], int]:
    """``users`` users, each requesting ``path`` once per second; (latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    rng = random.Random(7)
    t_end = time.perf_counter() + seconds

    async def user(k: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(
            base_url=base, cookies=cookies[k % len(cookies)], limits=limits, timeout=60.0
        ) as c:
            await asyncio.sleep(rng.random())
            next_at = time.perf_counter()
            while next_at < t_end:
                t0 = time.perf_counter()
                r = await c.get(path)
                latencies.append(time.perf_counter() - t0)
                errors += not _ok(kind, r)
                next_at += 1.0
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    await asyncio.gather(*(user(k) for k in range(users)))
    return latencies, errors


async def closed_loop(
    base: str, cookies: list[dict[str, str]], paths: dict[str, str], users: int, seconds: float
) -> tuple[int, int, float]:
    """``users`` users requesting the pages back to back; (requests, errors, wall seconds)."""
    done = errors = 0
    kinds = list(paths)
    t_start = time.perf_counter()
    t_end = t_start + seconds

    async def user(k: int) -> None:
        nonlocal done, errors
        async with httpx.AsyncClient(base_url=base, cookies=cookies[k % len(cookies)], timeout=60.0) as c:
            i = k
            while time.perf_counter() < t_end:
                kind = kinds[i % len(kinds)]
                r = await c.get(paths[kind])
                done += 1
                errors += not _ok(kind, r)
                i += 1

    await asyncio.gather(*(user(k) for k in range(users)))
    return done, errors, time.perf_counter() - t_start


async def one_at_a_time(
    base: str, cookies: list[dict[str, str]], kind: str, path: str, n: int
) -> list[float]:
    """One user requesting ``path`` ``n`` times, each after the previous answer; the latencies."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, cookies=cookies[0], timeout=60.0) as c:
        for _ in range(n):
            t0 = time.perf_counter()
            r = await c.get(path)
            latencies.append(time.perf_counter() - t0)
            if not _ok(kind, r):
                raise RuntimeError(f"{kind}: status {r.status_code}")
    return latencies


def process_tree_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants (Linux ``/proc``;
    ``None`` elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    try:
        while todo:
            p = todo.pop()
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
    except (OSError, ValueError, IndexError):
        return None
    return total


def _ms(q: float) -> str:
    return f"{q * 1000:.0f} ms"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description="clinic pages under concurrent load")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pages", default="session,trend,unit", help="pages to measure, comma-separated (default: all)"
    )
    parser.add_argument(
        "--single", type=int, default=100, help="requests per page sent one at a time first (latency, CPU)"
    )
    args = parser.parse_args()
    chosen = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(MARKERS))
    if unknown or not chosen:
        parser.error(f"--pages: {', '.join(unknown) or 'none'} not among {', '.join(MARKERS)}")
    with tempfile.TemporaryDirectory(prefix="crampwatch-bench-") as tmp:
        started = time.perf_counter()
        url, paths = build_db(Path(tmp) / "bench.db")
        paths = {kind: path for kind, path in paths.items() if kind in chosen}
        print(f"demo database built in {time.perf_counter() - started:.0f} s")
        # each process is built as `crampwatch serve --workers N` builds it (start-up heap frozen)
        server = LiveServer(url, secret_key=SECRET_KEY, workers=args.workers, factory=FACTORY)
        server.start(timeout_s=120)
        try:
            cookies = asyncio.run(login_cookies(server.url))
            asyncio.run(warm_up(server.url, cookies, paths))
            print(
                f"{args.users} users, each loading a page per second, {args.seconds:.0f} s per page; "
                f"{os.cpu_count()} CPUs, {args.workers} uvicorn workers, SQLite; load generator in a "
                f"separate process; before the run: {load_average()}"
            )
            for kind, path in paths.items():  # one request at a time: latency and server CPU per request
                cpu0 = process_tree_cpu_s(server.proc.pid)
                lat = asyncio.run(one_at_a_time(server.url, cookies, kind, path, args.single))
                cpu1 = process_tree_cpu_s(server.proc.pid)
                cpu = "n/a" if cpu0 is None or cpu1 is None else _ms((cpu1 - cpu0) / len(lat))
                q = statistics.quantiles(sorted(lat), n=100)
                print(
                    f"  {kind:8s} one request at a time: p50 {_ms(q[49])}  p95 {_ms(q[94])}  "
                    f"({len(lat)} requests); server CPU {cpu} per request; {load_average()}"
                )
            for kind, path in paths.items():
                cpu0, client0 = process_tree_cpu_s(server.proc.pid), time.process_time()
                lat, errors = asyncio.run(
                    open_loop(server.url, cookies, kind, path, args.users, args.seconds)
                )
                cpu1, client1 = process_tree_cpu_s(server.proc.pid), time.process_time()
                if len(lat) < 2:  # nothing answered within the time: the figure does not exist
                    print(
                        f"  {kind:8s} fewer than 2 answers in {args.seconds:.0f} s (errors {errors}; "
                        f"{load_average()})"
                    )
                    continue
                q = statistics.quantiles(sorted(lat), n=100)
                server_cpu = "n/a" if cpu0 is None or cpu1 is None else _ms((cpu1 - cpu0) / len(lat))
                print(
                    f"  {kind:8s} p50 {_ms(q[49])}  p95 {_ms(q[94])}  p99 {_ms(q[98])}  "
                    f"({len(lat)} requests, {len(lat) / args.seconds:.1f}/s offered, errors {errors}; "
                    f"CPU per request: server {server_cpu}, load generator "
                    f"{_ms((client1 - client0) / len(lat))}; {load_average()})"
                )
            n, errors, wall = asyncio.run(closed_loop(server.url, cookies, paths, args.users, args.seconds))
            print(
                f"  saturation ({', '.join(paths)} back to back): {n / wall:.1f} requests/s, "
                f"errors {errors}; {load_average()}"
            )

        finally:
            server.stop()


if __name__ == "__main__":
    main()
