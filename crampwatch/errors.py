"""Error types shared by every layer.

``InputError`` is raised for physiologically impossible or malformed input. Its message is one line that
names the offending field and, where one exists, the allowed range. The CLI turns it into exit code 2 and
the web API into HTTP 422.
"""

from __future__ import annotations


class InputError(ValueError):
    """Invalid user input: a one-line message naming the field (and the allowed range)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        return str(self.args[0])


def require_range(field: str, value: float, low: float, high: float, unit: str = "") -> float:
    """Return ``value`` if ``low <= value <= high`` (and finite), else raise :class:`InputError`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{field}: {value!r} is not a number (allowed {low:g}–{high:g} {unit})".rstrip(), field
        ) from None
    if not (low <= v <= high):  # also rejects NaN
        raise InputError(
            f"{field}: {value!r} is out of range (allowed {low:g}–{high:g} {unit})".rstrip(), field
        )
    return v
