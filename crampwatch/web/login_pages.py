"""Logging in and out through the pages, and the home redirect (the JSON API's are in ``api_accounts``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from crampwatch.store.security import MAX_PASSWORD_LENGTH
from crampwatch.web.auth import CurrentUser, check_csrf, current_user, login, logout, session_user
from crampwatch.web.errors import RateLimited
from crampwatch.web.pages import HOME, render

public_router = APIRouter(include_in_schema=False)
protected_router = APIRouter(
    include_in_schema=False, dependencies=[Depends(current_user), Depends(check_csrf)]
)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


# --------------------------------------------------------------------------------------------- login


@public_router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    user = session_user(request)
    if user is not None:
        return RedirectResponse(HOME[user.role], status_code=303)
    return render(request, "login.html", next=_safe_next(next) or "")


@public_router.post("/login", dependencies=[Depends(check_csrf)])
async def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        user = await login(request, username.strip(), password)
    except RateLimited as exc:
        response = render(
            request,
            "login.html",
            status_code=429,
            next=_safe_next(next) or "",
            error=f"Too many failed attempts. Try again in {exc.retry_after_s} seconds.",
            username=username,
        )
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if user is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next) or "",
            error="Wrong username or password.",
            username=username,
        )
    return RedirectResponse(_safe_next(next) or HOME[user.role], status_code=303)


@protected_router.post("/logout")
def logout_submit(request: Request) -> Response:
    logout(request)
    return RedirectResponse("/login", status_code=303)


@protected_router.get("/")
def home(user: CurrentUser) -> Response:
    return RedirectResponse(HOME[user.role], status_code=303)
