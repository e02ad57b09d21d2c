"""Prescription advice rules shared by the cause findings and the optimizer (one place for each value).

A finding's "what to change" and the optimizer's search come from the same rules: the dialysate Na window
around plasma Na, the cool-dialysate range and the dialysate Ca/Mg/bicarbonate targets are read from the
prescription-setting registry (:mod:`crampwatch.prescription_settings`, the optimizer's search ranges)
and from the analyzer's thresholds, so the finding never advises a value the optimizer would not try.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from crampwatch.causes.thresholds import th
from crampwatch.kinetics import KDOQI_TARGET_SP_KTV
from crampwatch.prescription_settings import setting
from crampwatch.quantities import duration_for_uf_rate_min_array
from crampwatch.signals import DIALYSATE_NA_MMOL_L, DIALYSATE_TEMP_C, QB_ML_MIN

#: Dialysate Na gradient window (time-averaged dialysate Na - pre-dialysis plasma Na), mmol/L: the lower
#: end is the analyzer's neutral gradient (-2: no more cramps, Arramreddy 2012 Hemodial Int 16:473); the
#: symmetric +2 upper end is a modelling choice (thirst: OR 1.33 per +1 mmol/L for IDWG > 3 %, Trinh &
#: Weber 2017).
NA_GRADIENT_RANGE_MMOL_L: tuple[float, float] = (
    th("na_gradient_neutral_mmol_l"),
    -th("na_gradient_neutral_mmol_l"),
)
#: Dialysate Ca allowed above the KDIGO 1.25-1.50 mmol/L range only when hypocalcemia is a cause: 1.75 vs
#: 1.5 mmol/L reduced IDH and cramps (IJKD study, n = 52; Maynard 1986), at the cost of a positive Ca
#: balance (Goldenstein 2018) that needs CKD-MBD review.
CA_MAX_IF_HYPOCALCEMIA_MMOL_L = 1.75
#: Cool dialysate: below 36 °C (Selby & McIntyre NDT 2006; Cochrane CD012598, Tsujimoto 2019: fixed
#: < 36 vs 37-37.5 °C); the lower end is the optimizer's search range.
COOL_DIALYSATE_MAX_C = 36.0
#: Named UF profiles that remove more fluid early than late (``Prescription.uf_fraction`` shapes).
DECREASING_UF_PROFILES = ("linear_decreasing", "step")
#: First session (vintage 0): blood flow 150-200 mL/min, 2-2.5 h, URR below 40 % to prevent disequilibrium
#: (Daugirdas Handbook of Dialysis, acute prescription chapter; CJASN DDS prevention table 2-2.5 h, Qb
#: 200-250 mL/min).
FIRST_SESSION_QB_RANGE_ML_MIN = (150.0, 200.0)
FIRST_SESSION_DURATION_RANGE_MIN = (120.0, 150.0)
FIRST_SESSION_MAX_URR_PCT = th("dds_urr_pct")


def _fmt(x: float) -> str:
    return f"{x:g}"


def dialysate_na_window(plasma_na_mmol_l: float) -> tuple[float, float]:
    """The dialysate Na range (mmol/L) the rules allow for this plasma Na, inside the model's range."""
    lo, hi = setting(DIALYSATE_NA_MMOL_L).valid_range or (float("-inf"), float("inf"))
    g_lo, g_hi = NA_GRADIENT_RANGE_MMOL_L
    return max(lo, plasma_na_mmol_l + g_lo), min(hi, plasma_na_mmol_l + g_hi)


def raise_na_action(plasma_na_mmol_l: float, dialysate_na_mmol_l: float) -> str | None:
    """Raise a time-averaged dialysate Na below the window into it; ``None`` when it is already there."""
    a, b = dialysate_na_window(plasma_na_mmol_l)
    if dialysate_na_mmol_l >= a - 0.5:  # inside the window, to the displayed whole mmol/L
        return None
    g_lo, g_hi = NA_GRADIENT_RANGE_MMOL_L
    return (
        f"Raise dialysate Na from {dialysate_na_mmol_l:.0f} into {a:.0f}–{b:.0f} mmol/L (pre-dialysis plasma "
        f"Na {plasma_na_mmol_l:.0f} {g_lo:+g} to {g_hi:+g} mmol/L), or use a decreasing Na profile with that "
        "mean"
    )


def cool_dialysate_range_c() -> tuple[float, float]:
    """Cool-dialysate temperatures, °C: the optimizer's lowest temperature up to 36 °C."""
    lo = (setting(DIALYSATE_TEMP_C).search_range or (COOL_DIALYSATE_MAX_C, COOL_DIALYSATE_MAX_C))[0]
    return lo, COOL_DIALYSATE_MAX_C


def cool_dialysate_action(temp_c: float) -> str | None:
    """Cool a warm dialysate into the cool range; ``None`` when it is already cool."""
    lo, hi = cool_dialysate_range_c()
    if temp_c <= hi:
        return None
    return f"Cool the dialysate from {_fmt(temp_c)} to {_fmt(lo)}–{_fmt(hi)} °C"


def raise_ca_action(current_mmol_l: float) -> str:
    hi = (setting("dialysate_ca_mmol_l").search_range or (current_mmol_l, current_mmol_l))[1]
    return (
        f"Raise dialysate Ca from {current_mmol_l:.2f} to {_fmt(hi)} mmol/L, up to "
        f"{_fmt(CA_MAX_IF_HYPOCALCEMIA_MMOL_L)} mmol/L while hypocalcemia persists (check PTH and Ca balance)"
    )


def raise_mg_action() -> str:
    lo = (setting("dialysate_mg_mmol_l").search_range or (0.0, 0.0))[0]
    return f"Raise dialysate Mg to {_fmt(lo)} mmol/L (or more if serum Mg stays low)"


def dialysate_mg_action(current_mmol_l: float) -> str | None:
    """Raise dialysate Mg: to the lowest advised value when below it, else one step while serum Mg stays
    low; ``None`` at the highest value the optimizer tries."""
    s = setting("dialysate_mg_mmol_l")
    lo, hi = s.search_range or (current_mmol_l, current_mmol_l)
    if current_mmol_l < lo:
        return (
            f"Raise dialysate Mg from {_fmt(current_mmol_l)} to {_fmt(lo)} mmol/L (or more if serum Mg stays "
            "low)"
        )
    if current_mmol_l >= hi:
        return None
    target = min(hi, current_mmol_l + (s.search_step or hi - current_mmol_l))
    return f"Raise dialysate Mg from {_fmt(current_mmol_l)} to {_fmt(target)} mmol/L while serum Mg stays low"


def lower_bicarbonate_action(current_mmol_l: float) -> str | None:
    """Lower dialysate bicarbonate by steps toward the floor of the allowed range; ``None`` at the floor."""
    s = setting("dialysate_hco3_mmol_l")
    lo, hi = s.search_range or (current_mmol_l, current_mmol_l)
    step = s.search_step or 0.0
    if current_mmol_l <= lo:
        return None
    target = max(lo, min(lo + step, current_mmol_l - step))
    return (
        f"Lower dialysate bicarbonate from {_fmt(current_mmol_l)} to {_fmt(target)} mmol/L (allowed "
        f"{_fmt(lo)}–{_fmt(hi)} mmol/L) to limit intradialytic alkalosis"
    )


def front_loaded(profile: str | Sequence[Sequence[float]], duration_min: float = 1.0) -> bool:
    """Whether a UF profile removes more in the first half of the session than in the second: a name, or
    ``[(t, fraction of the mean rate), ...]`` with ``t`` in minutes of a session of ``duration_min`` (or as
    a fraction of the session with the default 1)."""
    if isinstance(profile, str):
        return profile in DECREASING_UF_PROFILES
    pts = [(float(t) / duration_min, float(f)) for t, f in profile]
    pts.append((1.0, pts[-1][1]))
    first = second = 0.0
    for (t0, f), (t1, _) in zip(pts, pts[1:], strict=False):
        first += f * max(0.0, min(t1, 0.5) - t0)
        second += f * max(0.0, t1 - max(t0, 0.5))
    return first > second


def extend_session_action(uf_l: float, post_weight_kg: float, duration_min: float) -> str | None:
    """A longer session for a UF rate at or below 13 and 10 mL/kg/h (Flythe 2011; Assimon 2016), naming only
    the targets the session does not reach yet; ``None`` when it reaches both."""
    if not (uf_l > 0 and post_weight_kg > 0 and duration_min > 0):
        return None
    needed = [
        (limit, math.ceil(float(duration_for_uf_rate_min_array(uf_l, post_weight_kg, limit))))
        for limit in (th("ufr_13_ml_kg_h"), th("ufr_10_ml_kg_h"))
    ]
    needed = [(limit, minutes) for limit, minutes in needed if minutes > duration_min]
    if not needed:
        return None
    (limit, minutes), rest = needed[0], needed[1:]
    text = (
        f"Lower the UF rate: extend the session from {_fmt(duration_min)} to at least {minutes} min for "
        f"UFR <= {_fmt(limit)} mL/kg/h"
    )
    if rest:
        text += f" ({rest[0][1]} min for <= {_fmt(rest[0][0])})"
    return text + ", or add a session"


def limit_weight_gain_action(na_gradient_mmol_l: float) -> str:
    text = "Limit interdialytic weight gain (salt and fluid advice)"
    if na_gradient_mmol_l > 0.05:
        text += f"; bring the dialysate Na gradient from {na_gradient_mmol_l:+.1f} mmol/L to 0 or below"
    return text


def blood_volume_guided_uf_action(decreasing_profile: bool) -> str:
    text = "Use blood-volume-guided UF (stop or slow UF near the critical RBV)"
    return text if decreasing_profile else text + " and a decreasing UF profile"


def gentle_first_sessions_action(qb_ml_min: float, duration_min: float) -> str:
    """Gentle first sessions: the blood flow and session time limits the prescription exceeds, and the URR
    target (Daugirdas Handbook of Dialysis; CJASN DDS prevention table)."""
    q_lo, q_hi = FIRST_SESSION_QB_RANGE_ML_MIN
    d_lo, d_hi = FIRST_SESSION_DURATION_RANGE_MIN
    parts = []
    if qb_ml_min > q_hi:
        parts.append(f"Qb from {_fmt(qb_ml_min)} to {_fmt(q_hi)} mL/min ({_fmt(q_lo)} if small)")
    if duration_min > d_hi:
        parts.append(f"session time from {_fmt(duration_min)} to {_fmt(d_lo)}–{_fmt(d_hi)} min")
    parts.append("a smaller dialyzer or a lower dialysate flow")
    target = f"target URR < {_fmt(FIRST_SESSION_MAX_URR_PCT)} %"
    return f"Make the first sessions gentle: {', '.join(parts)}; {target}"


def increase_dose_action(sp_ktv: float, duration_min: float, qb_ml_min: float, koa_ml_min: float) -> str:
    """A higher dose, naming the session time and blood flow the optimizer could still raise."""
    d_hi = (setting("duration_min").search_range or (duration_min, duration_min))[1]
    q_hi = (setting(QB_ML_MIN).search_range or (qb_ml_min, qb_ml_min))[1]
    ways = []
    if duration_min < d_hi:
        ways.append(f"a session longer than {_fmt(duration_min)} min")
    if qb_ml_min < q_hi:
        ways.append(f"Qb above {_fmt(qb_ml_min)} mL/min")
    ways.append(f"a dialyzer larger than KoA {_fmt(koa_ml_min)} mL/min or more sessions a week")
    shown = f"spKt/V {sp_ktv:.2f}, " if math.isfinite(sp_ktv) else ""
    return (
        f"Increase the dose ({shown}target {_fmt(KDOQI_TARGET_SP_KTV)}): {', '.join(ways)}; check access "
        "recirculation"
    )


# ------------------------------------------------------------------------------ actions during a session
# The live early warning proposes one of these while the session runs (a nurse decides; crampwatch never
# controls the machine). Durations are modelling choices: a UF pause of 10 min and a lowered rate for
# 30 min are common bedside responses to a falling blood volume (Crit-Line / BVM practice).

#: Minutes a lowered UF rate is held, and the fraction of the running rate it is lowered to.
LOWER_UF_MIN = 30.0
LOWER_UF_FRACTION = 0.5
#: Minutes of a UF pause.
PAUSE_UF_MIN = 10.0
#: Rounding of a proposed UF rate, mL/h (machine setting resolution; modelling choice).
UF_RATE_STEP_ML_H = 50.0


def lowered_uf_rate_ml_h(running_ml_h: float) -> float:
    """The proposed lower UF rate: :data:`LOWER_UF_FRACTION` of the running rate, rounded down to the step."""
    return max(0.0, UF_RATE_STEP_ML_H * (LOWER_UF_FRACTION * running_ml_h // UF_RATE_STEP_ML_H))


def lower_uf_rate_action(rate_ml_h: float, minutes: float = LOWER_UF_MIN) -> str:
    return f"Lower the UF rate to {rate_ml_h:.0f} mL/h for {_fmt(minutes)} min"


def pause_uf_action(minutes: float = PAUSE_UF_MIN) -> str:
    return f"Pause UF for {_fmt(minutes)} min"


def cool_dialysate_now_action(temp_c: float) -> str:
    return f"Cool the dialysate to {_fmt(temp_c)} °C for the rest of the session"


def raise_dialysate_na_now_action(na_mmol_l: float) -> str:
    return f"Raise dialysate Na to {na_mmol_l:.0f} mmol/L for the rest of the session"
