"""``fit_twin``: from a patient's recorded sessions to a :class:`PatientTwin`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from crampwatch.causes.sentences import plural
from crampwatch.signals import PLASMA_NA_MMOL_L
from crampwatch.twin.fit import fit_parameters
from crampwatch.twin.priors import (
    CI_Z,
    FITTED,
    NA_SET_POINT_PRIOR_MMOL_L,
    NA_WITHIN_PATIENT_SD_MMOL_L,
    UNCERTAIN_INPUTS,
    population_blood_volume_l,
)
from crampwatch.twin.refill import REFILL_SHARE
from crampwatch.twin.result import PatientTwin
from crampwatch.twin.sessions import SessionRecord, check_one_patient, pre_dialysis_value, simulated_signals
from crampwatch.twin.thresholds import personal_thresholds
from crampwatch.version import MODEL_VERSION

#: Fewer sessions than this: the fit runs but says that its intervals are wide (modelling choice: three
#: sessions are one dialysis week).
MIN_SESSIONS = 3


def fit_twin(records: Sequence[SessionRecord], *, uncertain_inputs: bool = True) -> PatientTwin:
    """Fit the twin of one patient to all ``records`` (see :mod:`crampwatch.twin.fit`); the intervals are
    marginal over the errors of the entered dry weight, albumin and hematocrit (``uncertain_inputs=False``:
    these inputs are taken as exact)."""
    patient_id = check_one_patient(records)
    result = fit_parameters(records, uncertain_inputs=uncertain_inputs)
    sd = np.sqrt(np.diag(result.log_cov))
    patient = records[-1].scenario.patient
    params: dict[str, dict] = {}
    for i, p in enumerate(FITTED):
        pop = 1.0
        key, unit = p.name, p.unit
        if p.name == "blood_volume":
            pop = population_blood_volume_l(patient.sex, patient.dry_weight_kg)
            key, unit = "blood_volume_l", "L"
        lo, hi = (math.exp(result.log_mean[i] + s * CI_Z * sd[i]) * pop for s in (-1, 1))
        entry = {
            "value": round(math.exp(result.log_mean[i]) * pop, 4),
            "ci": [round(lo, 4), round(hi, 4)],
            "population": round(pop, 4),
            "unit": unit,
            "label": p.label,
            "identified": bool(result.identified[i]),
            "source": p.source,
        }
        if not result.identified[i]:
            entry["note"] = "not identified by these sessions: stays near the population prior"
        params[key] = entry
    if result.refill_share is not None:
        params[REFILL_SHARE] = result.refill_share
    params["na_set_point_mmol_l"] = _na_set_point(records)
    n = len(result.session_ids)
    warnings = []
    if n < MIN_SESSIONS:
        warnings.append(
            f"fitted on {n} session{'s' if n != 1 else ''} with usable signals (fewer than {MIN_SESSIONS}): "
            "the intervals are wide"
        )
    if not result.success:
        warnings.append("the fit stopped at its evaluation limit before converging")
    simulated = sum(1 for r in records if simulated_signals(r))
    if simulated:
        warnings.append(
            f"{plural(simulated, 'session holds', 'sessions hold')} simulated rather than measured signals "
            "(demonstration data)"
        )
    unused = len(records) - n
    if unused:
        warnings.append(
            f"{plural(unused, 'session', 'sessions')} without measured RBV or systolic BP "
            f"{'was' if unused == 1 else 'were'} not used for the fit"
        )
    return PatientTwin(
        patient_id=patient_id,
        n_sessions=n,
        model_version=MODEL_VERSION,
        parameters=params,
        fit={
            "rmse": {k: round(v, 3) for k, v in result.rmse.items()},
            "n_samples": result.n_samples,
            "sessions": result.session_ids,
            "curves": dict(zip(result.session_ids, result.curves, strict=True)),
            "uncertain_inputs": _input_errors(result.input_mean, result.input_sd),
            "measurement_drift": {
                name: {"sd": round(d.sd, 3), "tau_min": round(d.tau_min, 1) if d.sd > 0 else None}
                for name, d in result.drift.items()
            },
            "evaluations": result.n_evaluations,
            "converged": result.success,
        },
        personal_thresholds=[t.to_dict() for t in personal_thresholds(records)],
        log_mean=result.log_mean,
        log_cov=result.log_cov,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        warnings=warnings,
    )


def _na_set_point(records: Sequence[SessionRecord]) -> dict:
    """Pre-dialysis Na set point: normal-normal posterior of the sessions' measured pre-dialysis Na (labs,
    else the first plasma Na sample) around the population prior."""
    values = []
    for rec in records:
        na = rec.scenario.patient.labs.na_mmol_l
        if na is None:
            na = pre_dialysis_value(rec, PLASMA_NA_MMOL_L)
        if na is not None:
            values.append(float(na))
    mu0, sd0 = NA_SET_POINT_PRIOR_MMOL_L
    precision = 1.0 / sd0**2 + len(values) / NA_WITHIN_PATIENT_SD_MMOL_L**2
    mean = (mu0 / sd0**2 + sum(values) / NA_WITHIN_PATIENT_SD_MMOL_L**2) / precision
    sd = math.sqrt(1.0 / precision)
    entry = {
        "value": round(mean, 2),
        "ci": [round(mean - CI_Z * sd, 2), round(mean + CI_Z * sd, 2)],
        "population": mu0,
        "unit": "mmol/L",
        "label": "pre-dialysis Na set point",
        "identified": bool(sd < 0.7 * sd0),
        "n_measurements": len(values),
        "source": "Trinh E & Weber C, Nephron Extra 2017; Munoz Mendoza J et al. NDT 2011 "
        f"({mu0:g} +- {sd0:g} mmol/L between patients); within-patient SD 2 mmol/L",
    }
    if not values:
        entry["note"] = "no pre-dialysis Na measured: population value"
    return entry


def _input_errors(mean: np.ndarray, sd: np.ndarray) -> dict[str, dict]:
    """The fitted error of each uncertain input (what the sessions suggest about the entered value, with
    its SD next to the prior SD); the dry weight's in % of the entered dry weight."""
    out: dict[str, dict] = {}
    for u, m, s in zip(UNCERTAIN_INPUTS[: len(mean)], mean, sd, strict=True):
        factor, unit = (100.0, "%") if u.scale == "log" else (1.0, u.unit)
        out[u.name] = {
            "label": u.label,
            "unit": unit,
            "shift": round(float(m) * factor, 3),
            "sd": round(float(s) * factor, 3),
            "prior_sd": round(u.prior_sd * factor, 3),
            "source": u.source,
        }
    return out
