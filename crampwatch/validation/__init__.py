"""Published checks the model is compared with, runnable as ``crampwatch validate``.

:data:`REGISTRY` holds every :class:`Check` (role, source, conditions, published value and spread, pass range
and its basis, the levers and signals it covers, how the model value is computed); :func:`run_checks`
evaluates them. The modules :mod:`.hemodynamics`, :mod:`.isolated_uf`, :mod:`.minerals`, :mod:`.sodium`,
:mod:`.dose` and :mod:`.post_dialysis` register theirs on import; any other module can :func:`register` more.
:mod:`.limitations` lists published comparisons without a spread and known limitations; :mod:`.coverage`
builds the coverage table of levers and signals.
"""

from __future__ import annotations

from crampwatch.validation import (  # noqa: F401  (register their checks)
    dose,
    hemodynamics,
    isolated_uf,
    minerals,
    post_dialysis,
    sodium,
)
from crampwatch.validation.registry import REGISTRY, ROLES, Check, Result, register, role_counts, run_checks
from crampwatch.validation.report import rich_table, to_json, to_markdown

__all__ = [
    "REGISTRY",
    "ROLES",
    "Check",
    "Result",
    "register",
    "rich_table",
    "role_counts",
    "run_checks",
    "to_json",
    "to_markdown",
]
