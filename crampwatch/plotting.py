"""Figures of a session trace with matplotlib's object API (no pyplot, no global backend): the PNG of
``crampwatch simulate --plot`` and the SVG timeline of the HTML report.

Panels share the time axis; labels come from the signal registry (:mod:`crampwatch.signals`) and reference
lines from the analyzer's thresholds (:mod:`crampwatch.causes.thresholds`), so the figures say what the
analyzer compares against. Legends sit beside the panels, never over the curves.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.clinical_labels import display_label
from crampwatch.signals import (
    BRAIN_UREA_MMOL_L,
    DBP_MMHG,
    DIALYSATE_NA_MMOL_L,
    HR_BPM,
    ICA_MMOL_L,
    MAP_MMHG,
    MG_MMOL_L,
    OSM_MOSM_KG,
    PLASMA_NA_MMOL_L,
    RBV_PCT,
    SBP_MMHG,
    T_MIN,
    UF_RATE_ML_H,
    UREA_MMOL_L,
    signal,
)
from crampwatch.trace import Trace

#: Favourable RBV ranges at 1, 2 and 3 h (Preciado P et al. NDT 2019;34:1401): (time, lower-limit threshold,
#: upper limit %). The lower limits are the analyzer's thresholds.
PRECIADO_RANGES: tuple[tuple[float, str, float], ...] = (
    (60.0, "rbv_low_1h_pct", 96.0),
    (120.0, "rbv_low_2h_pct", 94.0),
    (180.0, "rbv_low_3h_pct", 92.0),
)


@dataclass(frozen=True)
class Panel:
    """One panel: its title (label with unit), signals on the left axis, threshold reference lines, an
    optional signal on a right-hand axis, and whether the UF-rate marks apply."""

    title: str
    signals: tuple[str, ...]
    references: tuple[str, ...] = ()
    twin: str | None = None
    uf_marks: bool = False


PANELS: tuple[Panel, ...] = (
    Panel(display_label(RBV_PCT), (RBV_PCT,), ("rbv_critical_pct",)),
    Panel("Blood pressure (mmHg)", (SBP_MMHG, MAP_MMHG, DBP_MMHG), ("idh_nadir_sbp_mmhg",)),
    Panel(display_label(HR_BPM), (HR_BPM,)),
    Panel(display_label(UF_RATE_ML_H), (UF_RATE_ML_H,), uf_marks=True),
    Panel(
        "Sodium (mmol/L)",
        (PLASMA_NA_MMOL_L, DIALYSATE_NA_MMOL_L),
        ("hyponatremia_mmol_l",),
        OSM_MOSM_KG,
    ),
    Panel("Ionized Ca and Mg (mmol/L)", (ICA_MMOL_L, MG_MMOL_L), ("ica_low_mmol_l", "mg_low_mmol_l")),
    Panel("Urea (mmol/L)", (UREA_MMOL_L, BRAIN_UREA_MMOL_L)),
)
COLOURS = ("tab:blue", "tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown")
#: Legend text of a reference line (the value is the analyzer's threshold).
REFERENCE_LABELS = {
    "rbv_critical_pct": "critical RBV {value:g} %",
    "idh_nadir_sbp_mmhg": "SBP {value:g} (IDH)",
    "hyponatremia_mmol_l": "Na {value:g}",
    "ica_low_mmol_l": "iCa {value:.2f}",
    "mg_low_mmol_l": "Mg {value:.2f}",
}


def panels_for(trace: Trace) -> tuple[Panel, ...]:
    """The panels with at least one signal present in ``trace`` (the first panel when none is)."""
    shown = tuple(p for p in PANELS if any(trace.has(s) for s in (*p.signals, p.twin) if s))
    return shown or PANELS[:1]


def _legend_name(trace: Trace, name: str, show_source: bool) -> str:
    short = signal(name).short
    return f"{short} ({trace.sources.get(name, 'measured')})" if show_source else short


def _draw(ax: Axes, trace: Trace, panel: Panel, *, weight_kg: float | None, show_source: bool) -> None:
    t = trace.t_min
    handles = []
    for colour, name in zip(COLOURS, panel.signals, strict=False):
        if trace.has(name):
            dashed = trace.sources.get(name) == "estimated"
            (line,) = ax.plot(
                t, trace.signal(name), color=colour, ls="--" if dashed else "-", lw=1.4,
                label=_legend_name(trace, name, show_source),
            )  # fmt: skip
            handles.append(line)
    for colour, ref in zip(COLOURS, panel.references, strict=False):  # in the colour of its signal
        label = REFERENCE_LABELS[ref].format(value=THRESHOLDS[ref].value)
        handles.append(ax.axhline(THRESHOLDS[ref].value, color=colour, ls=":", lw=1, alpha=0.8, label=label))
    if panel.signals[0] == RBV_PCT and trace.has(RBV_PCT):
        boxes = [
            ax.fill_between([tm - 6, tm + 6], THRESHOLDS[low_name].value, high, color="tab:green", alpha=0.25,
                            lw=0, label="favourable range (Preciado 2019)")
            for tm, low_name, high in PRECIADO_RANGES
        ]  # fmt: skip
        handles.append(boxes[0])
    if panel.uf_marks and weight_kg is not None and trace.has(UF_RATE_ML_H):
        for name, ls in (("ufr_10_ml_kg_h", "--"), ("ufr_13_ml_kg_h", ":")):
            value = THRESHOLDS[name].value
            handles.append(
                ax.axhline(value * weight_kg, color="tab:red", ls=ls, lw=1, label=f"{value:g} mL/kg/h")
            )
    if panel.twin is not None and trace.has(panel.twin):
        ax2 = ax.twinx()
        twin = signal(panel.twin)
        (line,) = ax2.plot(t, trace.signal(panel.twin), color="tab:gray", lw=1.1,
                           label=_legend_name(trace, panel.twin, show_source))  # fmt: skip
        ax2.set_ylabel(twin.display_label, color="tab:gray", fontsize=8)
        handles.append(line)
    for tc, _ in _cramps(trace):
        ax.axvline(tc, color="#6a1b9a", lw=1.2, ls="-")
    ax.set_ylabel(panel.title, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.12 if panel.twin else 1.01, 1.0),
              fontsize=7, frameon=False, borderaxespad=0.0)  # fmt: skip


def _cramps(trace: Trace) -> list[tuple[float, float | None]]:
    ev = trace.events
    if ev.empty:
        return []
    rows = ev.loc[ev["kind"] == "cramp"]
    sev = rows["severity"] if "severity" in rows else [np.nan] * len(rows)
    return [
        (float(t), None if s is None or np.isnan(float(s)) else float(s))
        for t, s in zip(rows[T_MIN], sev, strict=True)
    ]


def session_figure(
    trace: Trace, *, title: str | None = None, weight_kg: float | None = None, show_source: bool = False
) -> Figure:
    """A figure of ``trace``: one panel per signal group present, shared time axis, reference lines, cramp
    markers with severity on every panel. ``weight_kg`` adds the 10 and 13 mL/kg/h UF-rate marks;
    ``show_source`` names each curve's source (measured, simulated, estimated) in the legend."""
    panels = panels_for(trace)
    fig = Figure(figsize=(9.5, 1.9 * len(panels) + 0.8), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels, strict=True):
        _draw(ax, trace, panel, weight_kg=weight_kg, show_source=show_source)
    for tc, severity in _cramps(trace):
        text = "cramp" if severity is None else f"cramp {severity:g}/10"
        axes[0].annotate(text, (tc, 1.0), xycoords=("data", "axes fraction"), xytext=(2, 2),
                         textcoords="offset points", fontsize=7, color="#6a1b9a", va="bottom")  # fmt: skip
    axes[-1].set_xlabel(display_label(T_MIN))
    fig.suptitle(title or (f"Session {trace.session_id}" if trace.session_id else "Session"), fontsize=10)
    return fig


def plot_trace(
    trace: Trace, path: str | Path, *, title: str | None = None, weight_kg: float | None = None
) -> Path:
    """Write :func:`session_figure` of ``trace`` to ``path`` (PNG, or any format matplotlib knows by the
    file's extension)."""
    out = Path(path)
    session_figure(trace, title=title, weight_kg=weight_kg).savefig(out, dpi=110)
    return out


def figure_svg(fig: Figure) -> str:
    """``fig`` as inline SVG markup (text kept as text, so it stays searchable and small)."""
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "crampwatch"}):
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg") :]
