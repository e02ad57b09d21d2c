"""What the session model can simulate: UF within the model's rate and volume limits, dialysate Na within
reach of plasma Na, scenario-table rows inside the scenario model's ranges. The checks raise
:class:`~crampwatch.errors.InputError` naming the field (one scenario at a time) or flag rows (tables)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from crampwatch.errors import InputError
from crampwatch.kinetics import watson_volume_array
from crampwatch.labs import LAB_FIELDS, resolve_lab_arrays
from crampwatch.physiology.parameters import P
from crampwatch.quantities import post_weight_kg_array, uf_rate_ml_kg_h_array
from crampwatch.scenario_table import invalid_rows, uf_volume_l

#: Limits of what a session can remove (modelling choices far beyond clinical practice, where > 13 mL/kg/h is
#: already high-risk; Flythe 2011): UF rate <= 50 mL/kg/h and UF volume <= 40 % of the pre-dialysis ECF.
MAX_UF_RATE_ML_KG_H = 50.0
MAX_UF_FRACTION_OF_ECF = 0.4


def uf_infeasible(
    uf_volume_l: np.ndarray, dur_min: np.ndarray, pre_w: np.ndarray, dry_w: np.ndarray, tbw_dry: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Sessions whose UF the model cannot remove (rate above :data:`MAX_UF_RATE_ML_KG_H`, or volume above
    :data:`MAX_UF_FRACTION_OF_ECF` of the extracellular water): mask, and a message per flagged session."""
    rate = uf_rate_ml_kg_h_array(uf_volume_l, dur_min, post_weight_kg_array(pre_w, uf_volume_l))
    ecf = tbw_dry * (1.0 - P["icv_fraction_of_tbw"]) + np.maximum(pre_w - dry_w, 0.0)
    fast = rate > MAX_UF_RATE_ML_KG_H
    large = ~fast & (uf_volume_l > MAX_UF_FRACTION_OF_ECF * ecf)
    messages = []
    for i in np.flatnonzero(fast | large):
        if fast[i]:
            messages.append(
                f"prescription.uf_volume_l: {uf_volume_l[i]:g} L in {dur_min[i]:g} min is "
                f"{rate[i]:.0f} mL/kg/h "
                f"(allowed up to {MAX_UF_RATE_ML_KG_H:g} mL/kg/h)"
            )
        else:
            messages.append(
                f"prescription.uf_volume_l: {uf_volume_l[i]:g} L exceeds 40 % of this patient's "
                "extracellular water "
                f"(allowed 0–{MAX_UF_FRACTION_OF_ECF * ecf[i]:.1f} L)"
            )
    return fast | large, messages


def check_uf_feasible(
    uf_volume_l: np.ndarray, dur_min: np.ndarray, pre_w: np.ndarray, dry_w: np.ndarray, tbw_dry: np.ndarray
) -> None:
    """:func:`uf_infeasible`, raising :class:`InputError` for the first flagged session."""
    bad, messages = uf_infeasible(uf_volume_l, dur_min, pre_w, dry_w, tbw_dry)
    if bad.any():
        raise InputError(messages[0], "prescription.uf_volume_l")


#: Largest dialysate-plasma Na difference simulated (modelling choice: far beyond practice, where the
#: gradient is a few mmol/L and a change of plasma Na > 8-10 mmol/L/day risks osmotic demyelination).
MAX_NA_GRADIENT_MMOL_L = 25.0


def _na_range(r: object) -> tuple[float, float]:
    """Lowest and highest dialysate Na of a prescription (mmol/L)."""
    prof = r.dialysate.na_profile
    if prof is None:
        return r.dialysate.na_mmol_l, r.dialysate.na_mmol_l
    values = [v for _, v in prof]
    return min(values), max(values)


def na_gradient_too_large(
    lo: np.ndarray, hi: np.ndarray, plasma_na: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Sessions whose dialysate Na (lowest ``lo`` and highest ``hi`` over the session) lies more than
    :data:`MAX_NA_GRADIENT_MMOL_L` from plasma Na: mask, and a message per flagged session."""
    worst = np.where(np.abs(lo - plasma_na) >= np.abs(hi - plasma_na), lo, hi)
    bad = np.abs(worst - plasma_na) > MAX_NA_GRADIENT_MMOL_L
    messages = [
        f"prescription.dialysate.na_mmol_l: {worst[i]:g} mmol/L is {worst[i] - plasma_na[i]:+.0f} from "
        f"plasma Na {plasma_na[i]:g} (allowed within ±{MAX_NA_GRADIENT_MMOL_L:g} mmol/L of plasma Na)"
        for i in np.flatnonzero(bad)
    ]
    return bad, messages


def check_na_gradient(rx: list, plasma_na: np.ndarray) -> None:
    """:func:`na_gradient_too_large` of prescriptions ``rx``, raising :class:`InputError` for the first."""
    lo, hi = np.array([_na_range(r) for r in rx], dtype=float).reshape(-1, 2).T
    bad, messages = na_gradient_too_large(lo, hi, plasma_na)
    if bad.any():
        raise InputError(messages[0], "prescription.dialysate.na_mmol_l")


def watson_dry_l(cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """Watson body water at dry weight, L, of each row of a scenario table (:mod:`crampwatch.scenario_table`;
    the scenario model holds age, height and weight inside Watson's range)."""
    male = np.asarray(cols["patient.sex"]) == "male"
    return np.asarray(
        watson_volume_array(
            male, cols["patient.age_years"], cols["patient.height_cm"], cols["patient.dry_weight_kg"]
        ),
        dtype=float,
    )


def infeasible_rows(cols: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a complete scenario table the model does not simulate: outside the scenario model's ranges
    (:func:`crampwatch.scenario_table.invalid_rows`), UF beyond the model's limits, or dialysate Na too far
    from plasma Na. A mask and the first reason per row (``""`` where the row is simulated)."""
    bad, why = invalid_rows(cols)
    checks = []
    ok = ~bad
    if ok.any():
        sub = {k: np.asarray(v)[ok] for k, v in cols.items()}
        labs, _ = resolve_lab_arrays({k: np.asarray(sub[f"patient.labs.{k}"], float) for k in LAB_FIELDS})
        na = np.asarray(sub["prescription.dialysate.na_mmol_l"], dtype=float)
        checks = [
            uf_infeasible(
                uf_volume_l(sub),
                np.asarray(sub["prescription.duration_min"], float),
                np.asarray(sub["patient.pre_weight_kg"], float),
                np.asarray(sub["patient.dry_weight_kg"], float),
                watson_dry_l(sub),
            ),
            na_gradient_too_large(na, na, labs["na_mmol_l"]),
        ]
    rows = np.flatnonzero(ok)
    for mask, messages in checks:
        new = mask & ~bad[rows]
        for i, text in zip(np.flatnonzero(mask), messages, strict=True):
            if new[i]:
                why[rows[i]] = text
        bad[rows[new]] = True
    return bad, why
