"""In-process fan-out of engine updates to the open chairside screens (server-sent events).

Two kinds of event reach the screens: a message's measured values as soon as it is stored
(``"event": "measured"``) and the engine's update after it (no ``event`` key). Either may arrive more than
once (a worker that died after storing an update but before acknowledging its stream entry has the update
published again by the worker that claims the entry); the hub passes each session's events of each kind
on once, in ``seq`` order, by remembering the last ``seq`` it sent per session and kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

#: Updates a slow screen may fall behind before the oldest are dropped (it reloads the tiles on reconnect).
QUEUE_SIZE = 4096
#: ``event`` of a message's measured values (shown before the engine's update).
MEASURED = "measured"


class LiveHub:
    """Subscribers get every new update; ``publish`` may be called from any thread."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._last_seq: dict[tuple[str, str], int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve subscribers on ``loop`` (called from the loop's thread)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def publish(self, data: dict[str, Any]) -> None:
        """Send an update (or a ``closed`` notice) to every subscriber, from any thread."""
        self.publish_many([data])

    def publish_many(self, events: Sequence[dict[str, Any]]) -> None:
        """Send several events, in order, from any thread (one wake-up of the loop from another thread)."""
        if self._loop is None or self._loop.is_closed() or not events:
            return
        if threading.get_ident() == self._loop_thread:
            self._fanout_all(events)
            return
        with contextlib.suppress(RuntimeError):  # loop shutting down
            self._loop.call_soon_threadsafe(self._fanout_all, list(events))

    def _fanout_all(self, events: Sequence[dict[str, Any]]) -> None:
        for data in events:
            self._fanout(data)

    def _fanout(self, data: dict[str, Any]) -> None:
        live_id, seq = data.get("live_session_id"), data.get("seq")
        key = (str(live_id), str(data.get("event", "update")))
        if isinstance(live_id, str) and isinstance(seq, int):
            if seq <= self._last_seq.get(key, -1):
                return
            self._last_seq[key] = seq
        if data.get("closed") or data.get("ended"):
            # nothing of a closed session is shown again (late copies from Redis)
            self._last_seq[key] = self._last_seq[(str(live_id), MEASURED)] = sys.maxsize
        for queue in list(self._subscribers):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(data)

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Updates from now on, until the consumer stops iterating."""
        async for batch in self.subscribe_batches():
            for data in batch:
                yield data

    async def subscribe_batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Updates from now on, as lists of whatever has arrived since the consumer last asked (a screen
        sends them in one write)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            while True:
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                yield batch
        finally:
            self._subscribers.discard(queue)

    @property
    def n_subscribers(self) -> int:
        return len(self._subscribers)
