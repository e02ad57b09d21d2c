"""The early-warning engine of a running session, as the clinic's data define it: the patient as stored,
the prescription the session opened with, the patient's latest twin and the unit's active model."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from crampwatch.chairside.applier import Engine, EngineFactory
from crampwatch.learn.unit_model import UnitModel
from crampwatch.live import LiveEngine
from crampwatch.store.live import LiveSessionRecord
from crampwatch.store.records import session_scenario
from crampwatch.store.twins import latest_twin
from crampwatch.store.unit_models import active_unit_model


def store_engine_factory(store: Any) -> EngineFactory:
    """A factory of :class:`crampwatch.live.LiveEngine` for running sessions of ``store``."""

    def make(session: LiveSessionRecord) -> Engine:
        patient = store.get_patient(session.patient_id)
        if patient is None:
            raise LookupError(f"patient {session.patient_id!r} is not stored")
        stand_in = SimpleNamespace(pre_weight_kg=None, labs=None, prescription=session.prescription)
        scenario = session_scenario(patient.patient, stand_in)
        twin = latest_twin(store, session.patient_id)
        unit = active_unit_model(store)
        return LiveEngine(
            scenario,
            twin=None if twin is None else twin.twin,
            unit_model=None if unit is None else UnitModel.from_dict(unit.data),
        )

    return make
