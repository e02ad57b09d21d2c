"""Weekly urea kinetics and dialysis-dose adequacy at the periodic steady state.

* :mod:`~crampwatch.weekly.week` -- :func:`simulate_week` (one pool fixed/variable volume, two pools),
  :class:`WeeklyResult`, standard Kt/V;
* :mod:`~crampwatch.weekly.intervals` -- the exact map of urea over one interval;
* :mod:`~crampwatch.weekly.clearance` -- dialyzer urea clearance and the blood-water convention shared
  with the session model;
* :mod:`~crampwatch.weekly.schedule` -- treatment days, gaps, the mid-week session;
* :mod:`~crampwatch.weekly.dose` -- :func:`weekly_dose` for a scenario (generation from nPCR or a measured
  BUN).
"""

from __future__ import annotations

from crampwatch.weekly.clearance import (
    BLOOD_WATER,
    MEYER,
    SESSION,
    BloodWaterConstants,
    blood_water_constants,
    dialyzer_urea_clearance_ml_min,
    urea_clearance_array,
)
from crampwatch.weekly.dose import DEFAULT_HCT_PCT, generation_from_pre_bun_mg_day, weekly_dose
from crampwatch.weekly.schedule import (
    DAY_NAMES,
    MINUTES_PER_WEEK,
    SCHEDULES,
    SESSION_START_MIN,
    gaps_before_min,
    midweek_session_index,
    parse_days,
)
from crampwatch.weekly.week import (
    MODELS,
    TWO_POOL_EXTRACELLULAR_FRACTION,
    TWO_POOL_KC_PER_MIN,
    PoolModel,
    WeeklyResult,
    simulate_week,
    std_ktv_leypoldt,
    std_ktv_leypoldt_array,
)

__all__ = [
    "BLOOD_WATER",
    "DAY_NAMES",
    "DEFAULT_HCT_PCT",
    "MEYER",
    "MINUTES_PER_WEEK",
    "MODELS",
    "SCHEDULES",
    "SESSION",
    "SESSION_START_MIN",
    "TWO_POOL_EXTRACELLULAR_FRACTION",
    "TWO_POOL_KC_PER_MIN",
    "BloodWaterConstants",
    "PoolModel",
    "WeeklyResult",
    "blood_water_constants",
    "dialyzer_urea_clearance_ml_min",
    "urea_clearance_array",
    "gaps_before_min",
    "generation_from_pre_bun_mg_day",
    "midweek_session_index",
    "parse_days",
    "simulate_week",
    "std_ktv_leypoldt",
    "std_ktv_leypoldt_array",
    "weekly_dose",
]
