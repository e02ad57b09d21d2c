"""Prescription advice rules shared by the cause findings and the optimizer (one place for each value).

A finding's "what to change" and the optimizer's search come from the same rules: the dialysate Na window
around plasma Na, the cool-dialysate range and the dialysate Ca/Mg/bicarbonate targets are read from the
prescription-setting registry (:mod:`crampwatch.prescription_settings`, the optimizer's search ranges)
and from the analyzer's thresholds, so the finding never advises a value the optimizer would not try.
"""

from __future__ import annotations

from crampwatch.causes.thresholds import th
from crampwatch.prescription_settings import setting

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


def _fmt(x: float) -> str:
    return f"{x:g}"


def dialysate_na_window(plasma_na_mmol_l: float) -> tuple[float, float]:
    """The dialysate Na range (mmol/L) the rules allow for this plasma Na, inside the model's range."""
    lo, hi = setting("dialysate_na_mmol_l").valid_range or (float("-inf"), float("inf"))
    g_lo, g_hi = NA_GRADIENT_RANGE_MMOL_L
    return max(lo, plasma_na_mmol_l + g_lo), min(hi, plasma_na_mmol_l + g_hi)


def raise_na_action(plasma_na_mmol_l: float) -> str:
    a, b = dialysate_na_window(plasma_na_mmol_l)
    g_lo, g_hi = NA_GRADIENT_RANGE_MMOL_L
    return (
        f"Raise dialysate Na into {a:.0f}–{b:.0f} mmol/L (pre-dialysis plasma Na {plasma_na_mmol_l:.0f} "
        f"{g_lo:+g} to {g_hi:+g} mmol/L), or use a decreasing Na profile with that mean"
    )


def cool_dialysate_range_c() -> tuple[float, float]:
    """Cool-dialysate temperatures, °C: the optimizer's lowest temperature up to 36 °C."""
    lo = (setting("dialysate_temp_c").search_range or (COOL_DIALYSATE_MAX_C, COOL_DIALYSATE_MAX_C))[0]
    return lo, COOL_DIALYSATE_MAX_C


def cool_dialysate_action() -> str:
    lo, hi = cool_dialysate_range_c()
    return f"Cool the dialysate to {_fmt(lo)}–{_fmt(hi)} °C"


def raise_ca_action(current_mmol_l: float) -> str:
    hi = (setting("dialysate_ca_mmol_l").search_range or (current_mmol_l, current_mmol_l))[1]
    return (
        f"Raise dialysate Ca from {current_mmol_l:.2f} to {_fmt(hi)} mmol/L, up to "
        f"{_fmt(CA_MAX_IF_HYPOCALCEMIA_MMOL_L)} mmol/L while hypocalcemia persists (check PTH and Ca balance)"
    )


def raise_mg_action() -> str:
    lo = (setting("dialysate_mg_mmol_l").search_range or (0.0, 0.0))[0]
    return f"Raise dialysate Mg to {_fmt(lo)} mmol/L (or more if serum Mg stays low)"


def lower_bicarbonate_action() -> str:
    s = setting("dialysate_hco3_mmol_l")
    lo, hi = s.search_range or (0.0, 0.0)
    step = s.search_step or 0.0
    return (
        f"Lower dialysate bicarbonate (within {_fmt(lo)}–{_fmt(hi)} mmol/L, e.g. {_fmt(lo + step)} mmol/L) "
        "to limit intradialytic alkalosis"
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
