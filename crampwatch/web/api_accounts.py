"""JSON API for logging in and out, the user's own account, and the administrator's user list and audit log.

Log in with ``POST /api/login`` (JSON body); the answer carries ``csrf_token``, to be sent as the
``X-CSRF-Token`` header on every unsafe request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from crampwatch.store.audit import MAX_AUDIT_PAGE, AuditQuery
from crampwatch.web import access
from crampwatch.web.api_models import (
    AuditOut,
    EndedSessionsOut,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    UserIn,
    UserOut,
)
from crampwatch.web.auth import (
    AdminUser,
    CurrentUser,
    change_password,
    check_csrf,
    csrf_token,
    current_user,
    get_store,
    login,
    logout,
)
from crampwatch.web.security import session_token

public_router = APIRouter(prefix="/api", tags=["auth"])
router = APIRouter(prefix="/api", dependencies=[Depends(current_user), Depends(check_csrf)])


@public_router.post("/login", response_model=MeOut, responses={401: {}, 429: {}})
async def api_login(request: Request, body: LoginIn) -> Any:
    """Log in; sets the session cookie and returns the CSRF token for later unsafe requests, and the
    account's failed logins since its previous login (then no longer shown)."""
    user = await login(request, body.username, body.password)
    if user is None:
        return JSONResponse({"detail": "wrong username or password"}, status_code=401)
    if user.notice_failed_logins:
        await run_in_threadpool(get_store(request).clear_login_notice, session_token(request))
    return MeOut(
        username=user.username,
        role=user.role,
        patient_id=user.patient_id,
        csrf_token=csrf_token(request),
        failed_logins_before=user.notice_failed_logins,
        last_failed_login_at=user.notice_last_failed_at,
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
        csrf_token=csrf_token(request),
    )


@router.post("/me/password", response_model=MeOut, tags=["auth"])
def api_change_password(request: Request, body: PasswordChangeIn, user: CurrentUser) -> Any:
    """Change your own password: every session of the account ends; this client gets a new session and
    CSRF token (in the answer)."""
    change_password(request, user, body.current_password, body.new_password)
    return MeOut(
        username=user.username,
        role=user.role,
        patient_id=user.patient_id,
        csrf_token=csrf_token(request),
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
def api_audit(
    request: Request,
    response: Response,
    user: AdminUser,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE, description="entries per page")] = 100,
    before_id: Annotated[int | None, Query(ge=1, description="entries older than this id")] = None,
    since: Annotated[datetime | None, Query(description="entries at or after this time (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="entries at or before this time (ISO 8601)")] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    patient_id: Annotated[
        str | None, Query(max_length=64, description="entries about the patient, list views that showed them")
    ] = None,
) -> Any:
    """Audit entries, newest first, filtered; a full page carries ``Link: <...>; rel="next"``."""
    store = get_store(request)
    request.app.state.anonymous_audit.flush(store)
    query = AuditQuery(
        limit=limit,
        before_id=before_id,
        since=since,
        until=until,
        username=username,
        action=action,
        patient_id=patient_id,
    )
    entries = access.list_audit(store, user, query, where=request.url.path)
    if len(entries) == limit:
        params = dict(request.query_params) | {"before_id": str(entries[-1].id)}
        response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return [AuditOut.model_validate(a, from_attributes=True) for a in entries]


@router.post("/users/{username}/end-sessions", response_model=EndedSessionsOut, tags=["admin"])
def api_end_sessions(request: Request, username: str, user: AdminUser) -> Any:
    """End every login session of a user (a lost device, a leaving employee); audited."""
    return EndedSessionsOut(
        username=username, ended=access.end_user_sessions(get_store(request), user, username)
    )
