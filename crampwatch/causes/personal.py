"""What the analyzer needs from a patient's personal model (a twin), as a typed protocol.

The analyzer sits below the twin layer (docs/architecture.md), so it names only this protocol;
:class:`crampwatch.twin.PatientTwin` satisfies it (checked in tests/test_twin_use.py).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from crampwatch.model import Scenario


@runtime_checkable
class PersonalModel(Protocol):
    """A patient's fitted physiology and personal thresholds."""

    def personalize(self, scenario: Scenario) -> Scenario:
        """``scenario`` with the patient's own physiology in place of the population patient."""
        ...

    def evidence(self, cause: str) -> list[dict[str, Any]]:
        """Evidence entries (``signal``, ``value``, ``threshold``, ``source``, ``note``) for ``cause``'s
        finding: the personal values the analyzer used."""
        ...
