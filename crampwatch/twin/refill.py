"""Refill share: how much of the ultrafiltrate the patient refilled from the tissues in the fitted sessions.

``refill share = sum over the sessions of the plasma refill volume / sum of the UF volumes`` (%), simulated
by the fitted twin -- its physiology *and* its corrections of the entered inputs -- on the patient's own
sessions. It is the twin's summary of plasma refill that the record identifies most directly: the measured
RBV fall is the ultrafiltrate that was *not* refilled, relative to the blood volume, so that the share
hardly depends on the form of the refill law the model assumes (unlike the refill capacity, a parameter of
that law, which trades off against the fluid above dry weight). Vascular refilling as the difference
between the ultrafiltrate and the blood-volume loss: Schneditz D et al., Kidney Int 1992;42:1425. The
definition over the fitted sessions is a modelling choice.

The interval is the delta method on the logit of the share (a proportion), with the fit's joint Laplace
covariance of the physiology and the input errors; the gradient is a forward difference with the fit's own
steps, simulated in one batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from crampwatch.model import Scenario
from crampwatch.signals import REFILL_ML_MIN
from crampwatch.twin.priors import CI_Z

#: Key of the refill share among the twin's parameters.
REFILL_SHARE = "refill_share_pct"
REFILL_SHARE_LABEL = "share of the UF volume refilled from the tissues in the fitted sessions"
REFILL_SHARE_SOURCE = (
    "plasma refill volume (ultrafiltrate minus blood-volume loss; Schneditz D et al. Kidney Int "
    "1992;42:1425) over the UF volume, simulated by the fitted twin on the patient's recorded sessions "
    "(modelling choice); identified by the RBV course whatever the form of the refill law"
)
#: Shares are held in this range before the logit (a share of 0 or 1 has no finite logit).
_SHARE_RANGE = (1e-4, 1.0 - 1e-4)


def refill_fraction(t_min: np.ndarray, refill_ml_min: np.ndarray, scenarios: list[Scenario]) -> float:
    """Refill volume over UF volume of ``scenarios`` (a fraction) from their simulated refill rate
    ``[n, steps]`` (mL/min on the grid ``t_min``, NaN where a session is over); NaN when a session failed."""
    uf_l = sum(sc.prescription.resolved_uf_volume_l(sc.patient) for sc in scenarios)
    if uf_l <= 0.0:
        return math.nan
    total_ml = 0.0
    for row in refill_ml_min:
        ok = np.isfinite(row)
        if ok.sum() < 2:
            return math.nan
        total_ml += float(np.trapezoid(row[ok], t_min[ok]))
    return total_ml / 1000.0 / uf_l


def refill_share(
    scenarios_of: Callable[[np.ndarray], list[Scenario]],
    simulate: Callable[[list[Scenario]], tuple[np.ndarray, dict[str, np.ndarray]]],
    x: np.ndarray,
    population_x: np.ndarray,
    cov: np.ndarray,
    steps: np.ndarray,
    prior_sd: np.ndarray,
    identified_sd_ratio: float,
) -> dict | None:
    """The twin's refill share (%) with its 95 % interval, population value (at ``population_x``: the
    population physiology with the fitted corrections of the entered inputs) and whether the sessions
    identify it (its SD below ``identified_sd_ratio`` x the SD the priors alone give); ``None`` when it
    cannot be simulated. ``scenarios_of(x)``: the fitted sessions at parameter vector ``x``; ``simulate``:
    time grid and signals (with :data:`REFILL_ML_MIN`) of a list of scenarios; ``steps``: forward-difference
    steps of ``x``."""
    vectors = [x, population_x] + [x + np.eye(len(x))[i] * steps[i] for i in range(len(x))]
    per = [scenarios_of(v) for v in vectors]
    m = len(per[0])
    t, signals = simulate([sc for group in per for sc in group])
    refill = signals[REFILL_ML_MIN]
    shares = np.array([refill_fraction(t, refill[k * m : (k + 1) * m], per[k]) for k in range(len(vectors))])
    if not np.all(np.isfinite(shares[:2])):
        return None
    logit = np.log(np.clip(shares, *_SHARE_RANGE) / (1.0 - np.clip(shares, *_SHARE_RANGE)))
    grad = np.where(np.isfinite(logit[2:]), (logit[2:] - logit[0]) / steps, 0.0)
    sd = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    prior = math.sqrt(float(np.sum((grad * prior_sd) ** 2)))

    def pct(v: float) -> float:
        return round(100.0 / (1.0 + math.exp(-v)), 2)

    return {
        "value": round(100.0 * float(shares[0]), 2),
        "ci": [pct(logit[0] - CI_Z * sd), pct(logit[0] + CI_Z * sd)],
        "population": round(100.0 * float(shares[1]), 2),
        "unit": "%",
        "label": REFILL_SHARE_LABEL,
        "identified": bool(sd < identified_sd_ratio * prior),
        "source": REFILL_SHARE_SOURCE,
    }
