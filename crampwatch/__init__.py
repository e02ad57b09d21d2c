"""crampwatch: why does a hemodialysis patient cramp, and what prescription change stops it?

The public API is re-exported here and loaded on first use, so ``import crampwatch`` stays fast::

    import crampwatch as cw
    scenario = cw.load_scenario("examples/high_uf.yaml")
    trace = cw.simulate(scenario)
    assessment = cw.assess(trace, scenario)
    result = cw.optimize(scenario)
"""

from __future__ import annotations

import importlib
from typing import Any

from crampwatch.version import MODEL_VERSION, __version__

_EXPORTS: dict[str, str] = {
    # contracts
    "InputError": "crampwatch.errors",
    "Patient": "crampwatch.model",
    "Labs": "crampwatch.model",
    "Prescription": "crampwatch.model",
    "Dialysate": "crampwatch.model",
    "Scenario": "crampwatch.model",
    "Event": "crampwatch.model",
    "load_scenario": "crampwatch.model",
    "parse_scenario": "crampwatch.model",
    "dump_scenario": "crampwatch.model",
    "Trace": "crampwatch.trace",
    "SIGNALS": "crampwatch.trace",
    "SIGNAL_SPECS": "crampwatch.signals",
    "display_label": "crampwatch.clinical_labels",
    # closed-form kinetics and the weekly urea model
    "watson_volume_l": "crampwatch.kinetics",
    "sp_ktv_daugirdas": "crampwatch.kinetics",
    "ekt_v_rate": "crampwatch.kinetics",
    "ekt_v_tattersall": "crampwatch.kinetics",
    "urr_pct": "crampwatch.kinetics",
    "uf_rate_ml_per_kg_h": "crampwatch.kinetics",
    "michaels_clearance_ml_min": "crampwatch.kinetics",
    "effective_blood_water_flow_ml_min": "crampwatch.kinetics",
    "osmolality_calc_mosm_kg": "crampwatch.kinetics",
    "inadequate_dose": "crampwatch.kinetics",
    "KDOQI_MIN_SP_KTV": "crampwatch.kinetics",
    "KDOQI_TARGET_SP_KTV": "crampwatch.kinetics",
    "KDOQI_MIN_URR_PCT": "crampwatch.kinetics",
    "simulate_week": "crampwatch.weekly",
    "weekly_dose": "crampwatch.weekly",
    "WeeklyResult": "crampwatch.weekly",
    # simulation
    "simulate": "crampwatch.simulator",
    "simulate_batch": "crampwatch.simulator",
    "simulate_reference": "crampwatch.simulator",
    "BatchResult": "crampwatch.simulator",
    "virtual_population": "crampwatch.population",
    "plot_trace": "crampwatch.plotting",
    # analysis
    "assess": "crampwatch.causes",
    "assess_history": "crampwatch.causes",
    "score_batch": "crampwatch.causes",
    "Assessment": "crampwatch.causes",
    "Finding": "crampwatch.causes",
    "Evidence": "crampwatch.causes",
    "Recommendation": "crampwatch.causes",
    "HistorySummary": "crampwatch.causes",
    "CAUSES": "crampwatch.causes",
    "optimize": "crampwatch.optimizer",
    "Constraints": "crampwatch.optimizer",
    "OptimizationResult": "crampwatch.optimizer",
    "run_cohort": "crampwatch.cohort",
    "summarize_cohort": "crampwatch.cohort",
    # input / output
    "read_trace": "crampwatch.io.traces",
    "write_trace": "crampwatch.io.traces",
    "read_events": "crampwatch.io.traces",
    "read_hemobp": "crampwatch.io.traces",
    "session_to_bundle": "crampwatch.io.fhir",
    "bundle_to_session": "crampwatch.io.fhir",
    "render_html": "crampwatch.report",
    # application
    "Store": "crampwatch.store",
    "create_app": "crampwatch.web",
}

__all__ = sorted(_EXPORTS) + ["MODEL_VERSION", "__version__"]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'crampwatch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
