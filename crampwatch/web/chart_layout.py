"""Layout of stacked chart panels: axes, panel titles with their line legend, and horizontal reference lines
whose labels stay inside the panel and clear of each other (the session charts and the trend charts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import escape

#: Share of a panel's height a reference label needs on its side of the line (a 10 px label in a panel of
#: ~110 px; modelling choice of layout).
LABEL_ROOM = 0.15
BAND_FILL = "rgba(192, 57, 43, 0.08)"
MARK_COLOUR = "#7b8794"


@dataclass(frozen=True)
class Panel:
    """One stacked panel: title, y unit, signals (name, legend label, colour) and reference marks."""

    title: str
    unit: str
    signals: tuple[tuple[str, str, str], ...]
    #: (y value, label, below-is-abnormal) horizontal reference lines; abnormal side shaded.
    marks: tuple[tuple[float, str, bool], ...] = ()


def value_range(values: list[float]) -> list[float] | None:
    """A y range holding ``values`` (data and reference lines) with 8 % room on each side."""
    if not values:
        return None
    low, high = min(values), max(values)
    pad = 0.08 * (high - low) or 1.0
    return [low - pad, high + pad]


def stack_axes(
    layout: dict[str, Any], row: int, height: float, gap: float, x_extra: dict[str, Any]
) -> tuple[str, str, float]:
    """Axes of stacked panel ``row`` (1 = top) sharing the first panel's x axis, tick labels on every
    panel; returns (x ref, y ref, top of the panel in paper coordinates)."""
    top = 1.0 - (row - 1) * (height + gap)
    suffix = "" if row == 1 else str(row)
    xref, yref = f"x{suffix}", f"y{suffix}"
    layout[f"xaxis{suffix}"] = {
        "anchor": yref,
        "domain": [0.0, 1.0],
        "showticklabels": True,
        **x_extra,
        **({"matches": "x"} if row > 1 else {}),
    }
    layout[f"yaxis{suffix}"] = {"anchor": xref, "domain": [top - height, top]}
    return xref, yref, top


def panel_key(panel: Panel) -> list[tuple[str, str]]:
    """(label, colour) of each line of a panel with more than one: the panel's legend."""
    return [(label, colour) for _, label, colour in panel.signals] if len(panel.signals) > 1 else []


def panel_title(text: str, top: float, key: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The bold title above a panel; with ``key``, each line's label in its colour after it (the legend of
    a panel with several lines)."""
    legend = "".join(
        f"  <span style='color:{colour}'>━ {escape(label)}</span>" for label, colour in (key or [])
    )
    return {
        "text": f"<b>{escape(text)}</b>{legend}",
        "x": 0,
        "xref": "paper",
        "y": top,
        "yref": "paper",
        "xanchor": "left",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 13},
    }


def label_side(value: float, y_range: list[float] | None, below_abnormal: bool) -> str:
    """Where a reference line's label goes (``yanchor``): on its abnormal side, unless that side has too
    little room in the panel, where the label would sit on the time axis labels or the panel title."""
    prefer = "top" if below_abnormal else "bottom"
    if y_range is None or y_range[1] <= y_range[0]:
        return prefer
    f = (value - y_range[0]) / (y_range[1] - y_range[0])
    if prefer == "top" and f < LABEL_ROOM:
        return "bottom"
    if prefer == "bottom" and f > 1.0 - LABEL_ROOM:
        return "top"
    return prefer


def label_sides(marks: tuple[tuple[float, str, bool], ...], y_range: list[float] | None) -> list[str]:
    """:func:`label_side` of each mark, then two labels closer than a label's height moved apart: the lower
    one goes under its line when there is room, else the upper one over its line."""
    sides = [label_side(v, y_range, below) for v, _, below in marks]
    if y_range is None or y_range[1] <= y_range[0] or len(marks) < 2:
        return sides
    span = y_range[1] - y_range[0]
    order = sorted(range(len(marks)), key=lambda k: marks[k][0])
    for lo, hi in zip(order, order[1:], strict=False):
        gap = (marks[hi][0] - marks[lo][0]) / span
        facing = sides[lo] == "bottom" and sides[hi] == "top" and gap < 2 * LABEL_ROOM
        stacked = sides[lo] == sides[hi] and gap < LABEL_ROOM
        if not (facing or stacked):
            continue
        if (marks[lo][0] - y_range[0]) / span >= LABEL_ROOM:
            sides[lo] = "top"
        elif (y_range[1] - marks[hi][0]) / span >= LABEL_ROOM:
            sides[hi] = "bottom"
    return sides


def reference_marks(
    layout: dict[str, Any],
    panel: Panel,
    xref: str,
    yref: str,
    bottom: float | None = None,
    y_range: list[float] | None = None,
) -> None:
    """Dotted reference lines; with ``bottom``, the abnormal side below each line is shaded down to it.
    Labels sit inside the panel, clear of each other (:func:`label_sides` with the panel's ``y_range``)."""
    sides = label_sides(panel.marks, y_range)
    for (value, label, below_abnormal), side in zip(panel.marks, sides, strict=True):
        layout["shapes"].append(
            {
                "type": "line",
                "xref": f"{xref} domain",
                "x0": 0,
                "x1": 1,
                "yref": yref,
                "y0": value,
                "y1": value,
                "line": {"color": MARK_COLOUR, "width": 1, "dash": "dot"},
            }
        )
        if below_abnormal and bottom is not None:  # shade the abnormal side up to the reference line
            layout["shapes"].append(
                {
                    "type": "rect",
                    "xref": f"{xref} domain",
                    "x0": 0,
                    "x1": 1,
                    "yref": yref,
                    "y0": value,
                    "y1": bottom,
                    "fillcolor": BAND_FILL,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
        layout["annotations"].append(
            {
                "text": escape(label),
                "xref": f"{xref} domain",
                "x": 1,
                "yref": yref,
                "y": value,
                "xanchor": "right",
                "yanchor": side,
                "showarrow": False,
                "font": {"size": 10, "color": "#4a5563"},
            }
        )
