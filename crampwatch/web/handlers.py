"""How the application answers refusals and errors: JSON under ``/api``, an error page elsewhere.

Refused accesses (403, CSRF failures) are written to the audit log; validation errors name the field and
the rule but never repeat the input (which may be large or hostile).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from crampwatch.errors import InputError
from crampwatch.web import pages
from crampwatch.web.auth import anonymous_audit, get_store, session_user
from crampwatch.web.errors import CsrfFailed, Forbidden, NotAuthenticated, NotFound, RateLimited
from crampwatch.web.jobs import JobsBusy

logger = logging.getLogger("crampwatch.web")
#: Validation messages are cut to this length (they never include the input; loc paths can be long).
MAX_MESSAGE_CHARS = 300


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _error_page(request: Request, status_code: int, message: str) -> Response:
    return pages.render(request, "error.html", status_code=status_code, status=status_code, message=message)


def audit_refusal(request: Request, action: str, reason: str) -> None:
    """Record a refused request: who, what, and which patient's record it aimed at;
    anonymous refusals are counted per client and minute."""
    user = getattr(request.state, "user", None) or session_user(request)
    if user is None:
        anonymous_audit(request, action)
        return
    get_store(request).audit(
        username=user.username,
        action=action,
        patient_id=request.path_params.get("patient_id"),
        detail=f"{request.method} {request.url.path[:200]}: {reason}",
    )


def _slash_twin(request: Request) -> str | None:
    """The path with its trailing slash added or removed, when that path is a route of the application."""
    path = request.url.path
    other = path[:-1] if path.endswith("/") else path + "/"
    if not other.startswith("/") or other.startswith("//") or other == "":
        return None
    scope = {**request.scope, "path": other}
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return other
    return None


def _safe_errors(errors: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": str(e.get("type", "")),
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", ""))[:MAX_MESSAGE_CHARS],
        }
        for e in errors[:20]
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "not logged in"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden) -> Response:
        audit_refusal(request, "access_denied", exc.detail)
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=403)
        return _error_page(request, 403, f"Forbidden: {exc.detail}.")

    @app.exception_handler(CsrfFailed)
    def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        message = "missing or invalid CSRF token"
        audit_refusal(request, "csrf_refused", message)
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=403)
        return _error_page(request, 403, f"Forbidden: {message}. Reload the page and try again.")

    @app.exception_handler(RateLimited)
    def rate_limited(request: Request, exc: RateLimited) -> Response:
        return JSONResponse(
            {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after_s)}
        )

    @app.exception_handler(JobsBusy)
    def jobs_busy(request: Request, exc: JobsBusy) -> Response:
        headers = {"Retry-After": str(exc.retry_after_s)}
        message = f"{exc.reason}; try again in {exc.retry_after_s} s"
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=429, headers=headers)
        response = _error_page(request, 429, message[0].upper() + message[1:] + ".")
        response.headers.update(headers)
        return response

    @app.exception_handler(InputError)
    def input_error(request: Request, exc: InputError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=422)
        return _error_page(request, 422, exc.message)

    @app.exception_handler(NotFound)
    def not_found(request: Request, exc: NotFound) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return _error_page(request, 404, str(exc).capitalize() + ".")

    @app.exception_handler(RequestValidationError)
    def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = _safe_errors(list(exc.errors()))
        first = errors[0] if errors else {"loc": [], "msg": "invalid value"}
        loc = ".".join(p for p in first["loc"] if p not in ("body", "query", "path"))
        message = f"{loc or 'request'}: {first['msg']}"
        if _is_api(request):
            return JSONResponse({"detail": message, "errors": errors}, status_code=422)
        return _error_page(request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and request.method in ("GET", "HEAD"):
            twin = _slash_twin(request)
            if twin is not None:  # a relative Location: never a host taken from the request
                query = f"?{request.url.query}" if request.url.query else ""
                return RedirectResponse(twin + query, status_code=307)
        if _is_api(request) or exc.status_code in (405, 413):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    def server_error(request: Request, exc: Exception) -> Response:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        if _is_api(request):
            return JSONResponse({"detail": "internal server error"}, status_code=500)
        return PlainTextResponse("Internal server error.", status_code=500)
