"""Settings of the chairside service, from arguments or ``CRAMPWATCH_*`` environment variables.

* ``CRAMPWATCH_MLLP_PORT``: start the HL7 v2 (MLLP) listener on this port (off when unset);
  ``CRAMPWATCH_MLLP_HOST``: the interface it binds (default ``127.0.0.1``).
* ``CRAMPWATCH_MLLP_MAX_BYTES``: the largest message accepted (AR and the connection closed above it).
* ``CRAMPWATCH_MLLP_IDLE_S``: seconds a connection may stay silent before it is closed.
* ``CRAMPWATCH_MLLP_ALLOWED_ADDRESSES``: comma-separated addresses or networks that may connect (empty:
  any that reaches the bound interface); ``CRAMPWATCH_MLLP_ALLOWED_SENDERS``: comma-separated sending
  facilities (MSH-4) whose messages are accepted (empty: any).
* ``CRAMPWATCH_LIVE_TIMEOUT_MIN``: a running session with no message for this long is closed.
* ``CRAMPWATCH_REDIS_URL``: hand stored messages to engine workers over Redis Streams (``crampwatch
  worker``) instead of applying the engine in the web process.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from crampwatch.errors import InputError

#: HL7 v2 messages from a dialysis machine are a few kB; 1 MiB leaves room for batches of
#: observations (modelling choice).
MAX_MESSAGE_BYTES = 1024 * 1024
#: A machine sends at least once a minute during treatment (IHE PCD DEC periodic reports); five silent
#: minutes mean the connection is stale (modelling choice).
IDLE_TIMEOUT_S = 300.0
#: A treatment with no message for 30 min has ended without its end-of-treatment message (modelling choice:
#: longer than any machine pause for an alarm, a bag change or a BP re-check).
SESSION_TIMEOUT_MIN = 30.0
#: Redis Streams partitions (running sessions are spread over them by id; modelling choice).
PARTITIONS = 16


@dataclass(frozen=True)
class LiveSettings:
    mllp_host: str = "127.0.0.1"
    mllp_port: int | None = None
    max_message_bytes: int = MAX_MESSAGE_BYTES
    idle_timeout_s: float = IDLE_TIMEOUT_S
    allowed_addresses: tuple[str, ...] = ()
    allowed_senders: tuple[str, ...] = ()
    session_timeout_min: float = SESSION_TIMEOUT_MIN
    redis_url: str | None = None
    partitions: int = PARTITIONS

    def __post_init__(self) -> None:
        if self.mllp_port is not None and not 0 <= self.mllp_port <= 65535:
            raise InputError(f"mllp_port: {self.mllp_port} is out of range (allowed 1–65535)", "mllp_port")
        if not 1024 <= self.max_message_bytes <= 64 * 1024 * 1024:
            raise InputError(
                f"max_message_bytes: {self.max_message_bytes} (allowed 1024–67108864)", "max_message_bytes"
            )
        if not 0.1 <= self.idle_timeout_s <= 86400:
            raise InputError(
                f"idle_timeout_s: {self.idle_timeout_s:g} (allowed 0.1–86400 s)", "idle_timeout_s"
            )
        if not 0.01 <= self.session_timeout_min <= 720:
            raise InputError(
                f"session_timeout_min: {self.session_timeout_min:g} (allowed 0.01–720 min)",
                "session_timeout_min",
            )
        for entry in self.allowed_addresses:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise InputError(
                    f"allowed_addresses: {entry!r} is not an address or network", "allowed_addresses"
                ) from None

    def address_allowed(self, host: str) -> bool:
        if not self.allowed_addresses:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(n, strict=False) for n in self.allowed_addresses)

    def sender_allowed(self, facility: str) -> bool:
        return not self.allowed_senders or facility in self.allowed_senders


def _list(name: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in os.environ.get(name, "").split(",") if p.strip())


def env_number(name: str, default: float) -> float:
    """The number in environment variable ``name`` (``default`` when unset or empty); an InputError
    naming the variable when it is not a number. Shared by the web application's settings."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise InputError(f"{name}: {raw!r} is not a number", name) from None


def redis_url_from_env() -> str | None:
    """``CRAMPWATCH_REDIS_URL`` (``None`` when unset): the live data's bus between server processes."""
    return os.environ.get("CRAMPWATCH_REDIS_URL", "").strip() or None


def live_settings_from_env(**overrides: object) -> LiveSettings:
    """Settings from the environment; keyword arguments that are not ``None`` win."""
    port = os.environ.get("CRAMPWATCH_MLLP_PORT", "").strip()
    values: dict[str, object] = {
        "mllp_host": os.environ.get("CRAMPWATCH_MLLP_HOST", "").strip() or "127.0.0.1",
        "mllp_port": int(env_number("CRAMPWATCH_MLLP_PORT", 0)) if port else None,
        "max_message_bytes": int(env_number("CRAMPWATCH_MLLP_MAX_BYTES", MAX_MESSAGE_BYTES)),
        "idle_timeout_s": env_number("CRAMPWATCH_MLLP_IDLE_S", IDLE_TIMEOUT_S),
        "allowed_addresses": _list("CRAMPWATCH_MLLP_ALLOWED_ADDRESSES"),
        "allowed_senders": _list("CRAMPWATCH_MLLP_ALLOWED_SENDERS"),
        "session_timeout_min": env_number("CRAMPWATCH_LIVE_TIMEOUT_MIN", SESSION_TIMEOUT_MIN),
        "redis_url": redis_url_from_env(),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return LiveSettings(**values)  # type: ignore[arg-type]
