"""Heavy work as bounded jobs: training the unit model, refitting a twin, optimizer runs.

Each server process runs heavy work on :data:`JOB_THREADS` threads of its own at a lowered CPU priority
(``nice`` +:data:`JOB_NICE` on Linux), so that page requests, which run at normal priority, are served
first when the cores are busy. At most :data:`MAX_WAITING` further jobs wait per process; beyond that a
request is refused with 429 and ``Retry-After`` (estimated from the recent job durations) instead of
piling up threads. Training runs at most once at a time per unit and a twin refit once per patient,
across every process (the ``jobs`` ledger of the store); a trained model is stored inactive and used only
after an administrator activates it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from crampwatch.store.kept import JOB_HEARTBEAT_S, beat_jobs

T = TypeVar("T")
logger = logging.getLogger("crampwatch.web")

#: Threads running heavy work per server process (modelling choice: one core's worth per process, so
#: that a 2-process server on 2 cores always has CPU left for pages).
JOB_THREADS = 1
#: Jobs waiting for a thread per process before requests are refused (modelling choice).
MAX_WAITING = 3
#: Niceness of the job threads (Linux: per thread; 0-19, higher yields more; modelling choice).
JOB_NICE = 10
#: Retry-After bounds, seconds.
MIN_RETRY_S, MAX_RETRY_S = 1, 600
#: Seconds assumed for a job before any has finished (the optimizer's worst example takes ~0.4 s).
FIRST_JOB_ESTIMATE_S = 2.0


class JobsBusy(Exception):
    """Heavy work refused: too many jobs in this process, or the same job already runs; 429."""

    def __init__(self, retry_after_s: int, reason: str) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.reason = reason


def _lower_priority() -> None:
    """Pool initializer: lower this thread's CPU priority (Linux threads have their own niceness)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICE)


class JobRunner:
    """The bounded job queue of one server process."""

    def __init__(self, *, threads: int = JOB_THREADS, max_waiting: int = MAX_WAITING) -> None:
        self.threads = threads
        self.capacity = threads + max_waiting
        self._pool: ThreadPoolExecutor | None = None  # made at the first job (again after a shutdown)
        self._waiting: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._durations: deque[float] = deque(maxlen=20)
        self._ledger: dict[int, Any] = {}  # job id -> store, for heartbeats
        self._beating = False

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def retry_after_s(self, waiting: int | None = None) -> int:
        """Seconds until a slot is likely free: the mean recent job time per job ahead, per thread."""
        mean = sum(self._durations) / len(self._durations) if self._durations else FIRST_JOB_ESTIMATE_S
        ahead = self._in_flight - self.threads + 1 if waiting is None else waiting
        return int(min(MAX_RETRY_S, max(MIN_RETRY_S, math.ceil(mean * max(1, ahead) / self.threads))))

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Queue ``fn(*args)``; :class:`JobsBusy` when this process already holds its capacity."""
        with self._lock:
            if self._in_flight >= self.capacity:
                raise JobsBusy(self.retry_after_s(), "the server is busy with other computations")
            self._in_flight += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.threads, thread_name_prefix="crampwatch-job", initializer=_lower_priority
                )
            pool = self._pool
        future = pool.submit(self._timed, fn, *args)
        self._waiting.add(future)
        future.add_done_callback(self._waiting.discard)
        return future

    def _timed(self, fn: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._durations.append(time.perf_counter() - started)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` as a job and wait for its result without holding a request thread."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    def keep_alive(self, store: Any, job_id: int) -> None:
        """Heartbeats for a ledger job while it runs (another process can then tell it is alive)."""
        with self._lock:
            self._ledger[job_id] = store
            if self._beating:
                return
            self._beating = True
        threading.Thread(target=self._beat, name="crampwatch-job-heartbeat", daemon=True).start()

    def done(self, job_id: int) -> None:
        with self._lock:
            self._ledger.pop(job_id, None)

    def _beat(self) -> None:
        while True:
            time.sleep(JOB_HEARTBEAT_S)
            with self._lock:
                by_store: dict[int, tuple[Any, list[int]]] = {}
                for job_id, store in self._ledger.items():
                    by_store.setdefault(id(store), (store, []))[1].append(job_id)
                if not by_store:
                    self._beating = False
                    return
            for store, ids in by_store.values():
                try:
                    beat_jobs(store, ids)
                except Exception:  # a heartbeat must never kill the thread
                    logger.exception("job heartbeat failed")

    def shutdown(self) -> None:
        """At the application's shutdown: waiting jobs are dropped; a later job starts a new pool (an
        application object may be started again, as test clients do)."""
        with self._lock:
            pool, self._pool = self._pool, None
        for future in list(self._waiting):
            if future.cancel():  # never started: no longer in flight
                with self._lock:
                    self._in_flight -= 1
        if pool is not None:
            pool.shutdown(wait=False)
