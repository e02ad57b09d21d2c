"""The mechanistic hemodialysis session model (fluid, solutes, dialyzer, circulation, brain, temperature).

Sub-models live in one module each; :mod:`~crampwatch.physiology.parameters` holds every constant with its
source; :mod:`~crampwatch.physiology.derive` turns scenarios into per-patient parameter arrays;
:mod:`~crampwatch.physiology.model` assembles the right-hand side. Integration is in
:mod:`crampwatch.simulator`.
"""

from crampwatch.physiology.derive import ParameterArrays, derive_arrays, patient_parameters
from crampwatch.physiology.model import STATES, initial_state, rhs
from crampwatch.physiology.parameters import PARAMETERS, P, Parameter, parameter_table_markdown

__all__ = [
    "P",
    "PARAMETERS",
    "STATES",
    "Parameter",
    "ParameterArrays",
    "derive_arrays",
    "initial_state",
    "parameter_table_markdown",
    "patient_parameters",
    "rhs",
]
