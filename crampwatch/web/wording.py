"""Clinical wording of analysis results for the clinician pages: labels, units, directions, overlap.

Evidence items of an Assessment carry machine names (``dialysate_na_mmol_l``); the pages show them as a
clinician reads them ("Dialysate Na 138 mmol/L, 3 mmol/L below plasma, at the 138 mmol/L limit"), grouped
by direction, in the words of :mod:`crampwatch.causes.sentences` that the report and the CLI use too.
"""

from __future__ import annotations

from typing import Any

from crampwatch.causes.registry import CAUSE_REGISTRY
from crampwatch.causes.sentences import (
    DIRECTION_HEADINGS,
    evidence_groups,
    evidence_text,
    short_label,
)

#: Two causes "overlap" when both reach this score and the second is within OVERLAP_GAP of the first
#: (modelling choice: scores are noisy-OR probabilities; a 0.15 gap is about the spread between ensemble
#: members of one patient).
OVERLAP_SCORE = 0.3
OVERLAP_GAP = 0.15
#: Below this score a cause is "not supported" by this session (modelling choice).
SUPPORTED_SCORE = 0.1


def cause_label(cause_id: str | None) -> str:
    """The clinical name of a cause identifier, from the cause registry (``None``: "none identified")."""
    if not cause_id:
        return "none identified"
    spec = CAUSE_REGISTRY.get(cause_id)
    return spec.label if spec is not None else cause_id.replace("_", " ").capitalize()


def signal_label(name: str) -> tuple[str, str]:
    """(clinical label, unit) of an evidence quantity or trace signal, from the signal registry.

    Trace signals use their short clinical label ("RBV", "Plasma Na"), derived quantities their label.
    """
    return short_label(name)


def overlap_text(causes: list[dict[str, Any]]) -> str:
    """How the top-ranked causes relate: one clearly leading, several acting together, or none."""
    ranked = sorted(causes, key=lambda c: -float(c.get("score") or 0.0))
    if not ranked or float(ranked[0].get("score") or 0.0) < SUPPORTED_SCORE:
        return "No mechanism is supported by this session's data."
    top = float(ranked[0]["score"])
    together = [
        c
        for c in ranked
        if float(c.get("score") or 0.0) >= OVERLAP_SCORE and top - float(c["score"]) <= OVERLAP_GAP
    ]
    if len(together) >= 2:
        names = [f"{cause_label(c['cause'])} ({float(c['score']):.2f})" for c in together]
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        return (
            f"{listed} score close together: they likely act together, and treating only one may not "
            "stop the cramps."
        )
    lead = f"{cause_label(ranked[0]['cause'])} leads ({top:.2f})"
    if len(ranked) > 1:
        nxt = ranked[1]
        return f"{lead}; the next, {cause_label(nxt['cause']).lower()}, scores {float(nxt['score']):.2f}."
    return lead + "."


def support_text(score: float) -> str:
    """How strongly the session supports a cause, in words (score bands: modelling choice)."""
    if score < SUPPORTED_SCORE:
        return "not supported"
    if score < OVERLAP_SCORE:
        return "weak"
    if score < 0.6:
        return "moderate"
    return "strong"


__all__ = [
    "DIRECTION_HEADINGS",
    "cause_label",
    "evidence_groups",
    "evidence_text",
    "overlap_text",
    "signal_label",
    "support_text",
]
