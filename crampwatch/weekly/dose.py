"""Weekly urea kinetics of a scenario: generation from nPCR or from a measured mid-week BUN."""

from __future__ import annotations

from collections.abc import Sequence

from crampwatch.errors import InputError, require_range
from crampwatch.kinetics import urea_generation_mg_min, urea_mmol_l_to_bun_mg_dl, watson_volume_l
from crampwatch.model import DEFAULT_NPCR_G_KG_DAY, Scenario
from crampwatch.weekly.clearance import BloodWaterConstants
from crampwatch.weekly.schedule import SCHEDULES, midweek_session_index, parse_days
from crampwatch.weekly.week import GENERATION_MIN_MG_DAY, WeeklyResult, simulate_week

#: Hematocrit used when the scenario has none (Meyer's simulator default; modelling choice).
DEFAULT_HCT_PCT = 33.0


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


#: How :func:`weekly_dose` finds urea generation: from the patient's nPCR (the session model's source, so both
#: models generate the same urea) or fitted to the measured mid-week BUN.
GENERATION_SOURCES = ("npcr", "bun")


def patient_npcr_g_kg_d(scenario: Scenario) -> float:
    """The patient's nPCR (g/kg/day), or :data:`crampwatch.model.DEFAULT_NPCR_G_KG_DAY` when unknown."""
    npcr = scenario.patient.npcr_g_kg_d
    return DEFAULT_NPCR_G_KG_DAY if npcr is None else float(npcr)


def weekly_dose(
    scenario: Scenario,
    *,
    generation_mg_day: float | None = None,
    generation: str = "npcr",
    model: str = "single_pool",
    days: str | Sequence[str | int] | None = None,
    blood_water: str | BloodWaterConstants = "session",
) -> WeeklyResult:
    """Weekly urea kinetics for a scenario's prescription, by the convention the session model uses.

    V is the Watson volume at dry weight; Hct from the labs (else 33 %, modelling choice); Kr and access
    (catheter recirculation) from the patient; days from ``prescription.sessions_per_week``
    (:data:`SCHEDULES`); clearance by ``blood_water`` (default ``session``, see
    :mod:`crampwatch.weekly.clearance`). G is ``generation_mg_day`` if given; else, with ``generation="npcr"``
    (default), from the patient's nPCR by Borah's relation exactly as the session simulator does; with
    ``generation="bun"``, fitted so that the mid-week pre-dialysis BUN equals ``labs.bun_mg_dl`` (or
    ``labs.urea_mmol_l`` converted). For ``variable_volume``/``two_pool`` the fluid gain per day is the
    session UF volume spread over the mean interval (7/N days).
    """
    if generation not in GENERATION_SOURCES:
        raise InputError(
            f"generation: {generation!r} is not one of {', '.join(GENERATION_SOURCES)}", "generation"
        )
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
        blood_water=blood_water,
    )
    if generation_mg_day is None and generation == "npcr":
        g = urea_generation_mg_min(patient_npcr_g_kg_d(scenario), v_l)
        generation_mg_day = max(float(g) * 1440.0, GENERATION_MIN_MG_DAY)
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
