"""Input checking shared by the closed-form formulas (scalars or numpy arrays)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from crampwatch.errors import InputError, require_range

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


def is_male(sex: str) -> bool:
    """``sex`` as male (True) or female (False); accepts male/female/m/f in any case."""
    s = str(sex).strip().lower()
    if s not in {"male", "female", "m", "f"}:
        raise InputError(f"sex: {sex!r} is not one of male, female", "sex")
    return s in {"male", "m"}
