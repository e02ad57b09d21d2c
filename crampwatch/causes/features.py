"""Vectorized inputs of the cause scores: patient/prescription context and signal features over a batch.

Both work on ``n`` sessions at once. Signals are arrays ``[n, steps]`` on one shared time grid ``t_min``;
NaN marks a missing or padded value, and every reduction here ignores NaN (a row with no valid value gives
NaN, which the scores treat as "no evidence").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from crampwatch.causes.context import Context
from crampwatch.causes.thresholds import th
from crampwatch.quantities import (
    idh_nadir_sbp_threshold_mmhg_array,
    na_gradient_mmol_l_array,
    post_weight_kg_array,
    quantity,
    reduce_signal,
    uf_rate_ml_h_array,
    uf_rate_per_kg_array,
)
from crampwatch.series import (
    first_time,
    first_valid,
    last_valid,
    row_max,
    row_mean,
    row_min,
    session_end,
    value_near,
)
from crampwatch.signals import (
    BRAIN_OSM_GRADIENT_MOSM_KG,
    BRAIN_UREA_MMOL_L,
    CONDUCTIVITY_MS_CM,
    DBP_MMHG,
    DIALYSATE_NA_MMOL_L,
    HCO3_MMOL_L,
    ICA_MMOL_L,
    MAP_MMHG,
    MG_MMOL_L,
    OSM_MOSM_KG,
    PLASMA_NA_MMOL_L,
    RBV_PCT,
    REFILL_ML_MIN,
    SBP_MMHG,
    UF_CUM_L,
    UF_RATE_ML_H,
    UREA_MMOL_L,
    split_unit,
)
from crampwatch.units import conductivity_to_na_mmol_l

# ------------------------------------------------------------------------------------------- reductions


# --------------------------------------------------------------------------------------------- features


@dataclass(frozen=True)
class Features:
    """Signal features per session (arrays of length ``n``); NaN where the signal was absent."""

    values: dict[str, np.ndarray]
    from_signal: dict[str, np.ndarray]  # feature -> bool array: computed from a recorded/simulated signal

    def __getitem__(self, key: str) -> np.ndarray:
        return self.values[key]


def _sig(signals: Mapping[str, np.ndarray], name: str, shape: tuple[int, int]) -> np.ndarray:
    x = signals.get(name)
    if x is None:
        return np.full(shape, np.nan)
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.shape[0] == 1 and shape[0] > 1 and a.shape[1] == shape[1]:
        a = np.broadcast_to(a, shape)
    if a.shape != shape:
        raise ValueError(f"signal {name}: shape {a.shape} does not match {shape}")
    return a


#: Signals the findings use; the ones the simulator may fill when absent (``assess``).
KEY_SIGNALS: tuple[str, ...] = (
    RBV_PCT,
    SBP_MMHG,
    DBP_MMHG,
    PLASMA_NA_MMOL_L,
    OSM_MOSM_KG,
    ICA_MMOL_L,
    MG_MMOL_L,
    HCO3_MMOL_L,
    UREA_MMOL_L,
    BRAIN_UREA_MMOL_L,
    BRAIN_OSM_GRADIENT_MOSM_KG,
)
#: Every signal the features read: the key signals and the machine's UF, dialysate and refill channels.
FEATURE_SIGNALS = (
    *KEY_SIGNALS,
    MAP_MMHG,
    UF_CUM_L,
    UF_RATE_ML_H,
    DIALYSATE_NA_MMOL_L,
    CONDUCTIVITY_MS_CM,
    REFILL_ML_MIN,
)


def time_of(feature: str) -> str:
    """Key of the time (minutes from the start) at which feature ``feature``, the extreme of a signal, was
    reached: the feature's stem with ``_at_min`` (``ica_min_mmol_l`` -> ``ica_min_at_min``)."""
    return f"{split_unit(feature)[0]}_at_min"


def compute_features(t_min: np.ndarray, signals: Mapping[str, np.ndarray], ctx: Context) -> Features:
    """Features of every session in the batch (see :class:`Features`)."""
    t = np.asarray(t_min, dtype=float)
    if t.size == 0:  # no samples: one empty time point, every signal missing
        t, signals = np.zeros(1), {}
    shape = (ctx.n, t.shape[0])
    s = {name: _sig(signals, name, shape) for name in FEATURE_SIGNALS}
    put = _Put()
    _blood_volume(put, s, t, ctx)
    _blood_pressure(put, s, t, ctx)
    _ultrafiltration(put, s, t, ctx)
    _sodium_osmolality(put, s, t, ctx)
    _minerals(put, s, t, ctx)
    _urea(put, s, t, ctx)
    return Features(values=put.values, from_signal=put.from_signal)


class _Put:
    """The features of a batch in the order they are computed: value, and where it comes from a signal."""

    def __init__(self) -> None:
        self.values: dict[str, np.ndarray] = {}
        self.from_signal: dict[str, np.ndarray] = {}

    def __call__(self, name: str, value: np.ndarray, from_sig: np.ndarray | None = None) -> None:
        self.values[name] = value
        self.from_signal[name] = ~np.isnan(value) if from_sig is None else from_sig


def _blood_volume(put: _Put, s: Mapping[str, np.ndarray], t: np.ndarray, ctx: Context) -> None:
    """Relative blood volume at 1, 2 and 3 h, its nadir and slope, and when it left the safe range."""
    # relative blood volume
    rbv = s[RBV_PCT]
    for h in (1, 2, 3):
        put(f"rbv_{h}h_pct", value_near(rbv, t, 60.0 * h))
    rbv_min, rbv_min_t = reduce_signal("rbv_min_pct", s, t)
    put("rbv_min_pct", rbv_min)
    put("rbv_min_at_min", rbv_min_t)
    put("rbv_slope_pct_h", reduce_signal("rbv_slope_pct_h", s, t)[0])
    # when RBV first left the safe range: below the critical RBV (+1) or, from 1 h on, below the Preciado
    # lower limits interpolated between 1, 2 and 3 h (modelling choice)
    crit = ctx.critical_rbv_or_mean()
    lower = np.interp(t, [60.0, 120.0, 180.0], [th(f"rbv_low_{h}h_pct") for h in (1, 2, 3)])
    low = (rbv < crit[:, None] + 1.0) | ((rbv < lower[None, :]) & (t >= 60.0)[None, :])
    put("rbv_fall_at_min", first_time(low, t))


def _blood_pressure(put: _Put, s: Mapping[str, np.ndarray], t: np.ndarray, ctx: Context) -> None:
    """Pre-dialysis, nadir and end SBP, when it fell, and the MAP course."""
    # blood pressure
    sbp = s[SBP_MMHG]
    sbp_pre, _ = reduce_signal("sbp_pre_mmhg", s, t)
    sbp_nadir, sbp_nadir_t = reduce_signal("sbp_nadir_mmhg", s, t)
    put("sbp_pre_mmhg", sbp_pre)
    put("sbp_nadir_mmhg", sbp_nadir)
    put("sbp_nadir_at_min", sbp_nadir_t)
    put("sbp_end_mmhg", session_end(sbp, t, ctx.duration_min)[0])
    fell = (sbp <= (sbp_pre - th("idh_sbp_fall_mmhg"))[:, None]) | (
        sbp < idh_nadir_sbp_threshold_mmhg_array(sbp_pre)[:, None] + 5.0
    )
    put("sbp_fall_at_min", first_time(fell, t))
    mapp = s[MAP_MMHG]
    mapp = np.where(np.isnan(mapp), (sbp + 2.0 * s[DBP_MMHG]) / 3.0, mapp)  # MAP = (SBP + 2 DBP)/3
    map_pre, _ = first_valid(mapp, t)
    map_nadir, map_nadir_t = row_min(mapp, t)
    put("map_pre_mmhg", map_pre)
    put("map_nadir_mmhg", map_nadir)
    put("map_nadir_at_min", map_nadir_t)


def _ultrafiltration(put: _Put, s: Mapping[str, np.ndarray], t: np.ndarray, ctx: Context) -> None:
    """UF rate and volume (cumulative volume, else rate, else the prescription), post-weight and refill."""
    # ultrafiltration: cumulative volume, else rate, else the prescription
    uf0, t0 = first_valid(s[UF_CUM_L], t)
    uf1, t1 = last_valid(s[UF_CUM_L], t)
    with np.errstate(invalid="ignore", divide="ignore"):
        ufr_cum = np.where(t1 - t0 >= 30.0, uf_rate_ml_h_array(uf1 - uf0, t1 - t0), np.nan)
    ufr_mean = row_mean(s[UF_RATE_ML_H])
    rate_ok = ~np.isnan(ufr_mean)
    rate_t = np.where(np.isnan(s[UF_RATE_ML_H]), np.nan, t[None, :])
    rate_t0, _ = first_valid(rate_t, t)
    rate_t1, _ = last_valid(rate_t, t)
    uf_total_rate = ufr_mean * np.maximum(rate_t1 - rate_t0, 0.0) / 60000.0
    prescribed_ufr = uf_rate_ml_h_array(ctx.uf_volume_l, ctx.duration_min)
    ufr = np.where(~np.isnan(ufr_cum), ufr_cum, np.where(rate_ok, ufr_mean, prescribed_ufr))
    uf_total = np.where(
        ~np.isnan(uf1),
        uf1 - np.nan_to_num(uf0),
        np.where(rate_ok & (uf_total_rate > 0), uf_total_rate, ctx.uf_volume_l),
    )
    put(UF_RATE_ML_H, ufr, ~np.isnan(ufr_cum) | rate_ok)
    put("uf_total_l", uf_total, ~np.isnan(uf1) | rate_ok)
    post_w = post_weight_kg_array(ctx.pre_weight_kg, uf_total)
    put("post_weight_kg", post_w, put.from_signal["uf_total_l"])
    put("uf_rate_ml_kg_h", uf_rate_per_kg_array(ufr, post_w), put.from_signal[UF_RATE_ML_H])
    # refill: measured, else from the RBV slope: refill = UF + d(BV)/dt, BV0 = 70 mL/kg (modelling choice)
    refill_meas = row_mean(s[REFILL_ML_MIN])
    bv0_ml = th("blood_volume_ml_per_kg") * ctx.dry_weight_kg
    refill_est = ufr / 60.0 + bv0_ml * put.values["rbv_slope_pct_h"] / 100.0 / 60.0
    refill = np.where(~np.isnan(refill_meas), refill_meas, refill_est)
    with np.errstate(invalid="ignore", divide="ignore"):
        put("refill_fraction", np.where(ufr > 0, refill / (ufr / 60.0), np.nan))


def _sodium_osmolality(put: _Put, s: Mapping[str, np.ndarray], t: np.ndarray, ctx: Context) -> None:
    """Plasma Na course, dialysate Na and its gradient, effective and total osmolality falls."""
    # sodium and osmolality
    na = s[PLASMA_NA_MMOL_L]
    na_pre_sig, _ = reduce_signal("plasma_na_first_mmol_l", s, t)
    na_min, na_min_t = row_min(na, t)
    pre_lab = quantity("plasma_na_pre_mmol_l").lab
    put("plasma_na_pre_mmol_l", ctx.signal_or_lab(na_pre_sig, pre_lab)[0], ~np.isnan(na_pre_sig))
    put("plasma_na_min_mmol_l", na_min)
    put("plasma_na_min_at_min", na_min_t)
    put("plasma_na_first_mmol_l", na_pre_sig)
    put("plasma_na_end_mmol_l", reduce_signal("plasma_na_end_mmol_l", s, t, ctx.duration_min)[0])
    put("plasma_na_fall_mmol_l", na_pre_sig - na_min)
    dia_na_sig = row_mean(s[DIALYSATE_NA_MMOL_L])
    dia_na_cond = row_mean(conductivity_to_na_mmol_l(s[CONDUCTIVITY_MS_CM]))
    dia_na = np.where(
        ~np.isnan(dia_na_sig),
        dia_na_sig,
        np.where(~np.isnan(dia_na_cond), dia_na_cond, ctx.dialysate_na_mmol_l),
    )
    put(DIALYSATE_NA_MMOL_L, dia_na, np.ones(ctx.n, dtype=bool))
    put(
        "na_gradient_mmol_l",
        na_gradient_mmol_l_array(dia_na, put.values["plasma_na_pre_mmol_l"]),
        np.ones(ctx.n, dtype=bool),
    )
    osm = s[OSM_MOSM_KG]
    urea = s[UREA_MMOL_L]
    eff = np.where(np.isnan(urea), np.nan, osm - urea)  # effective osmolality: urea crosses cells
    eff_pre, _ = first_valid(eff, t)
    eff_min, eff_min_t = row_min(eff, t)
    eff_fall = np.fmax(
        eff_pre - eff_min, 2.0 * put.values["plasma_na_fall_mmol_l"]
    )  # 2 Na is the effective part (Worthley 1987)
    put("effective_osm_fall_mosm_kg", eff_fall)
    put("effective_osm_min_at_min", np.where(np.isnan(eff_min_t), na_min_t, eff_min_t))
    osm_pre, _ = first_valid(osm, t)
    osm_min, osm_min_t = row_min(osm, t)
    put("osm_fall_mosm_kg", osm_pre - osm_min)
    put("osm_min_at_min", osm_min_t)
    # no urea signal: subtract the urea fall expected from the prescription (single pool, pre-BUN from labs)
    urea_fall_est = ctx.labs[UREA_MMOL_L] * (1.0 - np.exp(-ctx.est_ktv))
    eff_est = np.where(np.all(np.isnan(urea), axis=1), put.values["osm_fall_mosm_kg"] - urea_fall_est, np.nan)
    put("effective_osm_fall_estimated_mosm_kg", eff_est, np.zeros(ctx.n, dtype=bool))


def _minerals(put: _Put, s: Mapping[str, np.ndarray], t: np.ndarray, ctx: Context) -> None:
    """Ionized Ca, Mg and bicarbonate courses."""
    for signal, name in ((ICA_MMOL_L, "ica"), (MG_MMOL_L, "mg")):
        x = s[signal]
        x_min, x_min_t = reduce_signal(f"{name}_min_mmol_l", s, t)
        put(f"{name}_pre_mmol_l", first_valid(x, t)[0])
        put(f"{name}_min_mmol_l", x_min)
        put(f"{name}_min_at_min", x_min_t)
        put(f"{name}_end_mmol_l", session_end(x, t, ctx.duration_min)[0])
    hco3_max, hco3_max_t = reduce_signal("hco3_max_mmol_l", s, t)
    put("hco3_max_mmol_l", hco3_max)
    put("hco3_max_at_min", hco3_max_t)


def _urea(put: _Put, s: Mapping[str, np.ndarray], t: np.ndarray, ctx: Context) -> None:
    """URR and session length from the urea signal; brain-plasma urea and osmolality gradients."""
    # urea: URR from the signal; brain-plasma gradient
    urea = s[UREA_MMOL_L]
    u_pre, _ = first_valid(urea, t)
    u_post, u_post_t = last_valid(urea, t)
    with np.errstate(invalid="ignore", divide="ignore"):
        urr_sig = np.where(u_pre > 0, 100.0 * (1.0 - u_post / u_pre), np.nan)
    put("urea_pre_mmol_l", u_pre)
    put("urea_post_mmol_l", u_post)
    put("urea_post_at_min", u_post_t)
    put("urr_pct", urr_sig)
    put(
        "session_duration_h",
        np.where(~np.isnan(u_post_t), u_post_t / 60.0, ctx.duration_min / 60.0),
        ~np.isnan(u_post_t),
    )
    grad_u, grad_u_t = row_max(s[BRAIN_UREA_MMOL_L] - urea, t)
    put("brain_urea_gradient_mmol_l", grad_u)
    put("brain_urea_gradient_at_min", grad_u_t)
    grad_o, grad_o_t = row_max(s[BRAIN_OSM_GRADIENT_MOSM_KG], t)
    put("brain_osm_gradient_max_mosm_kg", grad_o)
    put("brain_osm_gradient_max_at_min", grad_o_t)
