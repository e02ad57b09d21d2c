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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, NamedTuple, get_args

import numpy as np
from scipy.linalg import expm

from crampwatch.errors import InputError, require_range
from crampwatch.kinetics import (
    ekt_v_rate,
    michaels_clearance_ml_min,
    sp_ktv_daugirdas,
    urea_mmol_l_to_bun_mg_dl,
    watson_volume_l,
)
from crampwatch.model import Scenario

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

#: Two-pool constants (Solute-Solver, Daugirdas et al. AJKD 2009;54:798, as quoted in physiology.md §2.1):
#: extracellular pool = 1/3 of post-dialysis V; intercompartment clearance Kc = 0.016 /min x V_post.
TWO_POOL_EXTRACELLULAR_FRACTION = 1.0 / 3.0
TWO_POOL_KC_PER_MIN = 0.016

PoolModel = Literal["single_pool", "variable_volume", "two_pool"]
MODELS: tuple[str, ...] = get_args(PoolModel)


@dataclass(frozen=True)
class BloodWaterConstants:
    """How blood carries urea to the dialyzer and what concentration the clearance refers to."""

    name: str
    plasma_water_fraction: float
    red_cell_water_fraction: float
    plasma_referenced: bool
    source: str


#: T. W. Meyer's simulator (aaaahn/dialsim): plasma water 0.93 of plasma (protein fraction 0.07), red-cell
#: water term 0.86 x Hct, clearance expressed per plasma concentration (removal / C_plasma = K_water / 0.93).
#: 0.93 is also Solute-Solver's plasma-water fraction (Daugirdas et al. AJKD 2009). Default, because it
#: reproduces the validated simulator (median error 0.01 % on its 149 clearances).
MEYER = BloodWaterConstants(
    "meyer", 0.93, 0.86, True, "T. W. Meyer urea simulator (aaaahn/dialsim, MIT); Daugirdas AJKD 2009"
)
#: Ursino et al. Ann Biomed Eng 2000 / Lim et al. Yonsei Med J 2008 App. 1 eq. 27: plasma water 0.94,
#: red-cell water 0.72 of red-cell volume, clearance on the blood-water basis (V = total body water). Red-cell
#: water content is ~0.72 (Ursino 2000), so this form gives a blood-water flow 4.4 % lower than Meyer's at
#: Hct 33 %; without the plasma-water referencing its clearances are 7-11 % below the simulator's on the
#: 149 golden cases. Offered for consistency with the intradialytic session model.
URSINO = BloodWaterConstants("ursino", 0.94, 0.72, False, "Ursino Ann Biomed Eng 2000; Lim Yonsei Med J 2008")
BLOOD_WATER = {c.name: c for c in (MEYER, URSINO)}


def _blood_water(blood_water: str | BloodWaterConstants) -> BloodWaterConstants:
    if isinstance(blood_water, BloodWaterConstants):
        return blood_water
    try:
        return BLOOD_WATER[str(blood_water).strip().lower()]
    except KeyError:
        raise InputError(
            f"blood_water: {blood_water!r} is not one of {', '.join(BLOOD_WATER)}", "blood_water"
        ) from None


def dialyzer_urea_clearance_ml_min(
    qb_ml_min: float | np.ndarray,
    qd_ml_min: float | np.ndarray,
    koa_ml_min: float | np.ndarray,
    hct_pct: float | np.ndarray,
    qf_ml_min: float | np.ndarray = 0.0,
    blood_water: str | BloodWaterConstants = "meyer",
) -> float | np.ndarray:
    """Dialyzer urea clearance, mL/min (numpy arrays broadcast).

    Effective blood-water flow ``Qe = Qb [Fp (1 - Hct) + Fr Hct]`` (urea moves freely out of red-cell water
    within the dialyzer; Ursino 2000 / Lim 2008 form with the constants of ``blood_water``); diffusive
    clearance by Michaels (Trans ASAIO 1966) ``Kd = Michaels(KoA, Qe, Qd)``; ultrafiltration by Sargent &
    Gotch ``K = Kd (1 - Qf/Qe) + Qf``. With plasma-referenced constants (default ``meyer``) the result is
    divided by the plasma-water fraction, i.e. it is removal rate / plasma concentration.
    """
    c = _blood_water(blood_water)
    hct = np.asarray(hct_pct, dtype=float)
    if np.any(~np.isfinite(hct) | (hct < 0) | (hct > 80)):
        raise InputError(f"hct_pct: {hct_pct!r} is out of range (allowed 0–80 %)", "hct_pct")
    qb = np.asarray(qb_ml_min, dtype=float)
    if np.any(~np.isfinite(qb) | (qb <= 0) | (qb > 2000)):
        raise InputError(f"qb_ml_min: {qb_ml_min!r} is out of range (allowed >0–2000 mL/min)", "qb_ml_min")
    qf = np.asarray(qf_ml_min, dtype=float)
    h = hct / 100.0
    qe = qb * (c.plasma_water_fraction * (1.0 - h) + c.red_cell_water_fraction * h)
    if np.any(~np.isfinite(qf) | (qf < 0) | (qf >= qe)):
        raise InputError(
            f"qf_ml_min: {qf_ml_min!r} is out of range (allowed 0 to below the blood-water flow)", "qf_ml_min"
        )
    kd = np.asarray(michaels_clearance_ml_min(koa_ml_min, qe, qd_ml_min))
    k = kd * (1.0 - qf / qe) + qf
    if c.plasma_referenced:
        k = k / c.plasma_water_fraction
    return float(k) if np.ndim(k) == 0 else k


def _gaps_before_min(day_idx: Sequence[int]) -> np.ndarray:
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


@dataclass
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


# ---------------------------------------------------------------------------------------------------------
# Interval maps
# ---------------------------------------------------------------------------------------------------------


class _Interval(NamedTuple):
    tau: float  # length, min
    v_start: float  # (extracellular) volume at its start, mL
    q: float  # dV/dt, mL/min
    k: float  # total clearance acting (dialyzer + Kr), mL/min
    dialysis: bool
    session: int  # index of the session (or of the session it follows)


def _one_pool_interval(
    tau: float, v0: float, q: float, k: float, g: float
) -> tuple[float, float, float, float]:
    """One pool, ``u dC/dt = G - (K + q) C``, u = V0 + q t. Returns (Phi, phi, psi, omega) so that
    ``C(tau) = Phi C0 + phi`` and ``int_0^tau C dt = psi C0 + omega`` (all exact)."""
    if abs(q) < 1e-12:
        if k > 0:
            e = np.exp(-k * tau / v0)
            s = v0 * (1.0 - e) / k
            return e, g / k * (1.0 - e), s, g / k * (tau - s)
        return 1.0, g * tau / v0, tau, g * tau * tau / (2.0 * v0)
    u = v0 + q * tau
    r = v0 / u
    kq = k + q
    if abs(kq) < 1e-12:  # dilution exactly balances removal: u dC/dt = G
        lg = np.log(u / v0)
        return 1.0, g / q * lg, tau, g / q * (u * lg - (u - v0)) / q
    a = k / q
    ra = r**a
    phi_mult = r * ra  # r^(a+1)
    # int_0^tau (u0/u)^(a+1) dt
    w = v0 * (1.0 - ra) / k if k > 0 else v0 * np.log(u / v0) / q
    return phi_mult, g / kq * (1.0 - phi_mult), w, g / kq * (tau - w)


def _two_pool_interval(
    tau: float, ve0: float, vi: float, q: float, k: float, kc: float, g: float, substeps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Two pools; state (Ce, Ci). Exact matrix exponential for fixed volume; for a changing extracellular
    volume, steps with the volume at each step's midpoint (error even in the step size), combined by
    Richardson extrapolation of ``substeps`` and ``2 substeps`` steps (fourth order)."""
    if abs(q) < 1e-12:
        return _two_pool_steps(tau, ve0, vi, 0.0, k, kc, g, 1)
    # at least one step per 5 % change of the extracellular volume (modelling choice: relative error ~1e-4)
    n = max(substeps, math.ceil(abs(q) * tau / (0.05 * ve0)))
    coarse = _two_pool_steps(tau, ve0, vi, q, k, kc, g, n)
    fine = _two_pool_steps(tau, ve0, vi, q, k, kc, g, 2 * n)
    pm, pv, ps, om = ((4.0 * f - c) / 3.0 for f, c in zip(fine, coarse, strict=True))
    return pm, pv, ps, float(om)


def _two_pool_steps(
    tau: float, ve0: float, vi: float, q: float, k: float, kc: float, g: float, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    h = tau / n
    phi_m = np.eye(2)
    phi_v = np.zeros(2)
    psi = np.zeros(2)
    omega = 0.0
    for i in range(n):
        ve = ve0 + q * (i + 0.5) * h
        # augmented state z = (Ce, Ci, 1, int Ce)
        a = np.zeros((4, 4))
        a[0, 0] = -(k + q + kc) / ve
        a[0, 1] = kc / ve
        a[0, 2] = g / ve
        a[1, 0] = kc / vi
        a[1, 1] = -kc / vi
        a[3, 0] = 1.0
        m = expm(a * h)
        step_m = m[:2, :2]
        step_v = m[:2, 2]
        psi = psi + m[3, :2] @ phi_m
        omega += float(m[3, :2] @ phi_v + m[3, 2])
        phi_v = step_m @ phi_v + step_v
        phi_m = step_m @ phi_m
    return phi_m, phi_v, psi, omega


# ---------------------------------------------------------------------------------------------------------
# Standard Kt/V
# ---------------------------------------------------------------------------------------------------------


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
    x = 1.0 - math.exp(-e)
    return MINUTES_PER_WEEK * x / t / (x / e + MINUTES_PER_WEEK / (n * t) - 1.0)


# ---------------------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------------------


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
    blood_water: str | BloodWaterConstants = "meyer",
    access: str = "fistula",
    two_pool_substeps: int = 4,
    post_weight_kg: float | None = None,
) -> WeeklyResult:
    """Weekly periodic steady state of urea for one prescription.

    ``v_l`` is the post-dialysis (dry) urea distribution volume. ``fluid_gain_l_day`` (variable-volume and
    two-pool models) is gained continuously all week and removed in each session (UF = gain since the
    previous session start, so every session ends at ``v_l``). ``model``: ``single_pool`` (fixed volume,
    no fluid gain), ``variable_volume`` (one pool), ``two_pool`` (Solute-Solver constants). All intervals are
    integrated exactly except two pools with a changing volume (midpoint-volume steps with Richardson
    extrapolation; relative error about 1e-4 against a stiff ODE solver, a few ms per call).
    ``post_weight_kg`` only enters the UF term of the Daugirdas estimate (default V/0.58, a modelling choice).
    """
    t_min = require_range("duration_h", duration_h, 0.25, 24, "h") * 60.0
    require_range("qb_ml_min", qb_ml_min, 10, 2000, "mL/min")
    require_range("qd_ml_min", qd_ml_min, 10, 3000, "mL/min")
    require_range("koa_ml_min", koa_ml_min, 10, 5000, "mL/min")
    require_range("hct_pct", hct_pct, 5, 70, "%")
    g_mg_min = require_range("generation_mg_day", generation_mg_day, 100, 50000, "mg/day") / 1440.0
    v_ml = require_range("v_l", v_l, 5, 150, "L") * 1000.0
    kr = require_range("kr_ml_min", kr_ml_min, 0, 100, "mL/min")
    gain_ml_min = require_range("fluid_gain_l_day", fluid_gain_l_day, 0, 10, "L/day") * 1000.0 / 1440.0
    m = str(model).strip().lower()
    if m not in MODELS:
        raise InputError(f"model: {model!r} is not one of {', '.join(MODELS)}", "model")
    if m == "single_pool" and gain_ml_min > 0:
        raise InputError("fluid_gain_l_day: the fixed-volume single_pool model has no fluid gain", "model")
    day_idx = parse_days(days)
    n = len(day_idx)
    gaps_before = _gaps_before_min(day_idx)
    if t_min > float(np.min(gaps_before)) + 1e-9:
        raise InputError(
            f"duration_h: {duration_h!r} is longer than the shortest gap between sessions "
            f"({float(np.min(gaps_before)) / 60:g} h)",
            "duration_h",
        )

    # per-session UF and clearance
    uf_ml = gain_ml_min * gaps_before  # each session removes what was gained since the previous start
    qf = uf_ml / t_min
    kd = np.asarray(
        dialyzer_urea_clearance_ml_min(qb_ml_min, qd_ml_min, koa_ml_min, hct_pct, qf, blood_water),
        dtype=float,
    ) * np.ones(n)

    two = m == "two_pool"
    ve_post = v_ml * (TWO_POOL_EXTRACELLULAR_FRACTION if two else 1.0)
    vi = v_ml - ve_post
    kc = TWO_POOL_KC_PER_MIN * v_ml  # mL/min (0.016 /min x V_post in mL)
    dim = 2 if two else 1

    # intervals: session i (from its start), then the gap to the next session start
    intervals: list[_Interval] = []
    for i in range(n):
        gap = gaps_before[(i + 1) % n] - t_min
        v_start = ve_post + uf_ml[i] - gain_ml_min * t_min  # volume at session start
        intervals.append(_Interval(t_min, v_start, gain_ml_min - qf[i], kd[i] + kr, True, i))
        if gap > 1e-9:
            intervals.append(_Interval(gap, ve_post, gain_ml_min, kr, False, i))

    maps = []
    for iv in intervals:
        if two:
            pm, pv, ps, om = _two_pool_interval(
                iv.tau, iv.v_start, vi, iv.q, iv.k, kc, g_mg_min, two_pool_substeps
            )
        else:
            a, b, c, d = _one_pool_interval(iv.tau, iv.v_start, iv.q, iv.k, g_mg_min)
            pm, pv, ps, om = np.array([[a]]), np.array([b]), np.array([c]), d
        maps.append((pm, pv, ps, om))

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


# ---------------------------------------------------------------------------------------------------------
# From a scenario and a measured BUN
# ---------------------------------------------------------------------------------------------------------

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

#: Hematocrit used when the scenario has none (Meyer's simulator default; modelling choice).
DEFAULT_HCT_PCT = 33.0


def midweek_session_index(days: str | Sequence[str | int]) -> int:
    """Index of the 'mid-week' session: the first one that follows the shortest gap (for Mon/Wed/Fri: Wed).
    KDOQI 2006 CPG 3 samples pre-dialysis BUN at a mid-week session."""
    return int(np.argmin(_gaps_before_min(parse_days(days))))


def generation_from_pre_bun_mg_day(
    pre_bun_mg_dl: float, session_index: int | None = None, **week_kwargs
) -> float:
    """Urea nitrogen generation G (mg/day) that makes the model's pre-dialysis BUN of one session (default:
    the mid-week one) equal ``pre_bun_mg_dl``. Concentrations are proportional to G when everything else is
    fixed (the mass balance is linear and homogeneous in G and C), so one simulation and a scaling suffice.
    ``week_kwargs`` are :func:`simulate_week` arguments other than ``generation_mg_day``."""
    bun = require_range("pre_bun_mg_dl", pre_bun_mg_dl, 2, 300, "mg/dL")
    g0 = 8000.0
    probe = simulate_week(generation_mg_day=g0, **week_kwargs)
    days = week_kwargs.get("days", ("mon", "wed", "fri"))
    i = midweek_session_index(days) if session_index is None else int(session_index)
    if not 0 <= i < len(probe.pre_mg_dl):
        raise InputError(
            f"session_index: {session_index!r} is out of range (0–{len(probe.pre_mg_dl) - 1})",
            "session_index",
        )
    return g0 * bun / probe.pre_mg_dl[i]


def weekly_dose(
    scenario: Scenario,
    *,
    generation_mg_day: float | None = None,
    model: str = "single_pool",
    days: str | Sequence[str | int] | None = None,
) -> WeeklyResult:
    """Weekly urea kinetics for a scenario's prescription.

    V is the Watson volume at dry weight; Hct from the labs (else 33 %, modelling choice); Kr and access from
    the patient; days from ``prescription.sessions_per_week`` (:data:`SCHEDULES`). G is ``generation_mg_day``
    or, if omitted, fitted so that the mid-week pre-dialysis BUN equals ``labs.bun_mg_dl`` (or
    ``labs.urea_mmol_l`` converted). For ``variable_volume``/``two_pool`` the fluid gain per day is the
    session UF volume spread over the mean interval (7/N days).
    """
    p = scenario.patient
    rx = scenario.prescription
    v_l = watson_volume_l(p.sex, p.age_years, p.height_cm, p.dry_weight_kg)
    hct = p.labs.hct_pct if p.labs.hct_pct is not None else DEFAULT_HCT_PCT
    sched = SCHEDULES[rx.sessions_per_week] if days is None else days
    n = len(parse_days(sched))
    gain = scenario.uf_volume_l / (7.0 / n) if model != "single_pool" else 0.0
    kwargs = dict(
        duration_h=rx.duration_min / 60.0,
        qb_ml_min=rx.qb_ml_min,
        qd_ml_min=rx.qd_ml_min,
        koa_ml_min=rx.dialyzer_koa_ml_min,
        hct_pct=hct,
        v_l=v_l,
        kr_ml_min=p.residual_kr_ml_min,
        days=sched,
        model=model,
        fluid_gain_l_day=gain,
        access=p.access,
        post_weight_kg=p.dry_weight_kg,
    )
    if generation_mg_day is None:
        bun = p.labs.bun_mg_dl
        if bun is None and p.labs.urea_mmol_l is not None:
            bun = float(urea_mmol_l_to_bun_mg_dl(p.labs.urea_mmol_l))
        if bun is None:
            raise InputError(
                "patient.labs.bun_mg_dl: needed to estimate urea generation (or give generation_mg_day)",
                "patient.labs.bun_mg_dl",
            )
        generation_mg_day = generation_from_pre_bun_mg_day(bun, **kwargs)
    return simulate_week(generation_mg_day=generation_mg_day, **kwargs)
