"""Pages for the user's own account (password change) and the administration page (users, the latest
audit entries, adding users, ending a user's sessions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from crampwatch.errors import InputError
from crampwatch.model import format_validation_error
from crampwatch.store.security import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from crampwatch.web import access
from crampwatch.web.api_models import UserIn
from crampwatch.web.auth import AdminUser, CurrentUser, change_password, check_csrf, current_user, get_store
from crampwatch.web.errors import RateLimited
from crampwatch.web.pages import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(current_user), Depends(check_csrf)])
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)]


@router.get("/password")
def password_page(request: Request, user: CurrentUser) -> Response:
    return _password_page(request, 200)


def _password_page(request: Request, status_code: int, **context: object) -> Response:
    context["min_length"] = MIN_PASSWORD_LENGTH
    return render(request, "password.html", status_code=status_code, **context)


@router.post("/password")
def password_submit(
    request: Request,
    user: CurrentUser,
    current_password: PasswordField,
    new_password: PasswordField,
    new_password_again: PasswordField,
) -> Response:
    """Change the password; every session of the account ends and this browser continues in a new one."""
    try:
        if new_password != new_password_again:
            raise InputError("new_password: the two entries differ", "new_password")
        ended = change_password(request, user, current_password, new_password)
    except InputError as exc:
        return _password_page(request, 422, error=exc.message)
    except RateLimited as exc:
        message = f"Too many failed attempts. Try again in {exc.retry_after_s} seconds."
        response = _password_page(request, 429, error=message)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    return _password_page(request, 200, changed=True, ended=ended)


@router.post("/admin/users/{username}/end-sessions")
def admin_end_sessions(request: Request, username: str, user: AdminUser) -> Response:
    access.end_user_sessions(get_store(request), user, username)
    return RedirectResponse("/admin", status_code=303)


# --------------------------------------------------------------------------------------------- admin


@router.get("/admin")
def admin_page(request: Request, user: AdminUser) -> Response:
    return _render_admin(request, user)


def _render_admin(
    request: Request, user: Any, *, error: str | None = None, status_code: int = 200
) -> Response:
    request.app.state.anonymous_audit.flush(get_store(request))
    overview = access.admin_overview(get_store(request), user, request.url.path)
    context = {"error": error, "min_length": MIN_PASSWORD_LENGTH, **overview}
    return render(request, "admin.html", status_code=status_code, **context)


@router.post("/admin/users")
def admin_add_user(
    request: Request,
    user: AdminUser,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    role: Annotated[str, Form(max_length=16)],
    patient_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        body = UserIn(username=username, password=password, role=role, patient_id=patient_id or None)
        access.create_user(get_store(request), user, **body.model_dump())
    except ValidationError as exc:
        return _admin_error(request, user, format_validation_error(exc, UserIn, echo_input=False))
    except InputError as exc:
        return _admin_error(request, user, exc.message)
    return RedirectResponse("/admin", status_code=303)


def _admin_error(request: Request, user: Any, message: str) -> Response:
    return _render_admin(request, user, error=message, status_code=422)
