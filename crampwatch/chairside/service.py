"""The one ingest path of machine data and what follows it: store (group commit), acknowledge, apply the
engine, show.

Every input (MLLP, ``POST /api/live/...`` JSON or FHIR) hands a :class:`MachineMessage` to
:meth:`LiveService.submit`. Messages that arrive together are stored in one transaction (one disk sync for
all, :meth:`crampwatch.store.Store.ingest_messages`); ``submit`` returns only once its message is durably
stored, so the HL7 ``AA`` follows storage and never waits for the engine. The measured values go to the
screens at once (:func:`measured_event`); the stored messages go to the engine: in this process
(:class:`~crampwatch.chairside.applier.Applier`, which folds the messages of one chair that arrived while it
was busy into one update), or, with a Redis URL, to Redis Streams for ``crampwatch worker`` processes.
Updates reach the screens through the :class:`~crampwatch.chairside.hub.LiveHub`.
Running sessions with no message for the timeout are closed; on start the engine catches up on any stored
message without an update (a restart mid-session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from crampwatch.chairside.applier import TILE_SIGNALS, UPDATE, Applier, EngineFactory
from crampwatch.chairside.hub import MEASURED, LiveHub
from crampwatch.chairside.settings import LiveSettings
from crampwatch.io.machine.messages import ERROR, MachineMessage, Refusal
from crampwatch.store.live import IngestOutcome, LiveMessageRecord

log = logging.getLogger("crampwatch.live")

#: Messages stored in one transaction at most (modelling choice: bounds the ACK delay of a burst).
MAX_BATCH = 256


def measured_event(outcome: IngestOutcome) -> dict[str, Any] | None:
    """What the screens show of a message as soon as it is stored (before the engine's update): its
    measured values of the tile's signals, ``{"event": "measured", ..., "values": {signal: [t_min, v]}}``."""
    message = outcome.message
    values = {name: [t, v] for t, name, v in sorted(message.values) if name in TILE_SIGNALS}
    if not values:
        return None
    return {
        "event": MEASURED,
        "live_session_id": message.live_session_id,
        "patient_id": outcome.patient_id,
        "seq": message.seq,
        "message_t_min": message.t_min,
        "values": values,
    }


def screen_events(message: LiveMessageRecord, data: dict[str, Any]) -> list[dict[str, Any]]:
    """What the screens get of a stored engine row: the update itself, or, for a refused end of treatment,
    that the session closed (markers of folded messages show nothing)."""
    if data.get("step", UPDATE) == UPDATE:
        return [data]
    if message.end_of_treatment:
        return [{"live_session_id": message.live_session_id, "closed": True}]
    return []


class LiveService:
    """Ingest, engine and fan-out of one clinic application process."""

    def __init__(
        self, store: Any, settings: LiveSettings, make_engine: EngineFactory, hub: LiveHub | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.hub = hub or LiveHub()
        self.applier = Applier(store, make_engine)
        self.streams: Any = None
        self._queue: asyncio.Queue[tuple[MachineMessage, asyncio.Future[Any]]] | None = None
        self._apply_queue: asyncio.Queue[list[LiveMessageRecord]] | None = None
        self._publish_queue: asyncio.Queue[tuple[list[Any], list[dict[str, Any]]]] | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self, streams: Any = None) -> None:
        """Start ingest, engine and timeout tasks on the running loop; catch up on unapplied messages."""
        loop = asyncio.get_running_loop()
        self.hub.bind(loop)
        self.streams = streams
        self._queue = asyncio.Queue()
        self._apply_queue = asyncio.Queue()
        self._publish_queue = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._ingest_loop(), name="live-ingest"),
            asyncio.create_task(self._timeout_loop(), name="live-timeouts"),
        ]
        if streams is None:
            self._tasks.append(asyncio.create_task(self._apply_loop(), name="live-apply"))
        else:
            self._tasks.append(asyncio.create_task(streams.forward_updates(self.hub), name="live-updates"))
            self._tasks.append(asyncio.create_task(self._publish_loop(), name="live-publish"))
        self._dispatch(await asyncio.to_thread(self.unapplied_messages))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    # ------------------------------------------------------------------ ingest
    async def submit(self, message: MachineMessage) -> IngestOutcome:
        """Store ``message`` (with whatever else arrives now) and return once it is on disk; a
        :class:`Refusal` when it is not stored."""
        if self._queue is None:
            raise Refusal(ERROR, "the live service is not running")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((message, future))
        result = await future
        if isinstance(result, Refusal):
            raise result
        return result

    async def _ingest_loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await asyncio.to_thread(self.store.ingest_messages, [m for m, _ in batch])
            except Exception as exc:  # noqa: BLE001  (the store is unreachable: refuse, keep listening)
                log.exception("live ingest: storing %d message(s) failed", len(batch))
                results = [Refusal(ERROR, f"storage unavailable ({type(exc).__name__}); resend")] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            stored = [r for r in results if isinstance(r, IngestOutcome) and not r.duplicate]
            measured = [m for m in map(measured_event, stored) if m is not None]
            self.hub.publish_many(measured)
            self._dispatch([r.message for r in stored], measured)

    def _dispatch(
        self, messages: Sequence[LiveMessageRecord], measured: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Hand stored messages to the engine (never waits: the next group commit goes on meanwhile)."""
        if not messages:
            return
        if self.streams is not None and self._publish_queue is not None:
            self._publish_queue.put_nowait((list(messages), list(measured)))
        elif self._apply_queue is not None:
            self._apply_queue.put_nowait(list(messages))

    async def _publish_loop(self) -> None:
        """Add stored messages to the workers' streams (and their measured values to the updates stream,
        for the other web processes), whatever has gathered in one round trip."""
        assert self._publish_queue is not None
        while True:
            messages, measured = await self._publish_queue.get()
            while not self._publish_queue.empty():
                more, more_measured = self._publish_queue.get_nowait()
                messages += more
                measured += more_measured
            try:
                await asyncio.to_thread(self.streams.publish, messages, measured)
            except Exception:  # noqa: BLE001  (Redis away: the messages are stored; caught up on start)
                log.exception("live: handing %d message(s) to the engine workers failed", len(messages))

    async def acknowledge(
        self, live_session_id: str, *, reason: str, snooze_min: float, username: str
    ) -> Any:
        """Store a nurse's acknowledgement as the session's next message and hand it to the engine."""
        outcome = await asyncio.to_thread(
            lambda: self.store.acknowledge_live(
                live_session_id, reason=reason, snooze_min=snooze_min, username=username
            )
        )
        self._dispatch([outcome.message])
        return outcome

    async def audit_refusal(self, refusal: Refusal, who: str, channel: str) -> None:
        """Write a refused message to the audit log (never raises: the listener must keep answering)."""
        try:
            await asyncio.to_thread(
                self.store.audit,
                username=who[:64],
                action="live_message_refused",
                patient_id=refusal.patient_id or None,
                detail=f"{channel} {refusal.code}: {refusal.reason}",
            )
        except Exception:  # noqa: BLE001
            log.exception("live: auditing a refused message failed")

    # ------------------------------------------------------------------ engine (embedded)
    async def _apply_loop(self) -> None:
        """Apply whatever has been stored since the last round (several messages of one chair are folded
        into one update when the engine is behind)."""
        assert self._apply_queue is not None
        while True:
            batch = await self._apply_queue.get()
            while not self._apply_queue.empty():
                batch.extend(self._apply_queue.get_nowait())
            try:
                await asyncio.to_thread(self.apply_and_publish, batch)
            except Exception:  # noqa: BLE001  (one bad batch must not stop the engine)
                log.exception("live: applying %d message(s) failed", len(batch))

    def apply_and_publish(self, messages: Sequence[LiveMessageRecord]) -> list[dict[str, Any]]:
        """Engine updates for stored messages, stored once each and published; returns the stored rows."""
        results = self.applier.apply(messages)
        self.store.save_live_updates((m.seq, m.live_session_id, m.t_min, data) for m, data in results)
        self.hub.publish_many([e for m, data in results for e in screen_events(m, data)])
        return [data for _, data in results]

    def unapplied_messages(self) -> list[LiveMessageRecord]:
        """Stored messages of running sessions that have no engine update yet (in ``seq`` order)."""
        pending: list[LiveMessageRecord] = []
        for session in self.store.open_live_sessions():
            messages = self.store.live_messages(session.id)
            applied = self.store.applied_seqs([m.seq for m in messages])
            pending.extend(m for m in messages if m.seq not in applied)
        return pending

    # ------------------------------------------------------------------ timeouts
    async def _timeout_loop(self) -> None:
        period_s = min(60.0, self.settings.session_timeout_min * 60 / 4)
        while True:
            await asyncio.sleep(period_s)
            try:
                await asyncio.to_thread(self.close_stale)
            except Exception:  # noqa: BLE001
                log.exception("live: closing timed-out sessions failed")

    def close_stale(self, now: datetime | None = None) -> list[str]:
        """Close the running sessions silent for longer than the timeout; their ids."""
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(minutes=self.settings.session_timeout_min)
        closed = [
            sid
            for sid in self.store.stale_live_sessions(cutoff)
            if self.store.close_live_session(sid, "timeout")
        ]
        for sid in closed:
            self.applier.forget(sid)
            self.hub.publish({"live_session_id": sid, "closed": True})
        return closed
