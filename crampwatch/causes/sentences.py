"""Sentences of the findings, written from the numbers they cite, and the direction of each evidence item.

Every number a finding shows names what it is: the pre-dialysis value (first sample, or the lab when the
signal was not recorded), the nadir or peak (with its time), the end value (last sample of the session), a
value at a stated time, or a change. Direction words are chosen by comparing the numbers they stand
between, never written by hand: "fell"/"rose" compare the pre-dialysis and end values of the signal,
"below"/"above" compare a value with the limit named after it. The web pages, the HTML report and the CLI
show evidence through :func:`evidence_text`, so all three read the same words.

Each evidence item says whether it ``supports`` the cause (its value is past the limit on the side that
points to the mechanism), argues ``against`` it (a measure of the mechanism on the safe side), or is
``context`` (a susceptibility such as time on dialysis or a treatment, a value that was not measured, or a
default lab value the score does not use).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from crampwatch.clinical_labels import label_and_unit
from crampwatch.signals import DIALYSATE_NA_MMOL_L, SIGNAL_SPECS, T_MIN

Direction = Literal["supports", "against", "context"]
#: Evidence directions in display order (docs/formats.md, Assessment JSON ``direction``).
DIRECTIONS: tuple[Direction, ...] = ("supports", "against", "context")
#: Heading of each direction where evidence is listed apart (pages, report, CLI).
DIRECTION_HEADINGS: dict[str, str] = {"supports": "For", "against": "Against", "context": "Context"}
#: Which side of its limit points to the mechanism: ``low`` (a value below the limit supports the cause)
#: or ``high`` (above).
Sense = Literal["low", "high"]
MINUS = "\u2212"


def number(value: float) -> str:
    """A number as a clinician reads it: three significant digits (one decimal from 100 to 1000, so that a
    plasma Na of 139.4 keeps its tenth), no more than three decimals, no trailing zeros ("0.375", "1.25",
    "14.2", "139.4", "138", "1250", "−0.035"); non-finite values as "n/a"."""
    if value is None or not math.isfinite(value):
        return "n/a"
    size = abs(value)
    decimals = 0 if size >= 1000 else 1 if size >= 10 else 2 if size >= 1 else 3
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if float(text) == 0.0:
        return "0"
    return text.replace("-", MINUS)


def shown(value: float) -> float:
    """``value`` as :func:`number` shows it (so a comparison of shown numbers agrees with the words)."""
    return float(number(value).replace(MINUS, "-"))


#: Units written in the singular for a value of 1 ("1 month").
SINGULAR_UNITS = {"months": "month", "years": "year", "sessions": "session", "patients": "patient"}


def with_unit(value: float, unit: str) -> str:
    """A number with its unit ("84.1 %", "1.25 mmol/L", "1.31", "1 month")."""
    if not unit:
        return number(value)
    if number(value) == "1":
        unit = SINGULAR_UNITS.get(unit, unit)
    return f"{number(value)} {unit}"


def plural(n: float, one: str, many: str) -> str:
    """ "1 session", "3 sessions": ``n`` with the word in the right number."""
    return f"{number(n)} {one if number(n) == '1' else many}"


def direction(value: Any, threshold: Any, sense: Sense | None, otherwise: Direction = "against") -> Direction:
    """``supports`` when ``value`` is past ``threshold`` on the ``sense`` side (as the numbers are shown),
    else ``otherwise``; ``context`` without a sense or a number."""
    if sense is None or not _is_number(value) or not _is_number(threshold):
        return "context"
    v, t = shown(float(value)), shown(float(threshold))
    past = v < t if sense == "low" else v > t
    return "supports" if past else otherwise


def side(value: float, threshold: float) -> str:
    """``below``, ``above`` or ``at`` as the shown numbers compare."""
    v, t = shown(value), shown(threshold)
    return "below" if v < t else "above" if v > t else "at"


def versus(value: float, threshold: float, unit: str, name: str = "limit") -> str:
    """The comparison of ``value`` with a limit: "below the 1.1 mmol/L limit", "at the 90 mmHg limit"."""
    return f"{side(value, threshold)} the {with_unit(threshold, unit)} {name}"


def statement(
    subject: str,
    value: float,
    unit: str,
    threshold: float,
    *,
    t_min: float | None = None,
    name: str = "limit",
) -> str:
    """ "<subject> was <value> <unit>[ at <t> min], below|above|at the <threshold> <unit> <name>"."""
    at = f" at {number(t_min)} min" if t_min is not None and math.isfinite(t_min) and t_min > 0 else ""
    return f"{subject} was {with_unit(value, unit)}{at}, {versus(value, threshold, unit, name)}"


def course(
    label: str, unit: str, pre: float, end: float, nadir: float | None = None, nadir_t: float | None = None
) -> str:
    """How a signal moved during the session: "<label> fell|rose from <pre> before dialysis to <end> at
    the end" (or "stayed at"), with the nadir and its time when it lies below both ends."""
    a, b = shown(pre), shown(end)
    if a == b:
        text = f"{label} stayed at {with_unit(pre, unit)} from before dialysis to the end"
    else:
        verb = "fell" if b < a else "rose"
        text = (
            f"{label} {verb} from {with_unit(pre, unit)} before dialysis to {with_unit(end, unit)} at the end"
        )
    if nadir is not None and math.isfinite(nadir) and shown(nadir) < min(a, b) and nadir_t is not None:
        text += f" (nadir {with_unit(nadir, unit)} at {number(nadir_t)} min)"
    return text


# ------------------------------------------------------------------------------------ evidence as text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def short_label(name: str) -> tuple[str, str]:
    """(short clinical label, unit) of an evidence quantity: trace signals by their short label ("RBV",
    "Plasma Na"), derived quantities by their label."""
    if name in SIGNAL_SPECS:
        spec = SIGNAL_SPECS[name]
        return spec.short, spec.unit
    return label_and_unit(name)


#: Evidence notes that name which value of a signal an item shows, and the word put before its label.
ASPECT_WORDS = {
    "pre-dialysis": "pre-dialysis",
    "nadir": "lowest",
    "minimum": "lowest",
    "intradialytic minimum": "lowest",
    "peak": "highest",
    "intradialytic maximum": "highest",
    "end": "end",
    "session mean": "mean",
}


#: Evidence quantities that count events or sessions.
COUNTS = ("hypotension_events", "sp_ktv_recent_sessions_below_min")


def _yes_no(value: Any) -> str:
    if value is True or value == "yes":
        return "yes"
    if value is False or value == "no":
        return "no"
    return "not documented" if value in (None, "unknown") else str(value)


def _amount(diff: float, unit: str) -> str:
    amount = with_unit(abs(diff), "" if unit == "%" else unit)
    return f"{amount} points" if unit == "%" else amount


def _difference(diff: float, unit: str, reference: str) -> str:
    if shown(abs(diff)) == 0.0:
        return f"equal to {reference}"
    return f"{_amount(diff, unit)} {'above' if diff > 0 else 'below'} {reference}"


def _plasma_na(metrics: dict[str, Any] | None) -> float | None:
    if not metrics:
        return None
    na, gradient = metrics.get(DIALYSATE_NA_MMOL_L), metrics.get("na_gradient_mmol_l")
    if _is_number(na) and _is_number(gradient):
        return float(na) - float(gradient)
    return None


def _aspect(note: str) -> str | None:
    """The word an evidence note puts before the label ("nadir, vs ..." -> "lowest"), or None."""
    for key, word in ASPECT_WORDS.items():
        if note == key or note.startswith((key + ",", key + " (", key + ";")):
            return word
    return None


def _names_aspect(note: str) -> bool:
    return _aspect(note) is not None or note.startswith(("session mean", "pre-dialysis minus nadir"))


def evidence_label(item: dict[str, Any]) -> str:
    """The label of an evidence item with the aspect its value is ("Pre-dialysis iCa", "Lowest SBP")."""
    name = str(item.get("signal") or "")
    label, _ = short_label(name)
    word = _aspect(str(item.get("note") or ""))
    if word and not label.lower().startswith(word):
        label = f"{word} {in_text(label)}"
    return label[:1].upper() + label[1:]


def in_text(label: str) -> str:
    """A label inside running text: the first letter lowered unless the first word is a symbol or acronym
    ("Plasma Na" -> "plasma Na", "SBP" and "Mg" unchanged)."""
    first = label.split(" ")[0]
    return label[:1].lower() + label[1:] if len(first) >= 3 and first[1:].islower() else label


def evidence_text(item: dict[str, Any], metrics: dict[str, Any] | None = None) -> str:
    """One evidence item (Assessment JSON) as a clinician reads it: label with the aspect of the value,
    value with unit, time, and the side of the limit ("Pre-dialysis iCa 0.85 mmol/L, 0.25 mmol/L below the
    1.1 mmol/L limit")."""
    name = str(item.get("signal") or "")
    _, unit = short_label(name)
    label = evidence_label(item)
    value, threshold = item.get("value"), item.get("threshold")
    note = str(item.get("note") or "")
    if value is None and note:
        return f"{label}: {note}"
    if not _is_number(value):
        return f"{label}: {_yes_no(value)}"
    t_min = item.get(T_MIN)
    timed = _is_number(t_min) and t_min > 0
    if name in COUNTS:
        of = f" {note}" if note.startswith("of ") else ""
        first = f", the first at {number(t_min)} min" if timed else ""
        return f"{label}: {number(float(value))}{of}{first}"
    text = f"{label} {with_unit(float(value), unit)}"
    if timed:
        text += f" at {number(t_min)} min"
    parts = [text]
    plasma = _plasma_na(metrics)
    if name == DIALYSATE_NA_MMOL_L and plasma is not None:
        parts.append(_difference(float(value) - plasma, unit, "plasma"))
    if name == "na_gradient_mmol_l":
        parts[0] = f"{short_label(DIALYSATE_NA_MMOL_L)[0]} {_difference(float(value), unit, 'plasma')}"
    if not _is_number(threshold) and note and not _names_aspect(note):
        parts.append(note)
    if _is_number(threshold):
        limit = f"the {with_unit(float(threshold), unit)} limit"
        diff = float(value) - float(threshold)
        if side(float(value), float(threshold)) == "at":
            parts.append(f"at {limit}")
        else:
            parts.append(f"{_amount(diff, unit)} {side(float(value), float(threshold))} {limit}")
    return ", ".join(parts)


def evidence_groups(evidence: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Evidence items grouped by direction in display order (for, against, context), empty groups left
    out; an item without a direction (an assessment stored before directions existed) counts as context."""
    groups = []
    for d in DIRECTIONS:
        items = [e for e in evidence if (e.get("direction") or "context") == d]
        if items:
            groups.append((d, items))
    return groups
