"""Build a demonstration database: virtual patients, a few weeks of simulated sessions, cramps and reports.

The unit's patients are those followed for cramps: they are drawn from a larger virtual population (three
candidates per place) with probability proportional to their assessed cramp risk, so the demo shows a
mixture of mechanisms rather than mostly cramp-free patients (modelling choice). Each session is
simulated from the patient's scenario with that day's interdialytic weight gain, assessed
by the cause analyzer, and given a cramp with probability equal to the assessed cramp risk (seeded draw);
the cramp time follows the timed evidence of the top-ranked mechanism. Most cramps are also reported by
the patient from the phone page. Everything is deterministic for a given seed and start date.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd

from crampwatch.causes import assess, assess_history, score_batch
from crampwatch.errors import InputError
from crampwatch.model import Scenario, dump_scenario, parse_scenario
from crampwatch.population import virtual_population
from crampwatch.signals import T_MIN
from crampwatch.simulator import simulate, simulate_batch
from crampwatch.version import MODEL_VERSION

CLINICIAN = ("clinician", "demo-clinician")
ADMIN = ("admin", "demo-admin-pass")
NURSE = ("nurse", "demo-nurse-pass")
N_PATIENT_USERS = 3
#: Fictional names for the demo patients (no real person).
NAMES = (
    "Alma Berg",
    "Bruno Costa",
    "Chen Wei",
    "Dana Novak",
    "Emil Haas",
    "Fatima Idris",
    "Gustav Lind",
    "Hana Sato",
    "Ivan Petrov",
    "Julia Moreau",
    "Kofi Mensah",
    "Lena Vogel",
    "Marco Rossi",
    "Nora Quinn",
    "Omar Aziz",
    "Paula Reyes",
    "Rui Tanaka",
    "Sara Holm",
    "Tomas Kral",
    "Ursula Beck",
)
MUSCLES = ("calf", "calf", "calf", "foot", "thigh", "hamstring", "hand")
#: Three sessions a week (Monday, Wednesday, Friday at 08:00 UTC), the usual in-centre schedule
#: (modelling choice).
SESSION_WEEKDAYS = (0, 2, 4)
#: Day-to-day spread of the interdialytic weight gain around each patient's usual gain: log-normal with
#: sigma 0.25 (modelling choice, about the between-patient spread of IDWG%, 3.5 +/- 1.1 %, López-Gómez 2005
#: Kidney Int Suppl 93).
IDWG_SIGMA = 0.25
#: Share of in-session cramps that the patient also reports from the phone (modelling choice).
REPORT_SHARE = 0.7


@dataclass(frozen=True)
class DemoInfo:
    n_patients: int
    n_sessions: int
    n_cramp_sessions: int
    n_reports: int
    credentials: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, password)


def demo_credentials(n_patients: int) -> list[tuple[str, str, str]]:
    creds = [("clinician", *CLINICIAN), ("nurse", *NURSE), ("admin", *ADMIN)]
    n = min(N_PATIENT_USERS, n_patients)
    creds += [("patient", f"patient{i + 1}", f"demo-patient{i + 1}") for i in range(n)]
    return creds


def demo_accounts_in_use(store: Any) -> list[str]:
    """Usernames of the demo's accounts that still log in with the password the demo prints."""
    names = []
    for _role, username, password in demo_credentials(N_PATIENT_USERS):
        if store.get_user(username) is not None and store.authenticate(username, password) is not None:
            names.append(username)
    return names


#: Candidates drawn from the virtual population for each demo patient (modelling choice).
CANDIDATES_PER_PATIENT = 3


def _cramp_clinic_patients(
    virtual_population: Callable[..., list[Scenario]], n_patients: int, seed: int, rng: np.random.Generator
) -> list[Scenario]:
    """``n_patients`` virtual patients, sampled with probability proportional to their cramp risk."""
    candidates = virtual_population(CANDIDATES_PER_PATIENT * n_patients, seed)
    batch = simulate_batch(candidates)
    risk = np.nan_to_num(score_batch(batch.t_min, batch.signals, candidates)["overall_risk"], nan=0.0)
    weights = risk + 1e-3
    chosen = rng.choice(len(candidates), size=n_patients, replace=False, p=weights / weights.sum())
    return [candidates[i] for i in sorted(chosen)]


def _session_scenario(base: Scenario, rng: np.random.Generator) -> Scenario:
    """The base scenario with a weight gain drawn for this session; UF removes the gain."""
    data = dump_scenario(base)
    usual_gain = max(0.5, base.patient.pre_weight_kg - base.patient.dry_weight_kg)
    gain = float(np.clip(usual_gain * rng.lognormal(0.0, IDWG_SIGMA), 0.3, 6.0))
    data["patient"]["pre_weight_kg"] = round(base.patient.dry_weight_kg + gain, 1)
    data["prescription"]["uf_volume_l"] = round(gain, 2)
    return parse_scenario(data)


def _cramp_time(assessment: dict[str, Any], duration_min: float, rng: np.random.Generator) -> float:
    """Around the median time of the top mechanism's timed evidence (where its signals are read), else a
    uniform draw over the second half of the session (modelling choice: cramps come as UF accumulates)."""
    times = [e.get(T_MIN) for c in assessment.get("causes", [])[:1] for e in c.get("evidence", [])]
    times = [
        float(t) for t in times if isinstance(t, int | float) and math.isfinite(t) and 0 < t < duration_min
    ]
    if times:
        base = float(np.median(times))
        return float(np.clip(base + rng.normal(0.0, 10.0), 5.0, duration_min - 1.0))
    return float(rng.uniform(0.5, 0.98) * duration_min)


def recurring_cause(assessments: list[Any], assess_history: Callable[..., Any]) -> str | None:
    """The cause behind a patient's cramps across sessions (``assess_history``, oldest session first).

    The first recurrent mechanism when one recurs, else the most frequent top cause when the patient had
    cramps, else None.
    """
    if not assessments:
        return None
    summary = assess_history(assessments)
    if summary.recurrent:
        return summary.recurrent[0]
    return summary.dominant_cause if summary.cramp_sessions else None


@dataclass(frozen=True)
class _Cramp:
    """A drawn cramp: minutes from the start, severity 0-10, and the session's events table."""

    t_min: float
    severity: int
    events: pd.DataFrame


def _draw_cramp(assessment: Any, scenario: Scenario, rng: np.random.Generator) -> _Cramp | None:
    """A cramp with probability the session's overall risk (its time from the leading cause's course,
    severity 3-8, noted by the nurse), else None."""
    if not rng.random() < float(assessment.overall_risk):
        return None
    t_cramp = _cramp_time(assessment.to_dict(), scenario.prescription.duration_min, rng)
    severity = int(rng.integers(3, 9))
    events = pd.DataFrame(
        {
            T_MIN: [round(t_cramp, 1)],
            "kind": ["cramp"],
            "severity": [float(severity)],
            "note": ["reported by nurse"],
        }
    )
    return _Cramp(t_cramp, severity, events)


def _add_report(store: Any, pid: Any, sid: Any, started_at: datetime, cramp: _Cramp, muscle: str) -> None:
    """The patient's own report of a drawn cramp, sent five minutes after it."""
    store.add_report(
        patient_id=pid,
        reported_at=started_at + timedelta(minutes=cramp.t_min + 5),
        muscle=muscle,
        severity=cramp.severity,
        note=f"{muscle} cramp during dialysis",
        session_id=sid,
        t_min=round(cramp.t_min, 1),
        idempotency_key=f"demo-{sid}",
    )


def build_demo(
    store: Any,
    *,
    n_patients: int = 10,
    weeks: int = 3,
    seed: int = 2024,
    today: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoInfo:
    """Fill ``store`` with ``n_patients`` virtual patients and ``weeks`` weeks of sessions each."""
    if not 1 <= n_patients <= len(NAMES):
        raise InputError(f"patients: {n_patients} is out of range (allowed 1–{len(NAMES)})", "patients")
    if not 1 <= weeks <= 12:
        raise InputError(f"weeks: {weeks} is out of range (allowed 1–12)", "weeks")

    rng = np.random.default_rng(seed)
    now = today or datetime.now(UTC)
    first_day = (now - timedelta(days=now.weekday() + 7 * weeks)).date()
    monday = datetime.combine(first_day, time(8, 0), tzinfo=UTC)
    dates = [monday + timedelta(days=7 * w + d) for w in range(weeks) for d in SESSION_WEEKDAYS]
    dates = [d for d in dates if d < now]
    n_sessions = n_cramp_sessions = n_reports = 0
    version = MODEL_VERSION
    patients = _cramp_clinic_patients(virtual_population, n_patients, seed, rng)
    for i, base in enumerate(patients):
        pid = store.add_patient(base.patient, name=NAMES[i])
        assessments: list[Any] = []
        for started_at in dates:
            scenario = _session_scenario(base, rng)
            trace = simulate(scenario)
            assessment = assess(trace, scenario, history=assessments)
            cramp = _draw_cramp(assessment, scenario, rng)
            if cramp is not None:
                trace = trace.with_events(cramp.events)
                assessment = assess(trace, scenario, events=cramp.events, history=assessments)
            sid = store.add_session(
                pid,
                scenario.prescription,
                trace,
                started_at=started_at,
                pre_weight_kg=scenario.patient.pre_weight_kg,
                post_weight_kg=scenario.post_weight_kg,
                labs=scenario.patient.labs,
            )
            store.save_assessment(sid, {**assessment.to_dict(), "session_id": sid}, version)
            n_sessions += 1
            assessments.append(assessment)
            if cramp is not None:
                n_cramp_sessions += 1
                if rng.random() < REPORT_SHARE:
                    _add_report(store, pid, sid, started_at, cramp, str(rng.choice(MUSCLES)))
                    n_reports += 1
            if progress is not None:
                progress(n_sessions, n_patients * len(dates))
        store.update_patient_summary(pid, recurring_cause(assessments, assess_history))
        if i < N_PATIENT_USERS:
            store.add_user(f"patient{i + 1}", f"demo-patient{i + 1}", "patient", patient_id=pid)
    store.add_user(*CLINICIAN, "clinician")
    store.add_user(*ADMIN, "admin")
    store.add_user(*NURSE, "nurse")
    return DemoInfo(n_patients, n_sessions, n_cramp_sessions, n_reports, demo_credentials(n_patients))
