"""Published checks the model is calibrated or validated against, runnable as ``crampwatch validate``.

:data:`REGISTRY` holds every :class:`Check` (source, conditions, published value and spread, pass range, how
the model value is computed); :func:`run_checks` evaluates them. The modules :mod:`.hemodynamics`,
:mod:`.sodium`, :mod:`.dose` and :mod:`.post_dialysis` register theirs on import; any other module can
:func:`register` more.
"""

from __future__ import annotations

from crampwatch.validation import dose, hemodynamics, post_dialysis, sodium  # noqa: F401  (register their checks)
from crampwatch.validation.registry import REGISTRY, Check, Result, register, run_checks
from crampwatch.validation.report import rich_table, to_json, to_markdown

__all__ = ["REGISTRY", "Check", "Result", "register", "rich_table", "run_checks", "to_json", "to_markdown"]
