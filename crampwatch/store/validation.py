"""Checks of Store arguments: each failure is an InputError naming the field and the allowed range."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from crampwatch.errors import InputError
from crampwatch.model import format_validation_error
from crampwatch.store.schema import ID_LENGTH

_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def validate_model(value: Any, model: type, field: str) -> Any:
    if isinstance(value, model):
        return value
    if isinstance(value, dict):
        try:
            return model.model_validate(value)  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise InputError(format_validation_error(exc, model, field), field) from None
    raise InputError(f"{field}: expected a {model.__name__}, got {type(value).__name__}", field)


def require_datetime(value: Any, field: str) -> None:
    """A datetime that exists in UTC (``0001-01-01T00:00+14:00`` does not: it lies before year 1)."""
    if not isinstance(value, datetime):
        raise InputError(f"{field}: expected a date and time, got {type(value).__name__}", field)
    try:
        value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise InputError(
            f"{field}: {value.isoformat()} lies outside the years 1–9999 in UTC", field
        ) from None


def require_text(value: Any, field: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InputError(
            f"{field}: expected text, got {type(value).__name__} (allowed 1–{max_chars} characters)", field
        )
    if not value.strip() or len(value) > max_chars:
        n = len(value.strip())
        raise InputError(f"{field}: {n} characters given (allowed 1–{max_chars} characters)", field)
    require_plain_text(value, field)
    return value.strip()


def require_plain_text(value: str, field: str) -> None:
    """Text a database can hold and a page can show: valid Unicode, no control characters but tab/newline."""
    bad = next((c for c in value if ord(c) < 32 and c not in "\t\n\r" or c == "\x7f"), None)
    if bad is not None:
        raise InputError(
            f"{field}: contains the control character U+{ord(bad):04X} (allowed: text, tabs, line breaks)",
            field,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{field}: not valid Unicode text (a lone surrogate)", field) from None


def optional_text(value: Any, field: str, max_chars: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return require_text(value, field, max_chars)


def require_id(value: Any, field: str) -> str:
    text = require_text(value, field, ID_LENGTH)
    if text != value:
        raise InputError(
            f"{field}: {value!r} has leading or trailing spaces (allowed 1–{ID_LENGTH} characters)", field
        )
    return text


def require_username(value: Any) -> str:
    if not isinstance(value, str) or not _USERNAME_RE.match(value):
        raise InputError(
            f"username: {value!r} is invalid (allowed 1–64 characters: letters, digits, '_', '.', '@', '-')",
            "username",
        )
    return value
