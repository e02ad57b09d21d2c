"""Scale-out over Redis Streams: stored messages go to engine workers, their updates come back to the screens.

* The clinic application stores each message (durably, before its ACK), then adds it to the stream of its
  session's partition, ``crampwatch:live:<p>`` (``XADD``; ``p`` from the session id, so one session's messages
  stay in one stream, in order).
* ``crampwatch worker`` processes read their partitions through one consumer group (``XREADGROUP``).
  A partition is owned by one worker at a time through a lease (``SET NX PX``, renewed every loop); the
  partitions are shared out evenly among the live workers (heartbeats in a sorted set). A worker that takes a
  partition over first claims what the previous owner had read but not acknowledged (``XAUTOCLAIM``), so a
  worker killed mid-stream loses nothing.
* A worker applies each message to its session's engine (:class:`~crampwatch.chairside.applier.Applier`,
  which replays the stored messages when its engine is not at the message's predecessor), stores the update
  once (:meth:`crampwatch.store.Store.save_live_updates` skips a message that already has one: a message
  delivered twice is never applied twice), publishes it to ``crampwatch:live:updates`` and acknowledges
  the entry (``XACK``). The application reads the updates stream and passes them to its screens, which show
  each session's updates once, in order (:class:`~crampwatch.chairside.hub.LiveHub`).
* Each application process shows the measured values of the messages it stored at once, and adds them to a
  stream of its own, ``crampwatch:live:measured:<process>``, which the other application processes (listed
  with heartbeats in ``crampwatch:live:web``) read for their screens; no process reads its own back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import threading
import time
import uuid
import zlib
from collections.abc import Sequence
from typing import Any

import redis

from crampwatch.chairside.applier import Applier, EngineFactory
from crampwatch.chairside.hub import LiveHub
from crampwatch.chairside.service import screen_events
from crampwatch.store.live import LiveMessageRecord

log = logging.getLogger("crampwatch.worker")

PREFIX = "crampwatch:live"
GROUP = "engines"
UPDATES = f"{PREFIX}:updates"
WORKERS = f"{PREFIX}:workers"
#: Each application process's stream of the measured values it stored is ``MEASURED:<its id>``; the
#: processes' heartbeats are in the sorted set ``WEB``.
MEASURED = f"{PREFIX}:measured"
WEB = f"{PREFIX}:web"
#: Seconds between an application process's heartbeats (and its look for other processes), how long a
#: silent one is still read, and how long a stopped one's stream is kept (modelling choices).
WEB_BEAT_S = 1.0
WEB_ALIVE_S = 60.0
MEASURED_KEEP_S = 3600
#: Updates kept in the updates stream for screens that reconnect (approximate trim; modelling choice).
UPDATES_MAXLEN = 100_000
#: A worker's partition lease; a killed worker's partitions move on after this long (modelling choice).
LEASE_MS = 3000
#: Longest wait for new entries in one read, and entries per read (modelling choice).
BLOCK_MS = 200
READ_COUNT = 200
#: Seconds between checks for sessions closed elsewhere, whose engines are dropped (modelling choice).
PRUNE_S = 30.0

_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def stream_of(partition: int) -> str:
    return f"{PREFIX}:{partition}"


def partition_of(live_session_id: str, partitions: int) -> int:
    return zlib.crc32(live_session_id.encode()) % partitions


_FIELDS = tuple(f.name for f in dataclasses.fields(LiveMessageRecord))


def _text(name: str | bytes) -> str:
    """A stream or member name as Redis returned it (bytes unless the client decodes responses)."""
    return name.decode() if isinstance(name, bytes) else name


def encode(message: LiveMessageRecord) -> str:
    return json.dumps({name: getattr(message, name) for name in _FIELDS})  # values: tuples become lists


def decode(text: str | bytes) -> LiveMessageRecord:
    data = json.loads(text)
    data["values"] = tuple((float(t), str(n), float(v)) for t, n, v in data.get("values", []))
    return LiveMessageRecord(**data)


class RedisStreams:
    """The application's side: hand stored messages to the workers, receive their updates and the other
    application processes' measured values."""

    def __init__(self, url: str, partitions: int) -> None:
        self.redis = redis.Redis.from_url(url)
        self.partitions = partitions
        self.origin = uuid.uuid4().hex
        self.measured_stream = f"{MEASURED}:{self.origin}"
        self._beat()  # listed before it adds anything: the others read its stream from then on

    def publish(self, messages: Sequence[LiveMessageRecord], measured: Sequence[dict[str, Any]] = ()) -> None:
        """Add stored messages to their partitions' streams, and their measured values (already shown by this
        process) to this process's measured stream for the other application processes; one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for m in messages:
            pipe.xadd(stream_of(partition_of(m.live_session_id, self.partitions)), {"m": encode(m)})
        for event in measured:
            pipe.xadd(self.measured_stream, {"u": json.dumps(event)}, maxlen=UPDATES_MAXLEN, approximate=True)
        pipe.execute()

    def _beat(self) -> int:
        """Renew this process's heartbeat; the Redis server's clock (ms)."""
        seconds, micros = self.redis.time()
        now_ms = seconds * 1000 + micros // 1000
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(WEB, {self.origin: now_ms})
        pipe.zremrangebyscore(WEB, 0, now_ms - 1000 * WEB_ALIVE_S)
        pipe.expire(self.measured_stream, MEASURED_KEEP_S)
        pipe.execute()
        return now_ms

    def _follow(self, last: dict[str, str], since_ms: int) -> None:
        """Add the measured streams of application processes that appeared since ``since_ms`` (read from
        then: they started after it) to ``last``; drop those that stopped."""
        alive = {
            f"{MEASURED}:{_text(o)}"
            for o in self.redis.zrangebyscore(WEB, since_ms - 1000 * WEB_ALIVE_S, "+inf")
        }
        alive.discard(self.measured_stream)
        for stream in [st for st in last if st != UPDATES and st not in alive]:
            del last[stream]
        for stream in alive - last.keys():
            last[stream] = f"{since_ms}-0"

    async def forward_updates(self, hub: LiveHub) -> None:
        """Pass every update the workers publish from now on, and the other application processes' measured
        values, to ``hub`` (runs until cancelled)."""
        since_ms = await asyncio.to_thread(self._beat)
        last = {UPDATES: f"{since_ms}-0"}
        beat_at = time.monotonic()
        await asyncio.to_thread(self._follow, last, since_ms)
        while True:
            try:
                if time.monotonic() - beat_at >= WEB_BEAT_S:
                    beat_at = time.monotonic()
                    now_ms = await asyncio.to_thread(self._beat)
                    # a process found now was not there at the last look, which followed ``since_ms``
                    await asyncio.to_thread(self._follow, last, since_ms)
                    since_ms = now_ms
                events = await asyncio.to_thread(self._read, last)
            except redis.RedisError:
                log.exception("reading engine updates from Redis failed; retrying")
                await asyncio.sleep(1.0)
                continue
            hub.publish_many(events)

    def _read(self, last: dict[str, str]) -> list[dict[str, Any]]:
        """The next events of the streams in ``last`` (from their ids there, which move on), decoded here
        (a thread) rather than on the event loop that answers the HL7 messages."""
        found = self.redis.xread(dict(last), count=500, block=int(1000 * WEB_BEAT_S))
        events = []
        for stream, entries in found or []:
            name = _text(stream)
            for entry_id, fields in entries:
                last[name] = entry_id
                events.append(json.loads(fields[b"u"]))
        return events

    def close(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self.redis.zrem(WEB, self.origin)
        self.redis.close()


class EngineWorker:
    """One engine worker: owns a share of the partitions and applies their messages."""

    def __init__(
        self,
        store: Any,
        url: str,
        name: str,
        make_engine: EngineFactory,
        *,
        partitions: int,
        lease_ms: int = LEASE_MS,
    ) -> None:
        self.store = store
        self.redis = redis.Redis.from_url(url)
        self.name = name
        self.partitions = partitions
        self.lease_ms = lease_ms
        self.applier = Applier(store, make_engine)
        self.owned: set[int] = set()
        self.applied = 0  # message rows (updates and markers) this worker stored
        self._pruned_at = time.monotonic()
        self.processed = 0  # stream entries it handled
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        for p in range(partitions):
            try:
                self.redis.xgroup_create(stream_of(p), GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, then give the partitions back."""
        done = threading.Event()
        beat = threading.Thread(target=self._keep_alive, args=(done,), name="worker-leases", daemon=True)
        beat.start()
        try:
            while not stop.is_set():
                try:
                    self.step()
                except redis.RedisError:
                    log.exception("worker %s: Redis failed; retrying", self.name)
                    time.sleep(1.0)
        finally:
            done.set()
            beat.join()
        for p in list(self.owned):
            self._release(keys=[self._lease(p)], args=[self.name])
        self.redis.zrem(WORKERS, self.name)

    def step(self) -> int:
        """Renew, balance and take leases, then read and apply one batch; the entries handled."""
        self._balance()
        if not self.owned:
            time.sleep(BLOCK_MS / 1000)
            return 0
        found = self.redis.xreadgroup(
            GROUP,
            self.name,
            {stream_of(p): ">" for p in sorted(self.owned)},
            count=READ_COUNT,
            block=BLOCK_MS,
        )
        batch = {_text(stream): entries for stream, entries in found or []}
        self._prune()
        return self._process(batch)

    def _keep_alive(self, done: threading.Event) -> None:
        """Renew the heartbeat and the leases while a long batch is computed (a live worker keeps its
        partitions however long the engine takes; a killed one loses them after the lease)."""
        while not done.wait(self.lease_ms / 3000):
            try:
                self.redis.zadd(WORKERS, {self.name: int(time.time() * 1000)})
                for p in sorted(tuple(self.owned)):
                    self._renew(keys=[self._lease(p)], args=[self.name, self.lease_ms])
            except redis.RedisError:
                log.exception("worker %s: renewing leases failed", self.name)

    def _lease(self, partition: int) -> str:
        return f"{PREFIX}:lease:{partition}"

    def _balance(self) -> None:
        now_ms = int(time.time() * 1000)
        self.redis.zadd(WORKERS, {self.name: now_ms})
        self.redis.zremrangebyscore(WORKERS, 0, now_ms - 10 * self.lease_ms)
        alive = max(1, int(self.redis.zcount(WORKERS, now_ms - self.lease_ms, "+inf")))
        share = math.ceil(self.partitions / alive)
        for p in sorted(self.owned):
            if not self._renew(keys=[self._lease(p)], args=[self.name, self.lease_ms]):
                self.owned.discard(p)
        while len(self.owned) > share:
            p = max(self.owned)
            self._release(keys=[self._lease(p)], args=[self.name])
            self.owned.discard(p)
        start = zlib.crc32(self.name.encode()) % self.partitions
        taken = []
        for k in range(self.partitions):
            if len(self.owned) >= share:
                break
            p = (start + k) % self.partitions
            if p not in self.owned and self.redis.set(self._lease(p), self.name, nx=True, px=self.lease_ms):
                self.owned.add(p)
                taken.append(p)
        for p in taken:  # after taking them all: a long claim leaves no partition without an owner
            self._claim(p)

    def _claim(self, partition: int) -> None:
        """Take over what the partition's previous owner read but did not acknowledge."""
        cursor = "0-0"
        while True:
            cursor, entries, *_ = self.redis.xautoclaim(
                stream_of(partition), GROUP, self.name, min_idle_time=0, start_id=cursor, count=READ_COUNT
            )
            if entries:
                log.info(
                    "worker %s: claimed %d pending entries of partition %d",
                    self.name,
                    len(entries),
                    partition,
                )
                self._process({stream_of(partition): entries})
            if cursor in (b"0-0", "0-0"):
                return

    def _prune(self) -> None:
        """Every :data:`PRUNE_S`, drop the engines of sessions closed since (a timeout closes a session in
        the web process, without a message through the stream)."""
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_S or not self.applier.sessions:
            return
        self._pruned_at = now
        self.applier.forget_all_but({s.id for s in self.store.open_live_sessions()})

    def _process(self, batch: dict[str, Sequence[tuple[Any, dict[bytes, bytes]]]]) -> int:
        """Apply the entries read from several streams together (one engine update per chair), store the
        rows of the messages not applied before, publish the updates, acknowledge the entries."""
        batch = {st: [(i, f) for i, f in entries if f] for st, entries in batch.items()}  # claimed: trimmed?
        messages = [decode(fields[b"m"]) for entries in batch.values() for _, fields in entries]
        if not messages:
            return 0
        done = self.store.applied_seqs([m.seq for m in messages])
        results = self.applier.apply([m for m in messages if m.seq not in done])
        if results:
            added = self.store.save_live_updates((m.seq, m.live_session_id, m.t_min, d) for m, d in results)
            self.applied += sum(added)
        events = [e for m, d in results for e in screen_events(m, d)]
        if done:  # applied by a worker that died before publishing: publish the stored updates again
            events += self.store.stored_live_updates(sorted(done))
        pipe = self.redis.pipeline(transaction=False)
        for data in events:
            pipe.xadd(UPDATES, {"u": json.dumps(data)}, maxlen=UPDATES_MAXLEN, approximate=True)
        for stream, entries in batch.items():
            if entries:
                pipe.xack(stream, GROUP, *[i for i, _ in entries])
        pipe.execute()
        self.processed += len(messages)
        return len(messages)
