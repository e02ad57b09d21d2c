"""Who is logged in (request dependencies), CSRF checks, and the login/logout shared by pages and the API.

What each role may see is decided in :mod:`crampwatch.web.access`; passwords are hashed with argon2 by the
store.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from crampwatch.web import access
from crampwatch.web.errors import CsrfFailed, NotAuthenticated, RateLimited
from crampwatch.web.security import CSRF_FORM_FIELD, CSRF_HEADER, csrf_valid, new_session

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_store(request: Request) -> Any:
    """The application's :class:`crampwatch.store.Store`."""
    return request.app.state.store


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_user(request: Request) -> Any | None:
    """The logged-in user record, or ``None``."""
    username = request.session.get("user")
    if not isinstance(username, str):
        return None
    user = get_store(request).get_user(username)
    if user is None:  # user removed since login
        request.session.pop("user", None)
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
    if not csrf_valid(request.session, supplied):
        raise CsrfFailed()


def attempt_login(request: Request, username: str, password: str) -> Any | None:
    """Check credentials under the rate limit; on success start a fresh session and audit the login."""
    limiter = request.app.state.login_limiter
    ip = client_ip(request)
    wait = limiter.retry_after_s(username, ip)
    if wait:
        raise RateLimited(wait)
    store = get_store(request)
    user = store.authenticate(username, password) if username and password else None
    if user is None:
        limiter.record_failure(username, ip)
        store.audit(username=username[:64] or "-", action="login_failed", detail=f"ip={ip}")
        return None
    limiter.reset(username, ip)
    new_session(request.session, user.username)
    store.audit(username=user.username, action="login", detail=f"ip={ip}")
    return user


def logout(request: Request) -> None:
    user = request.session.get("user")
    if isinstance(user, str):
        get_store(request).audit(username=user, action="logout")
    request.session.clear()


def csrf_field_name() -> str:
    return CSRF_FORM_FIELD


CurrentUser = Annotated[Any, Depends(current_user)]
ClinicianUser = Annotated[Any, Depends(require_role("clinician"))]
AdminUser = Annotated[Any, Depends(require_role("admin"))]
PatientUser = Annotated[Any, Depends(require_role("patient"))]
