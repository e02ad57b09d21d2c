"""Actions the warning proposes for its leading cause, from the advice registry, and how each is simulated.

Each candidate changes the running prescription from now on: the UF rate for a while (hypovolemia), the
dialysate temperature, Na, Ca or Mg for the rest of the session. The engine simulates every candidate on the
same members and proposes the one whose forecast risk is lowest (ties: the first listed, the smaller change).
Causes without a bedside action (encephalopathy, neuropathy, underdialysis) get none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crampwatch.causes import advice
from crampwatch.causes.ids import HYPOCALCEMIA, HYPOMAGNESEMIA, HYPOVOLEMIA, OSMOTIC
from crampwatch.model import Scenario
from crampwatch.physiology.parameters import P
from crampwatch.prescription_settings import setting
from crampwatch.units import MIN_PER_H, ML_PER_L


@dataclass(frozen=True)
class LiveAction:
    """A candidate action: its clinical text and what it changes from now on (``uf_rate_ml_h`` for
    ``minutes``; dialysate Na for the rest of the session; parameter-table fields for the rest of the
    session)."""

    cause: str
    text: str
    uf_rate_ml_h: float | None = None
    minutes: float = 0.0
    dialysate_na_mmol_l: float | None = None
    parameters: tuple[tuple[str, float], ...] = ()

    def controls(
        self, on: np.ndarray, qf: np.ndarray, na: np.ndarray, ahead_min: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The forecast controls [members, steps] with this action (``ahead_min``: step start minus now)."""
        if self.uf_rate_ml_h is not None:
            during = (ahead_min < self.minutes)[None, :] & (on > 0)
            qf = np.where(during, self.uf_rate_ml_h / (ML_PER_L * MIN_PER_H), qf)
        if self.dialysate_na_mmol_l is not None:
            na = np.full_like(na, self.dialysate_na_mmol_l)
        return on, qf, na

    def table(self, table: np.ndarray) -> np.ndarray:
        """A copy of the members' parameter table with this action's changes."""
        if not self.parameters:
            return table
        out = table.copy()
        for name, value in self.parameters:
            out[name] = value
        return out


def candidates(
    cause: str | None, scenario: Scenario, running_uf_ml_h: float, dialysate_temp_c: float
) -> list[LiveAction]:
    """The candidate actions for ``cause`` (empty when it has no bedside action)."""
    dial = scenario.prescription.dialysate
    if cause == HYPOVOLEMIA:
        out = []
        if running_uf_ml_h > 0:
            lower = advice.lowered_uf_rate_ml_h(running_uf_ml_h)
            out.append(LiveAction(cause, advice.lower_uf_rate_action(lower), lower, advice.LOWER_UF_MIN))
            out.append(LiveAction(cause, advice.pause_uf_action(), 0.0, advice.PAUSE_UF_MIN))
        cool = advice.cool_dialysate_range_c()[0]
        if cool < dialysate_temp_c:
            out.append(
                LiveAction(cause, advice.cool_dialysate_now_action(cool), parameters=(("dial_temp", cool),))
            )
        return out
    if cause == OSMOTIC:
        plasma_na = scenario.patient.labs.resolved()[0]["na_mmol_l"]
        target = advice.dialysate_na_window(plasma_na)[1]
        return [LiveAction(cause, advice.raise_dialysate_na_now_action(target), dialysate_na_mmol_l=target)]
    if cause == HYPOCALCEMIA:
        hi = (setting("dialysate_ca_mmol_l").search_range or (dial.ca_mmol_l, dial.ca_mmol_l))[1]
        if hi <= dial.ca_mmol_l:
            return []
        ionized = P["dialysate_ca_ionized_fraction"] * hi
        return [
            LiveAction(cause, advice.raise_ca_action(dial.ca_mmol_l), parameters=(("dial_ca_ion", ionized),))
        ]
    if cause == HYPOMAGNESEMIA:
        lo = (setting("dialysate_mg_mmol_l").search_range or (dial.mg_mmol_l, dial.mg_mmol_l))[0]
        if lo <= dial.mg_mmol_l:
            return []
        return [LiveAction(cause, advice.raise_mg_action(), parameters=(("dial_mg", lo),))]
    return []
