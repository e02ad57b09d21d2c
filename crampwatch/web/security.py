"""Session cookie, CSRF tokens, login rate limit and security headers.

The session is a signed cookie (itsdangerous, HMAC-SHA1 over the JSON payload, with a timestamp): it holds
the username and a per-session CSRF token, nothing else. It is ``HttpOnly``, ``SameSite=Lax`` and ``Secure``
whenever the request arrived over https (``scope["scheme"]``; run uvicorn with ``--proxy-headers`` behind
a TLS proxy). Forms carry the CSRF token in a hidden ``csrf_token`` field; API clients send it in the
``X-CSRF-Token`` header for every unsafe method (POST/PUT/PATCH/DELETE).
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import MutableMapping
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "cw_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
#: Sessions expire 12 h after the last response that refreshed the cookie (a working shift; modelling choice).
SESSION_MAX_AGE_S = 12 * 3600
#: Login rate limit: at most 5 failed attempts per (username, client IP) in a sliding 5-minute window
#: (the example limit of the requirements; OWASP Authentication Cheat Sheet recommends throttling).
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_S = 300.0


class SessionMiddleware:
    """Load the signed session cookie into ``scope["session"]`` and write it back when it changed.

    Every visitor gets a session with a random CSRF token (so the login form is protected too); logging in
    replaces the whole session (new token), which prevents session fixation.
    """

    def __init__(self, app: ASGIApp, secret_key: str, max_age_s: int = SESSION_MAX_AGE_S) -> None:
        self.app = app
        self.max_age_s = max_age_s
        self.serializer = URLSafeTimedSerializer(secret_key, salt="crampwatch.session")

    def _load(self, raw: str | None) -> dict[str, Any] | None:
        if not raw:
            return None
        try:
            data = self.serializer.loads(raw, max_age=self.max_age_s)
        except BadSignature:  # includes SignatureExpired
            return None
        return data if isinstance(data, dict) and isinstance(data.get("csrf"), str) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        loaded = self._load(conn.cookies.get(SESSION_COOKIE))
        session: dict[str, Any] = loaded if loaded is not None else {"csrf": secrets.token_urlsafe(32)}
        original = json.dumps(session, sort_keys=True)
        scope["session"] = session
        secure = scope.get("scheme") == "https"
        # Static files need no session; everything else refreshes the cookie so idle sessions expire.
        is_static = scope.get("path", "").startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                current: MutableMapping[str, Any] = scope["session"]
                changed = json.dumps(current, sort_keys=True) != original or loaded is None
                if not is_static and (changed or current.get("user")):
                    headers = MutableHeaders(scope=message)
                    value = self.serializer.dumps(dict(current))
                    cookie = (
                        f"{SESSION_COOKIE}={value}; Path=/; Max-Age={self.max_age_s}; HttpOnly; SameSite=Lax"
                    )
                    if secure:
                        cookie += "; Secure"
                    headers.append("Set-Cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_wrapper)


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token (created when missing)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid(session: MutableMapping[str, Any], supplied: str | None) -> bool:
    """Constant-time comparison of a supplied token with the session's."""
    expected = session.get("csrf")
    return bool(supplied) and isinstance(expected, str) and hmac.compare_digest(expected, str(supplied))


def new_session(session: MutableMapping[str, Any], username: str) -> None:
    """Replace the session with a fresh one for ``username`` (new CSRF token: no session fixation)."""
    session.clear()
    session["user"] = username
    session["csrf"] = secrets.token_urlsafe(32)


class LoginRateLimiter:
    """Sliding-window count of failed logins per (username, client IP); in memory, per server process."""

    def __init__(self, max_failures: int = LOGIN_MAX_FAILURES, window_s: float = LOGIN_WINDOW_S) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def retry_after_s(self, username: str, ip: str) -> int:
        """Seconds until another attempt is allowed (0 = allowed now)."""
        now = time.monotonic()
        with self._lock:
            q = self._recent((username.lower(), ip), now)
            if len(q) < self.max_failures:
                return 0
            return max(1, int(self.window_s - (now - q[0])) + 1)

    def record_failure(self, username: str, ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent((username.lower(), ip), now).append(now)
            if len(self._failures) > 100_000:  # bound memory under a username-spraying attack
                self._failures = {
                    k: v for k, v in self._failures.items() if v and now - v[-1] < self.window_s
                }

    def reset(self, username: str, ip: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), ip), None)


#: Content-Security-Policy: everything from this origin only (no CDN, no third-party requests, no framing).
#: Inline scripts/styles stay allowed: Plotly draws each chart from an inline <script> and injects styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SecurityHeadersMiddleware:
    """Add conservative security headers; patient data is never cached (static files may be)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope.get("path", "").startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name == "Cache-Control" and is_static:
                        continue
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_wrapper)
