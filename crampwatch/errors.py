"""Error types shared by every layer.

``InputError`` is raised for physiologically impossible or malformed input. Its message is one line that
names the offending field and, where one exists, the allowed range. The CLI turns it into exit code 2 and
the web API into HTTP 422.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


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


ArrayLike = float | npt.ArrayLike
FloatOrArray = float | np.ndarray


def check(
    field: str, value: ArrayLike, low: float, high: float, unit: str = "", *, low_open: bool = False
) -> FloatOrArray:
    """Return ``value`` as float (scalar) or float array if every element lies in the range, else raise.

    ``low_open`` makes the lower bound exclusive (e.g. flows that must be > 0).
    """
    if np.ndim(value) == 0 and not low_open:
        return require_range(field, value, low, high, unit)  # type: ignore[arg-type]
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{field}: {value!r} is not a number", field) from None
    bad = ~np.isfinite(arr) | (arr > high) | ((arr <= low) if low_open else (arr < low))
    if np.any(bad):
        first = float(arr[bad].flat[0]) if arr.ndim else float(arr)
        lo = f">{low:g}" if low_open else f"{low:g}"
        raise InputError(f"{field}: {first!r} is out of range (allowed {lo}–{high:g} {unit})".rstrip(), field)
    return float(arr) if arr.ndim == 0 else arr


def out(x: np.ndarray | float) -> FloatOrArray:
    """A 0-d result as float, anything else as a float array."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)
