"""Checks of Store arguments: each failure is an InputError naming the field and the allowed range."""

from __future__ import annotations

import re
from datetime import datetime
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
    if not isinstance(value, datetime):
        raise InputError(f"{field}: expected a date and time, got {type(value).__name__}", field)


def require_text(value: Any, field: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InputError(
            f"{field}: expected text, got {type(value).__name__} (allowed 1–{max_chars} characters)", field
        )
    if not value.strip() or len(value) > max_chars:
        n = len(value.strip())
        raise InputError(f"{field}: {n} characters given (allowed 1–{max_chars} characters)", field)
    return value.strip()


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
