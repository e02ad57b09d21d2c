"""A clinic application whose live sessions run a stand-in engine (for tests of the chairside service, not of
the engine), served by ``uvicorn --factory live_app:app`` in the browser tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crampwatch.chairside.settings import live_settings_from_env
from crampwatch.web.app import create_app


@dataclass(frozen=True)
class StandInUpdate:
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


@dataclass
class StandInEngine:
    """The interface of ``crampwatch.live.LiveEngine`` with a transparent rule (tests of the service, not of
    the engine): risk = (100 - RBV) / 20 clipped to 0–1; ``alert`` at >= 0.5, once per episode; an
    acknowledgement turns the episode's alert into ``watch``. Deterministic, like the engine."""

    session: Any = None
    t_now: float = 0.0
    rbv: float = 100.0
    acknowledged: bool = False
    calls: list[tuple[str, float]] = field(default_factory=list)

    def _update(self, t_min: float) -> StandInUpdate:
        risk = min(1.0, max(0.0, (100.0 - self.rbv) / 20.0))
        if risk < 0.5:
            self.acknowledged = False
        level = "alert" if risk >= 0.5 and not self.acknowledged else "watch" if risk >= 0.25 else "none"
        return StandInUpdate(
            {"t_min": t_min, "cramp_risk_30min": risk, "level": level,
             "cause": "hypovolemia" if risk >= 0.25 else None,
             "action": "Lower the UF rate to 600 mL/h for 30 min" if level != "none" else None,
             "n_calls": len(self.calls)}
        )  # fmt: skip

    def observe(self, t_min: float, values: Mapping[str, float]) -> StandInUpdate:
        self.assimilate(t_min, values)
        self.calls[-1] = ("observe", t_min)
        return self._update(t_min)

    def assimilate(self, t_min: float, values: Mapping[str, float]) -> None:
        self.calls.append(("assimilate", t_min))
        self.t_now = t_min
        self.rbv = values.get("rbv_pct", self.rbv)

    def acknowledge(self, t_min: float, reason: str, snooze_min: float = 0) -> StandInUpdate:
        self.calls.append(("acknowledge", t_min))
        self.acknowledged = True
        return self._update(t_min)


def app() -> Any:
    """``uvicorn --factory`` entry: the application on ``$CRAMPWATCH_DATABASE_URL`` with the stand-in."""
    return create_app(
        database_url=os.environ["CRAMPWATCH_DATABASE_URL"],
        live_settings=live_settings_from_env(),
        make_engine=StandInEngine,
    )
