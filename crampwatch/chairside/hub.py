"""In-process fan-out of engine updates to the open chairside screens (server-sent events).

Updates may arrive more than once (a worker that died after storing an update but before acknowledging its
stream entry has the update published again by the worker that claims the entry); the hub passes each
session's updates on once, in ``seq`` order, by remembering the last ``seq`` it sent per session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

#: Updates a slow screen may fall behind before the oldest are dropped (it reloads the tiles on reconnect).
QUEUE_SIZE = 2048


class LiveHub:
    """Subscribers get every new update; ``publish`` may be called from any thread."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._last_seq: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, data: dict[str, Any]) -> None:
        """Send an update (or a ``closed`` notice) to every subscriber, from any thread."""
        if self._loop is None or self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop shutting down
            self._loop.call_soon_threadsafe(self._fanout, data)

    def _fanout(self, data: dict[str, Any]) -> None:
        live_id, seq = data.get("live_session_id"), data.get("seq")
        if isinstance(live_id, str) and isinstance(seq, int):
            if seq <= self._last_seq.get(live_id, -1):
                return
            self._last_seq[live_id] = seq
        if data.get("closed"):
            self._last_seq.pop(str(live_id), None)
        for queue in list(self._subscribers):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(data)

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Updates from now on, until the consumer stops iterating."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

    @property
    def n_subscribers(self) -> int:
        return len(self._subscribers)
