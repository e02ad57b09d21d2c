"""Identifiers of the cramp mechanisms (docs/formats.md), one constant each.

Code names a cause through these constants, so a misspelt identifier fails at import; the cause registry
(:mod:`crampwatch.causes.registry`) holds one record per identifier, in this order.
"""

from __future__ import annotations

HYPOVOLEMIA = "hypovolemia"
OSMOTIC = "osmotic"
HYPOCALCEMIA = "hypocalcemia"
HYPOMAGNESEMIA = "hypomagnesemia"
DISEQUILIBRIUM = "disequilibrium"
ENCEPHALOPATHY = "encephalopathy"
NEUROPATHY = "neuropathy"
UNDERDIALYSIS = "underdialysis"

#: Every cause identifier, in registry order.
CAUSE_IDS: tuple[str, ...] = (
    HYPOVOLEMIA,
    OSMOTIC,
    HYPOCALCEMIA,
    HYPOMAGNESEMIA,
    DISEQUILIBRIUM,
    ENCEPHALOPATHY,
    NEUROPATHY,
    UNDERDIALYSIS,
)
