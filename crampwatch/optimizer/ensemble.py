"""A small seeded ensemble of plausible patients around the one entered.

Some inputs of the session model are not measured at the chair and are uncertain for any given patient:
the capillary refill capacity, the baroreflex gain, and the pre-dialysis labs (measurement error). Each
candidate prescription is scored over the same ensemble, so that a recommendation does not rely on one
lucky parameter set. Member 0 is always the patient exactly as entered.

Spreads (all modelling choices unless named):

* ``refill_capacity`` and ``baroreflex_strength``: multiplicative log-normal, sigma 0.3 (about x0.55 to
  x1.8 at +-2 sigma), clipped to the model's ranges. Patient-fitted filtration coefficients differ about
  two-fold between patients (de los Reyes et al. J Theor Biol 2016).
* Labs: normal with SD = half the CLIA proficiency-testing acceptance limit (42 CFR 493, 2024 update: Na
  +-4 mmol/L, K +-0.3 mmol/L, BUN +-9 % or 2 mg/dL, total Ca +-1.0 mg/dL, Mg +-15 %, albumin +-8 %,
  glucose +-8 % or 6 mg/dL, hematocrit +-4 %); bicarbonate and ionized Ca 5 % (modelling choice). Only labs
  that were entered are perturbed; missing ones keep the model's documented defaults.
* Urea distribution volume (Watson V +-10 %, SD 5 %): applied through ``volume_scale`` when the simulator
  accepts it (see :func:`volume_scales`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from crampwatch.model import Labs, Patient, field_range, with_changes
from crampwatch.signals import HCO3_MMOL_L, HCT_PCT, ICA_MMOL_L, MG_MMOL_L, UREA_MMOL_L

#: Log-normal sigma of the uncertain patient parameters (modelling choice, see module docstring).
PARAM_LOG_SIGMA = 0.3
#: SD of the urea distribution volume relative to Watson's estimate (Watson V +-10 % as +-2 SD).
VOLUME_REL_SD = 0.05

#: Lab measurement SD as a function of the value (half the CLIA acceptance limit, see module docstring).
LAB_SD: dict[str, Callable[[float], float]] = {
    "na_mmol_l": lambda v: 2.0,
    "k_mmol_l": lambda v: 0.15,
    "bun_mg_dl": lambda v: max(0.09 * v, 2.0) / 2,
    UREA_MMOL_L: lambda v: max(0.09 * v, 0.714) / 2,
    "ca_total_mg_dl": lambda v: 0.5,
    ICA_MMOL_L: lambda v: 0.025 * v,
    "albumin_g_dl": lambda v: 0.04 * v,
    MG_MMOL_L: lambda v: 0.075 * v,
    HCO3_MMOL_L: lambda v: 0.025 * v,
    HCT_PCT: lambda v: 0.02 * v,
    "glucose_mg_dl": lambda v: max(0.08 * v, 6.0) / 2,
}


def _clip_to_field(model: type[Labs] | type[Patient], name: str, value: float) -> float:
    """Clip ``value`` to the ge/le bounds of field ``name`` (so that the copy stays valid)."""
    lo, hi = field_range(model, name)
    return float(min(max(value, lo), hi))


def perturb_labs(labs: Labs, rng: np.random.Generator) -> Labs:
    """A copy of ``labs`` with each entered value moved by its measurement error."""
    update: dict[str, float] = {}
    for name, sd in LAB_SD.items():
        value = getattr(labs, name)
        if value is None:
            continue
        update[name] = _clip_to_field(Labs, name, value + rng.normal(0.0, sd(float(value))))
    return with_changes(labs, **update)


def patient_ensemble(patient: Patient, n: int, seed: int = 0) -> list[Patient]:
    """``n`` plausible variants of ``patient`` (member 0 is the patient unchanged). Seeded, reproducible."""
    if n < 1:
        raise ValueError("n must be >= 1")
    rng = np.random.default_rng(seed)
    members = [patient]
    for _ in range(n - 1):
        refill = patient.refill_capacity * float(np.exp(rng.normal(0.0, PARAM_LOG_SIGMA)))
        baro = patient.baroreflex_strength * float(np.exp(rng.normal(0.0, PARAM_LOG_SIGMA)))
        members.append(
            with_changes(
                patient,
                refill_capacity=_clip_to_field(Patient, "refill_capacity", refill),
                baroreflex_strength=_clip_to_field(Patient, "baroreflex_strength", baro),
                labs=perturb_labs(patient.labs, rng),
            )
        )
    return members


def volume_scales(n: int, seed: int = 0) -> np.ndarray:
    """Multipliers of the urea distribution volume per member (member 0 = 1), Watson V +-10 % as 2 SD."""
    rng = np.random.default_rng([seed, 1])
    scales = np.clip(1.0 + rng.normal(0.0, VOLUME_REL_SD, size=n), 0.85, 1.15)
    scales[0] = 1.0
    return scales
