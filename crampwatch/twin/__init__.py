"""Patient twin: this patient's own physiology fitted to all of their recorded sessions.

``fit_twin(records)`` fits the plasma refill capacity, vascular (baroreflex) reserve and blood volume as
multiples of the population value, with intervals, plus the pre-dialysis Na set point and personal cramp
thresholds (:class:`PatientTwin`, docs/formats.md "Patient twin"). The analyzer and the optimizer use a twin
in place of the population patient (:meth:`PatientTwin.personalize`, :meth:`PatientTwin.ensemble`).
"""

from __future__ import annotations

from crampwatch.twin.build import MIN_SESSIONS, fit_twin
from crampwatch.twin.result import PatientTwin, load_twin
from crampwatch.twin.sessions import SessionRecord, read_manifest
from crampwatch.twin.thresholds import PersonalThreshold, personal_thresholds

__all__ = [
    "MIN_SESSIONS",
    "PatientTwin",
    "PersonalThreshold",
    "SessionRecord",
    "fit_twin",
    "load_twin",
    "personal_thresholds",
    "read_manifest",
]
