"""The coverage table: for every lever the optimizer pulls and every signal the model outputs, which checks
compare it with a publication (by role, passed or not), which published comparisons are only reported, and
which known limitations apply."""

from __future__ import annotations

from dataclasses import dataclass

from crampwatch.signals import (
    DIALYSATE_NA_MMOL_L,
    DIALYSATE_TEMP_C,
    HCO3_MMOL_L,
    HR_BPM,
    ICA_MMOL_L,
    MAP_MMHG,
    MG_MMOL_L,
    OSM_MOSM_KG,
    PLASMA_K_MMOL_L,
    PLASMA_NA_MMOL_L,
    QB_ML_MIN,
    RBV_PCT,
    SBP_MMHG,
    UREA_MMOL_L,
)
from crampwatch.validation.limitations import COMPARISONS, LIMITATIONS
from crampwatch.validation.registry import Result

#: The levers of the optimizer (prescription-setting names; ``uf_rate`` is UF volume over session time) and
#: the model's clinical signals, with their display names. ``after:`` is a signal's course after dialysis.
LEVERS: dict[str, str] = {
    "uf_volume_l": "UF volume",
    "uf_rate": "UF rate",
    "uf_profile": "UF profile",
    "duration_min": "session time",
    QB_ML_MIN: "Qb",
    "qd_ml_min": "Qd",
    "dialyzer_koa_ml_min": "KoA",
    DIALYSATE_NA_MMOL_L: "dialysate Na",
    "dialysate_na_profile": "Na profile",
    "dialysate_k_mmol_l": "dialysate K",
    "dialysate_ca_mmol_l": "dialysate Ca",
    "dialysate_mg_mmol_l": "dialysate Mg",
    "dialysate_hco3_mmol_l": "dialysate HCO3",
    DIALYSATE_TEMP_C: "dialysate temperature",
    "isolated_uf_min": "isolated UF",
}
SIGNALS: dict[str, str] = {
    RBV_PCT: "RBV",
    SBP_MMHG: "SBP",
    MAP_MMHG: "MAP",
    HR_BPM: "heart rate",
    PLASMA_NA_MMOL_L: "plasma Na",
    PLASMA_K_MMOL_L: "plasma K",
    ICA_MMOL_L: "ionized Ca",
    MG_MMOL_L: "Mg",
    HCO3_MMOL_L: "HCO3",
    UREA_MMOL_L: "urea",
    OSM_MOSM_KG: "osmolality",
}
AFTER: dict[str, str] = {
    f"after:{name}": f"{label} after dialysis"
    for name, label in SIGNALS.items()
    if name not in (SBP_MMHG, MAP_MMHG, HR_BPM)
}
#: Every name a check, comparison or limitation may cover.
COVERABLE: dict[str, str] = {**LEVERS, **SIGNALS, **AFTER}


@dataclass(frozen=True)
class CoverageRow:
    """One lever or signal: its checks by role, reported comparisons, limitations and a one-word status."""

    name: str
    label: str
    kind: str
    validation: tuple[tuple[str, bool], ...]
    other: tuple[tuple[str, str, bool], ...]
    reported: tuple[str, ...]
    limitations: tuple[str, ...]

    @property
    def status(self) -> str:
        """``validated`` (an independent check passes), ``fails validation`` (independent checks exist and
        all fail), else what there is (``calibration``, ``verification``, ``consistency``, ``reported``
        joined by ``+``), or ``none``."""
        if any(ok for _, ok in self.validation):
            return "validated"
        if self.validation:
            return "fails validation"
        kinds = sorted({role for _, role, _ in self.other}) + (["reported"] if self.reported else [])
        return " + ".join(kinds) if kinds else "none"


def coverage(results: list[Result]) -> list[CoverageRow]:
    """The coverage row of every lever and signal of :data:`COVERABLE`."""
    rows = []
    for name, label in COVERABLE.items():
        kind = "lever" if name in LEVERS else "after dialysis" if name in AFTER else "signal"
        mine = [r for r in results if name in r.check.covers]
        rows.append(
            CoverageRow(
                name,
                label,
                kind,
                tuple((r.check.id, r.passed) for r in mine if r.check.role == "validation"),
                tuple((r.check.id, r.check.role, r.passed) for r in mine if r.check.role != "validation"),
                tuple(c.id for c in COMPARISONS if name in c.covers),
                tuple(lim.id for lim in LIMITATIONS if name in lim.covers),
            )
        )
    return rows
