"""Audit entries of concurrent requests share transactions (group commit), and each is committed before
the call that wrote it returns: on SQLite and PostgreSQL, from many threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from crampwatch.store import Store
from crampwatch.store.audit import AuditQuery
from crampwatch.store.group_commit import GroupCommit
from tests import store_fixtures
from tests.store_fixtures import run_in_threads

database_url = store_fixtures.database_url
store = store_fixtures.store

N_THREADS = 12
PER_THREAD = 8


def test_waiting_items_are_written_together_and_returned_after_their_commit():
    committed: list[str] = []
    calls: list[int] = []
    first_started = threading.Event()

    def write(items: Sequence[str]) -> None:
        calls.append(len(items))
        first_started.set()
        if "first" in items:
            time.sleep(0.3)  # a slow commit: every other caller arrives meanwhile
        committed.extend(items)

    group = GroupCommit(write)
    seen_at_return: dict[str, bool] = {}

    def submit(name: str) -> None:
        group.submit(name)
        seen_at_return[name] = name in committed

    first = threading.Thread(target=submit, args=("first",))
    first.start()
    assert first_started.wait(5)
    assert run_in_threads(submit, [(f"item{i}",) for i in range(20)]) == []
    first.join()
    assert sorted(committed) == sorted(["first", *(f"item{i}" for i in range(20))])  # each once
    assert all(seen_at_return.values()) and len(seen_at_return) == 21  # none returned before its commit
    assert calls[0] == 1 and sum(calls) == 21
    assert len(calls) <= 3 and group.batches == len(calls)  # the 20 waited through one commit, not 20


def test_a_failed_transaction_fails_every_caller_it_held_and_the_next_one_is_written():
    release = threading.Event()
    written: list[str] = []

    def write(items: Sequence[str]) -> None:
        if "first" in items:
            release.wait(5)
            written.extend(items)
            return
        if "poison" in items:
            raise RuntimeError("disk full")
        written.extend(items)

    group = GroupCommit(write)
    first = threading.Thread(target=group.submit, args=("first",))
    first.start()
    while group.waiting or not first.is_alive():  # until the first transaction is under way
        time.sleep(0.001)
    outcomes: dict[str, str] = {}

    def submit(name: str) -> None:
        try:
            group.submit(name)
            outcomes[name] = "ok"
        except RuntimeError as exc:
            outcomes[name] = str(exc)

    waiting = [threading.Thread(target=submit, args=(n,)) for n in ("a", "poison", "b")]
    for t in waiting:
        t.start()
    while group.waiting < 3:
        time.sleep(0.001)
    release.set()
    for t in (first, *waiting):
        t.join()
    assert outcomes == {"a": "disk full", "poison": "disk full", "b": "disk full"}  # one transaction
    assert written == ["first"]  # nothing of the failed transaction was reported written
    group.submit("later")
    assert written == ["first", "later"]


def test_concurrent_audit_entries_are_all_committed_before_each_call_returns(store: Store):
    """Every entry is stored once with what was given, and is visible to another connection (another
    Store on the same database) as soon as ``audit`` returns: committed, not queued for later."""
    other = Store.open(store.engine.url.render_as_string(hide_password=False), migrate=False)
    missing: list[str] = []

    def views(k: int) -> None:
        for i in range(PER_THREAD):
            detail = f"/sessions/s{k}-{i}"
            listed = [f"P{k}", f"P{k + 1}"] if i % 3 == 0 else []
            who = {"username": f"dr{k}", "action": "view_session", "patient_id": f"P{k}"}
            store.audit(**who, detail=detail, patient_ids=listed)
            found = other.list_audit(query=AuditQuery(limit=PER_THREAD, username=f"dr{k}"))
            if detail not in {a.detail for a in found}:
                missing.append(detail)

    try:
        assert run_in_threads(views, [(k,) for k in range(N_THREADS)]) == []
        assert missing == []
        entries = other.list_audit(limit=10_000)
    finally:
        other.close()
    assert len(entries) == N_THREADS * PER_THREAD
    assert len({a.id for a in entries}) == len(entries)
    for a in entries:
        k, i = (int(x) for x in a.detail.removeprefix("/sessions/s").split("-"))
        assert (a.username, a.action, a.patient_id) == (f"dr{k}", "view_session", f"P{k}")
        assert a.patient_ids == (tuple(sorted([f"P{k}", f"P{k + 1}"])) if i % 3 == 0 else ())
    by_user = {}
    for a in sorted(entries, key=lambda a: a.id):  # one thread's entries in the order it wrote them
        by_user.setdefault(a.username, []).append(int(a.detail.rsplit("-", 1)[1]))
    assert all(order == list(range(PER_THREAD)) for order in by_user.values())
