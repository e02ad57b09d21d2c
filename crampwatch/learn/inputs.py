"""What the unit model reads: the analyzer's prior risk, its eight cause scores, the session quantities a unit
varies most, every numeric prescription setting, the key pre-dialysis labs, and candidate threshold and
interaction terms built from them.

Every input is read by one function, :func:`table_from_evaluation`, from the analyzer's evaluation
(:func:`crampwatch.causes.scoring.evaluate`, the core behind :func:`crampwatch.causes.score_batch`) of a
session's recorded signals: the rows of the session (sorted, up to the end of dialysis) without the
signals a reader or the simulator estimated (:func:`crampwatch.causes.assess.recorded_trace`). The
analyzer computes that evaluation for its own findings (:func:`crampwatch.causes.assess.assess_session`), so
applying a unit model to an analysed session computes no features again; training evaluates the same
recorded signals in batches (:func:`traces_table`, the recorded-history batch, the virtual unit). Events are
never read: a session's cramp events are its label, and the analyzer raises the hypovolemia score when a
cramp follows a blood-pressure fall, so scores computed with events would leak the label into the inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crampwatch.causes.assess import recorded_trace
from crampwatch.causes.calcium import corrected_ca_mg_dl
from crampwatch.causes.context import NUMERIC_KINDS, Context, build_context
from crampwatch.causes.registry import CAUSES
from crampwatch.causes.scoring import Evaluation, evaluate, stack_traces
from crampwatch.clinical_labels import label_and_unit
from crampwatch.model import Scenario
from crampwatch.prescription_settings import SETTINGS, PrescriptionSetting
from crampwatch.quantities import cutoff
from crampwatch.signals import DIALYSATE_TEMP_C, HCO3_MMOL_L, HCT_PCT, MG_MMOL_L
from crampwatch.trace import Trace

#: Column of the analyzer's overall risk (the prior) in an input table.
PRIOR_COLUMN = "prior_risk"
#: Traces stacked into one scoring call when a table is built from trace files (modelling choice: bounds
#: the memory of the union time grid).
TRACE_CHUNK = 256


@dataclass(frozen=True)
class KeyFeature:
    """A feature the model may weigh beside the cause scores: a quantity name and how to read it from an
    evaluated batch. Its label and unit come from :func:`crampwatch.clinical_labels.label_and_unit`, or from
    the prescription-setting registry for a setting (``label``/``unit`` given)."""

    name: str
    read: Callable[[Evaluation], np.ndarray]
    label_text: str = ""
    unit_text: str = ""
    penalty: float = 1.0

    @property
    def label(self) -> str:
        return self.label_text or label_and_unit(self.name)[0]

    @property
    def unit(self) -> str:
        return self.unit_text if self.label_text else label_and_unit(self.name)[1]


def _feature(name: str) -> KeyFeature:
    """A key feature that is a cause feature of the same name."""
    return KeyFeature(name, lambda e: e.features[name])


#: Ridge penalty of the prescription settings, labs and threshold terms relative to the cause scores and the
#: core features (modelling choice: the many extra inputs must not dilute the mechanisms in a small unit;
#: they enter where the unit's data show them).
EXTRA_PENALTY = 16.0


def _setting(s: PrescriptionSetting) -> KeyFeature:
    """A prescription setting of the registry as a key feature."""
    return KeyFeature(s.name, lambda e: e.ctx.settings[s.name], s.label, s.unit, EXTRA_PENALTY)


def _lab(name: str, lab: str) -> KeyFeature:
    """A pre-dialysis lab as a key feature; missing (an assumed default) where the lab was not given, so the
    model fills it with the training mean instead of reading a default as a measurement."""
    return KeyFeature(
        name, lambda e: np.where(e.ctx.lab_assumed[lab], np.nan, e.ctx.labs[lab]), penalty=EXTRA_PENALTY
    )


def _corrected_ca(ctx: Context) -> np.ndarray:
    """Albumin-corrected total Ca (Payne 1973, :func:`crampwatch.causes.calcium.corrected_ca_mg_dl`); missing
    where total Ca was not given."""
    corr = corrected_ca_mg_dl(ctx.labs["ca_total_mg_dl"], ctx.labs["albumin_g_dl"])
    return np.where(ctx.lab_assumed["ca_total_mg_dl"], np.nan, corr)


#: Prescription settings that enter as inputs: every numeric setting of the registry except the UF volume
#: (the UF rate per kg carries it).
SETTING_INPUTS: tuple[PrescriptionSetting, ...] = tuple(
    s for s in SETTINGS if s.kind in NUMERIC_KINDS and s.name != "uf_volume_l"
)
#: Key features: the session quantities a unit's practice varies most (UF rate, sodium gradient, weight
#: gain), every numeric prescription setting, and the key pre-dialysis labs. Each coefficient is a
#: departure from the prior, shrunk toward 0 by the ridge penalty, so a setting or lab the analyzer weighs
#: little can still carry a unit's cramps when its data show it.
KEY_FEATURES: tuple[KeyFeature, ...] = (
    _feature("uf_rate_ml_kg_h"),
    _feature("na_gradient_mmol_l"),
    KeyFeature("idwg_pct", lambda e: e.ctx.idwg_pct),
    *(_setting(s) for s in SETTING_INPUTS),
    _lab("serum_na_mmol_l", "na_mmol_l"),
    _lab("serum_k_mmol_l", "k_mmol_l"),
    _lab("serum_mg_mmol_l", MG_MMOL_L),
    _lab("serum_hco3_mmol_l", HCO3_MMOL_L),
    _lab("serum_albumin_g_dl", "albumin_g_dl"),
    _lab("pre_hct_pct", HCT_PCT),
    KeyFeature("corrected_ca_mg_dl", lambda e: _corrected_ca(e.ctx), penalty=EXTRA_PENALTY),
)


@dataclass(frozen=True)
class ThresholdTerm:
    """A threshold (hinge) term: how far a key feature lies above a published cut-off,
    ``max(0, x - cut-off)``. Such terms enter only when patient-grouped CV shows they help
    (:func:`crampwatch.learn.train.train_unit_model`)."""

    feature: str
    cutoff_name: str

    @property
    def name(self) -> str:
        return f"{self.feature}_above_{self.cutoff_name}"

    def values(self, x: np.ndarray) -> np.ndarray:
        """``max(0, x - cut-off)``; NaN (a missing feature) stays NaN."""
        return np.maximum(np.asarray(x, dtype=float) - cutoff(self.cutoff_name), 0.0)


#: Candidate thresholds at the registry's cut-offs (crampwatch.quantities): UF rate above 10 and 13 mL/kg/h
#: (Flythe 2011; KDOQI 2015), weight gain above 3.9 % of dry weight, Na gradient above -2 mmol/L.
THRESHOLD_TERMS: tuple[ThresholdTerm, ...] = (
    ThresholdTerm("uf_rate_ml_kg_h", "ufr_10_ml_kg_h"),
    ThresholdTerm("uf_rate_ml_kg_h", "ufr_13_ml_kg_h"),
    ThresholdTerm("idwg_pct", "idwg_pct"),
    ThresholdTerm("na_gradient_mmol_l", "na_gradient_neutral_mmol_l"),
)


def score_column(cause: str) -> str:
    """Input-table column of a cause score."""
    return f"score_{cause}"


#: The model's input features, in order: the eight cause scores, then the key features. The prior risk
#: enters separately (as the offset and the logit-prior term); threshold terms are computed from them.
FEATURE_NAMES: tuple[str, ...] = (
    *(score_column(c) for c in CAUSES),
    *(k.name for k in KEY_FEATURES),
)


@dataclass(frozen=True)
class InteractionTerm:
    """An interaction term: the product of two key features. Such terms enter only when patient-grouped
    CV shows they help (:func:`crampwatch.learn.train.train_unit_model`)."""

    a: str
    b: str

    @property
    def name(self) -> str:
        return f"{self.a}_x_{self.b}"


#: Candidate interactions (modelling choice: pairs whose effects plausibly multiply): UF rate with the Na
#: gradient (volume and osmotic stress together) and with the dialysate temperature (cool dialysate keeps
#: the blood pressure up at a high UF rate; Selby NM & McIntyre CW, Nephrol Dial Transplant 2006), and each
#: dialysate electrolyte with its pre-dialysis level (K and Mg gradients).
INTERACTION_TERMS: tuple[InteractionTerm, ...] = (
    InteractionTerm("uf_rate_ml_kg_h", "na_gradient_mmol_l"),
    InteractionTerm("uf_rate_ml_kg_h", DIALYSATE_TEMP_C),
    InteractionTerm("serum_k_mmol_l", "dialysate_k_mmol_l"),
    InteractionTerm("serum_mg_mmol_l", "dialysate_mg_mmol_l"),
)
#: Names of the threshold and interaction terms, after the features.
THRESHOLD_NAMES: tuple[str, ...] = tuple(t.name for t in THRESHOLD_TERMS)
INTERACTION_NAMES: tuple[str, ...] = tuple(t.name for t in INTERACTION_TERMS)
#: The candidate blocks of extra terms and their term names, in file order: each block enters only when
#: grouped CV supports it.
EXTRA_TERMS: dict[str, tuple[str, ...]] = {"thresholds": THRESHOLD_NAMES, "interactions": INTERACTION_NAMES}
EXTRA_BLOCKS: tuple[str, ...] = tuple(EXTRA_TERMS)
#: Label and unit of each input for the model card.
FEATURE_LABELS: dict[str, tuple[str, str]] = {
    **{score_column(c): (f"{c} score", "0-1") for c in CAUSES},
    **{k.name: (k.label, k.unit) for k in KEY_FEATURES},
    **{
        t.name: (
            f"{label_and_unit(t.feature)[0]} above {cutoff(t.cutoff_name):g} {label_and_unit(t.feature)[1]}",
            label_and_unit(t.feature)[1],
        )
        for t in THRESHOLD_TERMS
    },
    **{
        t.name: (
            f"{label_and_unit(t.a)[0]} × {label_and_unit(t.b)[0]}",
            f"{label_and_unit(t.a)[1]}·{label_and_unit(t.b)[1]}",
        )
        for t in INTERACTION_TERMS
    },
}


def penalty_weights(blocks: tuple[str, ...] = ()) -> np.ndarray:
    """Ridge multiplier of each design column: the prior's logit, :data:`FEATURE_NAMES`, then the extra
    ``blocks`` (of :data:`EXTRA_BLOCKS`, in that order) at :data:`EXTRA_PENALTY`."""
    weights = [1.0, *(1.0 for c in CAUSES), *(k.penalty for k in KEY_FEATURES)]
    for block, names in EXTRA_TERMS.items():
        weights += [EXTRA_PENALTY] * (len(names) if block in blocks else 0)
    return np.array(weights)


def extra_columns(features: np.ndarray, block: str) -> np.ndarray:
    """The columns of an extra block (``"thresholds"`` or ``"interactions"``) of a feature matrix in
    :data:`FEATURE_NAMES` order."""
    if block == "thresholds":
        return threshold_columns(features)
    col = FEATURE_NAMES.index
    cols = [features[:, col(t.a)] * features[:, col(t.b)] for t in INTERACTION_TERMS]
    return np.column_stack(cols) if cols else np.empty((len(features), 0))


def all_extra_columns(features: np.ndarray) -> np.ndarray:
    """Every extra block's columns, in :data:`EXTRA_BLOCKS` order."""
    return np.column_stack([extra_columns(features, b) for b in EXTRA_BLOCKS])


def threshold_columns(features: np.ndarray) -> np.ndarray:
    """Threshold terms ([n, len(THRESHOLD_TERMS)]) of a feature matrix in :data:`FEATURE_NAMES` order
    (NaN where the feature is missing)."""
    cols = [t.values(features[:, FEATURE_NAMES.index(t.feature)]) for t in THRESHOLD_TERMS]
    return np.column_stack(cols) if cols else np.empty((len(features), 0))


def table_from_evaluation(E: Evaluation) -> pd.DataFrame:
    """Input table (one row per session) of an evaluated batch: the one reader of the model's inputs, in
    training and in application."""
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
    """Input table of recorded sessions (any time grids): each session's recorded signals as the analyzer
    reads them (:func:`~crampwatch.causes.assess.recorded_trace`), :data:`TRACE_CHUNK` sessions per scoring
    call."""
    if len(traces) != len(scenarios):
        raise ValueError(f"traces: {len(traces)} traces for {len(scenarios)} scenarios")
    frames = []
    for start in range(0, len(traces), TRACE_CHUNK):
        stop = start + TRACE_CHUNK
        part = [recorded_trace(t, s) for t, s in zip(traces[start:stop], scenarios[start:stop], strict=True)]
        grid, signals = stack_traces(part)
        frames.append(input_table(grid, signals, list(scenarios[start : start + TRACE_CHUNK])))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[PRIOR_COLUMN])


def session_inputs(trace: Trace, scenario: Scenario) -> pd.DataFrame:
    """Input row of one session computed from its trace (its events are ignored, as in training); an
    analysed session has it without a second feature pass
    (``table_from_evaluation(assess_session(...).recorded)``)."""
    return traces_table([trace], [scenario])
