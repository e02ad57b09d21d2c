"""Login limiting: failed attempts counted per account and client, per client, and per account.

Three sliding windows (in memory, per server process) bound password guessing (OWASP Authentication Cheat
Sheet, "login throttling"):

* one account from one client: :data:`MAX_FAILURES_ACCOUNT_CLIENT` failures;
* one client, any accounts (username spraying): :data:`MAX_FAILURES_CLIENT` failures;
* one account, any clients (distributed guessing): :data:`MAX_FAILURES_ACCOUNT` failures.

The client is the connecting address; a forwarded address counts only when the application trusts the
proxy that sent it (``CRAMPWATCH_TRUSTED_PROXIES``). A successful login clears only its own
account-and-client count, so a valid account cannot be used to reset the other two.
"""

from __future__ import annotations

import threading
import time
from collections import deque

#: Window of all three counts: 5 minutes (modelling choice, as the limits below).
WINDOW_S = 300.0
MAX_FAILURES_ACCOUNT_CLIENT = 5
MAX_FAILURES_CLIENT = 20
MAX_FAILURES_ACCOUNT = 10
#: Keys kept before stale ones are dropped (bounds memory under a spraying attack).
MAX_KEYS = 100_000


class LoginRateLimiter:
    """Sliding-window counts of failed logins; thread-safe."""

    def __init__(
        self,
        *,
        window_s: float = WINDOW_S,
        max_account_client: int = MAX_FAILURES_ACCOUNT_CLIENT,
        max_client: int = MAX_FAILURES_CLIENT,
        max_account: int = MAX_FAILURES_ACCOUNT,
    ) -> None:
        self.window_s = window_s
        self.limits = {"pair": max_account_client, "client": max_client, "account": max_account}
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, ip: str) -> dict[str, tuple[str, ...]]:
        name = username.lower()
        return {"pair": ("pair", name, ip), "client": ("client", ip), "account": ("account", name)}

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def retry_after_s(self, username: str, ip: str) -> int:
        """Seconds until another attempt is allowed (0 = allowed now)."""
        now = time.monotonic()
        wait = 0
        with self._lock:
            for kind, key in self._keys(username, ip).items():
                q = self._recent(key, now)
                if len(q) >= self.limits[kind]:
                    wait = max(wait, int(self.window_s - (now - q[-self.limits[kind]])) + 1)
        return wait

    def record_failure(self, username: str, ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(username, ip).values():
                self._recent(key, now).append(now)
            if len(self._failures) > MAX_KEYS:
                self._failures = {
                    k: v for k, v in self._failures.items() if v and now - v[-1] < self.window_s
                }

    def reset(self, username: str, ip: str) -> None:
        """After a successful login: clear this account's count from this client only."""
        with self._lock:
            self._failures.pop(self._keys(username, ip)["pair"], None)
