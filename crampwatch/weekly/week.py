"""Weekly urea kinetics and dialysis-dose adequacy at the periodic steady state.

The body is one urea pool (fixed or variable volume) or two pools (extracellular + intracellular). Urea is
generated at a constant rate G, removed by the dialyzer during sessions and by residual kidney clearance Kr
all week. Within each interval (a session, or the gap to the next one) every parameter is constant, so each
interval maps the state affinely: ``x_end = Phi x_start + phi`` (closed form for one pool, a matrix
exponential for two pools). The one-week map is the composition of these maps; its fixed point
``x* = (I - P)^-1 p`` is the periodic steady state, solved directly (no iteration over weeks).

Mass balance (Sargent & Gotch, urea kinetic modelling; Depner TA, Prescribing Hemodialysis, 1991):
one pool ``d(V C)/dt = G - (K + Kr) C``, ``dV/dt = q`` (fluid gain between sessions, net UF during them);
two pools (Solute-Solver, Daugirdas JT et al. AJKD 2009;54:798)
``d(Ve Ce)/dt = G - (K + Kr) Ce - Kc (Ce - Ci)``,
``Vi dCi/dt = Kc (Ce - Ci)``, Ve = 1/3 and Vi = 2/3 of the post-dialysis V, ``Kc = 0.016 /min x V_post``;
fluid is gained and removed in the extracellular pool only.

Dialyzer clearance: Michaels' counter-current relation on the effective blood-water flow (urea is carried in
plasma water and red-cell water), with the Sargent-Gotch ultrafiltration correction; see
:func:`dialyzer_urea_clearance_ml_min`.

Validated against the 149 golden cases of T. W. Meyer's urea simulator (test suite of ``aaaahn/dialsim``,
MIT License). Deliberate differences from that simulator: (1) exact integration of each interval instead of
6-minute explicit Euler steps; (2) the periodic steady state is solved exactly, whereas the simulator stops
iterating once the week's start and end differ by < 1 mg/dL; (3) residual kidney clearance also acts during
sessions (the kidneys do not stop during dialysis; the simulator switches Kr off then). Concentrations are
urea nitrogen (BUN) in mg/dL because G is given in mg urea nitrogen per day.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

import numpy as np

from crampwatch.errors import InputError, require_range
from crampwatch.kinetics import ekt_v_rate, sp_ktv_daugirdas
from crampwatch.kinetics.dose import VENOUS_ACCESS
from crampwatch.signals import HCT_PCT, QB_ML_MIN
from crampwatch.weekly.clearance import BloodWaterConstants, dialyzer_urea_clearance_ml_min
from crampwatch.weekly.intervals import Interval, one_pool_interval, two_pool_interval
from crampwatch.weekly.schedule import DAY_NAMES, MINUTES_PER_WEEK, gaps_before_min, parse_days

#: Lowest urea nitrogen generation accepted, mg/day (modelling choice: far below any nPCR in the plausible
#: range for an adult).
GENERATION_MIN_MG_DAY = 100.0

#: Two-pool constants (Solute-Solver, Daugirdas et al. AJKD 2009;54:798):
#: extracellular pool = 1/3 of post-dialysis V; intercompartment clearance Kc = 0.016 /min x V_post.
TWO_POOL_EXTRACELLULAR_FRACTION = 1.0 / 3.0
TWO_POOL_KC_PER_MIN = 0.016

PoolModel = Literal["single_pool", "variable_volume", "two_pool"]
MODELS: tuple[str, ...] = get_args(PoolModel)
#: Each urea model in words.
MODEL_LABELS: dict[str, str] = {
    "single_pool": "single pool, fixed volume",
    "variable_volume": "single pool, variable volume",
    "two_pool": "two pools, variable volume",
}


@dataclass(frozen=True)
class WeeklyResult:
    """Periodic steady state of one week. Concentrations are BUN in mg/dL; clearances in mL/min."""

    model: str
    days: tuple[str, ...]
    avg_clearance_ml_min: float  # mean dialyzer clearance over the week's sessions
    tac_mg_dl: float  # time-averaged concentration (blood / extracellular pool)
    avg_peak_mg_dl: float  # mean pre-dialysis concentration
    sp_ktv: float  # mean per-session single-pool Kt/V = K t / V_post
    ekt_v: float  # mean per-session equilibrated Kt/V (Daugirdas rate equation)
    std_ktv: float  # weekly standard Kt/V (Gotch 1998 / Leypoldt 2004 formula from eKt/V)
    std_ktv_peak: float  # weekly standard Kt/V by definition: G x week / (mean peak x V) (Gotch 1998)
    urr_pct: float  # mean per-session urea reduction ratio
    clearance_ml_min: list[float] = field(default_factory=list)  # per session
    pre_mg_dl: list[float] = field(default_factory=list)
    post_mg_dl: list[float] = field(default_factory=list)
    sp_ktv_sessions: list[float] = field(default_factory=list)
    sp_ktv_daugirdas_sessions: list[float] = field(default_factory=list)
    ekt_v_sessions: list[float] = field(default_factory=list)
    urr_pct_sessions: list[float] = field(default_factory=list)
    uf_l_sessions: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON; NaN (undefined estimates) becomes None."""
        d = asdict(self)
        d["days"] = list(self.days)
        for key, val in d.items():
            if isinstance(val, float) and math.isnan(val):
                d[key] = None
            elif isinstance(val, list):
                d[key] = [None if isinstance(x, float) and math.isnan(x) else x for x in val]
        return d


def std_ktv_leypoldt(ekt_v: float, duration_min: float, sessions_per_week: int) -> float:
    """Weekly standard Kt/V from the per-session equilibrated Kt/V.

    Concept: Gotch FA, NDT 1998;13 Suppl 6:10 (continuous-equivalent clearance G / mean pre-dialysis
    concentration, normalised to V); closed form of Leypoldt JK, Jaber BL, Zimmerman DL. Semin Dial
    2004;17:142 (used by the FHN trials and KDOQI 2015):
    ``stdKt/V = [10080 (1 - e^-eKt/V) / t] / [(1 - e^-eKt/V)/eKt/V + 10080/(N t) - 1]``, t in minutes.
    Fixed volume, no residual clearance; the FHN fluid-removal and Kr corrections (Daugirdas et al.
    Kidney Int 2010;77:637) are not applied because their constants were not verified here. The model's
    own definition-based value (``WeeklyResult.std_ktv_peak``) includes UF and Kr.
    """
    e = require_range("ekt_v", ekt_v, 1e-6, 10)
    t = require_range("duration_min", duration_min, 1, 1440, "min")
    n = int(require_range("sessions_per_week", sessions_per_week, 1, 7))
    return float(std_ktv_leypoldt_array(e, t, n))


def std_ktv_leypoldt_array(
    ekt_v: np.ndarray, duration_min: np.ndarray, sessions_per_week: np.ndarray
) -> np.ndarray:
    """Array core of :func:`std_ktv_leypoldt` (no range checks; NaN where an input is outside its range:
    eKt/V 1e-6-10, duration 1-1440 min, 1-7 sessions per week)."""
    e, t, n = (np.asarray(x, dtype=float) for x in (ekt_v, duration_min, np.floor(sessions_per_week)))
    ok = (e >= 1e-6) & (e <= 10) & (t >= 1) & (t <= 1440) & (n >= 1) & (n <= 7)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        x = 1.0 - np.exp(-e)
        std = MINUTES_PER_WEEK * x / t / (x / e + MINUTES_PER_WEEK / (n * t) - 1.0)
    return np.where(ok, std, np.nan)


def simulate_week(
    *,
    duration_h: float,
    qb_ml_min: float,
    qd_ml_min: float,
    koa_ml_min: float,
    hct_pct: float,
    generation_mg_day: float,
    v_l: float,
    kr_ml_min: float = 0.0,
    days: str | Sequence[str | int] = ("mon", "wed", "fri"),
    model: str = "single_pool",
    fluid_gain_l_day: float = 0.0,
    blood_water: str | BloodWaterConstants = "session",
    catheter: bool | None = None,
    access: str = "fistula",
    two_pool_substeps: int = 4,
    post_weight_kg: float | None = None,
) -> WeeklyResult:
    """Weekly periodic steady state of urea for one prescription.

    ``v_l`` is the post-dialysis (dry) urea distribution volume. ``fluid_gain_l_day`` (variable-volume and
    two-pool models) is gained continuously all week and removed in each session (UF = gain since the previous
    session start, so every session ends at ``v_l``). ``model``: ``single_pool`` (fixed volume, no fluid
    gain), ``variable_volume`` (one pool), ``two_pool`` (Solute-Solver constants). All intervals are
    integrated exactly except two pools with a changing volume (midpoint-volume steps with Richardson
    extrapolation; relative error about 1e-4 against a stiff ODE solver, a few ms per call). ``blood_water``
    is the clearance convention (default ``session``, shared with the session model; ``meyer`` reproduces T.
    W. Meyer's simulator); catheter recirculation applies with a catheter ``access`` (or ``catheter=True``).
    ``post_weight_kg`` only enters the UF term of the Daugirdas estimate (default V/0.58, a modelling choice).
    """
    t_min, g_mg_min, v_ml, kr, gain_ml_min, m, day_idx, gaps_before = _checked_inputs(
        duration_h,
        qb_ml_min,
        qd_ml_min,
        koa_ml_min,
        hct_pct,
        generation_mg_day,
        v_l,
        kr_ml_min,
        days,
        model,
        fluid_gain_l_day,
    )
    n = len(day_idx)

    # per-session UF and clearance (catheter recirculation follows the access unless given)
    is_catheter = str(access).strip().lower() in VENOUS_ACCESS if catheter is None else catheter
    uf_ml = gain_ml_min * gaps_before  # each session removes what was gained since the previous start
    qf = uf_ml / t_min
    kd = np.asarray(
        dialyzer_urea_clearance_ml_min(
            qb_ml_min, qd_ml_min, koa_ml_min, hct_pct, qf, blood_water, catheter=is_catheter
        ),
        dtype=float,
    ) * np.ones(n)

    two = m == "two_pool"
    ve_post = v_ml * (TWO_POOL_EXTRACELLULAR_FRACTION if two else 1.0)
    vi = v_ml - ve_post
    kc = TWO_POOL_KC_PER_MIN * v_ml  # mL/min (0.016 /min x V_post in mL)
    dim = 2 if two else 1

    intervals = _week_intervals(n, gaps_before, t_min, ve_post, uf_ml, gain_ml_min, qf, kd, kr)
    maps = _interval_maps(intervals, two, vi, kc, g_mg_min, two_pool_substeps)
    pre, post, tac_mg_ml = _periodic_steady_state(intervals, maps, dim, n)

    return _weekly_result(
        m, day_idx, kd, t_min, v_ml, g_mg_min, access, uf_ml, post_weight_kg, pre, post, tac_mg_ml
    )


def _checked_inputs(
    duration_h: float,
    qb_ml_min: float,
    qd_ml_min: float,
    koa_ml_min: float,
    hct_pct: float,
    generation_mg_day: float,
    v_l: float,
    kr_ml_min: float,
    days: str | Sequence[str | int],
    model: str,
    fluid_gain_l_day: float,
) -> tuple[float, float, float, float, float, str, tuple[int, ...], np.ndarray]:
    """The inputs of :func:`simulate_week`, checked, in the units it integrates in: session length (min),
    urea generation (mg/min), volume (mL), residual clearance (mL/min), fluid gain (mL/min), the model, the
    session days and the gap before each session (min)."""
    t_min = require_range("duration_h", duration_h, 0.25, 24, "h") * 60.0
    require_range(QB_ML_MIN, qb_ml_min, 10, 2000, "mL/min")
    require_range("qd_ml_min", qd_ml_min, 10, 3000, "mL/min")
    require_range("koa_ml_min", koa_ml_min, 10, 5000, "mL/min")
    require_range(HCT_PCT, hct_pct, 5, 70, "%")
    g_mg_min = (
        require_range("generation_mg_day", generation_mg_day, GENERATION_MIN_MG_DAY, 50000, "mg/day") / 1440.0
    )
    v_ml = require_range("v_l", v_l, 5, 150, "L") * 1000.0
    kr = require_range("kr_ml_min", kr_ml_min, 0, 100, "mL/min")
    gain_ml_min = require_range("fluid_gain_l_day", fluid_gain_l_day, 0, 10, "L/day") * 1000.0 / 1440.0
    m = str(model).strip().lower()
    if m not in MODELS:
        raise InputError(f"model: {model!r} is not one of {', '.join(MODELS)}", "model")
    if m == "single_pool" and gain_ml_min > 0:
        raise InputError("fluid_gain_l_day: the fixed-volume single_pool model has no fluid gain", "model")
    day_idx = parse_days(days)
    gaps_before = gaps_before_min(day_idx)
    if t_min > float(np.min(gaps_before)) + 1e-9:
        raise InputError(
            f"duration_h: {duration_h!r} is longer than the shortest gap between sessions "
            f"({float(np.min(gaps_before)) / 60:g} h)",
            "duration_h",
        )
    return t_min, g_mg_min, v_ml, kr, gain_ml_min, m, day_idx, gaps_before


def _week_intervals(
    n: int,
    gaps_before: np.ndarray,
    t_min: float,
    ve_post: float,
    uf_ml: np.ndarray,
    gain_ml_min: float,
    qf: np.ndarray,
    kd: np.ndarray,
    kr: float,
) -> list[Interval]:
    """The week as intervals: session i (from its start), then the gap to the next session start."""
    intervals: list[Interval] = []
    for i in range(n):
        gap = gaps_before[(i + 1) % n] - t_min
        v_start = ve_post + uf_ml[i] - gain_ml_min * t_min  # volume at session start
        intervals.append(Interval(t_min, v_start, gain_ml_min - qf[i], kd[i] + kr, True, i))
        if gap > 1e-9:
            intervals.append(Interval(gap, ve_post, gain_ml_min, kr, False, i))

    return intervals


def _interval_maps(
    intervals: list[Interval], two: bool, vi: float, kc: float, g_mg_min: float, two_pool_substeps: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """The affine map of each interval (start state -> end state) and its concentration integral."""
    maps = []
    for iv in intervals:
        if two:
            pm, pv, ps, om = two_pool_interval(
                iv.tau, iv.v_start, vi, iv.q, iv.k, kc, g_mg_min, two_pool_substeps
            )
        else:
            a, b, c, d = one_pool_interval(iv.tau, iv.v_start, iv.q, iv.k, g_mg_min)
            pm, pv, ps, om = np.array([[a]]), np.array([b]), np.array([c]), d
        maps.append((pm, pv, ps, om))

    return maps


def _periodic_steady_state(
    intervals: list[Interval], maps: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]], dim: int, n: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Pre- and post-dialysis concentrations of each session (mg/mL) at the periodic steady state, and the
    time-averaged concentration of the week (mg/mL)."""
    # compose the one-week map and solve its fixed point x* = P x* + p
    big_p = np.eye(dim)
    small_p = np.zeros(dim)
    for pm, pv, _ps, _om in maps:
        small_p = pm @ small_p + pv
        big_p = pm @ big_p
    x = np.linalg.solve(np.eye(dim) - big_p, small_p)

    pre = np.zeros(n)
    post = np.zeros(n)
    integral = 0.0
    for iv, (pm, pv, ps, om) in zip(intervals, maps, strict=True):
        if iv.dialysis:
            pre[iv.session] = x[0]
        integral += float(ps @ x + om)
        x = pm @ x + pv
        if iv.dialysis:
            post[iv.session] = x[0]
    tac_mg_ml = integral / MINUTES_PER_WEEK

    return pre, post, tac_mg_ml


def _weekly_result(
    m: str,
    day_idx: tuple[int, ...],
    kd: np.ndarray,
    t_min: float,
    v_ml: float,
    g_mg_min: float,
    access: str,
    uf_ml: np.ndarray,
    post_weight_kg: float | None,
    pre: np.ndarray,
    post: np.ndarray,
    tac_mg_ml: float,
) -> WeeklyResult:
    """The dose measures of the week from its periodic steady state."""
    n = len(day_idx)
    # dose measures (C in mg/mL -> mg/dL: x 100)
    sp = kd * t_min / v_ml
    ekt = np.asarray(ekt_v_rate(sp, t_min / 60.0, access), dtype=float)
    urr = 100.0 * (1.0 - post / pre)
    # body weight only enters the small UF/W term of the Daugirdas estimate; default V = 58 % of weight
    # (modelling choice)
    w_post_kg = v_ml / 1000.0 / 0.58 if post_weight_kg is None else post_weight_kg
    sp_dg = np.full(n, np.nan)  # undefined where R - 0.008 t <= 0 (very long or very efficient sessions)
    for i in range(n):
        with contextlib.suppress(InputError):
            sp_dg[i] = sp_ktv_daugirdas(
                pre[i] * 100.0, post[i] * 100.0, t_min / 60.0, uf_ml[i] / 1000.0, w_post_kg
            )
    std = std_ktv_leypoldt(max(float(np.mean(ekt)), 1e-6), t_min, n)
    std_peak = g_mg_min * MINUTES_PER_WEEK / (float(np.mean(pre)) * v_ml)

    return WeeklyResult(
        model=m,
        days=tuple(DAY_NAMES[d] for d in day_idx),
        avg_clearance_ml_min=float(np.mean(kd)),
        tac_mg_dl=tac_mg_ml * 100.0,
        avg_peak_mg_dl=float(np.mean(pre)) * 100.0,
        sp_ktv=float(np.mean(sp)),
        ekt_v=float(np.mean(ekt)),
        std_ktv=std,
        std_ktv_peak=float(std_peak),
        urr_pct=float(np.mean(urr)),
        clearance_ml_min=[float(v) for v in kd],
        pre_mg_dl=[float(v) * 100.0 for v in pre],
        post_mg_dl=[float(v) * 100.0 for v in post],
        sp_ktv_sessions=[float(v) for v in sp],
        sp_ktv_daugirdas_sessions=[float(v) for v in sp_dg],
        ekt_v_sessions=[float(v) for v in ekt],
        urr_pct_sessions=[float(v) for v in urr],
        uf_l_sessions=[float(v) / 1000.0 for v in uf_ml],
    )
