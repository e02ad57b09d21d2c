"""Constraints on a recommended prescription and the search lattice they allow.

Guideline anchors:

* spKt/V >= 1.2 per session, thrice weekly (KDOQI 2006 CPG 4, retained by KDOQI 2015); for four sessions a
  week KDOQI 2006 (CPG 4, table of minimum spKt/V for other schedules, residual Kr < 2 mL/min) lists 0.8,
  i.e. the thrice-weekly target x 0.8/1.2.
* Session time >= 3 h with little residual function (KDOQI 2015 HD adequacy update, guideline 3.3); the
  maximum is the unit's (300 min by default, configurable).
* Dialysate Na gradient (time-averaged dialysate Na - pre-dialysis plasma Na) within -2..+2 mmol/L: a
  gradient of -2 mmol/L lowered IDWG without more IDH or cramps (Arramreddy et al. Hemodial Int 2012;
  16:473); each +1 mmol/L raises the odds of IDWG > 3 % (OR 1.33, Trinh & Weber, Nephron Extra 2017;7:10).
  The symmetric +2 upper bound is a modelling choice. Na profiles may deviate at most 6 mmol/L from plasma
  Na at any time (modelling choice).
* Dialysate Ca 1.25-1.50 mmol/L (KDIGO CKD-MBD 2017). Up to 1.75 mmol/L only when the analyzer names
  hypocalcemia as a cause of the current session: 1.75 vs 1.5 reduced IDH and cramps (IJKD study, n = 52)
  and higher Ca limits the MAP fall (Maynard et al. Ann Intern Med 1986;104:358; van der Sande 1997), at
  the cost of a positive Ca balance (+12.8 mmol/session, Goldenstein et al. PLoS One 2018) that needs
  CKD-MBD review.
* Dialysate Mg 0.5-1.0 mmol/L: 0.375 -> 0.5 cut cramps 77 -> 56 % (Lynch 2014); the 1.0 ceiling is a
  modelling choice (higher Mg may offset IDH, Kyriazis).
* Dialysate bicarbonate 30-38 mmol/L: above 38 mmol/L was associated with higher mortality (DOPPS,
  Tentori et al. Am J Kidney Dis 2013;62:738) and intradialytic alkalosis lowers ionized Ca (high serum
  bicarbonate, cramp OR 5.6, Akkabut 2021); the 30 mmol/L floor is a modelling choice (pre-dialysis
  acidosis).
* Dialysate temperature 35.0-37.0 degC: cool dialysate (< 36 degC) cuts IDH (Selby & McIntyre NDT 2006;
  Cochrane Tsujimoto 2019, fixed < 36 vs 37-37.5 degC).
* Qb 200-450 mL/min (modelling choice: the usual range of AV-fistula pumps).
* First session (vintage 0): URR < 40 %, Qb 150-200 mL/min, 2-2.5 h (Daugirdas Handbook of Dialysis,
  acute prescription chapter; CJASN DDS prevention table 2-2.5 h, Qb 200-250). The spKt/V target does not
  apply to that session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from crampwatch.causes.advice import (
    CA_MAX_IF_HYPOCALCEMIA_MMOL_L,
    FIRST_SESSION_DURATION_RANGE_MIN,
    FIRST_SESSION_MAX_URR_PCT,
    FIRST_SESSION_QB_RANGE_ML_MIN,
    NA_GRADIENT_RANGE_MMOL_L,
)
from crampwatch.errors import InputError, require_range
from crampwatch.kinetics import KDOQI_MIN_SP_KTV
from crampwatch.model import UF_PROFILE_NAMES, Scenario
from crampwatch.optimizer.space import Knobs, NaShape, Options, UfShape, grid
from crampwatch.prescription_settings import FREE_UF_PROFILES, setting
from crampwatch.quantities import SP_KTV_MIN_BY_SESSIONS_PER_WEEK, cutoff
from crampwatch.signals import DIALYSATE_NA_MMOL_L, DIALYSATE_TEMP_C, QB_ML_MIN

#: KDOQI 2006 CPG 4 minimum spKt/V per session by schedule (the registry's table), used relative to the
#: 3/week value.
MIN_SP_KTV_BY_SESSIONS = SP_KTV_MIN_BY_SESSIONS_PER_WEEK


def _search_range(name: str) -> tuple[float, float]:
    """The optimizer's default range of a setting (``crampwatch.prescription_settings``)."""
    rng = setting(name).search_range
    assert rng is not None, name
    return rng


def _step(name: str) -> float:
    """The optimizer's lattice step of a setting."""
    step = setting(name).search_step
    assert step is not None, name
    return step


#: Shortest session (KDOQI 2015 guideline 3.3) and default unit maximum: the registry's search range.
DEFAULT_MIN_DURATION_MIN, DEFAULT_MAX_DURATION_MIN = _search_range("duration_min")


@dataclass(frozen=True)
class Constraints:
    """What a recommended prescription must satisfy (defaults cited in the module docstring)."""

    target_sp_ktv: float = KDOQI_MIN_SP_KTV
    max_duration_min: float = DEFAULT_MAX_DURATION_MIN
    #: Shortest session; ``None`` means 180 min (KDOQI 2015 guideline 3.3) or the maximum if that is lower.
    min_duration_min: float | None = None
    allow_extra_session: bool = False
    na_gradient_range_mmol_l: tuple[float, float] = NA_GRADIENT_RANGE_MMOL_L
    na_profile_max_deviation_mmol_l: float = 6.0
    ca_range_mmol_l: tuple[float, float] = _search_range("dialysate_ca_mmol_l")
    ca_max_if_hypocalcemia_mmol_l: float = CA_MAX_IF_HYPOCALCEMIA_MMOL_L
    mg_range_mmol_l: tuple[float, float] = _search_range("dialysate_mg_mmol_l")
    hco3_range_mmol_l: tuple[float, float] = _search_range("dialysate_hco3_mmol_l")
    temp_range_c: tuple[float, float] = _search_range(DIALYSATE_TEMP_C)
    qb_range_ml_min: tuple[float, float] = _search_range(QB_ML_MIN)
    first_session_limits: bool = True
    first_session_max_urr_pct: float = FIRST_SESSION_MAX_URR_PCT
    first_session_qb_range_ml_min: tuple[float, float] = FIRST_SESSION_QB_RANGE_ML_MIN
    first_session_duration_range_min: tuple[float, float] = FIRST_SESSION_DURATION_RANGE_MIN
    #: UF shortfall tolerated before a candidate counts as not removing the goal (modelling choice).
    uf_tolerance_l: float = 0.05
    #: Weekly standard Kt/V minimum checked when the schedule changes (KDOQI 2015 HD adequacy update:
    #: target 2.3, minimum delivered 2.1).
    min_std_ktv: float = cutoff("std_ktv_min")
    #: Analyzer score at which hypocalcemia counts as a cause of the current session (modelling choice).
    hypocalcemia_score_threshold: float = 0.3

    def __post_init__(self) -> None:
        require_range("target_sp_ktv", self.target_sp_ktv, 0.0, 4.0)
        require_range("max_duration_min", self.max_duration_min, 60, 600, "min")
        if self.min_duration_min is None:
            object.__setattr__(self, "min_duration_min", min(DEFAULT_MIN_DURATION_MIN, self.max_duration_min))
        require_range("min_duration_min", self.min_duration_min, 30, 600, "min")
        if self.min_duration_min > self.max_duration_min:
            raise InputError(
                f"min_duration_min: {self.min_duration_min:g} exceeds max_duration_min "
                f"{self.max_duration_min:g} (allowed 30–{self.max_duration_min:g} min)",
                "min_duration_min",
            )
        for name, (lo, hi), (a, b) in (
            ("na_gradient_range_mmol_l", self.na_gradient_range_mmol_l, (-15, 15)),
            ("ca_range_mmol_l", self.ca_range_mmol_l, (0.5, 2.5)),
            ("mg_range_mmol_l", self.mg_range_mmol_l, (0.0, 2.0)),
            ("hco3_range_mmol_l", self.hco3_range_mmol_l, (20.0, 45.0)),
            ("temp_range_c", self.temp_range_c, (33.0, 39.0)),
            ("qb_range_ml_min", self.qb_range_ml_min, (50, 600)),
            ("first_session_qb_range_ml_min", self.first_session_qb_range_ml_min, (50, 600)),
            ("first_session_duration_range_min", self.first_session_duration_range_min, (30, 600)),
        ):
            require_range(name, lo, a, b)
            require_range(name, hi, a, b)
            if lo > hi:
                raise InputError(f"{name}: lower bound {lo:g} exceeds upper bound {hi:g}", name)
        require_range("ca_max_if_hypocalcemia_mmol_l", self.ca_max_if_hypocalcemia_mmol_l, 0.5, 2.5, "mmol/L")
        require_range("first_session_max_urr_pct", self.first_session_max_urr_pct, 1, 100, "%")
        require_range("uf_tolerance_l", self.uf_tolerance_l, 0, 2, "L")
        require_range("min_std_ktv", self.min_std_ktv, 0, 6)

    # ---------------------------------------------------------------------------------------------

    def first_session(self, scenario: Scenario) -> bool:
        """Whether the first-session disequilibrium limits apply (vintage 0 and limits enabled)."""
        return self.first_session_limits and scenario.patient.vintage_months == 0

    def min_sp_ktv(self, sessions_per_week: int) -> float:
        """Per-session spKt/V target for a schedule (KDOQI 2006 CPG 4 scaling for 4/week)."""
        factor = MIN_SP_KTV_BY_SESSIONS.get(max(3, sessions_per_week), 0.5) / MIN_SP_KTV_BY_SESSIONS[3]
        return self.target_sp_ktv * factor

    def duration_bounds(self, scenario: Scenario) -> tuple[float, float]:
        if self.first_session(scenario):
            lo, hi = self.first_session_duration_range_min
            return lo, min(hi, self.max_duration_min)
        return self.min_duration_min, self.max_duration_min

    def qb_bounds(self, scenario: Scenario) -> tuple[float, float]:
        return self.first_session_qb_range_ml_min if self.first_session(scenario) else self.qb_range_ml_min

    def ca_max(self, allow_high_ca: bool) -> float:
        return max(self.ca_range_mmol_l[1], self.ca_max_if_hypocalcemia_mmol_l if allow_high_ca else 0.0)


def plasma_na_mmol_l(scenario: Scenario) -> float:
    """Pre-dialysis plasma Na used for the gradient (the lab, or the model's default when missing)."""
    values, _ = scenario.patient.labs.resolved()
    return float(values["na_mmol_l"])


def na_gradient_mmol_l(knobs: Knobs, plasma_na: float) -> float:
    """Time-averaged dialysate Na minus pre-dialysis plasma Na, mmol/L."""
    return knobs.mean_na_mmol_l() - plasma_na


# --------------------------------------------------------------------------------------------- lattice


def _na_options(scenario: Scenario, c: Constraints) -> list[tuple[float, NaShape]]:
    """Dialysate Na settings inside the gradient window: whole mmol/L values, the prescribed constant
    value, and linear profiles 4 mmol/L above to 4 below each mean."""
    cur = scenario.prescription
    plasma = plasma_na_mmol_l(scenario)
    g_lo, g_hi = c.na_gradient_range_mmol_l
    valid_lo, valid_hi = setting(DIALYSATE_NA_MMOL_L).valid_range or (-math.inf, math.inf)
    na_lo, na_hi = max(valid_lo, plasma + g_lo), min(valid_hi, plasma + g_hi)
    na_values = [float(v) for v in range(math.ceil(na_lo - 1e-9), math.floor(na_hi + 1e-9) + 1)]
    if not na_values:  # a sub-1 mmol/L window: the plasma-matched value, rounded to 0.5
        na_values = [min(max(round(plasma * 2) / 2, na_lo), na_hi)]
    na_opts: list[tuple[float, NaShape]] = [(v, None) for v in na_values]
    if not cur.dialysate.na_profile and na_lo - 1e-9 <= cur.dialysate.na_mmol_l <= na_hi + 1e-9:
        na_opts.append((float(cur.dialysate.na_mmol_l), None))
    # Linear Na profiles (high early, low late; Na "modelling", Brummelhuis 2009) with a mean inside the
    # gradient window; the +-4 mmol/L swing is a modelling choice.
    for mean in na_values:
        start, end = mean + 4.0, mean - 4.0
        if (
            max(abs(start - plasma), abs(end - plasma)) <= c.na_profile_max_deviation_mmol_l + 1e-9
            and end >= valid_lo
            and start <= valid_hi
        ):
            na_opts.append((mean, ((0.0, start), (1.0, end))))
    return na_opts


def options_for(scenario: Scenario, constraints: Constraints, *, allow_high_ca: bool) -> Options:
    """The lattice of allowed knob values for this patient (each satisfies the static constraints)."""
    c = constraints
    cur = scenario.prescription
    first = c.first_session(scenario)
    d_lo, d_hi = c.duration_bounds(scenario)
    durations = grid(d_lo, d_hi, _step("duration_min"), include=(cur.duration_min,))

    profiles: list[UfShape] = [*UF_PROFILE_NAMES, *FREE_UF_PROFILES.values()]

    na_opts = _na_options(scenario, c)

    ca_hi = constraints.ca_max(allow_high_ca)
    ca_values = grid(
        c.ca_range_mmol_l[0], ca_hi, _step("dialysate_ca_mmol_l"), include=(cur.dialysate.ca_mmol_l,)
    )
    hco3_values = grid(
        c.hco3_range_mmol_l[0],
        c.hco3_range_mmol_l[1],
        _step("dialysate_hco3_mmol_l"),
        include=(cur.dialysate.hco3_mmol_l,),
    )
    mg_values = grid(
        c.mg_range_mmol_l[0],
        c.mg_range_mmol_l[1],
        _step("dialysate_mg_mmol_l"),
        include=(cur.dialysate.mg_mmol_l,),
    )
    temps = grid(
        c.temp_range_c[0], c.temp_range_c[1], _step(DIALYSATE_TEMP_C), include=(cur.dialysate.temp_c,)
    )
    q_lo, q_hi = c.qb_bounds(scenario)
    qb_step = _step(QB_ML_MIN)
    qbs = grid(q_lo, q_hi, qb_step / 2 if first else qb_step, include=(cur.qb_ml_min,))
    # A lower dialysate flow is the other lever that lowers a first session's efficiency (Handbook of
    # Dialysis: "lower-efficiency" first treatment); otherwise Qd stays as prescribed.
    qds = tuple(sorted({float(cur.qd_ml_min), 300.0})) if first else (float(cur.qd_ml_min),)
    sessions = allowed_sessions(scenario, c)
    iso_lo, iso_hi = _search_range("isolated_uf_min")
    isolated = grid(
        iso_lo, max(iso_hi, cur.isolated_uf_min), _step("isolated_uf_min"), include=(cur.isolated_uf_min,)
    )
    return Options(
        duration_min=durations,
        uf_profile=tuple(profiles),
        na=tuple(dict.fromkeys(na_opts)),
        ca_mmol_l=ca_values,
        mg_mmol_l=mg_values,
        hco3_mmol_l=hco3_values,
        temp_c=temps,
        qb_ml_min=qbs,
        qd_ml_min=qds,
        sessions_per_week=sessions,
        isolated_uf_min=isolated,
    )


def allowed_sessions(scenario: Scenario, constraints: Constraints) -> tuple[int, ...]:
    """The current schedule, plus one extra session a week when allowed (not on a first session)."""
    cur = int(scenario.prescription.sessions_per_week)
    if constraints.allow_extra_session and not constraints.first_session(scenario) and cur < 7:
        return (cur, cur + 1)
    return (cur,)


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def project(knobs: Knobs, options: Options) -> Knobs:
    """The nearest knobs inside the lattice bounds (used to make the current prescription admissible).

    Values already inside the bounds are kept as they are; a Na setting outside the gradient window is
    replaced by the constant option nearest to its mean.
    """
    na, na_prof = knobs.na_mmol_l, knobs.na_profile
    if (na, na_prof) not in options.na:
        na = min((o[0] for o in options.na if o[1] is None), key=lambda v: abs(v - knobs.mean_na_mmol_l()))
        na_prof = None
    spw = (
        knobs.sessions_per_week
        if knobs.sessions_per_week in options.sessions_per_week
        else (options.sessions_per_week[0])
    )

    def rng(values: tuple[float, ...], x: float) -> float:
        return _clip(x, min(values), max(values))

    return Knobs(
        duration_min=rng(options.duration_min, knobs.duration_min),
        uf_profile=knobs.uf_profile,
        na_mmol_l=na,
        na_profile=na_prof,
        ca_mmol_l=rng(options.ca_mmol_l, knobs.ca_mmol_l),
        mg_mmol_l=rng(options.mg_mmol_l, knobs.mg_mmol_l),
        hco3_mmol_l=rng(options.hco3_mmol_l, knobs.hco3_mmol_l),
        temp_c=rng(options.temp_c, knobs.temp_c),
        qb_ml_min=rng(options.qb_ml_min, knobs.qb_ml_min),
        qd_ml_min=knobs.qd_ml_min if knobs.qd_ml_min in options.qd_ml_min else options.qd_ml_min[-1],
        sessions_per_week=spw,
        isolated_uf_min=rng(options.isolated_uf_min, knobs.isolated_uf_min),
    )


# --------------------------------------------------------------------------------------------- checks


def static_violations(
    knobs: Knobs,
    scenario: Scenario,
    constraints: Constraints,
    *,
    allow_high_ca: bool,
    plasma_na: float | None = None,
) -> list[str]:
    """Constraint violations that need no simulation (empty list = admissible); ``plasma_na`` is the
    scenario's pre-dialysis plasma Na when already known."""
    c = constraints
    out: list[str] = []
    eps = 1e-6
    d_lo, d_hi = c.duration_bounds(scenario)
    if not d_lo - eps <= knobs.duration_min <= d_hi + eps:
        out.append(f"duration_min {knobs.duration_min:g} outside {d_lo:g}–{d_hi:g} min")
    plasma = plasma_na_mmol_l(scenario) if plasma_na is None else plasma_na
    grad = na_gradient_mmol_l(knobs, plasma)
    g_lo, g_hi = c.na_gradient_range_mmol_l
    if not g_lo - eps <= grad <= g_hi + eps:
        out.append(f"Na gradient {grad:+.1f} mmol/L outside {g_lo:+g}..{g_hi:+g} mmol/L")
    if knobs.na_profile is not None:
        dev = max(abs(na - plasma) for _, na in knobs.na_profile)
        if dev > c.na_profile_max_deviation_mmol_l + eps:
            limit = c.na_profile_max_deviation_mmol_l
            out.append(f"Na profile deviates {dev:.1f} mmol/L from plasma Na (max {limit:g})")
    ca_hi = c.ca_max(allow_high_ca)
    if not c.ca_range_mmol_l[0] - eps <= knobs.ca_mmol_l <= ca_hi + eps:
        out.append(f"dialysate Ca {knobs.ca_mmol_l:g} outside {c.ca_range_mmol_l[0]:g}–{ca_hi:g} mmol/L")
    for label, value, (lo, hi), unit in (
        ("dialysate Mg", knobs.mg_mmol_l, c.mg_range_mmol_l, "mmol/L"),
        ("dialysate HCO3", knobs.hco3_mmol_l, c.hco3_range_mmol_l, "mmol/L"),
        ("dialysate temperature", knobs.temp_c, c.temp_range_c, "°C"),
    ):
        if not lo - eps <= value <= hi + eps:
            out.append(f"{label} {value:g} outside {lo:g}–{hi:g} {unit}")
    q_lo, q_hi = c.qb_bounds(scenario)
    if not q_lo - eps <= knobs.qb_ml_min <= q_hi + eps:
        out.append(f"Qb {knobs.qb_ml_min:g} outside {q_lo:g}–{q_hi:g} mL/min")
    if knobs.isolated_uf_min > knobs.duration_min + eps:
        out.append(
            f"isolated UF {knobs.isolated_uf_min:g} min longer than the session {knobs.duration_min:g} min"
        )
    if knobs.sessions_per_week not in allowed_sessions(scenario, c):
        out.append(f"sessions_per_week {knobs.sessions_per_week} not allowed")
    return out


def outcome_violations(
    *,
    constraints: Constraints,
    first_session: bool,
    sessions_per_week: int,
    sp_ktv: float,
    urr_pct: float,
    uf_achieved_l: float,
    uf_required_l: float,
    std_ktv: float | None = None,
    schedule_changed: bool = False,
) -> list[str]:
    """Violations that need the simulated session: UF goal, dose (or the first-session URR cap); with a
    changed schedule also the weekly standard Kt/V."""
    c = constraints
    out: list[str] = []
    if not (uf_achieved_l >= uf_required_l - c.uf_tolerance_l):
        short = uf_required_l - uf_achieved_l if math.isfinite(uf_achieved_l) else uf_required_l
        out.append(f"UF shortfall {short:.2f} L of {uf_required_l:.2f} L")
    if first_session:
        if not (urr_pct < c.first_session_max_urr_pct):
            out.append(f"first-session URR {urr_pct:.0f} % not below {c.first_session_max_urr_pct:g} %")
    else:
        target = c.min_sp_ktv(sessions_per_week)
        if not (sp_ktv >= target):
            out.append(f"spKt/V {sp_ktv:.2f} below target {target:.2f}")
        if schedule_changed and std_ktv is not None and not (std_ktv >= c.min_std_ktv):
            out.append(f"weekly stdKt/V {std_ktv:.2f} below {c.min_std_ktv:.2f}")
    return out
