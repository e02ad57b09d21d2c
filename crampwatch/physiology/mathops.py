"""Elementary functions for the model right-hand side, for Python floats or numpy arrays.

The same right-hand side runs on numpy arrays (a batch of patients) and on Python floats (one patient,
where numpy's per-call overhead would dominate); ``xp`` selects the implementation.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

SCALAR = SimpleNamespace(
    exp=math.exp, tanh=math.tanh, log10=math.log10, sqrt=math.sqrt, maximum=max, minimum=min
)
ARRAY = SimpleNamespace(
    exp=np.exp, tanh=np.tanh, log10=np.log10, sqrt=np.sqrt, maximum=np.maximum, minimum=np.minimum
)
