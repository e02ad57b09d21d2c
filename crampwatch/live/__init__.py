"""Live early warning: forecast the next half hour of a running session from its streamed data and the
patient's twin, and warn before the cramp (docs/warning.md).

* :class:`LiveEngine` -- one session: ``observe(t_min, values)`` and ``acknowledge(t_min, reason,
  snooze_min)`` give a :class:`LiveUpdate` (the JSON line of ``crampwatch watch --json``);
* :func:`observe_many` -- many sessions updated together (one kernel call per stage); :func:`assimilate_many`
  -- observations taken in without an update (folded into the session's next one);
* :class:`AlertPolicy` -- the alert policy (thresholds, consecutive updates, hysteresis, snooze), per unit;
* :class:`FilterSettings` -- ensemble size and the filter's model-error sizes.
"""

from crampwatch.live.engine import LiveEngine, assimilate_many, observe_many
from crampwatch.live.ensemble import FilterSettings
from crampwatch.live.policy import LEVELS, AlertPolicy, PolicyState
from crampwatch.live.update import ActionEffect, LiveUpdate

__all__ = [
    "LEVELS",
    "ActionEffect",
    "AlertPolicy",
    "FilterSettings",
    "LiveEngine",
    "LiveUpdate",
    "PolicyState",
    "assimilate_many",
    "observe_many",
]
