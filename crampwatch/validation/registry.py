"""The registry of published checks: each one names its source, the conditions, the published value with its
spread, and how the model value is computed and judged.

Other modules add checks with :func:`register` (the check modules of this package register theirs when
:mod:`crampwatch.validation` is imported). :func:`run_checks` computes every model value and returns
:class:`Result` rows, in registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from crampwatch.errors import InputError


@dataclass(frozen=True)
class Check:
    """One published number the model is calibrated or validated against.

    ``compute`` returns the model value (a float in ``unit``) and a short note on how it was obtained; the
    check passes when ``low <= value <= high``.
    """

    id: str
    area: str
    title: str
    source: str
    conditions: str
    published: str
    unit: str
    low: float
    high: float
    compute: Callable[[], tuple[float, str]]
    role: str = "validation"  # or "calibration": the published value was used to fit a parameter
    #: a known, documented shortfall of the current model (why it fails); the report shows it as a gap and
    #: ``crampwatch validate`` still counts it as failing
    gap: str = ""


@dataclass(frozen=True)
class Result:
    """A check with its model value and verdict."""

    check: Check
    value: float
    note: str
    passed: bool

    def to_dict(self) -> dict[str, object]:
        c = self.check
        return {
            "id": c.id,
            "area": c.area,
            "title": c.title,
            "role": c.role,
            "source": c.source,
            "conditions": c.conditions,
            "published": c.published,
            "unit": c.unit,
            "pass_range": [c.low, c.high],
            "model_value": self.value,
            "model_note": self.note,
            "passed": self.passed,
            "known_gap": c.gap or None,
        }


#: Every registered check by id, in registration order.
REGISTRY: dict[str, Check] = {}


def register(check: Check, gap: str = "") -> Check:
    """Add a check to :data:`REGISTRY` (ids are unique); ``gap`` documents a known shortfall of the model."""
    if gap:
        check = replace(check, gap=gap)
    if check.id in REGISTRY:
        raise ValueError(f"validation check {check.id!r} is registered twice")
    REGISTRY[check.id] = check
    return check


def run_checks(ids: Iterable[str] | None = None) -> list[Result]:
    """Run the checks ``ids`` (default: all), in registration order."""
    wanted = list(REGISTRY) if ids is None else list(ids)
    unknown = [i for i in wanted if i not in REGISTRY]
    if unknown:
        raise InputError(
            f"check: {unknown[0]!r} is not a validation check (one of {', '.join(REGISTRY)})", "check"
        )
    out: list[Result] = []
    for cid in wanted:
        c = REGISTRY[cid]
        value, note = c.compute()
        value = float(value)
        out.append(Result(c, value, note, bool(c.low <= value <= c.high)))
    return out
