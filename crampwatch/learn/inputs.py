"""What the unit model reads: the analyzer's prior risk, its eight cause scores and a few key features.

Every input comes from the analyzer's batch scoring core (:func:`crampwatch.causes.scoring.evaluate`, the
core behind :func:`crampwatch.causes.score_batch`) applied to a session's recorded signals and its
scenario. Events are never read: a session's cramp events are its label, and the analyzer raises the
hypovolemia score when a cramp follows a blood-pressure fall, so scores computed with events would leak the
label into the inputs. Training and prediction therefore compute the inputs the same way, here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crampwatch.causes.context import Context, build_context
from crampwatch.causes.registry import CAUSES
from crampwatch.causes.scoring import Evaluation, evaluate, stack_traces
from crampwatch.model import Scenario
from crampwatch.quantities import label_and_unit
from crampwatch.trace import Trace

#: Column of the analyzer's overall risk (the prior) in an input table.
PRIOR_COLUMN = "prior_risk"
#: Traces stacked into one scoring call when a table is built from trace files (modelling choice: bounds
#: the memory of the union time grid).
TRACE_CHUNK = 256


@dataclass(frozen=True)
class KeyFeature:
    """A mechanistic feature the model may weigh beside the cause scores: a quantity name (its label and unit
    come from :func:`crampwatch.quantities.label_and_unit`) and how to read it from an evaluated batch."""

    name: str
    read: Callable[[Evaluation], np.ndarray]

    @property
    def label(self) -> str:
        return label_and_unit(self.name)[0]

    @property
    def unit(self) -> str:
        return label_and_unit(self.name)[1]


def _feature(name: str) -> KeyFeature:
    """A key feature that is a cause feature of the same name."""
    return KeyFeature(name, lambda e: e.features[name])


#: Key features: the session quantities a unit's practice varies most (UF rate, sodium gradient, dialysate
#: temperature, weight gain, dialysate Ca and Mg, serum Mg); each already enters a cause score, so its
#: weight says how much more (or less) it matters in this unit than the prior assumes.
KEY_FEATURES: tuple[KeyFeature, ...] = (
    _feature("uf_rate_ml_kg_h"),
    _feature("na_gradient_mmol_l"),
    KeyFeature("dialysate_temp_c", lambda e: e.ctx.dialysate_temp_c),
    KeyFeature("idwg_pct", lambda e: e.ctx.idwg_pct),
    KeyFeature("dialysate_ca_mmol_l", lambda e: e.ctx.dialysate_ca_mmol_l),
    KeyFeature("dialysate_mg_mmol_l", lambda e: e.ctx.dialysate_mg_mmol_l),
    KeyFeature("serum_mg_mmol_l", lambda e: e.ctx.labs["mg_mmol_l"]),
)


def score_column(cause: str) -> str:
    """Input-table column of a cause score."""
    return f"score_{cause}"


#: The model's input features, in order: the eight cause scores, then the key features. The prior risk
#: enters separately (as the offset and the logit-prior term).
FEATURE_NAMES: tuple[str, ...] = (
    *(score_column(c) for c in CAUSES),
    *(k.name for k in KEY_FEATURES),
)
#: Label and unit of each input for the model card.
FEATURE_LABELS: dict[str, tuple[str, str]] = {
    **{score_column(c): (f"{c} score", "0-1") for c in CAUSES},
    **{k.name: (k.label, k.unit) for k in KEY_FEATURES},
}


def table_from_evaluation(E: Evaluation) -> pd.DataFrame:
    """Input table (one row per session) of an evaluated batch."""
    cols: dict[str, np.ndarray] = {PRIOR_COLUMN: np.asarray(E.scores["overall_risk"], dtype=float)}
    for cause in CAUSES:
        cols[score_column(cause)] = np.asarray(E.scores[cause], dtype=float)
    for k in KEY_FEATURES:
        cols[k.name] = np.asarray(k.read(E), dtype=float)
    return pd.DataFrame(cols)


def input_table(
    t_min: np.ndarray, signals: Mapping[str, np.ndarray], scenarios: Sequence[Scenario] | Context
) -> pd.DataFrame:
    """Input table of ``n`` sessions on one time grid (signals ``[n, steps]``, as for ``score_batch``)."""
    ctx = scenarios if isinstance(scenarios, Context) else build_context(list(scenarios))
    return table_from_evaluation(evaluate(np.asarray(t_min, dtype=float), signals, ctx))


def traces_table(traces: Sequence[Trace], scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """Input table of recorded sessions (any time grids), :data:`TRACE_CHUNK` sessions per scoring call."""
    if len(traces) != len(scenarios):
        raise ValueError(f"traces: {len(traces)} traces for {len(scenarios)} scenarios")
    frames = []
    for start in range(0, len(traces), TRACE_CHUNK):
        part = list(traces[start : start + TRACE_CHUNK])
        grid, signals = stack_traces(part)
        frames.append(input_table(grid, signals, list(scenarios[start : start + TRACE_CHUNK])))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[PRIOR_COLUMN])


def session_inputs(trace: Trace, scenario: Scenario) -> pd.DataFrame:
    """Input row of one session (its events are ignored, as in training)."""
    return traces_table([trace], [scenario])
