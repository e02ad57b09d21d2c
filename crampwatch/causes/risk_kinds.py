"""The two kinds of cramp risk crampwatch reports, with the labels every surface shows for them.

*Predicted* risk belongs to a prescription: the analyzer's overall risk of the simulated session of this
patient (the patient as entered, or a fitted twin) with that prescription. What-if columns, the optimizer's
``current.risk`` and each recommendation's ``risk`` are predicted risks; ``risk_range`` is their spread
over plausible patients. *Session* risk belongs to one recorded session: the analyzer's overall risk of
what was recorded, with its events and history. For a simulated session without events or history the
two are the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RiskKindId = Literal["predicted", "session"]


@dataclass(frozen=True)
class RiskKind:
    """Names of one kind of risk: clinician label, short label (tables), patient wording, definition."""

    id: RiskKindId
    label: str
    short_label: str
    patient_label: str
    definition: str


RISK_KINDS: dict[str, RiskKind] = {
    "predicted": RiskKind(
        "predicted",
        "Predicted cramp risk of this prescription",
        "predicted risk",
        "Expected chance of cramps with these settings",
        "The cause analyzer's overall risk of a simulated session of this patient with this prescription "
        "(the patient as entered, or the fitted twin); the range is the spread over plausible patients.",
    ),
    "session": RiskKind(
        "session",
        "Cramp risk of this recorded session",
        "session risk",
        "How likely cramps were in this session",
        "The cause analyzer's overall risk of what was recorded in this session, with its events and "
        "history.",
    ),
}
