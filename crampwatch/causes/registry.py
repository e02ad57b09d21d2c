"""Registry of the cramp mechanisms: one record per cause, read by scoring, findings, assess and the pages.

Each :class:`CauseSpec` holds everything about one mechanism: its contract identifier (docs/formats.md), the
clinician label and one-line description, the patient-language name and advice, the thresholds its
evidence uses (their names per cause, values and sources in :mod:`crampwatch.causes.thresholds`, which
the findings read without importing this module), the vectorized scorer (sub-scores and score from the
batch features), the finding builder, and its weight in the overall risk. Nothing about a cause is defined
anywhere else.

Risk weights are the noisy-OR weights of the overall cramp risk (modelling choices ordered by the strength
of the evidence; calibration in :mod:`crampwatch.causes.scoring`). Patient texts: UF rate
< 13 mL/kg/h and longer sessions (Flythe 2011 Kidney Int 79:250); dialysate Na (Stewart 1972; Trinh 2017);
dialysate Ca 1.25-1.50 mmol/L (KDIGO CKD-MBD 2017); dialysate Mg 0.5 mmol/L (Lynch 2014); calf stretching
during the session (Elavally et al.); heat and massage are anecdotal (modelling choice to mention them).

Levers are the prescription settings (names of :mod:`crampwatch.prescription_settings`) that act on a
mechanism, most direct first; the optimizer searches them first and says why when none of them helps.
Hypovolemia: session time and sessions per week lower the UF rate (Flythe 2011), a decreasing UF profile
(Donauer 2000 AJKD 36:115), isolated UF at the start (Bergström 1978), cool dialysate (Selby & McIntyre
2006), dialysate Na (plasma osmolality drives refill in the model: modelling choice). Osmotic: dialysate Na
(Stewart 1972; Arramreddy 2012). Hypocalcemia: dialysate Ca (KDIGO 2017; Maynard 1986) and bicarbonate
(alkalosis, Akkabut 2021). Hypomagnesemia: dialysate Mg (Lynch 2014). Disequilibrium: lower blood and
dialysate flow, shorter first sessions (Daugirdas Handbook of Dialysis). Underdialysis: session time, blood
flow, sessions per week (KDOQI 2015). Aluminium encephalopathy and neuropathy have no prescription lever
(water treatment, binders, neurological care).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from crampwatch.causes import calcium, hypovolemia, neurologic, osmotic
from crampwatch.causes.common import SessionInput
from crampwatch.causes.features import Context, Features
from crampwatch.causes.findings import Finding
from crampwatch.causes.ids import (
    CAUSE_IDS,
    DISEQUILIBRIUM,
    ENCEPHALOPATHY,
    HYPOCALCEMIA,
    HYPOMAGNESEMIA,
    HYPOVOLEMIA,
    NEUROPATHY,
    OSMOTIC,
    UNDERDIALYSIS,
)
from crampwatch.causes.thresholds import CAUSE_THRESHOLDS
from crampwatch.prescription_settings import SETTING_BY_NAME
from crampwatch.signals import DIALYSATE_NA_MMOL_L, DIALYSATE_TEMP_C, QB_ML_MIN

Parts = dict[str, np.ndarray]
#: Sub-scores of a batch from its features, context and the scores of the causes before it in the registry.
PartsFn = Callable[[Features, Context, Mapping[str, np.ndarray]], Parts]


@dataclass(frozen=True)
class CauseSpec:
    """One cramp mechanism (see the module docstring)."""

    id: str
    label: str
    clinician_text: str
    patient_label: str
    patient_text: str
    thresholds: tuple[str, ...]
    parts: PartsFn
    score: Callable[[Parts], np.ndarray]
    finding: Callable[[SessionInput], Finding]
    risk_weight: float
    #: Prescription settings that act on this mechanism, most direct first (see the module docstring).
    levers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [name for name in self.levers if name not in SETTING_BY_NAME]
        if unknown:
            raise KeyError(f"cause {self.id}: levers {unknown} are not prescription settings")


def _from_features(fn: Callable[[Features, Context], Parts]) -> PartsFn:
    return lambda F, C, S: fn(F, C)


CAUSE_SPECS: tuple[CauseSpec, ...] = (
    CauseSpec(
        HYPOVOLEMIA,
        "Hypovolemia",
        "Plasma volume falls faster than refill: UF rate, relative blood volume, blood pressure",
        "Too much fluid removed too fast",
        "Drinking less between sessions so less fluid has to be removed, or a longer session, lets the "
        "blood volume refill while the machine removes water.",
        CAUSE_THRESHOLDS[HYPOVOLEMIA],
        _from_features(hypovolemia.parts),
        hypovolemia.score,
        hypovolemia.finding,
        0.72,
        levers=(
            "duration_min",
            "sessions_per_week",
            "uf_profile",
            "isolated_uf_min",
            DIALYSATE_TEMP_C,
            DIALYSATE_NA_MMOL_L,
        ),
    ),
    CauseSpec(
        OSMOTIC,
        "Osmotic (sodium)",
        "Hemodilution, hyponatremia or a fall in effective osmolality: dialysate Na gradient",
        "Blood salt and concentration falling during the session",
        "The team can adjust the salt (sodium) level of the dialysis fluid.",
        CAUSE_THRESHOLDS[OSMOTIC],
        _from_features(osmotic.parts),
        osmotic.score,
        osmotic.finding,
        0.68,
        levers=(DIALYSATE_NA_MMOL_L,),
    ),
    CauseSpec(
        HYPOCALCEMIA,
        "Hypocalcemia",
        "Low or falling ionized Ca: dialysate Ca, intradialytic alkalosis, vitamin D",
        "Low calcium in the blood",
        "The team can check your calcium and the calcium of the dialysis fluid, and your vitamin D tablets.",
        CAUSE_THRESHOLDS[HYPOCALCEMIA],
        _from_features(calcium.ca_parts),
        calcium.ca_score,
        calcium.ca_finding,
        0.56,
        levers=("dialysate_ca_mmol_l", "dialysate_hco3_mmol_l"),
    ),
    CauseSpec(
        HYPOMAGNESEMIA,
        "Hypomagnesemia",
        "Low serum Mg: dialysate Mg",
        "Low magnesium in the blood",
        "The team can check your magnesium and the magnesium of the dialysis fluid.",
        CAUSE_THRESHOLDS[HYPOMAGNESEMIA],
        _from_features(calcium.mg_parts),
        calcium.mg_score,
        calcium.mg_finding,
        0.56,
        levers=("dialysate_mg_mmol_l",),
    ),
    CauseSpec(
        DISEQUILIBRIUM,
        "Dialysis disequilibrium",
        "Fast urea removal with a brain–plasma osmotic gradient: first sessions, high BUN, URR",
        "The body adjusting to fast waste removal",
        "Gentler sessions (lower blood flow or shorter, more frequent sessions) help while you get used to "
        "dialysis.",
        CAUSE_THRESHOLDS[DISEQUILIBRIUM],
        _from_features(neurologic.dds_parts),
        neurologic.dds_score,
        neurologic.dds_finding,
        0.68,
        levers=(QB_ML_MIN, "duration_min", "qd_ml_min"),
    ),
    CauseSpec(
        ENCEPHALOPATHY,
        "Aluminium encephalopathy",
        "Serum aluminium above the watch or toxic level",
        "Waste build-up affecting the nerves",
        "The team checks whether your dialysis removes enough waste.",
        CAUSE_THRESHOLDS[ENCEPHALOPATHY],
        lambda F, C, S: {"aluminium": neurologic.enc_score(F, C)},
        lambda P: P["aluminium"],
        neurologic.enc_finding,
        0.4,
    ),
    CauseSpec(
        NEUROPATHY,
        "Peripheral neuropathy",
        "Documented neuropathy, diabetes or cramps outside sessions, damped when a volume or osmotic "
        "trigger explains the cramps",
        "Nerve damage (for example from diabetes)",
        "The team may check your nerves, vitamins and blood sugar control.",
        CAUSE_THRESHOLDS[NEUROPATHY],
        lambda F, C, S: neurologic.neuro_parts(C, np.maximum(S[HYPOVOLEMIA], S[OSMOTIC])),
        neurologic.neuro_score,
        neurologic.neuro_finding,
        0.48,
    ),
    CauseSpec(
        UNDERDIALYSIS,
        "Underdialysis",
        "Uremic toxin accumulation: spKt/V, URR and weekly standard Kt/V below the KDOQI minimum",
        "Not enough waste removed",
        "Longer or more frequent sessions remove more waste; do not skip or shorten sessions.",
        CAUSE_THRESHOLDS[UNDERDIALYSIS],
        _from_features(neurologic.under_parts),
        neurologic.under_score,
        neurologic.under_finding,
        0.4,
        levers=("duration_min", QB_ML_MIN, "sessions_per_week"),
    ),
)

#: Cause records by identifier (docs/formats.md order).
CAUSE_REGISTRY: dict[str, CauseSpec] = {c.id: c for c in CAUSE_SPECS}
#: Cause identifiers in registry order (docs/formats.md).
CAUSES: tuple[str, ...] = tuple(CAUSE_REGISTRY)
if CAUSES != CAUSE_IDS:
    raise ImportError(f"cause registry order {CAUSES} differs from crampwatch.causes.ids {CAUSE_IDS}")
