"""Login limiting that cannot be turned against the account's owner.

Failed attempts are counted in sliding windows (in memory, per server process) after the OWASP
Authentication Cheat Sheet ("login throttling") and ASVS 4.0 §2.2.1 (anti-automation that does not let an
attacker lock a user out):

* one account from one client: :data:`MAX_FAILURES_ACCOUNT_CLIENT` failures, then that client is refused
  for that account (429 with ``Retry-After``); other clients are not;
* one client, any accounts (username spraying): :data:`MAX_FAILURES_CLIENT` failures, then that client is
  refused;
* one account, any clients (distributed guessing): beyond :data:`MAX_FAILURES_ACCOUNT` failures every
  further attempt on the account from a client it has not logged in from recently is **slowed** by
  :data:`ACCOUNT_SLOWDOWN_S`, never refused: the right password still logs in.

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
#: Wait before each attempt on an account under distributed guessing from a client it has not logged in
#: from (modelling choice: short for a person, long for a guessing script).
ACCOUNT_SLOWDOWN_S = 2.0
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
        """Seconds until this client may try this account again (0 = now): the per-account-and-client
        and per-client limits only; the per-account count never refuses (see :meth:`slowed`)."""
        now = time.monotonic()
        wait = 0
        keys = self._keys(username, ip)
        with self._lock:
            for kind in ("pair", "client"):
                q = self._recent(keys[kind], now)
                if len(q) >= self.limits[kind]:
                    wait = max(wait, int(self.window_s - (now - q[-self.limits[kind]])) + 1)
        return wait

    def slowed(self, username: str) -> bool:
        """Whether the account has had more failed logins than :data:`MAX_FAILURES_ACCOUNT` in the window
        (attempts from clients it has not logged in from are then slowed)."""
        now = time.monotonic()
        with self._lock:
            return len(self._recent(self._keys(username, "")["account"], now)) >= self.limits["account"]

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
