"""Per-session context of the cause scores: the patient and prescription numbers of a batch, as arrays.

:func:`build_context` reads them from scenarios; :func:`context_from_columns` builds the same
:class:`Context` from columns (a recorded history read as a table, without a scenario object per session).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from crampwatch.causes.thresholds import th
from crampwatch.kinetics import michaels_clearance_ml_min, watson_volume_array
from crampwatch.model import LAB_FIELDS, Scenario, given_lab_arrays, resolve_lab_arrays

#: Labs used by the scores (resolved by ``Labs.resolved``; default values are flagged as assumed).
LAB_NAMES = (
    "na_mmol_l",
    "k_mmol_l",
    "bun_mg_dl",
    "ca_total_mg_dl",
    "albumin_g_dl",
    "mg_mmol_l",
    "hco3_mmol_l",
    "hct_pct",
    "glucose_mg_dl",
    "aluminium_ug_l",
    "ica_mmol_l",
    "urea_mmol_l",
)

#: SPEEDY in-vivo corrections (Casino & Basile NDT 2018;33:1046): blood-water flow 0.894 Qb and in-vivo
#: KoA 0.537 x the in-vitro value; used only to estimate the dose when no urea signal is recorded.
SPEEDY_BLOOD_WATER_FRACTION = 0.894
SPEEDY_IN_VIVO_KOA_FACTOR = 0.537


@dataclass
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


_PATIENT_NUMBERS = attrgetter(
    "pre_weight_kg", "dry_weight_kg", "vintage_months", "age_years", "height_cm", "critical_rbv_pct"
)
_PATIENT_FLAGS = attrgetter(
    "sex", "diabetes", "peripheral_neuropathy", "cramps_outside_sessions", "active_vitamin_d", "access"
)
_PRESCRIPTION_NUMBERS = attrgetter(
    "duration_min",
    "sessions_per_week",
    "qb_ml_min",
    "qd_ml_min",
    "dialyzer_koa_ml_min",
    "dialysate.ca_mmol_l",
    "dialysate.mg_mmol_l",
    "dialysate.hco3_mmol_l",
    "dialysate.temp_c",
)

#: The per-session inputs of :func:`context_from_columns` (each an array of length n; NaN = not given).
CONTEXT_INPUTS: tuple[str, ...] = (
    "pre_weight_kg",
    "dry_weight_kg",
    "vintage_months",
    "age_years",
    "height_cm",
    "critical_rbv_pct",
    "male",
    "diabetes",
    "neuropathy",
    "cramps_outside",
    "active_vitamin_d",
    "catheter",
    "previous_post_weight_kg",
    "duration_min",
    "sessions_per_week",
    "qb_ml_min",
    "qd_ml_min",
    "koa_ml_min",
    "dialysate_ca_mmol_l",
    "dialysate_mg_mmol_l",
    "dialysate_hco3_mmol_l",
    "dialysate_temp_c",
    "uf_volume_l",
    "dialysate_na_mmol_l",
)


def _tri(value: bool | None) -> float:
    return float("nan") if value is None else float(bool(value))


def scenario_columns(scenarios: Sequence[Scenario]) -> dict[str, np.ndarray]:
    """The :data:`CONTEXT_INPUTS` and the given labs (:data:`crampwatch.model.LAB_FIELDS`, NaN = not
    given) of ``scenarios``, one array element per scenario."""
    n = len(scenarios)
    patients = [sc.patient for sc in scenarios]
    rx = [sc.prescription for sc in scenarios]

    def numbers(getter: attrgetter, objects: list) -> np.ndarray:
        rows = [tuple(np.nan if v is None else v for v in getter(o)) for o in objects]
        return np.array(rows, dtype=float).reshape(n, -1).T

    cols: dict[str, np.ndarray] = dict(
        zip(
            (
                "pre_weight_kg",
                "dry_weight_kg",
                "vintage_months",
                "age_years",
                "height_cm",
                "critical_rbv_pct",
            ),
            numbers(_PATIENT_NUMBERS, patients),
            strict=True,
        )
    )
    flags = [_PATIENT_FLAGS(p) for p in patients]
    cols["male"] = np.array([f[0] == "male" for f in flags], dtype=bool)
    cols["diabetes"] = np.array([bool(f[1]) for f in flags], dtype=bool)
    cols["neuropathy"] = np.array([_tri(f[2]) for f in flags], dtype=float)
    cols["cramps_outside"] = np.array([_tri(f[3]) for f in flags], dtype=float)
    cols["active_vitamin_d"] = np.array([bool(f[4]) for f in flags], dtype=bool)
    cols["catheter"] = np.array([f[5] == "catheter" for f in flags], dtype=bool)
    prev = [p.previous_post_weight_kg for p in patients]
    cols["previous_post_weight_kg"] = np.array([np.nan if v is None else v for v in prev], dtype=float)
    cols.update(
        zip(
            (
                "duration_min",
                "sessions_per_week",
                "qb_ml_min",
                "qd_ml_min",
                "koa_ml_min",
                "dialysate_ca_mmol_l",
                "dialysate_mg_mmol_l",
                "dialysate_hco3_mmol_l",
                "dialysate_temp_c",
            ),
            numbers(_PRESCRIPTION_NUMBERS, rx),
            strict=True,
        )
    )
    cols["uf_volume_l"] = np.array([sc.uf_volume_l for sc in scenarios], dtype=float)
    cols["dialysate_na_mmol_l"] = np.array(
        [r.mean_dialysate_na() if r.dialysate.na_profile else r.dialysate.na_mmol_l for r in rx], dtype=float
    )
    given = given_lab_arrays([p.labs for p in patients])  # scenarios of one patient share its labs
    cols.update({f"lab_{k}": v for k, v in given.items()})
    return cols


def context_from_columns(cols: Mapping[str, np.ndarray]) -> Context:
    """:class:`Context` from per-session input arrays (:func:`scenario_columns`: the
    :data:`CONTEXT_INPUTS` and ``lab_<name>`` for each of :data:`crampwatch.model.LAB_FIELDS`)."""
    c = {k: np.asarray(cols[k]) for k in CONTEXT_INPUTS}
    num = {k: v.astype(float) for k, v in c.items()}
    labs, assumed = resolve_lab_arrays({k: np.asarray(cols[f"lab_{k}"], dtype=float) for k in LAB_FIELDS})
    pre, dry = num["pre_weight_kg"], num["dry_weight_kg"]
    previous = num["previous_post_weight_kg"]
    idwg = pre - np.where(np.isnan(previous), dry, previous)
    post_w = np.maximum(25.0, pre - num["uf_volume_l"])
    male = c["male"].astype(bool)
    qbw = SPEEDY_BLOOD_WATER_FRACTION * num["qb_ml_min"]
    kd = np.asarray(
        michaels_clearance_ml_min(SPEEDY_IN_VIVO_KOA_FACTOR * num["koa_ml_min"], qbw, num["qd_ml_min"]),
        dtype=float,
    )
    watson = watson_volume_array(male, num["age_years"], num["height_cm"], post_w).astype(float)
    return Context(
        n=len(pre),
        pre_weight_kg=pre,
        dry_weight_kg=dry,
        male=male,
        idwg_kg=idwg,
        idwg_pct=100.0 * idwg / dry,
        vintage_months=num["vintage_months"],
        diabetes=c["diabetes"].astype(bool),
        neuropathy=num["neuropathy"],
        cramps_outside=num["cramps_outside"],
        active_vitamin_d=c["active_vitamin_d"].astype(bool),
        critical_rbv_pct=num["critical_rbv_pct"],
        duration_min=num["duration_min"],
        sessions_per_week=num["sessions_per_week"],
        catheter=c["catheter"].astype(bool),
        uf_volume_l=num["uf_volume_l"],
        qb_ml_min=num["qb_ml_min"],
        dialysate_na_mmol_l=num["dialysate_na_mmol_l"],
        dialysate_ca_mmol_l=num["dialysate_ca_mmol_l"],
        dialysate_mg_mmol_l=num["dialysate_mg_mmol_l"],
        dialysate_hco3_mmol_l=num["dialysate_hco3_mmol_l"],
        dialysate_temp_c=num["dialysate_temp_c"],
        watson_v_l=watson,
        est_ktv=kd * num["duration_min"] / (watson * 1000.0),
        labs={k: labs[k] for k in LAB_NAMES},
        lab_assumed={k: assumed.get(k, np.zeros(len(pre), dtype=bool)) for k in LAB_NAMES},
    )


def build_context(scenarios: Sequence[Scenario]) -> Context:
    """Context arrays for ``scenarios`` (one per session)."""
    return context_from_columns(scenario_columns(scenarios))
