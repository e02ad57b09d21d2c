"""Ensemble forecasts of the next hour and their central 90 % bands for relative blood volume and systolic BP.

Every member is integrated from its filtered state under the running prescription (or under a candidate
action) on the compiled kernel, one record per minute. A band is the members' median with its 5th/95th
percentile distances widened, in quadrature, by the measurement SD of the signal (the band is for the value
the monitor will show, not for the model's state): ``lo = median - sqrt((median - q05)^2 + (z sd)^2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crampwatch.live.ensemble import J_RBV, J_SBP
from crampwatch.live.inputs import ASSIMILATED
from crampwatch.signals import RBV_PCT, SBP_MMHG, T_MIN

#: Forecast horizon, minutes (the tile chart shows it; the cramp risk uses its first 30 minutes).
FORECAST_MIN = 60
#: Minutes between the points of the forecast shown over time.
FORECAST_EVERY_MIN = 5
#: Central band: 90 % (5th to 95th percentile); z of the normal measurement error at 95 %.
BAND_QUANTILES = (0.05, 0.5, 0.95)
BAND_Z = 1.6448536269514722
#: The forecast's signals with their rounding in the JSON (RBV to 0.1 %-point, SBP to whole mmHg).
BAND_SIGNALS: dict[str, tuple[int, int]] = {RBV_PCT: (J_RBV, 1), SBP_MMHG: (J_SBP, 0)}


@dataclass(frozen=True)
class Bands:
    """Median and central 90 % interval of one signal at several forecast times (arrays)."""

    value: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def member_values(outputs: np.ndarray, sbp_offset: np.ndarray, name: str) -> np.ndarray:
    """Members' values of ``name`` over a forecast (outputs [n, K, N_OUTPUTS]) -> [n, K]; SBP with each
    member's BP offset."""
    j, _ = BAND_SIGNALS[name]
    values = outputs[:, :, j]
    return values + sbp_offset[:, None] if name == SBP_MMHG else values


def bands(values: np.ndarray, name: str) -> Bands:
    """The bands of members' values [n, K] of signal ``name`` at each of the K times (failed members, NaN,
    are left out)."""
    quantile = np.quantile if np.isfinite(values).all() else np.nanquantile
    with np.errstate(invalid="ignore"):
        q05, med, q95 = quantile(values, BAND_QUANTILES, axis=0)
    noise = BAND_Z * ASSIMILATED[name]
    return Bands(med, med - np.hypot(med - q05, noise), med + np.hypot(q95 - med, noise))


def bands_at(outputs: np.ndarray, sbp_offset: np.ndarray, ks: np.ndarray) -> dict[str, Bands]:
    """Bands of every forecast signal ``ks`` minutes ahead."""
    return {name: bands(member_values(outputs, sbp_offset, name)[:, ks], name) for name in BAND_SIGNALS}


def bands_json(b: dict[str, Bands], i: int = 0) -> dict[str, float | int | None]:
    """The contract's ``forecast_30min`` object (point ``i`` of the bands): each signal's median and
    central 90 % band."""
    out: dict[str, float | int | None] = {}
    for name, band in b.items():
        digits = BAND_SIGNALS[name][1]
        for suffix, v in (("", band.value[i]), ("_lo", band.lo[i]), ("_hi", band.hi[i])):
            out[name + suffix] = _rounded(v, digits)
    return out


def at_json(outputs: np.ndarray, sbp_offset: np.ndarray, k: int) -> dict[str, float | int | None]:
    """``forecast_30min``-style object ``k`` minutes ahead."""
    return bands_json(bands_at(outputs, sbp_offset, np.array([k])))


def curve_json(t_min: float, outputs: np.ndarray, sbp_offset: np.ndarray) -> list[dict[str, float]]:
    """The forecast over time for the tile chart: bands every :data:`FORECAST_EVERY_MIN` minutes."""
    ks = np.arange(0, min(FORECAST_MIN, outputs.shape[1] - 1) + 1, FORECAST_EVERY_MIN)
    b = bands_at(outputs, sbp_offset, ks)
    return [{T_MIN: round(t_min + int(k), 2), **bands_json(b, i)} for i, k in enumerate(ks)]


def _rounded(v: float, digits: int) -> float | int | None:
    if not np.isfinite(v):
        return None
    return round(float(v), digits) if digits else int(round(float(v)))
