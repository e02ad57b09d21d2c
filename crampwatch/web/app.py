"""The FastAPI application: pages, JSON API, static files, error handling, session and security middleware.

Configuration for process managers (``uvicorn --factory crampwatch.web.app:app_from_env --no-proxy-headers
--no-server-header``): ``CRAMPWATCH_DATABASE_URL`` (default: the store's SQLite file) and the settings of
:mod:`crampwatch.web.settings` (secret key, session lifetimes, body limit, trusted proxies, HSTS).
Forwarded client addresses are honoured by the application itself, from the proxies it is told to trust;
uvicorn's own ``--proxy-headers`` (on by default, trusting 127.0.0.1) must be off.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from crampwatch.chairside.applier import EngineFactory
from crampwatch.chairside.engines import store_engine_factory
from crampwatch.chairside.service import LiveService
from crampwatch.chairside.settings import LiveSettings, live_settings_from_env
from crampwatch.store import Store
from crampwatch.store.cache import LRUCache
from crampwatch.store.kept import shared_secret_key
from crampwatch.web import (
    account_pages,
    api,
    api_accounts,
    chairs,
    login_pages,
    model_pages,
    pages,
    session_cache,
    static_files,
    trend_pages,
    twin_pages,
)
from crampwatch.web.audit_counts import AnonymousAudit
from crampwatch.web.auth import current_user
from crampwatch.web.handlers import install_error_handlers
from crampwatch.web.jobs import JobRunner
from crampwatch.web.ratelimit import LoginRateLimiter
from crampwatch.web.security import SecurityHeadersMiddleware, SessionCookieMiddleware
from crampwatch.web.settings import WebSettings, settings_from_env, several_processes, unshared_key_warning
from crampwatch.web.strict_input import StrictInputMiddleware

logger = logging.getLogger("crampwatch.web")
STATIC_DIR = Path(__file__).parent / "static"
API_TITLE = "crampwatch"
#: Session charts kept in memory, ~50 kB of HTML each (modelling choice).
CHART_CACHE_SIZE = 64


class ClinicApp(FastAPI):
    """FastAPI with the security headers outside everything (so 500s carry them) and, when proxies are
    trusted, their forwarded client address and scheme applied first."""

    settings: WebSettings

    def build_middleware_stack(self) -> ASGIApp:
        stack: ASGIApp = SecurityHeadersMiddleware(super().build_middleware_stack(), hsts=self.settings.hsts)
        if self.settings.trusted_proxies:
            stack = ProxyHeadersMiddleware(stack, trusted_hosts=list(self.settings.trusted_proxies))
        return stack


def uvicorn_options() -> dict[str, Any]:
    """Options for ``uvicorn.run`` / ``uvicorn.Config``: no ``server`` header, no forwarded headers
    (the application applies those of trusted proxies itself)."""
    return {"proxy_headers": False, "server_header": False}


def create_app(
    store: Any | None = None,
    *,
    database_url: str | None = None,
    secret_key: str | None = None,
    settings: WebSettings | None = None,
    live_settings: LiveSettings | None = None,
    make_engine: EngineFactory | None = None,
) -> FastAPI:
    """Build the web application on ``store`` (or a store opened at ``database_url``).

    ``settings`` default to :func:`crampwatch.web.settings.settings_from_env` (``secret_key`` overrides),
    ``live_settings`` (HL7 listener, Redis) to :func:`crampwatch.chairside.settings.live_settings_from_env`;
    ``make_engine`` builds the early-warning engine of a running session (default: from the store).
    """
    settings = settings or settings_from_env(secret_key)
    live_settings = live_settings or live_settings_from_env()
    if store is None:
        store = Store.open(url=database_url)
    if settings.secret_key is None:
        settings = replace(settings, secret_key=shared_secret_key(store))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with chairs.live_lifespan(_app):
            yield
        _app.state.anonymous_audit.flush(store)  # counts of the current minute
        _app.state.jobs.shutdown()

    app = ClinicApp(
        lifespan=lifespan,
        title=API_TITLE,
        description="Why a hemodialysis patient cramps, and what to change. Log in with POST /api/login; "
        "send the returned csrf_token as the X-CSRF-Token header on every POST.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        max_body_size=settings.max_body_bytes,
        redirect_slashes=False,
    )
    app.settings = settings
    app.state.settings = settings
    app.state.store = store
    app.state.login_limiter = LoginRateLimiter()
    app.state.live = LiveService(store, live_settings, make_engine or store_engine_factory(store))
    app.state.anonymous_audit = AnonymousAudit()
    app.state.jobs = JobRunner()
    #: Rendered session charts (HTML), keyed by everything they show: a stored trace never changes.
    app.state.chart_cache = LRUCache(CHART_CACHE_SIZE)
    app.state.session_pages = session_cache.new_cache()
    app.add_middleware(StrictInputMiddleware)
    app.add_middleware(SessionCookieMiddleware, always_secure=settings.hsts)
    app.add_middleware(
        GZipMiddleware, minimum_size=static_files.GZIP_MIN_BYTES, compresslevel=static_files.GZIP_LEVEL
    )
    install_error_handlers(app)

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
    app.include_router(chairs.router)
    app.include_router(login_pages.public_router)
    app.include_router(login_pages.protected_router)
    app.include_router(pages.router)
    app.include_router(pages.protected)
    app.include_router(trend_pages.router)
    app.include_router(model_pages.router)
    app.include_router(twin_pages.router)
    app.include_router(account_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: configuration from ``CRAMPWATCH_*`` environment variables.

    Warns (log and stderr) when this is one of several server processes whose CSRF key is not shared.
    """
    store = Store.open(url=os.environ.get("CRAMPWATCH_DATABASE_URL") or None)
    settings = settings_from_env()
    warning = unshared_key_warning(
        key_configured=settings.secret_key is not None,
        database_in_memory=store.in_memory,
        processes_several=several_processes(),
    )
    if warning:
        logger.warning(warning)
    return create_app(store, settings=settings)


__all__ = ["create_app", "app_from_env"]
