"""Pre-dialysis laboratory values as arrays: the defaults of a missing lab, BUN from urea and ionized Ca
estimated from total Ca and albumin, for one patient (:meth:`crampwatch.model.Labs.resolved`) or many (the
cause context and the patient-specific parameters of the session model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from crampwatch.signals import HCO3_MMOL_L, HCT_PCT, ICA_MMOL_L, MG_MMOL_L, UREA_MMOL_L
from crampwatch.units import BUN_MG_DL_PER_UREA_MMOL_L, CA_MG_DL_PER_MMOL_L

#: Typical pre-dialysis values used when a lab is missing (flagged as assumed by ``Labs.resolved``).
#: Sources: Na 137.9 mmol/L "sodium set point" (Trinh 2017); BUN 60–70 mg/dL, albumin
#: 3.8 g/dL, Hct 33 % and HCO3 21–22 mmol/L are typical HEMO-study / DOPPS pre-dialysis values (modelling
#: choice within published ranges); K 5.0, Mg 0.9 mmol/L, total Ca 9.0 mg/dL, glucose 110 mg/dL likewise.
DEFAULT_LABS: dict[str, float] = {
    "na_mmol_l": 138.0,
    "k_mmol_l": 5.0,
    "bun_mg_dl": 65.0,
    "ca_total_mg_dl": 9.0,
    "albumin_g_dl": 3.8,
    MG_MMOL_L: 0.9,
    HCO3_MMOL_L: 22.0,
    HCT_PCT: 33.0,
    "glucose_mg_dl": 110.0,
    "aluminium_ug_l": 5.0,
}

#: The given lab fields of :class:`crampwatch.model.Labs` (the input of :func:`resolve_lab_arrays`).
LAB_FIELDS: tuple[str, ...] = (*DEFAULT_LABS, UREA_MMOL_L, ICA_MMOL_L)


def resolve_lab_arrays(raw: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Labs of many patients with defaults filled in: ``raw`` maps each of :data:`LAB_FIELDS` to an array
    (NaN = not given); returns the values (every :data:`DEFAULT_LABS` name plus ``ica_mmol_l`` and
    ``urea_mmol_l``) and, per name, where the value was assumed. BUN comes from urea when only urea is given;
    ionized Ca, when not given, is estimated from total Ca and albumin (:func:`estimate_ica_mmol_l`) and
    counts as assumed when total Ca was not given either."""
    given = {name: np.asarray(raw[name], dtype=float) for name in LAB_FIELDS}
    given["bun_mg_dl"] = np.where(
        np.isnan(given["bun_mg_dl"]), given[UREA_MMOL_L] * BUN_MG_DL_PER_UREA_MMOL_L, given["bun_mg_dl"]
    )
    values: dict[str, np.ndarray] = {}
    assumed: dict[str, np.ndarray] = {}
    for name, default in DEFAULT_LABS.items():
        missing = np.isnan(given[name])
        values[name] = np.where(missing, default, given[name])
        assumed[name] = missing
    ica = given[ICA_MMOL_L]
    values[ICA_MMOL_L] = np.where(
        np.isnan(ica), estimate_ica_mmol_l(values["ca_total_mg_dl"], values["albumin_g_dl"]), ica
    )
    assumed[ICA_MMOL_L] = np.isnan(ica) & np.isnan(given["ca_total_mg_dl"])
    values[UREA_MMOL_L] = values["bun_mg_dl"] / BUN_MG_DL_PER_UREA_MMOL_L
    return values, assumed


def estimate_ica_mmol_l(ca_total_mg_dl: Any, albumin_g_dl: Any) -> Any:
    """Ionized Ca estimated from total Ca and albumin (numbers or arrays).

    About 40 % of plasma Ca is albumin-bound, ~0.8 mg/dL Ca per g/dL albumin (Payne 1973 BMJ correction),
    and ~10 % is complexed; free = total - 0.8*albumin - 10 % of total (modelling choice built on Payne's
    binding slope). 9.0 mg/dL with albumin 3.8 g/dL gives 1.26 mmol/L, inside the 1.1–1.3 normal range.
    """
    free_mg_dl = 0.9 * np.asarray(ca_total_mg_dl, dtype=float) - 0.8 * np.asarray(albumin_g_dl, dtype=float)
    ica = np.maximum(0.4, free_mg_dl / CA_MG_DL_PER_MMOL_L)
    return float(ica) if ica.ndim == 0 else ica
