"""What every step of a prescription search reads about the patient and the current prescription: one
immutable value that the search builds once and passes to its helpers (scoring, result assembly, the cause
levers), so that no helper depends on the search itself."""

from __future__ import annotations

from dataclasses import dataclass

from crampwatch.model import Scenario
from crampwatch.optimizer.constraints import Constraints, plasma_na_mmol_l
from crampwatch.optimizer.space import Knobs, knobs_from


@dataclass(frozen=True)
class SearchContext:
    """The patient, the prescription as entered and what the current session showed.

    ``allow_high_ca`` (hypocalcemia is a cause of the current session) and ``ref_ktv`` (the current
    spKt/V, the reference of the dose-loss penalty) are known once the current prescription is simulated;
    until then they are ``False`` and NaN.
    """

    scenario: Scenario
    constraints: Constraints
    current: Knobs
    #: Prescribed UF volume per session as entered, L.
    goal_l: float
    #: Pre-dialysis plasma Na used for the dialysate Na gradient, mmol/L.
    plasma_na_mmol_l: float
    first_session: bool
    n_members: int
    #: One-line description of the fitted twin whose uncertainty draws the ensemble, or ``None``.
    twin_summary: str | None = None
    allow_high_ca: bool = False
    ref_ktv: float = float("nan")

    @property
    def access(self) -> str:
        return self.scenario.patient.access


def search_context(
    scenario: Scenario, constraints: Constraints, n_members: int, twin_summary: str | None = None
) -> SearchContext:
    """The context of a search for ``scenario`` before anything is simulated."""
    return SearchContext(
        scenario=scenario,
        constraints=constraints,
        current=knobs_from(scenario),
        goal_l=scenario.uf_volume_l,
        plasma_na_mmol_l=plasma_na_mmol_l(scenario),
        first_session=constraints.first_session(scenario),
        n_members=n_members,
        twin_summary=twin_summary,
    )
