"""Per-session context of the cause scores: the patient and prescription numbers of a batch, as arrays.

:func:`build_context` reads them from scenarios; :func:`context_from_columns` builds the same
:class:`Context` from columns (a recorded history read as a table, without a scenario object per session).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crampwatch.causes.thresholds import th
from crampwatch.kinetics import michaels_clearance_ml_min, watson_volume_array
from crampwatch.labs import LAB_FIELDS, resolve_lab_arrays
from crampwatch.model import Scenario
from crampwatch.prescription_settings import SETTINGS, table_column
from crampwatch.quantities import post_weight_kg_array
from crampwatch.scenario_table import NUMERIC_FIELDS, complete_columns, scenario_columns, uf_volume_l
from crampwatch.signals import HCO3_MMOL_L, HCT_PCT, ICA_MMOL_L, MG_MMOL_L, UREA_MMOL_L

#: Labs used by the scores (resolved by ``Labs.resolved``; default values are flagged as assumed).
LAB_NAMES = (
    "na_mmol_l",
    "k_mmol_l",
    "bun_mg_dl",
    "ca_total_mg_dl",
    "albumin_g_dl",
    MG_MMOL_L,
    HCO3_MMOL_L,
    HCT_PCT,
    "glucose_mg_dl",
    "aluminium_ug_l",
    ICA_MMOL_L,
    UREA_MMOL_L,
)

#: SPEEDY in-vivo corrections (Casino & Basile NDT 2018;33:1046): blood-water flow 0.894 Qb and in-vivo
#: KoA 0.537 x the in-vitro value; used only to estimate the dose when no urea signal is recorded.
SPEEDY_BLOOD_WATER_FRACTION = 0.894
SPEEDY_IN_VIVO_KOA_FACTOR = 0.537
#: Kinds of prescription settings that are numbers (profiles are not).
NUMERIC_KINDS = ("number", "integer")


@dataclass(frozen=True)
class Context:
    """Per-session context arrays (length ``n``) built once from the scenarios."""

    n: int
    pre_weight_kg: np.ndarray
    dry_weight_kg: np.ndarray
    male: np.ndarray
    idwg_kg: np.ndarray
    idwg_pct: np.ndarray
    vintage_months: np.ndarray
    diabetes: np.ndarray
    neuropathy: np.ndarray  # 1 yes, 0 no, NaN unknown
    cramps_outside: np.ndarray  # 1 yes, 0 no, NaN unknown
    active_vitamin_d: np.ndarray
    critical_rbv_pct: np.ndarray  # NaN when not known
    duration_min: np.ndarray
    sessions_per_week: np.ndarray
    catheter: np.ndarray  # venous catheter access (else fistula/graft)
    uf_volume_l: np.ndarray
    qb_ml_min: np.ndarray
    dialysate_na_mmol_l: np.ndarray  # time-averaged
    dialysate_ca_mmol_l: np.ndarray
    dialysate_mg_mmol_l: np.ndarray
    dialysate_hco3_mmol_l: np.ndarray
    dialysate_temp_c: np.ndarray
    watson_v_l: np.ndarray
    est_ktv: np.ndarray  # K t / V estimated from the prescription (SPEEDY/Michaels, Watson V)
    labs: dict[str, np.ndarray]
    lab_assumed: dict[str, np.ndarray]
    #: every numeric prescription setting of the registry (:mod:`crampwatch.prescription_settings`), by name
    settings: dict[str, np.ndarray]

    def take(self, index: np.ndarray | slice) -> Context:
        """The context of a subset of sessions."""
        fields = {}
        for name, value in self.__dict__.items():
            if name == "n":
                continue
            if isinstance(value, dict):
                fields[name] = {k: v[index] for k, v in value.items()}
            else:
                fields[name] = value[index]
        n = len(fields["pre_weight_kg"])
        return Context(n=n, **fields)

    def signal_or_lab(self, value: np.ndarray, lab: str) -> tuple[np.ndarray, np.ndarray]:
        """``value`` (from a signal) where recorded, else lab ``lab``; and where that lab is a default."""
        absent = np.isnan(value)
        return np.where(absent, self.labs[lab], value), absent & self.lab_assumed[lab]

    def critical_rbv_or_mean(self) -> np.ndarray:
        """The patient's critical RBV where known, else the mean critical RBV (``rbv_critical_pct``)."""
        return np.where(np.isnan(self.critical_rbv_pct), th("rbv_critical_pct"), self.critical_rbv_pct)


def context_from_columns(cols: Mapping[str, np.ndarray]) -> Context:
    """:class:`Context` from a scenario table (:mod:`crampwatch.scenario_table`; absent fields take the
    scenario model's defaults)."""
    n = len(cols["patient.pre_weight_kg"])
    c = complete_columns(cols, n)
    num = {k: np.asarray(v, dtype=float) for k, v in c.items() if k in NUMERIC_FIELDS}
    labs, assumed = resolve_lab_arrays({k: num[f"patient.labs.{k}"] for k in LAB_FIELDS})
    pre, dry = num["patient.pre_weight_kg"], num["patient.dry_weight_kg"]
    previous = num["patient.previous_post_weight_kg"]
    idwg = pre - np.where(np.isnan(previous), dry, previous)
    uf_prescribed = uf_volume_l(c)
    post_w = post_weight_kg_array(pre, uf_prescribed)
    male = np.asarray(c["patient.sex"]) == "male"
    duration = num["prescription.duration_min"]
    qbw = SPEEDY_BLOOD_WATER_FRACTION * num["prescription.qb_ml_min"]
    koa = SPEEDY_IN_VIVO_KOA_FACTOR * num["prescription.dialyzer_koa_ml_min"]
    kd = np.asarray(michaels_clearance_ml_min(koa, qbw, num["prescription.qd_ml_min"]), dtype=float)
    watson = np.asarray(
        watson_volume_array(male, num["patient.age_years"], num["patient.height_cm"], post_w), dtype=float
    )
    return Context(
        n=n,
        pre_weight_kg=pre,
        dry_weight_kg=dry,
        male=male,
        idwg_kg=idwg,
        idwg_pct=100.0 * idwg / dry,
        vintage_months=num["patient.vintage_months"],
        diabetes=np.asarray(c["patient.diabetes"], dtype=bool),
        neuropathy=np.asarray(c["patient.peripheral_neuropathy"], dtype=float),
        cramps_outside=np.asarray(c["patient.cramps_outside_sessions"], dtype=float),
        active_vitamin_d=np.asarray(c["patient.active_vitamin_d"], dtype=bool),
        critical_rbv_pct=num["patient.critical_rbv_pct"],
        duration_min=duration,
        sessions_per_week=num["prescription.sessions_per_week"],
        catheter=np.asarray(c["patient.access"]) == "catheter",
        uf_volume_l=uf_prescribed,
        qb_ml_min=num["prescription.qb_ml_min"],
        dialysate_na_mmol_l=np.asarray(c["prescription.dialysate.na_mean_mmol_l"], dtype=float),
        dialysate_ca_mmol_l=num["prescription.dialysate.ca_mmol_l"],
        dialysate_mg_mmol_l=num["prescription.dialysate.mg_mmol_l"],
        dialysate_hco3_mmol_l=num["prescription.dialysate.hco3_mmol_l"],
        dialysate_temp_c=num["prescription.dialysate.temp_c"],
        watson_v_l=watson,
        est_ktv=kd * duration / (watson * 1000.0),
        labs={k: labs[k] for k in LAB_NAMES},
        lab_assumed={k: assumed.get(k, np.zeros(n, dtype=bool)) for k in LAB_NAMES},
        settings={
            s.name: np.asarray(table_column(s, c), dtype=float) for s in SETTINGS if s.kind in NUMERIC_KINDS
        },
    )


def build_context(scenarios: Sequence[Scenario]) -> Context:
    """Context arrays for ``scenarios`` (one per session)."""
    return context_from_columns(scenario_columns(scenarios))
