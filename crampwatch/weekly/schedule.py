"""Treatment schedules: weekday parsing, gaps between sessions, sessions per week, the mid-week session."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from crampwatch.errors import InputError

MINUTES_PER_WEEK = 10080.0
DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{d: i for i, d in enumerate(DAY_NAMES)},
    **{
        n: i
        for i, n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    },
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}

#: Session start time within each treatment day, minutes after midnight (modelling choice; every session
#: starts at the same clock time, so only whole-day gaps matter at the periodic steady state).
SESSION_START_MIN = 720.0


def gaps_before_min(day_idx: Sequence[int]) -> np.ndarray:
    """Minutes from the previous session's start to each session's start (the week wraps around)."""
    starts = np.array([d * 1440.0 + SESSION_START_MIN for d in day_idx])
    return np.diff(np.concatenate([[starts[-1] - MINUTES_PER_WEEK], starts]))


def parse_days(days: str | Iterable[str | int]) -> tuple[int, ...]:
    """Treatment days as sorted weekday indices (0 = Monday). Accepts ``"mon,wed,fri"`` or names/indices."""
    items: list[str | int]
    items = [p for p in str(days).replace(" ", ",").split(",") if p] if isinstance(days, str) else list(days)
    out: set[int] = set()
    for it in items:
        if isinstance(it, int | np.integer) and not isinstance(it, bool):
            if not 0 <= int(it) <= 6:
                raise InputError(f"days: {it!r} is not a weekday index (allowed 0–6, 0 = Monday)", "days")
            out.add(int(it))
            continue
        key = str(it).strip().lower()
        if key not in _DAY_ALIASES:
            raise InputError(f"days: unknown day name {it!r} (allowed {', '.join(DAY_NAMES)})", "days")
        out.add(_DAY_ALIASES[key])
    if not out:
        raise InputError(
            "days: no treatment days given (allowed names: mon, tue, wed, thu, fri, sat, sun)", "days"
        )
    return tuple(sorted(out))


#: Treatment days for a number of sessions per week, spread as evenly as whole days allow (modelling
#: choice following common unit practice: 3x = Mon/Wed/Fri, 2x = Mon/Thu).
SCHEDULES: dict[int, tuple[str, ...]] = {
    1: ("mon",),
    2: ("mon", "thu"),
    3: ("mon", "wed", "fri"),
    4: ("mon", "tue", "thu", "sat"),
    5: ("mon", "tue", "wed", "thu", "fri"),
    6: ("mon", "tue", "wed", "thu", "fri", "sat"),
    7: DAY_NAMES,
}


def midweek_session_index(days: str | Sequence[str | int]) -> int:
    """Index of the 'mid-week' session: the first one that follows the shortest gap (for Mon/Wed/Fri: Wed).
    KDOQI 2006 CPG 3 samples pre-dialysis BUN at a mid-week session."""
    return int(np.argmin(gaps_before_min(parse_days(days))))
