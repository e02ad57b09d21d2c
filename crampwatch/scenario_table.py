"""Many scenarios as one table: a column (numpy array) per scenario field, named by its path in the scenario
file (``patient.pre_weight_kg``, ``patient.labs.na_mmol_l``, ``prescription.dialysate.temp_c``).

A recorded history of 10^5 sessions is analysed from such a table without building a
:class:`~crampwatch.model.Scenario` per session: :func:`complete_columns` fills the fields a table does not
have with the scenario model's own defaults, and :func:`invalid_rows` applies the model's allowed ranges
to every row at once (a row outside them is reported with the same message the model gives, and left out).
:func:`scenario_columns` turns scenario objects into the same table, so both routes feed one computation.

Numbers are float arrays with NaN for "not given"; ``patient.sex`` and ``patient.access`` are text arrays;
yes/no/unknown fields (``patient.peripheral_neuropathy``, ``patient.cramps_outside_sessions``) are 1/0/NaN.
UF and dialysate Na are constant within a session in this form (no profiles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

import numpy as np
from annotated_types import Ge, Le
from pydantic.fields import FieldInfo

from crampwatch.model import (
    MAX_INTERDIALYTIC_GAIN_KG,
    Dialysate,
    Labs,
    Patient,
    Prescription,
    Scenario,
    info_range,
    parse_scenario,
)

Columns = dict[str, np.ndarray]

#: Text fields.
TEXT_FIELDS = ("patient.id", "patient.sex", "patient.access")
#: Yes/no/unknown fields (1, 0, NaN).
TRI_FIELDS = ("patient.peripheral_neuropathy", "patient.cramps_outside_sessions")
#: Yes/no fields.
FLAG_FIELDS = ("patient.diabetes", "patient.active_vitamin_d")

_MODELS: dict[str, type] = {
    "patient.labs.": Labs,
    "patient.": Patient,
    "prescription.dialysate.": Dialysate,
    "prescription.": Prescription,
}


def _field(path: str) -> FieldInfo:
    for prefix, model in _MODELS.items():
        if path.startswith(prefix):
            return model.model_fields[path[len(prefix) :]]
    raise KeyError(path)


def _numeric_paths() -> tuple[str, ...]:
    out = []
    for prefix, model in _MODELS.items():
        for name, info in model.model_fields.items():
            path = prefix + name
            if path in TEXT_FIELDS or path in TRI_FIELDS or path in FLAG_FIELDS:
                continue
            if any(isinstance(m, (Ge, Le)) for m in info.metadata):
                out.append(path)
    return tuple(out)


#: Numeric fields with an allowed range in the scenario model.
NUMERIC_FIELDS: tuple[str, ...] = _numeric_paths()
#: Every column of a scenario table.
FIELDS: tuple[str, ...] = (*TEXT_FIELDS, *TRI_FIELDS, *FLAG_FIELDS, *NUMERIC_FIELDS)


def allowed_range(path: str) -> tuple[float, float]:
    """The scenario model's allowed range of a numeric field."""
    return info_range(_field(path))


def model_default(path: str) -> Any:
    """The scenario model's default of a field (None for a required field or an optional one without)."""
    info = _field(path)
    if info.is_required():
        return None
    return info.get_default(call_default_factory=True)


def complete_columns(cols: Mapping[str, Any], n: int) -> Columns:
    """Every :data:`FIELDS` column for ``n`` rows: the given ones as arrays, the others filled with the
    scenario model's default (NaN for an optional value without one). A required field that is absent
    raises ``KeyError`` naming it."""
    out: Columns = {}
    for path in FIELDS:
        if path in cols:
            value = np.asarray(cols[path])
            out[path] = np.broadcast_to(value, (n,)) if value.ndim == 0 else value
            continue
        default = model_default(path)
        if default is None and _field(path).is_required():
            raise KeyError(path)
        if path in TEXT_FIELDS:
            out[path] = np.full(n, "" if default is None else str(default), dtype=object)
        elif path in FLAG_FIELDS:
            out[path] = np.full(n, bool(default))
        else:
            out[path] = np.full(n, np.nan if default is None else float(default))
    out["prescription.dialysate.na_mean_mmol_l"] = np.asarray(
        cols.get("prescription.dialysate.na_mean_mmol_l", out["prescription.dialysate.na_mmol_l"]),
        dtype=float,
    )
    return out


def invalid_rows(cols: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows outside the scenario model's ranges: a boolean mask and, per row, the first problem (``""``
    where the row is valid), naming the field and its allowed range."""
    n = len(cols["patient.pre_weight_kg"])
    bad = np.zeros(n, dtype=bool)
    why = np.full(n, "", dtype=object)

    def flag(mask: np.ndarray, text: Any) -> None:
        new = mask & ~bad
        if new.any():
            why[new] = [text(i) for i in np.flatnonzero(new)] if callable(text) else text
            bad[new] = True

    for path in NUMERIC_FIELDS:
        x = np.asarray(cols[path], dtype=float)
        lo, hi = allowed_range(path)
        required = _field(path).is_required()
        missing = np.isnan(x)
        if required:
            flag(missing, f"{path}: missing (required)")
        out_of_range = ~missing & ((x < lo) | (x > hi))
        flag(
            out_of_range,
            lambda i, x=x, p=path, lo=lo, hi=hi: f"{p}: {x[i]:g} is out of range (allowed {lo:g}–{hi:g})",
        )
    sex = np.asarray(cols["patient.sex"], dtype=object)
    flag(~np.isin(sex, ["male", "female"]), "patient.sex: not one of male, female")
    gain = np.asarray(cols["patient.pre_weight_kg"], float) - np.asarray(cols["patient.dry_weight_kg"], float)
    flag(
        gain > MAX_INTERDIALYTIC_GAIN_KG,
        f"patient.pre_weight_kg: more than {MAX_INTERDIALYTIC_GAIN_KG:g} kg above dry_weight_kg "
        f"(allowed interdialytic gain 0–{MAX_INTERDIALYTIC_GAIN_KG:g} kg)",
    )
    iso = np.asarray(cols["prescription.isolated_uf_min"], float)
    dur = np.asarray(cols["prescription.duration_min"], float)
    flag(
        iso > dur,
        lambda i: (
            f"prescription.isolated_uf_min: {iso[i]:g} min is longer than the session "
            f"(allowed 0–duration_min = {dur[i]:g} min)"
        ),
    )
    return bad, why


def uf_volume_l(cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """The UF goal of each row: ``prescription.uf_volume_l`` or, when not given, pre-weight minus dry weight
    (never below 0), as :meth:`crampwatch.model.Prescription.resolved_uf_volume_l`."""
    given = np.asarray(cols["prescription.uf_volume_l"], dtype=float)
    gain = np.asarray(cols["patient.pre_weight_kg"], float) - np.asarray(cols["patient.dry_weight_kg"], float)
    return np.where(np.isnan(given), np.maximum(0.0, gain), given)


def _tri(value: bool | None) -> float:
    return float("nan") if value is None else float(bool(value))


def scenario_columns(scenarios: Sequence[Scenario]) -> Columns:
    """The scenario table of ``scenarios`` (one row each). A Na profile enters as its time average
    (``prescription.dialysate.na_mean_mmol_l``); UF profiles are not represented."""
    n = len(scenarios)
    patients = [s.patient for s in scenarios]
    rx = [s.prescription for s in scenarios]
    cols: Columns = {}
    groups = (
        ("patient.labs.", [p.labs for p in patients]),
        ("prescription.dialysate.", [r.dialysate for r in rx]),
        ("patient.", patients),
        ("prescription.", rx),
    )
    for prefix, objects in groups:
        paths = [p for p in NUMERIC_FIELDS if p.startswith(prefix) and "." not in p[len(prefix) :]]
        getter = attrgetter(*(p[len(prefix) :] for p in paths))
        seen: dict[int, tuple] = {}  # scenarios of one patient share its labs: read once
        rows = []
        for o in objects:
            row = seen.get(id(o))
            if row is None:
                values = getter(o) if len(paths) > 1 else (getter(o),)
                row = seen[id(o)] = tuple(np.nan if v is None else v for v in values)
            rows.append(row)
        matrix = np.array(rows, dtype=float).reshape(n, len(paths))
        cols.update({p: matrix[:, i] for i, p in enumerate(paths)})
    cols["patient.id"] = np.array([p.id for p in patients], dtype=object)
    cols["patient.sex"] = np.array([p.sex for p in patients], dtype=object)
    cols["patient.access"] = np.array([p.access for p in patients], dtype=object)
    cols["patient.diabetes"] = np.array([p.diabetes for p in patients], dtype=bool)
    cols["patient.active_vitamin_d"] = np.array([p.active_vitamin_d for p in patients], dtype=bool)
    cols["patient.peripheral_neuropathy"] = np.array([_tri(p.peripheral_neuropathy) for p in patients])
    cols["patient.cramps_outside_sessions"] = np.array([_tri(p.cramps_outside_sessions) for p in patients])
    cols["prescription.dialysate.na_mean_mmol_l"] = np.array([r.mean_dialysate_na() for r in rx], dtype=float)
    return cols


def take(cols: Mapping[str, np.ndarray], index: Any) -> Columns:
    """The rows ``index`` of a scenario table."""
    return {k: np.asarray(v)[index] for k, v in cols.items()}


def scenario_of_row(cols: Mapping[str, np.ndarray], i: int) -> Scenario:
    """Row ``i`` of a scenario table as a validated :class:`Scenario` (absent values left to the model)."""
    nested: dict[str, Any] = {}
    for path in FIELDS:
        if path not in cols:
            continue
        value = np.asarray(cols[path])[i]
        if path in TRI_FIELDS:
            value = None if np.isnan(value) else bool(value)
        elif path in FLAG_FIELDS:
            value = bool(value)
        elif path not in TEXT_FIELDS:
            value = None if np.isnan(value) else float(value)
            if value is not None and path == "prescription.sessions_per_week":
                value = int(value)
        if value is None:
            continue
        node = nested
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return parse_scenario(nested)
