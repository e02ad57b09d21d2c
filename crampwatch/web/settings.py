"""Settings of the web application, from arguments or ``CRAMPWATCH_*`` environment variables.

* ``CRAMPWATCH_SECRET_KEY``: key of the CSRF tokens; when unset a random key is drawn at start (then run
  one worker process, or give every worker the same key).
* ``CRAMPWATCH_SESSION_IDLE_S`` / ``CRAMPWATCH_SESSION_ABSOLUTE_S``: idle and absolute session lifetime.
* ``CRAMPWATCH_MAX_BODY_BYTES``: the largest request body accepted (413 above it).
* ``CRAMPWATCH_TRUSTED_PROXIES``: comma-separated addresses or networks of reverse proxies whose
  ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed; empty (the default): none, the connecting
  address is the client.
* ``CRAMPWATCH_HSTS``: ``1`` sends ``Strict-Transport-Security`` on every answer (a server reached only
  through a TLS proxy); without it the header goes with https requests.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from crampwatch.chairside.settings import env_number
from crampwatch.errors import InputError
from crampwatch.web.security import MAX_BODY_BYTES, SESSION_ABSOLUTE_S, SESSION_IDLE_S


@dataclass(frozen=True)
class WebSettings:
    secret_key: str
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
        secret_key=secret_key or os.environ.get("CRAMPWATCH_SECRET_KEY") or secrets.token_urlsafe(32),
        session_idle_s=env_number("CRAMPWATCH_SESSION_IDLE_S", SESSION_IDLE_S),
        session_absolute_s=env_number("CRAMPWATCH_SESSION_ABSOLUTE_S", SESSION_ABSOLUTE_S),
        max_body_bytes=int(env_number("CRAMPWATCH_MAX_BODY_BYTES", MAX_BODY_BYTES)),
        trusted_proxies=tuple(p.strip() for p in proxies.split(",") if p.strip()),
        hsts=os.environ.get("CRAMPWATCH_HSTS", "").strip().lower() in ("1", "true", "yes"),
    )
