"""Scale-out over Redis Streams with real processes: two ``crampwatch worker`` processes apply the engine to
messages that arrive over MLLP; one is killed with SIGKILL mid-stream; the other claims its pending entries.
Nothing is lost, nothing is applied twice, and the updates equal those of an uninterrupted run (where both
runs have an update after the same message: a worker behind its input folds messages into one update)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from hl7.client import MLLPClient
from live_fixtures import make_live_store, oru, running_service, session_values
from redis_fixtures import redis_server

from crampwatch.chairside.engines import store_engine_factory
from crampwatch.chairside.settings import LiveSettings
from crampwatch.chairside.streams import GROUP, RedisStreams, partition_of, stream_of
from crampwatch.store.schema import LiveUpdateRow

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = ("P001", "P002", "P003")
MINUTES = range(0, 30, 3)  # 10 messages per chair


@pytest.fixture
def redis_url(tmp_path):
    yield from redis_server(tmp_path)


def start_worker(name: str, db_url: str, redis_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "crampwatch", "worker", "--redis-url", redis_url, "--database-url", db_url,
         "--name", name],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def messages() -> list[str]:
    return [oru(f"{pid}-{m:03d}", pid, m, session_values(m)) for m in MINUTES for pid in PATIENTS]


def wait_until(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def n_updates(store) -> int:
    """Messages the engine has taken in (an update of their own or folded into a later one)."""
    with store._read() as s:
        return s.query(LiveUpdateRow).count()


def engine_updates(shown: list[dict]) -> list[int]:
    """The seqs of the engine updates a screen received (not the measured values shown before them)."""
    return [d["seq"] for d in shown if "seq" in d and d.get("event") != "measured"]


def updates_by_message(store) -> dict[tuple[str, float], dict]:
    out = {}
    for session in store.open_live_sessions():
        for u in store.live_updates(session.id):
            out[(session.patient_id, u["message_t_min"])] = {
                k: u[k] for k in ("cramp_risk_30min", "cause", "forecast_30min", "forecast")
            }
    return out


@pytest.mark.slow
def test_worker_killed_mid_stream_loses_nothing_and_applies_nothing_twice(tmp_path, redis_url):
    sent = messages()
    # reference: the same messages applied in one process, no Redis
    reference_store = make_live_store(f"sqlite:///{tmp_path / 'ref.db'}", PATIENTS)
    with running_service(reference_store, make_engine=store_engine_factory(reference_store)) as svc:
        with MLLPClient("127.0.0.1", svc.port) as client:
            for m in sent:
                client.send_message(m)
        svc.drain(timeout=300)
    reference = updates_by_message(reference_store)
    reference_store.close()

    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    store = make_live_store(db_url, PATIENTS)
    workers = {name: start_worker(name, db_url, redis_url) for name in ("w1", "w2")}
    r = redis.Redis.from_url(redis_url)
    settings = LiveSettings(mllp_port=0, redis_url=redis_url)
    try:
        wait_until(lambda: r.zcard("crampwatch:live:workers") == 2, 300, "both workers to start")
        with running_service(
            store, settings=settings, streams=RedisStreams(redis_url, settings.partitions)
        ) as svc:
            half = len(sent) // 2
            with MLLPClient("127.0.0.1", svc.port) as client:
                acks = [client.send_message(m) for m in sent[:half]]
                wait_until(lambda: n_updates(store) >= 6, 300, "the workers to apply some messages")
                # kill the worker that holds a running session's partition; more messages follow for it
                parts = {partition_of(x.id, settings.partitions) for x in store.open_live_sessions()}
                leases = [f"crampwatch:live:lease:{p}" for p in parts]
                wait_until(lambda: all(r.get(k) for k in leases), 60, "the partitions to be shared out")
                owners = sorted({r.get(f"crampwatch:live:lease:{p}").decode() for p in parts})
                victim, survivor = owners[0], "w2" if owners[0] == "w1" else "w1"
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait(10)
                acks += [client.send_message(m) for m in sent[half:]]
            assert all(b"MSA|AA|" in a for a in acks)
            wait_until(lambda: n_updates(store) == len(sent), 300, "the surviving worker to finish")
            stored = {u["seq"] for x in store.open_live_sessions() for u in store.live_updates(x.id)}
            wait_until(lambda: set(engine_updates(svc.shown)) == stored, 30, "the screen to show all")
            shown = engine_updates(svc.shown)
            measured = [d["seq"] for d in svc.shown if d.get("event") == "measured"]
        # the survivor took the dead worker's partitions over
        assert {r.get(f"crampwatch:live:lease:{p}").decode() for p in parts} == {survivor}
        # 0 lost: every stored message was taken in by the engine (one row each: its update, or folded into
        # the next update); 0 applied twice: the screen got each update once and each message's measured
        # values once
        seqs = {m.seq for s in store.open_live_sessions() for m in store.live_messages(s.id)}
        rows = {
            q: step for s in store.open_live_sessions() for q, step in store.live_update_steps(s.id).items()
        }
        assert set(rows) == seqs and set(rows.values()) <= {"update", "coalesced"}
        updates = [u for s in store.open_live_sessions() for u in store.live_updates(s.id)]
        assert sum(u["messages_covered"] for u in updates) == len(sent)
        assert len(shown) == len(set(shown)) == len(updates)
        assert sorted(measured) == sorted(seqs)
        assert sum(r.xpending(stream_of(p), GROUP)["pending"] for p in range(settings.partitions)) == 0
        # the interrupted run computed what the uninterrupted one did (the engine state was replayed)
        got = updates_by_message(store)
        common = got.keys() & reference.keys()
        assert len(common) >= len(PATIENTS)  # at least each chair's last message
        assert {k: got[k] for k in common} == {k: reference[k] for k in common}
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        r.close()
        store.close()
