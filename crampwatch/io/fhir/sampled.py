"""Trace signals as FHIR ``SampledData`` time series: one Observation per signal per session.

``valueSampledData`` holds the signal's values at a fixed period from the Observation's
``effectivePeriod.start``: ``origin`` 0 in the signal's UCUM unit, ``factor`` 1, ``dimensions`` 1, and
``data`` the values as plain decimals (the shortest text that reads back as the same number) separated by
spaces, ``E`` where the session has no value at that time (FHIR R4 SampledData: "E" = no valid value). The
period is the largest step that puts every recorded time (to the second) on the grid, so records taken at
uneven times keep their times. The codes are those of the per-point form (crampwatch's local code, plus
LOINC where one exists), so a reader tells the two forms apart only by the value type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from crampwatch.errors import InputError
from crampwatch.io.fhir.codes import CODE_SYSTEM_URL, TRACE_SPECS, UCUM
from crampwatch.io.fhir.common import read_quantity, where_of
from crampwatch.trace import Trace
from crampwatch.units import S_PER_MIN

#: Most samples read from one Observation (a 12-h session at one sample per second; modelling choice).
MAX_SAMPLES = 43_200


def sampling_period_ms(t_min: np.ndarray) -> int:
    """The largest period, ms, on whose grid every time of ``t_min`` lies (times taken to the second;
    one minute for a single time)."""
    seconds = np.round((np.asarray(t_min, dtype=float) - float(np.min(t_min))) * S_PER_MIN).astype(np.int64)
    steps = seconds[seconds > 0]
    return int(np.gcd.reduce(steps)) * 1000 if len(steps) else int(S_PER_MIN * 1000)


def _decimal(x: float) -> str:
    return np.format_float_positional(float(x), unique=True, trim="-")


def sampled_series(t_min: np.ndarray, values: np.ndarray, period_ms: int) -> str:
    """The ``data`` text of one signal: its values on the grid of ``period_ms`` from ``t_min[0]``."""
    pos = np.round((t_min - t_min[0]) * S_PER_MIN * 1000.0 / period_ms).astype(np.int64)
    tokens = np.full(int(pos[-1]) + 1, "E", dtype=object)
    ok = np.isfinite(values)
    tokens[pos[ok]] = [_decimal(v) for v in values[ok]]
    return " ".join(tokens)


def sampled_observations(trace: Trace, signals: Sequence[str]) -> list[tuple[str, float, dict[str, Any]]]:
    """(signal, start minute, Observation value fields) for each of ``signals`` the trace has."""
    t = trace.t_min
    if len(t) == 0:
        return []
    period = sampling_period_ms(t)
    out = []
    for name in signals:
        values = trace.signal(name)
        if values is None:
            continue
        spec = TRACE_SPECS[name]
        sampled = {
            "origin": {"value": 0, "unit": spec.unit, "system": UCUM, "code": spec.unit},
            "period": period,
            "factor": 1,
            "dimensions": 1,
            "data": sampled_series(t, values, period),
        }
        out.append((name, float(t[0]), {"valueSampledData": sampled}))
    return out


def sampled_points(obs: dict[str, Any], name: str, start_min: float) -> list[tuple[float, float]]:
    """(minute, value in the signal's unit) of each valid sample of a SampledData Observation."""
    where = f"{where_of(obs)}.valueSampledData"
    sd = obs["valueSampledData"]
    spec = TRACE_SPECS[name]
    origin = sd.get("origin") if isinstance(sd, dict) else None
    if not isinstance(origin, dict) or origin.get("value") is None:
        raise InputError(f"{where}.origin: missing (a Quantity in {spec.unit})", name)
    if sd.get("dimensions", 1) != 1:
        raise InputError(f"{where}.dimensions: {sd.get('dimensions')!r} (allowed 1)", name)
    try:
        period = float(sd["period"])
        factor = float(sd.get("factor", 1))
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{where}.period: missing or not a number (milliseconds)", name) from None
    if not (math.isfinite(period) and period > 0 and math.isfinite(factor)):
        raise InputError(f"{where}.period: {sd.get('period')!r} (allowed a positive number of ms)", name)
    tokens = str(sd.get("data") or "").split()
    if len(tokens) > MAX_SAMPLES:
        raise InputError(f"{where}.data: {len(tokens)} samples (allowed 1–{MAX_SAMPLES})", name)
    points = []
    for i, token in enumerate(tokens):
        if token in ("E", "L", "U"):
            continue
        try:
            raw = float(origin["value"]) + factor * float(token)
        except ValueError:
            raise InputError(f"{where}.data: {token!r} at sample {i} is not a number", name) from None
        value = read_quantity({**origin, "value": raw}, spec, f"{where}.data[{i}]")
        points.append((start_min + i * period / 1000.0 / S_PER_MIN, value))
    return points


def is_local_signal(code: tuple[str, str]) -> bool:
    return code[0] == CODE_SYSTEM_URL and code[1] in TRACE_SPECS
