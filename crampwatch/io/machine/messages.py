"""What every input path (HL7 v2, JSON, FHIR) turns a machine message into, and how it is refused."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from crampwatch.io.machine.codes import unit_factor
from crampwatch.signals import SIGNAL_SPECS, plausible_range, range_message

#: HL7 acknowledgement codes (HL7 v2.6 table 0008): accepted, error, rejected.
ACCEPT, ERROR, REJECT = "AA", "AE", "AR"
#: The longest message key (sender + control id) kept for duplicate detection.
MAX_KEY_CHARS = 200


class Refusal(Exception):
    """A message that is not stored: ``code`` AE (content: unknown patient, unit, implausible value, ...)
    or AR (the message as a whole: not parseable, not ORU^R01, sender not allowed), ``reason`` in words."""

    def __init__(self, code: str, reason: str, patient_id: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.patient_id = patient_id


@dataclass(frozen=True)
class Observation:
    """One value of a signal (registry name and unit) at a moment (UTC)."""

    observed_at: datetime
    signal: str
    value: float


@dataclass(frozen=True)
class MachineMessage:
    """A message from a chair: who sent it (``source``), its key for duplicates (sender + control id),
    the patient (the store's id), the observations, and whether it ends the treatment."""

    key: str
    source: str
    patient_id: str
    observations: tuple[Observation, ...]
    end_of_treatment: bool = False
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > MAX_KEY_CHARS:
            raise Refusal(REJECT, f"message id: missing or longer than {MAX_KEY_CHARS} characters")
        if not self.patient_id:
            raise Refusal(ERROR, "patient id (PID-3): missing")
        if not self.observations and not self.end_of_treatment:
            raise Refusal(ERROR, "no observation crampwatch uses (and no end of treatment)", self.patient_id)


def observation(signal: str, value: object, unit: str, observed_at: datetime, where: str) -> Observation:
    """A checked observation: numeric, finite, in a unit that fits the signal, within its plausible range
    (converted to the registry unit); a :class:`Refusal` (AE) naming ``where`` otherwise."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Refusal(ERROR, f"{where}: value {str(value)[:40]!r} of {signal} is not a number") from None
    if not math.isfinite(number):
        raise Refusal(ERROR, f"{where}: value of {signal} is not finite")
    factor = unit_factor(signal, unit)
    if factor is None:
        expected = SIGNAL_SPECS[signal].ucum
        raise Refusal(ERROR, f"{where}: unit {unit[:20]!r} does not fit {signal} (expected {expected})")
    number *= factor
    low, high = plausible_range(signal)
    if not low <= number <= high:  # a scalar: the range itself, not the array mask (a few µs, not 20)
        raise Refusal(ERROR, f"{where}: {range_message(signal, number)}")
    return Observation(observed_at=as_utc(observed_at), signal=signal, value=number)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive time is taken to be UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
