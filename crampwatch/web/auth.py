"""Who is logged in (request dependencies), CSRF checks, and logging in and out, shared by pages and API.

What each role may see is decided in :mod:`crampwatch.web.access`; passwords are hashed with argon2 by the
store; login sessions live in the store (``login_sessions``) and the cookie carries only their token.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from crampwatch.errors import InputError
from crampwatch.store.security import check_password_policy
from crampwatch.web import access
from crampwatch.web.errors import CsrfFailed, NotAuthenticated, RateLimited
from crampwatch.web.ratelimit import ACCOUNT_SLOWDOWN_S
from crampwatch.web.security import (
    CSRF_FORM_FIELD,
    CSRF_HEADER,
    client_description,
    csrf_for,
    csrf_valid,
    new_token,
    session_token,
    set_session_token,
)
from crampwatch.web.settings import WebSettings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NO_USER = object()


def get_store(request: Request) -> Any:
    """The application's :class:`crampwatch.store.Store`."""
    return request.app.state.store


def settings(request: Request) -> WebSettings:
    return request.app.state.settings


def client_ip(request: Request) -> str:
    """The client's address (a trusted proxy's forwarded address has already replaced the proxy's)."""
    return request.client.host if request.client else "unknown"


def csrf_token(request: Request) -> str:
    """The CSRF token of this request's session (for forms and the API's ``csrf_token``)."""
    return csrf_for(settings(request).secret_key, session_token(request))


def session_user(request: Request) -> Any | None:
    """The logged-in user record of a live server-side session, or ``None`` (looked up once per request)."""
    cached = getattr(request.state, "session_user", _NO_USER)
    if cached is not _NO_USER:
        return cached
    user = get_store(request).resolve_login_session(
        session_token(request), idle_s=settings(request).session_idle_s
    )
    request.state.session_user = user
    return user


def current_user(request: Request) -> Any:
    """Dependency: the logged-in user, else :class:`NotAuthenticated`."""
    user = session_user(request)
    if user is None:
        raise NotAuthenticated()
    request.state.user = user
    return user


def require_role(*roles: str) -> Any:
    """Dependency factory: the logged-in user if their role is one of ``roles``, else 403."""

    def dependency(user: Annotated[Any, Depends(current_user)]) -> Any:
        access.require_role(user, *roles)
        return user

    return dependency


async def check_csrf(request: Request) -> None:
    """Dependency for unsafe methods: the token in ``X-CSRF-Token`` or the form field must match."""
    if request.method not in UNSAFE_METHODS:
        return
    supplied = request.headers.get(CSRF_HEADER)
    if not supplied:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FORM_FIELD)
            supplied = value if isinstance(value, str) else None
    if not csrf_valid(settings(request).secret_key, session_token(request), supplied):
        raise CsrfFailed()


def _start_session(request: Request, user: Any) -> Any:
    """End this client's previous session, if any, and start a new one under a new token; returns the
    user as the new session sees them (with the failed logins before it, to be told)."""
    store = get_store(request)
    store.end_login_session(session_token(request))
    token = new_token()
    store.start_login_session(
        user.username,
        token,
        absolute_s=settings(request).session_absolute_s,
        client=client_description(request),
    )
    set_session_token(request, token)
    seen = store.resolve_login_session(token, idle_s=settings(request).session_idle_s) or user
    request.state.session_user = seen
    return seen


def anonymous_audit(request: Request, action: str, account: str | None = None) -> None:
    """Count an anonymous refusal (one audit row per kind, client and minute; see ``audit_counts``)."""
    request.app.state.anonymous_audit.record(get_store(request), action, client_ip(request), account)


def _check_limit(request: Request, username: str, action: str, *, anonymous: bool) -> None:
    """Raise :class:`RateLimited` (and audit it) while this client is over a limit for this account."""
    ip = client_ip(request)
    wait = request.app.state.login_limiter.retry_after_s(username, ip)
    if wait:
        if anonymous:
            anonymous_audit(request, action)
        else:
            get_store(request).audit(username=username, action=action, detail=f"ip={ip} retry={wait}s")
        raise RateLimited(wait)


def login_delay_s(request: Request, username: str) -> float:
    """Before a login attempt: :class:`RateLimited` when this client is over its limits; else the seconds
    to wait first (an account under distributed guessing, a client it has not logged in from lately)."""
    _check_limit(request, username, "login_limited", anonymous=True)
    if not request.app.state.login_limiter.slowed(username):
        return 0.0
    if get_store(request).has_recent_login(username, client_ip(request)):
        return 0.0
    return ACCOUNT_SLOWDOWN_S


def attempt_login(request: Request, username: str, password: str) -> Any | None:
    """Check credentials (the caller applied :func:`login_delay_s`); on success start a new session and
    audit the login. A failure counts against the limits and the account (told to its owner)."""
    store = get_store(request)
    ip = client_ip(request)
    user = store.authenticate(username, password) if username and password else None
    if user is None:
        request.app.state.login_limiter.record_failure(username, ip)
        existing = store.record_failed_login(username)
        anonymous_audit(request, "login_failed", username if existing else None)
        return None
    request.app.state.login_limiter.reset(username, ip)
    seen = _start_session(request, user)
    store.audit(username=user.username, action="login", detail=f"ip={ip}")
    return seen


async def login(request: Request, username: str, password: str) -> Any | None:
    """The login limits, the slow-down (without holding a server thread), then the password check."""
    delay = await run_in_threadpool(login_delay_s, request, username)
    if delay:
        await asyncio.sleep(delay)
    return await run_in_threadpool(attempt_login, request, username, password)


def logout(request: Request) -> None:
    """End the server-side session; the client gets a fresh anonymous token."""
    user = session_user(request)
    get_store(request).end_login_session(session_token(request))
    if user is not None:
        get_store(request).audit(username=user.username, action="logout")
    set_session_token(request, new_token())
    request.state.session_user = None


def change_password(request: Request, user: Any, current_password: str, new_password: str) -> int:
    """Change the user's own password after checking the current one (under the login limits).

    Every session of the user ends, this one included; this client continues in a new session. Returns
    the number of other sessions that were ended.
    """
    _check_limit(request, user.username, "password_change_limited", anonymous=False)
    store = get_store(request)
    ip = client_ip(request)
    if store.authenticate(user.username, current_password) is None:
        request.app.state.login_limiter.record_failure(user.username, ip)
        store.audit(username=user.username, action="password_change_failed", detail=f"ip={ip}")
        raise InputError("current_password: not the current password", "current_password")
    if new_password == current_password:
        raise InputError("new_password: same as the current password (choose a new one)", "new_password")
    check_password_policy(new_password, user.username, "new_password")
    ended = store.set_password(user.username, new_password)
    _start_session(request, user)
    store.audit(
        username=user.username, action="password_changed", detail=f"ip={ip}; {ended} session(s) ended"
    )
    return max(0, ended - 1)


CurrentUser = Annotated[Any, Depends(current_user)]
ClinicianUser = Annotated[Any, Depends(require_role("clinician"))]
AdminUser = Annotated[Any, Depends(require_role("admin"))]
PatientUser = Annotated[Any, Depends(require_role("patient"))]
