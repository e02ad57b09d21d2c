"""Learn a unit's own cramp pattern from its labelled sessions, keeping the analyzer's explanation.

:func:`train_unit_model` fits a penalised logistic model around the analyzer's overall risk (the prior) on
its cause scores and key features, validated across patients; :class:`UnitModel` predicts, explains and
reads/writes the versioned JSON model file.
"""

from crampwatch.learn.inputs import FEATURE_NAMES, KEY_FEATURES, input_table, session_inputs, traces_table
from crampwatch.learn.train import train_unit_model
from crampwatch.learn.unit_model import FORMAT_VERSION, UnitModel, load_unit_model

__all__ = [
    "FEATURE_NAMES",
    "FORMAT_VERSION",
    "KEY_FEATURES",
    "UnitModel",
    "input_table",
    "load_unit_model",
    "session_inputs",
    "traces_table",
    "train_unit_model",
]
