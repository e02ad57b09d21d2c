"""Template filters of the clinic pages: measurements without float noise, and moments as ``<time>``
elements (UTC with the zone named) that ``static/app.js`` shows in the viewer's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup


def format_number(value: Any) -> str:
    """A measurement for display: about 3 significant digits, no float noise; text passes through."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if v != v:  # NaN
        return "–"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def local_time(value: datetime | None, fmt: str = "datetime") -> Markup:
    """A ``<time>`` element: UTC with the zone named; ``static/app.js`` shows it in the viewer's zone."""
    if value is None:
        return Markup("–")
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = {
        "date": moment.strftime("%Y-%m-%d"),
        "weekday": moment.strftime("%a %Y-%m-%d"),
    }.get(fmt, moment.strftime("%Y-%m-%d %H:%M UTC"))
    return Markup('<time datetime="{}" data-format="{}">{}</time>').format(moment.isoformat(), fmt, text)


def iso_time(value: datetime | None) -> str:
    """The moment as ISO 8601 in UTC, for ``data-datetime`` attributes that ``static/app.js`` localizes."""
    if value is None:
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def time_text(value: datetime | None, fmt: str = "datetime") -> str:
    """The text :func:`local_time` shows before ``static/app.js`` puts it in the viewer's zone (for places
    that hold text only, such as an ``<option>``, with the moment in ``data-datetime``)."""
    return str(local_time(value, fmt).striptags()) if value is not None else "–"


__all__ = ["format_number", "iso_time", "local_time", "time_text"]
