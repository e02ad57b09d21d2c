"""Does a recorded trace belong to the scenario it is imported with? Session length, UF volume and patient.

A trace stored under the wrong prescription is analysed, fitted and learned from as if that prescription had
produced it (a 210-min high-UF session under a 240-min stable prescription makes the twin's refill look a
third of normal), so ``crampwatch import`` names every mismatch and ``--strict`` refuses the file.
Tolerances (modelling choices): sessions end up to 15 min (or 10 %) away from the prescribed time in
routine care; the machine's UF counter and the prescribed UF volume differ by up to 0.3 L (or 15 %).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from crampwatch.model import Scenario
from crampwatch.signals import QB_ML_MIN, UF_CUM_L
from crampwatch.trace import Trace

DURATION_TOLERANCE_MIN = 15.0
DURATION_TOLERANCE_FRACTION = 0.10
UF_TOLERANCE_L = 0.3
UF_TOLERANCE_FRACTION = 0.15


def recorded_duration_min(trace: Trace) -> float | None:
    """Minutes from the first to the last row with the blood pump running (rows with Qb 0 after the session
    are the time after it); None for a trace with fewer than two rows."""
    t = np.asarray(trace.t_min, dtype=float)
    if t.size < 2:
        return None
    qb = trace.signal(QB_ML_MIN)
    if qb is not None:
        running = np.isfinite(qb) & (np.asarray(qb, dtype=float) > 0)
        if running.any():
            last = int(np.flatnonzero(running)[-1])
            end = t[last]
            if last + 1 < t.size:
                # the pump ran until about one sampling step after its last running sample
                end = min(end + float(np.median(np.diff(t))), t[last + 1])
            return float(end) - float(t[0])
    return float(t.max() - t[0])


def recorded_uf_l(trace: Trace) -> float | None:
    """The cumulative UF at the end of the trace minus at its start, L (None without a UF counter)."""
    uf = trace.signal(UF_CUM_L)
    if uf is None:
        return None
    values = np.asarray(uf, dtype=float)
    values = values[np.isfinite(values)]
    return float(values[-1] - values[0]) if values.size else None


def mismatches(trace: Trace, scenario: Scenario, patient_ids: Iterable[str] = ()) -> list[str]:
    """Every way ``trace`` disagrees with ``scenario`` beyond routine variation, in words; ``patient_ids``
    are the patient identifiers the trace file names (a ``patient_id`` column), if any."""
    out = []
    rx = scenario.prescription
    duration = recorded_duration_min(trace)
    allowed = max(DURATION_TOLERANCE_MIN, DURATION_TOLERANCE_FRACTION * rx.duration_min)
    if duration is not None and abs(duration - rx.duration_min) > allowed:
        out.append(
            f"session length: the trace runs {duration:.0f} min, the prescription {rx.duration_min:g} min "
            f"(allowed difference {allowed:.0f} min)"
        )
    uf = recorded_uf_l(trace)
    expected = scenario.uf_volume_l
    allowed_l = max(UF_TOLERANCE_L, UF_TOLERANCE_FRACTION * expected)
    if uf is not None and math.isfinite(expected) and abs(uf - expected) > allowed_l:
        out.append(
            f"UF volume: the trace removed {uf:.2f} L, the scenario {expected:.2f} L "
            f"(allowed difference {allowed_l:.2f} L)"
        )
    others = sorted({str(p) for p in patient_ids} - {scenario.patient.id})
    if others:
        out.append(f"patient: the trace names {', '.join(others)}, the scenario {scenario.patient.id}")
    return out
