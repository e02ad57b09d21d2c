"""Clinical wording of analysis results for the clinician pages: labels, units, directions, overlap.

Evidence items of an Assessment carry machine names (``dialysate_na_mmol_l``); the pages show them as a
clinician reads them: "dialysate Na 138 mmol/L, 3 below plasma; limit 138 mmol/L".
"""

from __future__ import annotations

import math
from typing import Any

from crampwatch.causes.registry import CAUSE_REGISTRY
from crampwatch.signals import SIGNAL_SPECS, label_and_unit

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
    if name in SIGNAL_SPECS:
        spec = SIGNAL_SPECS[name]
        return spec.short, spec.unit
    return label_and_unit(name)


def _number(value: float) -> str:
    v = abs(value)
    if v >= 100 or float(value).is_integer():
        text = f"{value:.0f}" if v >= 100 else f"{value:g}"
    elif v >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace("-", "−")


def _with_unit(value: float, unit: str) -> str:
    if not unit:
        return _number(value)
    return f"{_number(value)} {unit}" if unit != "%" else f"{_number(value)} %"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _yes_no(value: Any) -> str:
    if value is True or value == "yes":
        return "yes"
    if value is False or value == "no":
        return "no"
    return "not documented" if value in (None, "unknown") else str(value)


def evidence_text(item: dict[str, Any], metrics: dict[str, Any] | None = None) -> str:
    """One evidence item as a clinician reads it: label, value with unit, time, direction to the limit."""
    name = str(item.get("signal") or "")
    label, unit = signal_label(name)
    note = str(item.get("note") or "")
    if note in ("nadir", "minimum"):
        label = f"lowest {label}"
    elif note == "pre-dialysis" and not label.lower().startswith("pre-dialysis"):
        label = f"pre-dialysis {label}"
    value, threshold = item.get("value"), item.get("threshold")
    label = label[:1].upper() + label[1:]
    if not _is_number(value):
        return f"{label}: {_yes_no(value)}"
    text = f"{label} {_with_unit(float(value), unit)}"
    t_min = item.get("t_min")
    if _is_number(t_min) and t_min > 0:
        text += f" at {t_min:.0f} min"
    parts = [text]
    plasma = _plasma_na(metrics)
    if name == "dialysate_na_mmol_l" and plasma is not None:
        parts.append(_difference(float(value) - plasma, unit, "plasma"))
    if name == "na_gradient_mmol_l":
        parts[0] = f"{signal_label('dialysate_na_mmol_l')[0]} {_difference(float(value), unit, 'plasma')}"
    if _is_number(threshold):
        diff = float(value) - float(threshold)
        limit = _with_unit(float(threshold), unit)
        if abs(diff) < 1e-9:
            parts.append(f"at the {limit} limit")
        else:
            parts.append(f"{_difference(diff, unit, f'the {limit} limit')}")
    return ", ".join(parts)


def _difference(diff: float, unit: str, reference: str) -> str:
    if abs(diff) < 1e-9:
        return f"equal to {reference}"
    amount = _number(abs(diff)) + ("" if unit in ("", "%") else f" {unit}")
    amount = f"{amount} points" if unit == "%" else amount
    return f"{amount} {'above' if diff > 0 else 'below'} {reference}"


def _plasma_na(metrics: dict[str, Any] | None) -> float | None:
    if not metrics:
        return None
    na, gradient = metrics.get("dialysate_na_mmol_l"), metrics.get("na_gradient_mmol_l")
    if _is_number(na) and _is_number(gradient):
        return float(na) - float(gradient)
    return None


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
