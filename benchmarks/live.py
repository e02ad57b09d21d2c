"""Chairside service under load: simulated dialysis machines send ORU^R01 over MLLP, time compressed.

For each run a fresh SQLite database (one patient with a stored prescription per chair, one nurse), a real
``redis-server``, ``crampwatch serve --mllp-port`` with ``CRAMPWATCH_REDIS_URL`` and ``--workers`` engine
workers (``crampwatch worker``), all separate processes on this machine. Each chair keeps one MLLP
connection and sends one message per simulated minute (RBV and UF rate; a BP reading every 15 min), i.e. one
every ``60 / compression`` s, with a random phase; a nurse's browser is stood in for by one server-sent-events
client of ``/api/chairs/stream``.

First the CPU time per message of each stage (HL7 read + ACK, storage, one engine update), then per run:
messages/s acknowledged, ACK latency p50/p95 (send -> ``MSA|AA``), engine updates/s applied
by the workers, and message-to-screen latency p50/p95 (send -> the chair's update on the event stream) over
the updates that reached the screen within ``--drain-s`` after the last message, with the share that did.
With ``--kill`` one worker is SIGKILLed half way and the run drains completely: messages lost (stored without
an update) and duplicated (an update shown twice on the screen) are counted.

    python3 benchmarks/live.py                 # the figures the README quotes (three runs)
    python3 benchmarks/live.py --chairs 50 --seconds 10 --workers 1 [--postgres] [--kill]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crampwatch.io.machine import hl7_oru  # noqa: E402
from crampwatch.live import LiveEngine  # noqa: E402
from crampwatch.model import load_scenario  # noqa: E402
from crampwatch.store import Store  # noqa: E402
from crampwatch.store.schema import LiveMessageRow, LiveUpdateRow  # noqa: E402
from tests.live_server import free_port  # noqa: E402
from tests.store_fixtures import fresh_pg_schema_url, make_trace  # noqa: E402

T0 = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
NURSE, NURSE_PASSWORD = "nurse", "bench-nurse-pass-1"


def build_db(url: str, chairs: int) -> str:
    scenario = load_scenario(ROOT / "examples" / "high_uf.yaml")
    with Store.open(url) as store:
        for k in range(chairs):
            pid = f"C{k:04d}"
            store.add_patient(scenario.patient.model_copy(update={"id": pid}), name=f"Chair {k + 1}")
            store.add_session(
                pid, scenario.prescription, make_trace(n=9, seed=k), started_at=T0 - timedelta(days=2)
            )
        store.add_user(NURSE, NURSE_PASSWORD, "nurse")
    return url


def oru(chair: int, minute: int) -> bytes:
    when = (T0 + timedelta(minutes=minute)).strftime("%Y%m%d%H%M%S") + "+0000"
    obx = [f"rbv_pct^RBV^99CW||{100 - 0.05 * minute:.2f}|%", "uf_rate_ml_h^UF rate^99CW||900|mL/h"]
    if minute % 15 == 0:
        obx += [f"150021^MDC_PRESS_BLD_NONINV_SYS^MDC||{140 - 0.1 * minute:.0f}|mm[Hg]",
                "150022^MDC_PRESS_BLD_NONINV_DIA^MDC||80|mm[Hg]"]  # fmt: skip
    msh = f"MSH|^~\\&|MACHINE{chair}|UNIT1|CRAMPWATCH|CLINIC|{when}||ORU^R01^ORU_R01|{chair}-{minute}|P|2.6"
    lines = [msh, f"PID|||C{chair:04d}", f"OBR|1|||TREATMENT|||{when}"]
    lines += [f"OBX|{i}|NM|{o}|||||F|||{when}" for i, o in enumerate(obx, start=1)]
    return b"\x0b" + "\r".join(lines).encode() + b"\r\x1c\r"


class Run:
    """One load run: processes, clients and what they measured."""

    def __init__(self, args: argparse.Namespace, workers: int, kill: bool, work: Path) -> None:
        self.args, self.n_workers, self.kill, self.work = args, workers, kill, work
        self.sent: dict[tuple[str, float], float] = {}
        self.ack_s: list[float] = []
        self.screen: dict[tuple[str, float], float] = {}
        self.shown_twice = 0
        self.procs: list[subprocess.Popen] = []

    def start(self) -> None:
        self.db_url = build_db(self.args.db_url or f"sqlite:///{self.work / 'live.db'}", self.args.chairs)
        self.redis_port, self.web_port, self.mllp_port = free_port(), free_port(), free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.procs.append(subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port), "--save", "",
             "--appendonly", "no", "--dir", str(self.work)], stdout=subprocess.DEVNULL))  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CRAMPWATCH_REDIS_URL": self.redis_url}
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "crampwatch", "serve", "--port", str(self.web_port), "--mllp-port",
             str(self.mllp_port), "--database-url", self.db_url], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        self.workers = [subprocess.Popen(
            [sys.executable, "-m", "crampwatch", "worker", "--redis-url", self.redis_url, "--database-url",
             self.db_url, "--name", f"w{k}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for k in range(self.n_workers)]  # fmt: skip
        self.procs += self.workers
        r = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.web_port}/healthz").status_code == 200 and (
                    r.zcard("crampwatch:live:workers") == self.n_workers
                ):
                    return
            except (httpx.TransportError, redis.ConnectionError):
                pass
            time.sleep(0.2)
        raise RuntimeError("server or workers did not start")

    async def chair(self, k: int, started: float, period_s: float, minutes: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.mllp_port)
        phase = random.Random(k).random() * period_s
        for minute in range(minutes):
            await asyncio.sleep(max(0.0, started + phase + minute * period_s - time.perf_counter()))
            sent = time.perf_counter()
            self.sent[(f"C{k:04d}", float(minute))] = sent
            writer.write(oru(k, minute))
            await writer.drain()
            ack = await reader.readuntil(b"\x1c\r")
            self.ack_s.append(time.perf_counter() - sent)
            assert b"MSA|AA|" in ack, ack
        writer.close()

    async def watch(self, stop: asyncio.Event) -> None:
        base = f"http://127.0.0.1:{self.web_port}"
        async with httpx.AsyncClient(base_url=base, timeout=None) as client:
            r = await client.post("/api/login", json={"username": NURSE, "password": NURSE_PASSWORD})
            r.raise_for_status()
            async with client.stream("GET", "/api/chairs/stream") as stream:
                self.watching.set()
                event = None
                async for line in stream.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "update":
                        data = json.loads(line[5:])
                        key = (data["patient_id"], float(data["t_min"]))
                        if key in self.screen:
                            self.shown_twice += 1
                        self.screen.setdefault(key, time.perf_counter())
                    if stop.is_set():
                        return

    async def load(self) -> None:
        period_s = 60.0 / self.args.compression
        minutes = max(1, int(self.args.seconds / period_s))
        stop, self.watching = asyncio.Event(), asyncio.Event()
        watcher = asyncio.create_task(self.watch(stop))
        await asyncio.wait_for(self.watching.wait(), 60)
        self.started = time.perf_counter()
        chairs = [
            asyncio.create_task(self.chair(k, self.started, period_s, minutes))
            for k in range(self.args.chairs)
        ]
        if self.kill:
            await asyncio.sleep(self.args.seconds / 2)
            self.workers[0].send_signal(signal.SIGKILL)
        await asyncio.gather(*chairs)
        self.sent_for_s = time.perf_counter() - self.started
        self.applied_in_window = self.count(LiveUpdateRow)
        drain_s = self.args.kill_drain_s if self.kill else self.args.drain_s
        deadline = time.perf_counter() + drain_s
        while time.perf_counter() < deadline and len(self.screen) < len(self.sent):
            await asyncio.sleep(0.2)
        self.drained_for_s = time.perf_counter() - self.started - self.sent_for_s
        stop.set()
        watcher.cancel()

    def count(self, row: type) -> int:
        with Store.open(self.db_url, migrate=False) as store, store._read() as s:
            return s.query(row).count()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def report(self) -> dict[str, float]:
        shown = [self.screen[k] - self.sent[k] for k in self.sent if k in self.screen]
        stored, updated = self.count(LiveMessageRow), self.count(LiveUpdateRow)
        pct = statistics.quantiles(self.ack_s, n=100) if len(self.ack_s) > 1 else [float("nan")] * 99
        screen_pct = statistics.quantiles(shown, n=100) if len(shown) > 1 else [float("nan")] * 99
        return {
            "chairs": self.args.chairs, "workers": self.n_workers, "kill": self.kill,
            "database": self.db_url.split(":", 1)[0],
            "messages": len(self.sent), "messages_per_s": len(self.ack_s) / self.sent_for_s,
            "ack_p50_ms": 1000 * pct[49], "ack_p95_ms": 1000 * pct[94],
            "updates_per_s_in_window": self.applied_in_window / self.sent_for_s,
            "screen_p50_s": screen_pct[49], "screen_p95_s": screen_pct[94],
            "shown_share": len(shown) / max(1, len(self.sent)), "drain_s": self.drained_for_s,
            "stored": stored, "without_update": stored - updated, "duplicated_on_screen": self.shown_twice,
        }  # fmt: skip


def cpu_costs(work: Path) -> str:
    """CPU time (not wall time: fair on a loaded machine) per message of each stage, measured in this
    process: HL7 read + ACK, storage in batches of 100, one engine update."""
    texts = [oru(k % 100, k // 100)[1:-2].decode() for k in range(300)]
    started = time.process_time()
    for text in texts:
        msg = hl7_oru.read(text)
        hl7_oru.machine_message(msg)
        hl7_oru.acknowledgement(msg, "AA")
    read_ms = 1000 * (time.process_time() - started) / len(texts)
    url = build_db(f"sqlite:///{work / 'cpu.db'}", 100)
    with Store.open(url) as store:
        batches = [[hl7_oru.parse(t)[1] for t in texts[i : i + 100]] for i in range(0, 300, 100)]
        store.ingest_messages(batches[0])
        started = time.process_time()
        for batch in batches[1:]:
            store.ingest_messages(batch)
        store_ms = 1000 * (time.process_time() - started) / 200
    engine = LiveEngine(load_scenario(ROOT / "examples" / "high_uf.yaml"))
    engine.observe(0.0, {"rbv_pct": 100.0})
    started = time.process_time()
    for minute in range(1, 21):
        engine.observe(float(minute), {"rbv_pct": 100 - 0.05 * minute, "uf_rate_ml_h": 900.0})
    engine_ms = 1000 * (time.process_time() - started) / 20
    return (
        f"CPU per message: HL7 read + ACK {read_ms:.2f} ms, storage {store_ms:.2f} ms (batches of 100), "
        f"engine update {engine_ms:.1f} ms"
    )


def one_run(args: argparse.Namespace, workers: int, kill: bool) -> dict[str, float]:
    args.db_url = None
    if args.postgres:
        schemas = fresh_pg_schema_url()
        args.db_url = next(schemas)
    with tempfile.TemporaryDirectory(prefix="crampwatch-live-bench-") as tmp:
        run = Run(args, workers, kill, Path(tmp))
        try:
            run.start()
            asyncio.run(run.load())
            time.sleep(1.0)  # let the last update rows commit
            return run.report()
        finally:
            run.stop()
            if args.postgres:
                schemas.close()  # drops the schema


def show(result: dict[str, float]) -> None:
    killed = " (one SIGKILLed half way)" if result["kill"] else ""
    print(
        f"{result['chairs']} chairs, {result['workers']} worker(s){killed} on {result['database']}: "
        f"{result['messages']} messages, {result['messages_per_s']:.0f} messages/s ACKed, "
        f"ACK p50 {result['ack_p50_ms']:.1f} ms, p95 {result['ack_p95_ms']:.1f} ms; "
        f"engine {result['updates_per_s_in_window']:.1f} updates/s; "
        f"message-to-screen p50 {result['screen_p50_s']:.2f} s, p95 {result['screen_p95_s']:.2f} s "
        f"({100 * result['shown_share']:.0f} % shown within {result['drain_s']:.0f} s after the last one); "
        + (
            f"after a full drain: lost {result['without_update']}, "
            f"duplicated on screen {result['duplicated_on_screen']}"
            if result["kill"]
            else f"backlog {result['without_update']} messages, duplicated on screen "
            f"{result['duplicated_on_screen']}"
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chairs", type=int, default=None, help="one run with this many chairs")
    parser.add_argument("--compression", type=float, default=60.0, help="simulated minutes per wall minute")
    parser.add_argument("--seconds", type=float, default=20.0, help="wall seconds of sending")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill", action="store_true", help="SIGKILL one worker half way, then drain fully")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at $CRAMPWATCH_TEST_DATABASE_URL")
    parser.add_argument(
        "--drain-s", type=float, default=10.0, help="wait for the screen after the last message"
    )
    parser.add_argument(
        "--kill-drain-s", type=float, default=600.0, help="longest full drain of a --kill run"
    )
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min), {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="crampwatch-live-cpu-") as tmp:
        print(cpu_costs(Path(tmp)), flush=True)
    if args.chairs is not None:
        show(one_run(args, args.workers, args.kill))
        return
    args.chairs = 500
    for workers in (1, 2):
        show(one_run(args, workers, False))
    args.chairs, args.seconds = 20, 20.0
    show(one_run(args, 2, True))
    print(f"load after: {os.getloadavg()[0]:.2f} (1-min)", flush=True)


if __name__ == "__main__":
    main()
