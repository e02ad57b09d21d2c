"""The writer lock of a SQLite file: reentrant in a thread, exclusive between threads and processes, and
handed over as soon as it is released."""

from __future__ import annotations

import multiprocessing
import threading

from crampwatch.store.write_lock import WriteLock


def _hold_lock(path: str, held: object, release: object) -> None:
    with WriteLock(path):
        held.set()
        release.wait(10)


def test_the_sqlite_writer_lock_is_shared_by_processes(tmp_path):
    path = str(tmp_path / "crampwatch.db")
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(path, held, release))
    holder.start()
    try:
        assert held.wait(60)
        lock = WriteLock(path)
        acquired = threading.Event()

        def take() -> None:
            with lock:
                acquired.set()

        t = threading.Thread(target=take)
        t.start()
        assert not acquired.wait(0.3)  # the other process holds it
        release.set()
        assert acquired.wait(10)  # handed over once released
        t.join()
        lock.close()
    finally:
        release.set()
        holder.join(10)


def test_the_writer_lock_is_reentrant_in_a_thread_and_exclusive_between_threads(tmp_path):
    lock = WriteLock(tmp_path / "crampwatch.db")
    taken = threading.Event()

    def take() -> None:
        with lock:
            taken.set()

    with lock:
        with lock:  # a write inside a write of the same thread does not wait for itself
            other = threading.Thread(target=take)
            other.start()
        assert not taken.wait(0.2)  # still held by the outer block
    assert taken.wait(10)
    other.join()
    lock.close()
    assert (tmp_path / "crampwatch.db-writelock").exists()
