"""One update of the live early warning (docs/formats.md "Live early warning"; the JSON line of
``crampwatch watch --json`` and of the chairside service)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crampwatch.signals import T_MIN

#: Names of the risk models an update can come from.
RISK_MODELS = ("analyzer", "unit model")


@dataclass(frozen=True)
class ActionEffect:
    """What the forecast becomes with the proposed action (simulated on the same members)."""

    cramp_risk_30min: float
    forecast_30min: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cramp_risk_30min": round(self.cramp_risk_30min, 3),
            "forecast_30min": dict(self.forecast_30min),
        }


@dataclass(frozen=True)
class LiveUpdate:
    """The warning after the observations (or the acknowledgement) at ``t_min``.

    ``cramp_risk_30min``: probability (0-1) of a cramp within the next 30 min; ``level``: ``none``, ``watch``
    or ``alert`` after the alert policy; ``cause``: the leading cause of that risk (cause-registry id; None
    when no cause adds to it); ``action``: the proposed action (clinical text; None at level ``none`` and for
    causes without a bedside action); ``forecast_30min``: RBV (%) and systolic BP
    (mmHg) 30 min ahead with their central 90 % bands (``_lo``/``_hi``); ``action_effect``: the risk and
    forecast with the action; ``episode_id``: number of the current warning episode (None outside one);
    ``new_alert``: the alert fired at this update; ``escalated``: it was fired by a confirming cuff BP;
    ``confirming_bp``: a cuff BP of this update confirmed a hypovolemic forecast;
    ``acknowledged``/``acknowledgement_reason``/``snoozed_until_min``: the nurse's acknowledgement;
    ``forecast``: the bands every 5 min over the next hour; ``risk_model``: ``analyzer`` or ``unit model``;
    ``twin``: whether the patient's twin was used.
    """

    t_min: float
    cramp_risk_30min: float
    level: str
    cause: str | None
    action: str | None
    forecast_30min: dict[str, Any]
    action_effect: ActionEffect | None = None
    episode_id: int | None = None
    new_alert: bool = False
    escalated: bool = False
    confirming_bp: bool = False
    acknowledged: bool = False
    acknowledgement_reason: str | None = None
    snoozed_until_min: float | None = None
    forecast: tuple[dict[str, Any], ...] = ()
    risk_model: str = "analyzer"
    twin: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object, then the added fields."""
        return {
            T_MIN: _time(self.t_min),
            "cramp_risk_30min": round(self.cramp_risk_30min, 3),
            "level": self.level,
            "cause": self.cause,
            "action": self.action,
            "forecast_30min": dict(self.forecast_30min),
            "action_effect": None if self.action_effect is None else self.action_effect.to_dict(),
            "episode_id": self.episode_id,
            "new_alert": self.new_alert,
            "escalated": self.escalated,
            "confirming_bp": self.confirming_bp,
            "acknowledged": self.acknowledged,
            "acknowledgement_reason": self.acknowledgement_reason,
            "snoozed_until_min": None if self.snoozed_until_min is None else _time(self.snoozed_until_min),
            "risk_model": self.risk_model,
            "twin": self.twin,
            "forecast": [dict(p) for p in self.forecast],
        }


def _time(t: float) -> float | int:
    return int(t) if float(t).is_integer() else round(float(t), 2)
