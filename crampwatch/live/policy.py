"""The alert policy: when the 30-min cramp risk becomes a ``watch`` or an ``alert``, designed against alarm
fatigue (Joint Commission Sentinel Event Alert 50, 2013: 85-99 % of hospital alarms need no action).

Common practice in monitoring software (IEC 60601-1-8 vocabulary) shapes it:

* **hysteresis** -- an episode opens when the risk stays at or above ``watch_on`` for ``consecutive_updates``
  updates and closes only after ``clear_updates`` updates below the lower ``watch_off``;
* **consecutive updates** -- the alert fires when the risk stays at or above ``alert_on`` for
  ``consecutive_updates`` updates (several calls at the same time count once);
* **one alert per episode** -- once fired, the alert stands until the episode closes; it never fires twice
  in one episode;
* **escalation** -- during a watch, a cuff systolic BP that confirms a hypovolemic forecast (a fall of at
  least 20 mmHg from the first reading, or a reading less than 5 mmHg above the nadir threshold of
  intradialytic hypotension: the analyzer's thresholds) fires the alert at once;
* **acknowledge and snooze** -- a nurse acknowledges with a reason; a snooze keeps the risk from firing an
  alert until it ends (a confirming cuff BP still escalates); everything is still computed and returned;
* **relative to the start** (``relative_to_start``) -- the thresholds apply to the rise of the risk above its
  value at the session's first update. That first value rests on the patient and the prescription (known
  before the session, and shown by ``analyze`` and ``optimize``); the rise is what the running session adds.

Defaults were chosen on the training patients of ``benchmarks/warning.py`` (docs/warning.md, "Alert
policy"): the most sensitive setting of the benchmark's grid with at most 0.2 false alert episodes per
session -- thresholds relative to the start (a rise of 0.0235 in the 30-min risk fires, 0.0118 opens a
watch, 0.0059 clears it), 3 consecutive updates, no escalation on a cuff BP (on the training patients it
added false alerts without adding detected cramps within the limit). A unit may set its own
(:meth:`AlertPolicy.from_json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crampwatch.errors import InputError

Level = Literal["none", "watch", "alert"]
LEVELS: tuple[str, ...] = ("none", "watch", "alert")
#: Longest acknowledgement reason, characters.
MAX_REASON_CHARS = 200


class AlertPolicy(BaseModel):
    """Thresholds on the 30-min cramp risk (probability 0-1), update counts and the snooze limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    watch_on: float = Field(
        0.0118,
        ge=0.0,
        le=1.0,
        description="risk (0-1; its rise with relative_to_start) that counts toward a watch",
    )
    watch_off: float = Field(
        0.0059,
        ge=0.0,
        le=1.0,
        description="risk (0-1; its rise with relative_to_start) below which an episode clears",
    )
    alert_on: float = Field(
        0.0235,
        ge=0.0,
        le=1.0,
        description="risk (0-1; its rise with relative_to_start) that counts toward the alert",
    )
    consecutive_updates: int = Field(3, ge=1, le=30, description="updates at or above a threshold to fire")
    clear_updates: int = Field(10, ge=1, le=120, description="updates below watch_off that close an episode")
    escalate_on_cuff_bp: bool = Field(
        False, description="a confirming cuff BP fires the alert during a watch"
    )
    max_snooze_min: float = Field(60.0, ge=0.0, le=240.0, description="longest snooze, minutes")
    relative_to_start: bool = Field(
        True,
        description="thresholds apply to the rise of the risk above its value at the session's first update",
    )

    @model_validator(mode="after")
    def _ordered(self) -> AlertPolicy:
        if not self.watch_off <= self.watch_on <= self.alert_on:
            raise ValueError("thresholds must satisfy watch_off <= watch_on <= alert_on")
        return self

    @classmethod
    def from_dict(cls, data: Any, name: str = "policy") -> AlertPolicy:
        """A validated policy; :class:`InputError` names the first bad field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or name
            raise InputError(
                f"{name}.{where}: {err['msg']}" if err["loc"] else f"{name}: {err['msg']}", where
            ) from None

    @classmethod
    def from_json(cls, text: str, name: str = "policy") -> AlertPolicy:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}: not valid JSON ({exc.msg})", name) from None
        return cls.from_dict(data, name)


@dataclass(frozen=True)
class PolicyState:
    """Where the policy stands after an update (streaks count distinct update times)."""

    level: Level = "none"
    start_risk: float | None = None
    episode: int = 0
    in_episode: bool = False
    above_watch: int = 0
    above_alert: int = 0
    below_off: int = 0
    alerted: bool = False
    alert_t_min: float | None = None
    escalated: bool = False
    acknowledged: bool = False
    ack_reason: str | None = None
    ack_t_min: float | None = None
    snoozed_until_min: float | None = None

    def snoozed(self, t_min: float) -> bool:
        return self.snoozed_until_min is not None and t_min < self.snoozed_until_min


def step(
    state: PolicyState, policy: AlertPolicy, t_min: float, risk: float, confirming_bp: bool
) -> PolicyState:
    """The state after an update at ``t_min`` with 30-min risk ``risk``; ``confirming_bp``: a cuff BP of this
    update confirms a hypovolemic forecast."""
    start = risk if state.start_risk is None else state.start_risk
    value = risk - start if policy.relative_to_start else risk
    above_w = state.above_watch + 1 if value >= policy.watch_on else 0
    above_a = state.above_alert + 1 if value >= policy.alert_on else 0
    below = state.below_off + 1 if value < policy.watch_off else 0
    s = replace(state, start_risk=start, above_watch=above_w, above_alert=above_a, below_off=below)
    if not s.in_episode:
        if above_w < policy.consecutive_updates:
            return s
        s = replace(
            s, in_episode=True, episode=s.episode + 1, level="watch", alerted=False, alert_t_min=None,
            escalated=False, acknowledged=False, ack_reason=None, ack_t_min=None,
        )  # fmt: skip
    elif below >= policy.clear_updates:
        return replace(s, in_episode=False, level="none", alerted=False, escalated=False)
    if s.alerted:
        return s
    by_risk = above_a >= policy.consecutive_updates and not s.snoozed(t_min)
    by_bp = confirming_bp and policy.escalate_on_cuff_bp
    if by_risk or by_bp:
        return replace(s, level="alert", alerted=True, alert_t_min=t_min, escalated=by_bp and not by_risk)
    return replace(s, level="watch")


def acknowledged(
    state: PolicyState, policy: AlertPolicy, t_min: float, reason: str, snooze_min: float
) -> PolicyState:
    """The state after a nurse's acknowledgement (reason required; snooze 0 to ``max_snooze_min``)."""
    text = " ".join(str(reason or "").split())
    if not text:
        raise InputError("reason: an acknowledgement needs a reason", "reason")
    if len(text) > MAX_REASON_CHARS:
        raise InputError(f"reason: at most {MAX_REASON_CHARS} characters", "reason")
    try:
        snooze = float(snooze_min)
    except (TypeError, ValueError):
        raise InputError(f"snooze_min: {snooze_min!r} is not a number", "snooze_min") from None
    if not 0.0 <= snooze <= policy.max_snooze_min:
        raise InputError(
            f"snooze_min: {snooze_min!r} is out of range (allowed 0–{policy.max_snooze_min:g} min)",
            "snooze_min",
        )
    until = t_min + snooze if snooze > 0 else state.snoozed_until_min
    return replace(state, acknowledged=True, ack_reason=text, ack_t_min=t_min, snoozed_until_min=until)
