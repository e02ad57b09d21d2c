"""JSON API for logging in and out, the user's own account, and the administrator's user list and audit log.

Log in with ``POST /api/login`` (JSON body); the answer carries ``csrf_token``, to be sent as the
``X-CSRF-Token`` header on every unsafe request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from crampwatch.web import access
from crampwatch.web.api_models import AuditOut, LoginIn, MeOut, UserIn, UserOut
from crampwatch.web.auth import (
    AdminUser,
    CurrentUser,
    attempt_login,
    check_csrf,
    current_user,
    get_store,
    logout,
)
from crampwatch.web.security import csrf_token

public_router = APIRouter(prefix="/api", tags=["auth"])
router = APIRouter(prefix="/api", dependencies=[Depends(current_user), Depends(check_csrf)])


@public_router.post("/login", response_model=MeOut, responses={401: {}, 429: {}})
def api_login(request: Request, body: LoginIn) -> Any:
    """Log in; sets the session cookie and returns the CSRF token for later unsafe requests."""
    user = attempt_login(request, body.username, body.password)
    if user is None:
        return JSONResponse({"detail": "wrong username or password"}, status_code=401)
    return MeOut(
        username=user.username,
        role=user.role,
        patient_id=user.patient_id,
        csrf_token=csrf_token(request.session),
    )


@router.post("/logout", tags=["auth"], status_code=204)
def api_logout(request: Request) -> Response:
    logout(request)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, tags=["auth"])
def api_me(request: Request, user: CurrentUser) -> Any:
    return MeOut(
        username=user.username,
        role=user.role,
        patient_id=user.patient_id,
        csrf_token=csrf_token(request.session),
    )


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def api_users(request: Request, user: AdminUser) -> Any:
    return [
        UserOut(username=u.username, role=u.role, patient_id=u.patient_id)
        for u in access.list_users(get_store(request), user, request.url.path)
    ]


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"])
def api_create_user(request: Request, body: UserIn, user: AdminUser) -> Any:
    created = access.create_user(get_store(request), user, **body.model_dump())
    return UserOut(username=created.username, role=created.role, patient_id=created.patient_id)


@router.get("/audit", response_model=list[AuditOut], tags=["admin"])
def api_audit(request: Request, user: AdminUser, limit: int = 100, patient_id: str | None = None) -> Any:
    entries = access.list_audit(
        get_store(request), user, limit=limit, patient_id=patient_id, where=request.url.path
    )
    return [AuditOut.model_validate(a, from_attributes=True) for a in entries]
