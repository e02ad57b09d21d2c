"""Group commit: items that many threads hand in at once are written in one shared transaction.

Every page view appends an audit entry, and on SQLite each write transaction holds the database's one write
lock while its commit reaches the disk (``synchronous=FULL``: an fsync of a few milliseconds). Written one
transaction per view, concurrent views queue behind each other's fsync, and every hand-over of the lock
costs a thread switch (the waiting thread must also win back the interpreter lock), so the wait grows with
the queue. With group commit the first caller writes every item waiting at that moment, its own included, in
one transaction; callers that arrive meanwhile wait and are written together by the next one. The wait is at
most about two commits, whatever the number of callers, and the batch grows with the load.

Nothing is acknowledged before it is on disk: :meth:`GroupCommit.submit` returns only after the transaction
holding its item has committed, and raises the transaction's error in every caller whose item it held
(the whole transaction was rolled back: none of those items was written).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class _Waiter(Generic[T]):
    __slots__ = ("item", "done", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Writes items handed in by concurrent threads with ``write_batch`` (one transaction per call).

    ``write_batch(items)`` must write every item in one transaction, committed when it returns, and raise
    (having rolled back) otherwise. At most one ``write_batch`` runs at a time, in one of the callers'
    threads.
    """

    def __init__(self, write_batch: Callable[[Sequence[T]], None]) -> None:
        self._write_batch = write_batch
        self._cond = threading.Condition(threading.Lock())
        self._waiting: list[_Waiter[T]] = []
        self._writing = False
        self.batches = 0  # transactions written (tests and diagnostics)

    @property
    def waiting(self) -> int:
        """Items handed in and waiting for the next transaction."""
        with self._cond:
            return len(self._waiting)

    def submit(self, item: T) -> None:
        """Write ``item``; returns once it is committed, raises the error of the transaction that held it."""
        me = _Waiter(item)
        batch: list[_Waiter[T]] = []
        with self._cond:
            self._waiting.append(me)
            while self._writing and not me.done:
                self._cond.wait()
            if not me.done:  # nobody is writing: write everything waiting, this item included
                self._writing = True
                batch, self._waiting = self._waiting, []
        if batch:
            self._lead(batch)
        if me.error is not None:
            raise me.error

    def _lead(self, batch: list[_Waiter[T]]) -> None:
        error: BaseException | None = None
        try:
            self._write_batch([w.item for w in batch])
        except BaseException as exc:  # handed to every caller whose item the transaction held
            error = exc
        with self._cond:
            self.batches += 1
            for w in batch:
                w.error = error
                w.done = True
            self._writing = False
            self._cond.notify_all()
