"""The Trace: time-stamped session signals plus events (design.md "One idea carries the whole system").

A trace comes from the simulator (signals flagged ``simulated``), from recorded data (``measured``) or
from the simulator filling unmeasured signals of a recorded session (``estimated``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crampwatch.signals import SIGNAL_SPECS, T_MIN

#: Public signal names (docs/formats.md) with their meaning and unit, from the signal registry
#: (:mod:`crampwatch.signals`: unit, UCUM code, plausible range, clinical label, LOINC code).
SIGNALS: dict[str, str] = {name: spec.description for name, spec in SIGNAL_SPECS.items()}

SOURCES = ("measured", "simulated", "estimated")

EVENT_COLUMNS = [T_MIN, "kind", "severity", "note"]


def _events_template() -> pd.DataFrame:
    return pd.DataFrame(
        {
            T_MIN: pd.Series(dtype=float),
            "kind": pd.Series(dtype=object),
            "severity": pd.Series(dtype=float),
            "note": pd.Series(dtype=object),
        }
    )


_EVENTS_TEMPLATE = _events_template()


def empty_events() -> pd.DataFrame:
    """An events table with the contract's columns and no rows."""
    return _EVENTS_TEMPLATE.copy()  # copying a template is several times cheaper than building one


@dataclass(frozen=True)
class Trace:
    """Signals of one session: ``data`` has ``t_min`` plus any of :data:`SIGNALS` (NaN = not measured).

    ``sources`` maps each signal to ``measured``, ``simulated`` or ``estimated``; ``events`` has columns
    ``t_min, kind, severity, note``.
    """

    data: pd.DataFrame
    events: pd.DataFrame = field(default_factory=empty_events)
    sources: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None

    def __post_init__(self) -> None:
        if T_MIN not in self.data.columns:
            raise ValueError("Trace.data needs a 't_min' column")
        for name in self.signals:
            self.sources.setdefault(name, "measured")

    @property
    def t_min(self) -> np.ndarray:
        return self.data[T_MIN].to_numpy(dtype=float)

    @property
    def signals(self) -> list[str]:
        """Signal columns present with at least one value."""
        present = self.data.notna().to_numpy().any(axis=0)  # one pass over the table, not one per column
        return [c for c, has in zip(self.data.columns, present, strict=True) if has and c in SIGNALS]

    def has(self, name: str) -> bool:
        return name in self.data.columns and bool(self.data[name].notna().any())

    def signal(self, name: str) -> np.ndarray | None:
        """Values of ``name`` as a float array aligned with :attr:`t_min`, or ``None`` when absent."""
        if not self.has(name):
            return None
        return self.data[name].to_numpy(dtype=float)

    @property
    def duration_min(self) -> float:
        t = self.t_min
        return float(t[-1] - t[0]) if len(t) else 0.0

    def cramp_times(self) -> np.ndarray:
        """Times (min) of cramp events."""
        if self.events.empty:
            return np.empty(0)
        return self.events.loc[self.events["kind"] == "cramp", T_MIN].to_numpy(dtype=float)

    def with_events(self, events: pd.DataFrame) -> Trace:
        """A copy of this trace with ``events`` replacing its events."""
        return Trace(self.data, events.reset_index(drop=True), dict(self.sources), self.session_id)
