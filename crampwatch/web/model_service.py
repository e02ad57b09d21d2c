"""The unit model in the clinic: find the active one and apply it to assessments (training: the store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crampwatch.causes.assess import Assessed
from crampwatch.causes.findings import Assessment
from crampwatch.errors import InputError
from crampwatch.learn import UnitModel
from crampwatch.learn.apply import apply_unit_model
from crampwatch.store.unit_models import UnitModelRecord, active_unit_model, train_from_store

__all__ = [
    "ActiveModel",
    "active_model",
    "apply_active",
    "model_id_of",
    "train_from_store",
    "usable_model_id",
]


@dataclass(frozen=True)
class ActiveModel:
    """The active stored model: its record and, when this analyzer can use it, the parsed model."""

    record: UnitModelRecord
    model: UnitModel | None
    problem: str | None


#: Parsed models by (id, stored time): a stored model never changes.
_PARSED: dict[tuple[int, Any], tuple[UnitModel | None, str | None]] = {}


def active_model(store: Any) -> ActiveModel | None:
    """The active unit model of the store (None when the analyzer's own risk is used)."""
    record = active_unit_model(store)
    if record is None:
        return None
    key = (record.id, record.created_at)
    if key not in _PARSED:
        try:
            _PARSED[key] = (UnitModel.from_dict(record.data), None)
        except InputError as exc:
            _PARSED[key] = (None, exc.message)
    model, problem = _PARSED[key]
    return ActiveModel(record, model, problem)


def model_id_of(assessment: dict[str, Any] | None) -> int | None:
    """The stored unit model that produced an assessment's overall risk (None: the analyzer)."""
    block = (assessment or {}).get("risk_model") or {}
    value = block.get("model_id")
    return int(value) if isinstance(value, int) else None


def usable_model_id(store: Any) -> int | None:
    """Id of the active model when this analyzer can use it."""
    active = active_model(store)
    return active.record.id if active is not None and active.model is not None else None


def apply_active(store: Any, assessed: Assessed, trace: Any, scenario: Any) -> Assessment:
    """The assessment of ``assessed`` with the active unit model applied (its inputs read from the
    analyzer's evaluation of the recorded signals)."""
    active = active_model(store)
    if active is None or active.model is None:
        return assessed.assessment
    model, model_id = active.model, active.record.id
    return apply_unit_model(
        assessed.assessment, trace, scenario, model, model_id=model_id, recorded=assessed.recorded
    )
