"""Input checking shared by the closed-form formulas (scalars or numpy arrays)."""

from __future__ import annotations

from crampwatch.errors import ArrayLike, FloatOrArray, InputError, check, out

__all__ = ["ArrayLike", "FloatOrArray", "check", "is_male", "out"]


def is_male(sex: str) -> bool:
    """``sex`` as male (True) or female (False); accepts male/female/m/f in any case."""
    s = str(sex).strip().lower()
    if s not in {"male", "female", "m", "f"}:
        raise InputError(f"sex: {sex!r} is not one of male, female", "sex")
    return s in {"male", "m"}
