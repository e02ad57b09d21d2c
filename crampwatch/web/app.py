"""The FastAPI application: pages, JSON API, static files, error handling, session and security middleware.

Configuration for process managers (``uvicorn --factory crampwatch.web.app:app_from_env``):
``CRAMPWATCH_DATABASE_URL`` (default: the store's SQLite file) and ``CRAMPWATCH_SECRET_KEY`` (signs the
session cookies; when unset a random key is drawn at start, so sessions end when the server restarts).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from crampwatch.errors import InputError
from crampwatch.store.cache import LRUCache
from crampwatch.web import api, api_accounts, model_pages, pages, static_files, trend_pages, twin_pages
from crampwatch.web.auth import current_user
from crampwatch.web.errors import CsrfFailed, Forbidden, NotAuthenticated, NotFound, RateLimited
from crampwatch.web.security import LoginRateLimiter, SecurityHeadersMiddleware, SessionMiddleware

STATIC_DIR = Path(__file__).parent / "static"
API_TITLE = "crampwatch"
#: Session charts kept in memory, ~50 kB of HTML each (modelling choice).
CHART_CACHE_SIZE = 64


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _error_page(request: Request, status_code: int, message: str) -> Response:
    return pages.render(request, "error.html", status_code=status_code, status=status_code, message=message)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "not logged in"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=403)
        return _error_page(request, 403, f"Forbidden: {exc.detail}.")

    @app.exception_handler(CsrfFailed)
    def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        message = "missing or invalid CSRF token"
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=403)
        return _error_page(request, 403, f"Forbidden: {message}. Reload the page and try again.")

    @app.exception_handler(RateLimited)
    def rate_limited(request: Request, exc: RateLimited) -> Response:
        return JSONResponse(
            {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after_s)}
        )

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
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        message = f"{loc or 'request'}: {first.get('msg', 'invalid value')}"
        if _is_api(request):
            return JSONResponse({"detail": message, "errors": _jsonable(errors)}, status_code=422)
        return _error_page(request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or exc.status_code == 405:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _error_page(request, exc.status_code, str(exc.detail))


def _jsonable(errors: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(
        errors, custom_encoder={Exception: str, bytes: lambda b: b.decode("utf-8", "replace")}
    )


def create_app(
    store: Any | None = None, *, database_url: str | None = None, secret_key: str | None = None
) -> FastAPI:
    """Build the web application on ``store`` (or a store opened at ``database_url``)."""
    if store is None:
        from crampwatch.store import Store

        store = Store.open(url=database_url)
    key = secret_key or os.environ.get("CRAMPWATCH_SECRET_KEY") or secrets.token_urlsafe(32)
    app = FastAPI(
        title=API_TITLE,
        description="Why a hemodialysis patient cramps, and what to change. Log in with POST /api/login; "
        "send the returned csrf_token as the X-CSRF-Token header on every POST.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.store = store
    app.state.login_limiter = LoginRateLimiter()
    #: Rendered session charts (HTML), keyed by everything they show: a stored trace never changes.
    app.state.chart_cache = LRUCache(CHART_CACHE_SIZE)
    app.add_middleware(SessionMiddleware, secret_key=key)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        GZipMiddleware, minimum_size=static_files.GZIP_MIN_BYTES, compresslevel=static_files.GZIP_LEVEL
    )
    _install_error_handlers(app)

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=[Depends(current_user)])
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(static_files.router)
    app.include_router(api_accounts.public_router)
    app.include_router(api_accounts.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(pages.protected)
    app.include_router(trend_pages.router)
    app.include_router(model_pages.router)
    app.include_router(twin_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: configuration from ``CRAMPWATCH_*`` environment variables."""
    return create_app(database_url=os.environ.get("CRAMPWATCH_DATABASE_URL") or None)


__all__ = ["create_app", "app_from_env"]
