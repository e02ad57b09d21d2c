"""Settings of the web application, from arguments or ``CRAMPWATCH_*`` environment variables.

* ``CRAMPWATCH_SECRET_KEY``: key of the CSRF tokens; when unset, the key kept in the database is used (a
  random one is made and kept the first time), so every server process on the database shares it.
* ``CRAMPWATCH_SESSION_IDLE_S`` / ``CRAMPWATCH_SESSION_ABSOLUTE_S``: idle and absolute session lifetime.
* ``CRAMPWATCH_MAX_BODY_BYTES``: the largest request body accepted (413 above it).
* ``CRAMPWATCH_TRUSTED_PROXIES``: comma-separated addresses or networks of reverse proxies whose
  ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed; empty (the default): none, the connecting
  address is the client.
* ``CRAMPWATCH_HSTS``: ``1`` sends ``Strict-Transport-Security`` on every answer (a server reached only
  through a TLS proxy); without it the header goes with https requests.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass

from crampwatch.chairside.settings import env_number
from crampwatch.errors import InputError
from crampwatch.web.security import MAX_BODY_BYTES, SESSION_ABSOLUTE_S, SESSION_IDLE_S


@dataclass(frozen=True)
class WebSettings:
    #: ``None``: the key kept in the database (:func:`crampwatch.store.kept.shared_secret_key`).
    secret_key: str | None = None
    session_idle_s: float = SESSION_IDLE_S
    session_absolute_s: float = SESSION_ABSOLUTE_S
    max_body_bytes: int = MAX_BODY_BYTES
    trusted_proxies: tuple[str, ...] = ()
    hsts: bool = False

    def __post_init__(self) -> None:
        if not 60 <= self.session_idle_s <= self.session_absolute_s <= 7 * 24 * 3600:
            raise InputError(
                f"session lifetime: idle {self.session_idle_s:g} s, absolute {self.session_absolute_s:g} s "
                "(allowed 60 s <= idle <= absolute <= 7 days)",
                "session_idle_s",
            )
        if not 1024 <= self.max_body_bytes <= 100 * 1024 * 1024:
            raise InputError(
                f"max_body_bytes: {self.max_body_bytes} (allowed 1024–104857600 bytes)", "max_body_bytes"
            )


def settings_from_env(secret_key: str | None = None, trusted_proxies: str | None = None) -> WebSettings:
    """Settings from the environment; explicit arguments win."""
    proxies = (
        trusted_proxies if trusted_proxies is not None else os.environ.get("CRAMPWATCH_TRUSTED_PROXIES", "")
    )
    return WebSettings(
        secret_key=secret_key or os.environ.get("CRAMPWATCH_SECRET_KEY") or None,
        session_idle_s=env_number("CRAMPWATCH_SESSION_IDLE_S", SESSION_IDLE_S),
        session_absolute_s=env_number("CRAMPWATCH_SESSION_ABSOLUTE_S", SESSION_ABSOLUTE_S),
        max_body_bytes=int(env_number("CRAMPWATCH_MAX_BODY_BYTES", MAX_BODY_BYTES)),
        trusted_proxies=tuple(p.strip() for p in proxies.split(",") if p.strip()),
        hsts=os.environ.get("CRAMPWATCH_HSTS", "").strip().lower() in ("1", "true", "yes"),
    )


def several_processes() -> bool:
    """Whether this server process is one of several (uvicorn ``--workers``, ``WEB_CONCURRENCY``)."""
    try:
        concurrency = int(os.environ.get("WEB_CONCURRENCY", "1") or 1)
    except ValueError:
        concurrency = 1
    return multiprocessing.parent_process() is not None or concurrency > 1


def unshared_key_warning(*, key_configured: bool, database_in_memory: bool, processes_several: bool) -> str:
    """The warning for a server of several processes whose CSRF key is not shared ("" when it is): only
    an in-memory database, which each process has for itself, cannot share the kept key."""
    if processes_several and not key_configured and database_in_memory:
        return (
            "crampwatch: several server processes, no CRAMPWATCH_SECRET_KEY and an in-memory database: "
            "each process has its own CSRF key and forms will fail; set CRAMPWATCH_SECRET_KEY or use a "
            "database file"
        )
    return ""
