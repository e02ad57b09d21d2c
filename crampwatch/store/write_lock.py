"""One writer at a time on a SQLite file, handed over at once instead of polled for.

SQLite lets one connection write at a time. A connection that finds the write lock taken waits in SQLite's
busy handler, which sleeps and retries (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, then 100 ms
steps: ``sqliteDefaultBusyCallback`` in SQLite's ``main.c``): a writer that finds the lock held for a 4-ms
commit waits 8 ms, and longer each time it loses again. :class:`WriteLock` queues the writers of a
database file before they ask SQLite: the threads of one process on a lock, the processes on an operating
system lock of a file beside the database (``<database>-writelock``, ``flock``), so the next writer starts
as soon as the previous one has committed. SQLite's own lock stays the authority: writers that do not use
this lock (other programs, the ``sqlite3`` shell) are still kept out by it, and ``busy_timeout`` still
applies. A process that dies holding the file lock releases it with its open files.

WAL databases must be used by processes on one host (https://www.sqlite.org/wal.html, "WAL does not work
over a network filesystem"), where ``flock`` locks are shared by all processes. Without ``fcntl``
(Windows) only the threads of one process queue on the lock.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = "-writelock"


class WriteLock:
    """Reentrant lock of the writers of one SQLite file (``path``), across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.database = Path(path).expanduser().absolute()
        self.path = Path(f"{self.database}{LOCK_SUFFIX}")
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._fd_pid = 0

    def _file(self) -> int | None:
        """The lock file, opened once per process (a forked child opens its own: a lock taken through a
        descriptor inherited across ``fork`` would be shared with the parent); ``None`` when it cannot be
        opened (SQLite's lock still keeps writers apart, only with its busy handler's waits).

        Opened for reading (``flock`` needs no more), so every account that may write the database may take
        the lock; created with the database file's permissions, as SQLite creates its ``-wal`` file."""
        if self._fd_pid != os.getpid():
            try:
                mode = self.database.stat().st_mode & 0o777
            except OSError:
                mode = 0o644
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), mode)
            except OSError:
                self._fd = None
            self._fd_pid = os.getpid()
        return self._fd

    def __enter__(self) -> WriteLock:
        self._threads.acquire()
        try:
            if self._depth == 0 and fcntl is not None and (fd := self._file()) is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # blocks without the interpreter lock
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and fcntl is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        """Close the lock file (the lock must not be held)."""
        with self._threads:
            if self._fd is not None and self._fd_pid == os.getpid():
                os.close(self._fd)
            self._fd, self._fd_pid = None, 0
