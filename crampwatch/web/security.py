"""Session cookie, CSRF tokens and the security headers of every response.

The session cookie ``cw_session`` holds one random token (256 bits) and nothing else. A token names a
server-side login session (``login_sessions``, kept as a SHA-256) once its holder has logged in; before that
it only anchors the CSRF token of the login form. Logging in issues a new token (no session fixation);
logging out, a password change and an administrator's "end sessions" revoke the server-side session, so a
copied cookie stops working at once. The cookie is ``HttpOnly`` and ``SameSite=Lax``; whenever the request
arrived over https or the server sends HSTS on every answer (``CRAMPWATCH_HSTS=1``, behind a TLS proxy) it
is also ``Secure`` and named ``__Host-cw_session`` (RFC 6265bis §4.1.3.2: a browser accepts such a cookie
only from a secure origin, for the whole host, never set by a sibling domain). It has no ``Max-Age`` (the
browser drops it when closed) and is never renewed: the server ends sessions after :data:`SESSION_IDLE_S`
without a request and at :data:`SESSION_ABSOLUTE_S` after login.

CSRF tokens are an HMAC of the session token under the application's secret key: forms carry it in a
hidden ``csrf_token`` field, API clients in the ``X-CSRF-Token`` header of every unsafe request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "cw_session"
#: The cookie's name whenever it is ``Secure``.
SECURE_SESSION_COOKIE = "__Host-cw_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
#: A session ends after 30 min without a request (OWASP Session Management Cheat Sheet: 15–30 min idle
#: for applications handling sensitive data) ...
SESSION_IDLE_S = 30 * 60
#: ... and at the latest 12 h after login, one working shift (modelling choice).
SESSION_ABSOLUTE_S = 12 * 3600
#: Request bodies above 1 MiB are refused with 413 before they are read: the largest legitimate body (a
#: what-if with two 48-point profiles, a 2 000-character note) is a few kB (modelling choice).
MAX_BODY_BYTES = 1024 * 1024
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
STATE_TOKEN = "session_token"


def new_token() -> str:
    """A fresh random session token (32 bytes, URL-safe base64 without padding: 43 characters)."""
    return secrets.token_urlsafe(32)


def session_token(conn: HTTPConnection) -> str:
    """The session token of this request (set by :class:`SessionCookieMiddleware`)."""
    return str(conn.scope["state"][STATE_TOKEN])


def set_session_token(conn: HTTPConnection, token: str) -> None:
    """Send ``token`` as the new session cookie with this response."""
    conn.scope["state"][STATE_TOKEN] = token


def csrf_for(secret_key: str, token: str) -> str:
    """The CSRF token that belongs to a session token."""
    mac = hmac.new(secret_key.encode(), b"csrf:" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_valid(secret_key: str, token: str, supplied: str | None) -> bool:
    """Constant-time comparison of a supplied CSRF token with the session's."""
    return bool(supplied) and hmac.compare_digest(csrf_for(secret_key, token), str(supplied))


def cookie_name(secure: bool) -> str:
    """The session cookie's name: ``__Host-`` prefixed when the cookie is ``Secure``."""
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE


class SessionCookieMiddleware:
    """Read the session token from the cookie (a new one when absent or malformed); send it when changed.

    ``always_secure``: the server sends HSTS on every answer, so every client reaches it over https (a TLS
    proxy that does not forward the scheme): the cookie is ``Secure`` and ``__Host-`` named on every answer.
    """

    def __init__(self, app: ASGIApp, *, always_secure: bool = False) -> None:
        self.app = app
        self.always_secure = always_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = self.always_secure or scope.get("scheme") == "https"
        name = cookie_name(secure)
        raw = HTTPConnection(scope).cookies.get(name)
        received = raw if raw and _TOKEN_RE.match(raw) else None
        state = scope.setdefault("state", {})
        state[STATE_TOKEN] = received or new_token()
        # Static files need no session: a fresh anonymous token is not sent for them.
        is_static = scope.get("path", "").startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and state[STATE_TOKEN] != received and not is_static:
                cookie = f"{name}={state[STATE_TOKEN]}; Path=/; HttpOnly; SameSite=Lax"
                MutableHeaders(scope=message).append("Set-Cookie", cookie + ("; Secure" if secure else ""))
            await send(message)

        await self.app(scope, receive, send_wrapper)


#: Content-Security-Policy: everything from this origin only (no CDN, no third-party requests, no framing)
#: and no inline scripts. Styles may be inline: Plotly and htmx set element styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: No browser feature beyond what a page needs (W3C Permissions Policy).
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), interest-cohort=()"
)
#: HSTS for one year on https responses (RFC 6797; OWASP HTTP Headers Cheat Sheet).
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SecurityHeadersMiddleware:
    """Security headers on every answer (errors included); patient data is never cached (static files may be).

    ``Strict-Transport-Security`` is sent on https requests, or on all when ``hsts`` is ``True`` (a server
    that is only reachable through a TLS proxy).
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

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
                if self.hsts or scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
                if "server" in headers:
                    del headers["server"]
            await send(message)

        await self.app(scope, receive, send_wrapper)


def client_description(conn: HTTPConnection) -> str:
    """Client address and browser, as recorded with a login session."""
    ip = conn.client.host if conn.client else "unknown"
    return f"{ip} {conn.headers.get('user-agent', '')}"[:200]


__all__ = [
    "CSRF_FORM_FIELD",
    "CSRF_HEADER",
    "MAX_BODY_BYTES",
    "SESSION_ABSOLUTE_S",
    "SECURE_SESSION_COOKIE",
    "SESSION_COOKIE",
    "SESSION_IDLE_S",
    "SecurityHeadersMiddleware",
    "SessionCookieMiddleware",
    "cookie_name",
    "csrf_for",
    "csrf_valid",
    "new_token",
    "session_token",
    "set_session_token",
]
