"""Chairside service under load: simulated dialysis machines send ORU^R01 over MLLP, time compressed.

For each run a fresh SQLite database (one patient with a stored prescription per chair, one nurse), a real
``redis-server``, ``crampwatch serve --mllp-port`` with ``CRAMPWATCH_REDIS_URL`` and ``--workers`` engine
workers (``crampwatch worker``, run under ``nice -n 10`` as docs/chairside.md advises: the engine yields the
CPU to the ACK path), all separate processes on this machine. Each chair keeps one MLLP connection and sends
one message per simulated minute (RBV and UF rate; a BP reading every 15 min), i.e. one every
``60 / compression`` s, with a random phase; a nurse's browser is stood in for by one server-sent-events
client of ``/api/chairs/stream``.

Warm-up: every chair first sends its treatment's first message (which opens its session; the workers build
its engine), and the run waits until the screen has the engine's update of every chair; its length is
reported. Then, per run: messages/s acknowledged, ACK latency p50/p95 (send -> ``MSA|AA``), message-to-screen
latency p50/p95 of the measured values (send -> the message's ``measured`` event on the stream) and
message-to-forecast latency p50/p95 (send -> the first engine ``update`` of that chair on the stream that
includes the message; the engine folds a chair's messages into one update when it is behind), over the
messages whose forecast reached the screen within ``--drain-s`` after the last message, with the share that
did, and the engine updates per message. With ``--kill`` one worker is SIGKILLed half way and the run drains
completely: messages lost (stored without an engine row, or never covered by an update on the screen) and
duplicated (an update or measured event shown twice) are counted.

    python3 benchmarks/live.py                 # the figures the README quotes (three runs)
    python3 benchmarks/live.py --chairs 50 --seconds 10 --workers 1 [--postgres] [--kill]
    python3 benchmarks/live.py --chairs 500 --web-processes 2   # serve --workers 2 on the MLLP port
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
from crampwatch.live import LiveEngine, assimilate_many, observe_many  # noqa: E402
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
        self.measured: dict[tuple[str, float], float] = {}  # (patient, minute) -> shown at
        self.forecast: dict[str, list[tuple[float, float]]] = {}  # patient -> [(message minute, shown at)]
        self.update_seqs: set[int] = set()
        self.measured_seqs: set[int] = set()
        self.shown_twice = 0
        self.procs: list[subprocess.Popen] = []

    def start(self) -> None:
        self.db_url = build_db(self.args.db_url or f"sqlite:///{self.work / 'live.db'}", self.args.chairs)
        self.redis_port, self.web_port, self.mllp_port = free_port(), free_port(), free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.procs.append(subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port), "--save", "",
             "--appendonly", "no", "--dir", str(self.work)], stdout=subprocess.DEVNULL))  # fmt: skip
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, "CRAMPWATCH_REDIS_URL": self.redis_url}
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "crampwatch", "serve", "--port", str(self.web_port), "--mllp-port",
             str(self.mllp_port), "--workers", str(self.args.web_processes), "--database-url", self.db_url],
            env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        nice = ["nice", "-n", str(self.args.worker_nice)] if self.args.worker_nice else []
        self.workers = [subprocess.Popen(
            [*nice, sys.executable, "-m", "crampwatch", "worker", "--redis-url", self.redis_url,
             "--database-url", self.db_url, "--name", f"w{k}"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
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

    async def chair(self, k: int, started: float, period_s: float, minutes: range) -> None:
        reader, writer = self.connections[k]
        phase = random.Random(k).random() * period_s
        for n, minute in enumerate(minutes):
            await asyncio.sleep(max(0.0, started + phase + n * period_s - time.perf_counter()))
            sent = time.perf_counter()
            self.sent[(f"C{k:04d}", float(minute))] = sent
            writer.write(oru(k, minute))
            await writer.drain()
            ack = await reader.readuntil(b"\x1c\r")
            self.ack_s.append(time.perf_counter() - sent)
            assert b"MSA|AA|" in ack, ack

    def shown(self, event: str | None, data: dict) -> None:
        now = time.perf_counter()
        if event == "measured":
            if data["seq"] in self.measured_seqs:
                self.shown_twice += 1
            self.measured_seqs.add(data["seq"])
            self.measured.setdefault((data["patient_id"], float(data["t_min"])), now)
        elif event == "update":
            if data["seq"] in self.update_seqs:
                self.shown_twice += 1
            self.update_seqs.add(data["seq"])
            self.forecast.setdefault(data["patient_id"], []).append((float(data["t_min"]), now))

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
                    elif line.startswith("data:") and event in ("measured", "update"):
                        self.shown(event, json.loads(line[5:]))
                    if stop.is_set():
                        return

    def forecast_at(self, key: tuple[str, float]) -> float | None:
        """When the screen first showed an update of the chair that includes the message ``key``."""
        times = [at for minute, at in self.forecast.get(key[0], []) if minute >= key[1]]
        return min(times) if times else None

    async def warm_up(self) -> None:
        """Open every chair's session (its first message) and wait for each chair's first update."""
        self.connections = [
            await asyncio.open_connection("127.0.0.1", self.mllp_port) for _ in range(self.args.chairs)
        ]
        started = time.perf_counter()
        await asyncio.gather(*(self.chair(k, started, 0.0, range(0, 1)) for k in range(self.args.chairs)))
        deadline = time.perf_counter() + self.args.warmup_s
        while time.perf_counter() < deadline and len(self.forecast) < self.args.chairs:
            await asyncio.sleep(0.2)
        self.warmup_s = time.perf_counter() - started
        self.warmed = len(self.forecast)
        self.sent.clear()
        self.ack_s.clear()

    async def load(self) -> None:
        period_s = 60.0 / self.args.compression
        minutes = range(1, 1 + max(1, int(self.args.seconds / period_s)))
        stop, self.watching = asyncio.Event(), asyncio.Event()
        watcher = asyncio.create_task(self.watch(stop))
        await asyncio.wait_for(self.watching.wait(), 60)
        await self.warm_up()
        cpu_before = self.cpu()
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
        after = self.cpu()
        used = {k: after[k] - cpu_before[k] for k in after.keys() & cpu_before.keys()}
        workers = sum(v for k, v in used.items() if k.startswith("worker"))
        names = ("application", "workers", "redis", "client")
        self.cpu_used = {k: workers if k == "workers" else used[k] for k in names}  # killed: not counted
        self.applied_in_window = self.count(LiveUpdateRow)
        drain_s = self.args.kill_drain_s if self.kill else self.args.drain_s
        deadline = time.perf_counter() + drain_s
        while time.perf_counter() < deadline and (
            any(k not in self.measured or self.forecast_at(k) is None for k in self.sent)
        ):
            await asyncio.sleep(0.2)
        self.drained_for_s = time.perf_counter() - self.started - self.sent_for_s
        stop.set()
        watcher.cancel()
        for _, writer in self.connections:
            writer.close()

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of the application, the workers still running, Redis and this client."""
        out = {"application": tree_cpu_s(self.procs[1].pid), "redis": cpu_s(self.procs[0].pid),
               "client": sum(os.times()[:2])}  # fmt: skip
        out.update({f"worker {w.pid}": cpu_s(w.pid) for w in self.workers if w.poll() is None})
        return out

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
        measured = [self.measured[k] - self.sent[k] for k in self.sent if k in self.measured]
        forecast_at = {k: self.forecast_at(k) for k in self.sent}
        forecast = [at - self.sent[k] for k, at in forecast_at.items() if at is not None]
        stored, rows = self.count(LiveMessageRow), self.count(LiveUpdateRow)
        ack, screen, fc = (_percentiles(x) for x in (self.ack_s, measured, forecast))
        return {
            "chairs": self.args.chairs, "workers": self.n_workers, "kill": self.kill,
            "web_processes": self.args.web_processes,
            "database": self.db_url.split(":", 1)[0], "warmup_s": self.warmup_s, "warmed": self.warmed,
            "messages": len(self.sent), "messages_per_s": len(self.ack_s) / self.sent_for_s,
            "ack_p50_ms": 1000 * ack[49], "ack_p95_ms": 1000 * ack[94],
            "rows_per_s_in_window": self.applied_in_window / self.sent_for_s,
            "screen_p50_s": screen[49], "screen_p95_s": screen[94],
            "screen_share": len(measured) / max(1, len(self.sent)),
            "forecast_p50_s": fc[49], "forecast_p95_s": fc[94],
            "forecast_share": len(forecast) / max(1, len(self.sent)), "drain_s": self.drained_for_s,
            "updates_per_message": len(self.update_seqs) / max(1, len(self.sent) + self.warmed),
            "stored": stored, "without_engine_row": stored - rows,
            "not_covered_on_screen": sum(at is None for at in forecast_at.values()),
            "duplicated_on_screen": self.shown_twice,
            "cpu_ms_per_message": {k: 1000 * v / max(1, len(self.ack_s)) for k, v in self.cpu_used.items()},
            "cpu_share_of_window": {k: v / self.sent_for_s for k, v in self.cpu_used.items()},
        }  # fmt: skip


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its descendants alive now (``serve --workers N``: N processes)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += cpu_s(p)
        except OSError:
            continue
        todo += children.get(p, [])
    return total


def _percentiles(values: list[float]) -> list[float]:
    return statistics.quantiles(values, n=100) if len(values) > 1 else [float("nan")] * 99


def cpu_costs(work: Path) -> str:
    """CPU time (not wall time: fair on a loaded machine) per message of each stage, measured in this
    process: HL7 read + ACK, storage in batches of 100, building a session's engine, one engine update alone
    and per chair in one call for 100 chairs, one observation folded into a later update."""
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
    scenario = load_scenario(ROOT / "examples" / "high_uf.yaml")
    LiveEngine(scenario).observe(0.0, {"rbv_pct": 100.0})  # the kernel's first call compiles or loads it
    started = time.process_time()
    engines = [LiveEngine(scenario, seed=k) for k in range(100)]
    build_ms = 1000 * (time.process_time() - started) / 100

    def values(minute: int) -> dict[str, float]:
        return {"rbv_pct": 100 - 0.05 * minute, "uf_rate_ml_h": 900.0}

    observe_many([(e, 0.0, {"rbv_pct": 100.0}) for e in engines])
    started = time.process_time()
    for minute in range(1, 11):
        engines[0].observe(float(minute), values(minute))
    alone_ms = 1000 * (time.process_time() - started) / 10
    started = time.process_time()
    for minute in range(11, 16):
        observe_many([(e, float(minute), values(minute)) for e in engines])
    many_ms = 1000 * (time.process_time() - started) / 500
    started = time.process_time()
    for minute in range(16, 21):
        assimilate_many([(e, float(minute), values(minute)) for e in engines])
    folded_ms = 1000 * (time.process_time() - started) / 500
    return (
        f"CPU per message: HL7 read + ACK {read_ms:.2f} ms, storage {store_ms:.2f} ms (batches of 100); "
        f"engine: building one {build_ms:.0f} ms, an update {alone_ms:.1f} ms alone, {many_ms:.1f} ms per "
        f"chair in one call for 100 chairs, an observation folded into a later update {folded_ms:.2f} ms"
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
        f"{result['chairs']} chairs, {result['web_processes']} application process(es), {result['workers']} "
        f"worker(s){killed} on {result['database']}: "
        f"warm-up (first message of each chair to its first forecast on the screen) "
        f"{result['warmup_s']:.1f} s ({result['warmed']} chairs); then {result['messages']} messages, "
        f"{result['messages_per_s']:.0f} messages/s ACKed, ACK p50 {result['ack_p50_ms']:.1f} ms, "
        f"p95 {result['ack_p95_ms']:.1f} ms; measured values on the screen p50 "
        f"{result['screen_p50_s']:.3f} s, "
        f"p95 {result['screen_p95_s']:.3f} s ({100 * result['screen_share']:.0f} % shown); forecast "
        f"including the message on the screen p50 {result['forecast_p50_s']:.2f} s, p95 "
        f"{result['forecast_p95_s']:.2f} s ({100 * result['forecast_share']:.0f} % within "
        f"{result['drain_s']:.0f} s after the last message); {result['updates_per_message']:.2f} engine "
        f"updates per message; "
        + (
            f"after a full drain: lost {result['without_engine_row']} (no engine row), "
            f"{result['not_covered_on_screen']} (no update on the screen), "
            f"duplicated on screen {result['duplicated_on_screen']}"
            if result["kill"]
            else f"backlog {result['without_engine_row']} messages, duplicated on screen "
            f"{result['duplicated_on_screen']}"
        ),
        flush=True,
    )
    per = result["cpu_ms_per_message"]
    share = result["cpu_share_of_window"]
    print(
        "  CPU while sending, ms per ACKed message (cores used): "
        + ", ".join(f"{k} {per[k]:.2f} ({share[k]:.2f})" for k in per),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chairs", type=int, default=None, help="one run with this many chairs")
    parser.add_argument("--compression", type=float, default=60.0, help="simulated minutes per wall minute")
    parser.add_argument("--seconds", type=float, default=20.0, help="wall seconds of sending")
    parser.add_argument("--workers", type=int, default=2, help="engine workers")
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        help="application processes on the MLLP port (serve --workers)",
    )
    parser.add_argument("--kill", action="store_true", help="SIGKILL one worker half way, then drain fully")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at $CRAMPWATCH_TEST_DATABASE_URL")
    parser.add_argument(
        "--drain-s", type=float, default=10.0, help="wait for the screen after the last message"
    )
    parser.add_argument(
        "--kill-drain-s", type=float, default=600.0, help="longest full drain of a --kill run"
    )
    parser.add_argument("--warmup-s", type=float, default=300.0, help="longest wait for the first updates")
    parser.add_argument("--worker-nice", type=int, default=10, help="nice level of the workers (0: none)")
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
