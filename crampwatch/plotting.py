"""One-figure overview of a session trace (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from crampwatch.trace import Trace  # noqa: E402

#: Reference lines: favourable RBV range at 3 h 86-92 % (Preciado et al. NDT 2019), nadir-SBP IDH 90 mmHg
#: (Flythe et al. JASN 2015), ionized Ca lower limit 1.10 mmol/L, plasma Na 135 mmol/L.
RBV_LOW_PCT = 86.0
SBP_IDH_MMHG = 90.0
ICA_LOW_MMOL_L = 1.10
NA_LOW_MMOL_L = 135.0


class _Panel(NamedTuple):
    """One panel: signals on the left axis (name, label, colour), a reference line, and optionally one
    signal on a right-hand axis (name, label, colour, axis label)."""

    lines: tuple[tuple[str, str, str], ...]
    reference: float
    reference_label: str
    ylabel: str
    twin: tuple[str, str, str, str] | None = None


_PANELS = (
    _Panel((("rbv_pct", "RBV", "tab:blue"),), RBV_LOW_PCT, f"{RBV_LOW_PCT:g} % (Preciado 2019)", "RBV, %"),
    _Panel(
        (
            ("sbp_mmhg", "SBP", "tab:red"),
            ("map_mmhg", "MAP", "tab:purple"),
            ("dbp_mmhg", "DBP", "tab:orange"),
        ),
        SBP_IDH_MMHG,
        f"SBP {SBP_IDH_MMHG:g} (IDH)",
        "pressure, mmHg",
        ("hr_bpm", "HR", "tab:green", "HR, beats/min"),
    ),
    _Panel(
        (("plasma_na_mmol_l", "plasma Na", "tab:blue"),),
        NA_LOW_MMOL_L,
        f"Na {NA_LOW_MMOL_L:g}",
        "Na, mmol/L",
        ("osm_mosm_kg", "osmolality", "tab:brown", "osmolality, mOsm/kg"),
    ),
    _Panel(
        (("ica_mmol_l", "ionized Ca", "tab:cyan"),),
        ICA_LOW_MMOL_L,
        f"iCa {ICA_LOW_MMOL_L:.2f}",
        "iCa, mmol/L",
    ),
)


def _draw(ax: plt.Axes, trace: Trace, panel: _Panel) -> None:
    """Draw the signals of ``panel`` that ``trace`` has, its reference line and cramp markers."""
    t = trace.t_min
    for name, label, color in panel.lines:
        if trace.has(name):
            ax.plot(t, trace.signal(name), color=color, label=label)
    ax.axhline(panel.reference, color="grey", ls="--", lw=0.8, label=panel.reference_label)
    ax.set_ylabel(panel.ylabel)
    if panel.twin is not None and trace.has(panel.twin[0]):
        name, label, color, ylabel = panel.twin
        ax2 = ax.twinx()
        ax2.plot(t, trace.signal(name), color=color, lw=1, label=label)
        ax2.set_ylabel(ylabel, color=color)
    for i, tc in enumerate(trace.cramp_times()):
        ax.axvline(tc, color="tab:red", lw=1.2, ls=":", label="cramp" if i == 0 else None)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)


def plot_trace(trace: Trace, path: str | Path, *, title: str | None = None) -> Path:
    """Write a 4-panel figure (RBV; BP + HR; Na + osmolality; iCa) with cramp markers to ``path``."""
    fig, axes = plt.subplots(len(_PANELS), 1, figsize=(9, 10), sharex=True, constrained_layout=True)
    for ax, panel in zip(axes, _PANELS, strict=True):
        _draw(ax, trace, panel)
    axes[-1].set_xlabel("time, min")
    fig.suptitle(title or (f"Session {trace.session_id}" if trace.session_id else "Session"))
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
