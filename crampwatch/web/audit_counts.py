"""Anonymous refusals counted, not written one by one: one audit row per kind, client and minute.

A client without an account could otherwise add a disk-synced audit row per request (failed and refused
logins, requests without a CSRF token). :class:`AnonymousAudit` keeps the counts of the current minute in
memory (per server process) and writes each finished minute as rows with a ``count``
(:meth:`crampwatch.store.Store.audit_counts`); beyond :data:`MAX_CLIENTS_PER_MINUTE` clients in a minute,
further clients share one row (``ip=other``). So a flood adds at most (clients + 1) rows per kind and
minute, whatever its rate. Pending counts are written when a minute has ended and another event arrives,
when an administrator opens the audit log, and when the server stops.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from crampwatch.store.audit import AuditCount

#: Distinct clients counted apart in one minute (modelling choice: a unit's workstations fit easily).
MAX_CLIENTS_PER_MINUTE = 100
#: Existing accounts named per row (a client is refused after 20 failures in 5 minutes anyway).
MAX_ACCOUNTS_PER_ROW = 20
OTHER_CLIENTS = "other"

_Key = tuple[str, str, int]  # action, client, minute number (epoch minutes)


class AnonymousAudit:
    """Per-process counts of anonymous refusals; thread-safe."""

    def __init__(self, *, max_clients: int = MAX_CLIENTS_PER_MINUTE) -> None:
        self.max_clients = max_clients
        self._counts: dict[_Key, int] = {}
        self._accounts: dict[_Key, list[str]] = {}
        self._clients: dict[tuple[str, int], set[str]] = {}
        self._lock = threading.Lock()

    def record(self, store: Any, action: str, client: str, account: str | None = None) -> None:
        """Count one event; writes the minutes that have ended."""
        minute = int(time.time() // 60)
        with self._lock:
            seen = self._clients.setdefault((action, minute), set())
            if client not in seen and len(seen) >= self.max_clients:
                client = OTHER_CLIENTS
            seen.add(client)
            key = (action, client, minute)
            self._counts[key] = self._counts.get(key, 0) + 1
            names = self._accounts.setdefault(key, [])
            if account and account not in names and len(names) < MAX_ACCOUNTS_PER_ROW:
                names.append(account)
            ended = any(k[2] < minute for k in self._counts)
        if ended:
            self.flush(store, before_minute=minute)

    def flush(self, store: Any, before_minute: int | None = None) -> int:
        """Write the counts of minutes before ``before_minute`` (all when None); returns rows written."""
        with self._lock:
            keys = [k for k in self._counts if before_minute is None or k[2] < before_minute]
            rows = [
                AuditCount(
                    action=k[0],
                    client=k[1],
                    minute=datetime.fromtimestamp(k[2] * 60, UTC),
                    count=self._counts.pop(k),
                    accounts=tuple(self._accounts.pop(k, ())),
                )
                for k in keys
            ]
            for action_minute in [m for m in self._clients if before_minute is None or m[1] < before_minute]:
                del self._clients[action_minute]
        store.audit_counts(rows)
        return len(rows)
