"""One-figure overview of a session trace (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

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


def _cramps(ax: plt.Axes, trace: Trace) -> None:
    for i, t in enumerate(trace.cramp_times()):
        ax.axvline(t, color="tab:red", lw=1.2, ls=":", label="cramp" if i == 0 else None)


def plot_trace(trace: Trace, path: str | Path, *, title: str | None = None) -> Path:
    """Write a 4-panel figure (RBV; BP + HR; Na + osmolality; iCa) with cramp markers to ``path``."""
    t = trace.t_min
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True, constrained_layout=True)
    ax = axes[0]
    if trace.has("rbv_pct"):
        ax.plot(t, trace.signal("rbv_pct"), color="tab:blue", label="RBV")
    ax.axhline(RBV_LOW_PCT, color="grey", ls="--", lw=0.8, label=f"{RBV_LOW_PCT:g} % (Preciado 2019)")
    ax.set_ylabel("RBV, %")
    ax = axes[1]
    for name, label, color in (
        ("sbp_mmhg", "SBP", "tab:red"),
        ("map_mmhg", "MAP", "tab:purple"),
        ("dbp_mmhg", "DBP", "tab:orange"),
    ):
        if trace.has(name):
            ax.plot(t, trace.signal(name), color=color, label=label)
    ax.axhline(SBP_IDH_MMHG, color="grey", ls="--", lw=0.8, label="SBP 90 (IDH)")
    ax.set_ylabel("pressure, mmHg")
    if trace.has("hr_bpm"):
        ax2 = ax.twinx()
        ax2.plot(t, trace.signal("hr_bpm"), color="tab:green", lw=1, label="HR")
        ax2.set_ylabel("HR, beats/min", color="tab:green")
    ax = axes[2]
    if trace.has("plasma_na_mmol_l"):
        ax.plot(t, trace.signal("plasma_na_mmol_l"), color="tab:blue", label="plasma Na")
    ax.axhline(NA_LOW_MMOL_L, color="grey", ls="--", lw=0.8, label="Na 135")
    ax.set_ylabel("Na, mmol/L")
    if trace.has("osm_mosm_kg"):
        ax2 = ax.twinx()
        ax2.plot(t, trace.signal("osm_mosm_kg"), color="tab:brown", lw=1, label="osmolality")
        ax2.set_ylabel("osmolality, mOsm/kg", color="tab:brown")
    ax = axes[3]
    if trace.has("ica_mmol_l"):
        ax.plot(t, trace.signal("ica_mmol_l"), color="tab:cyan", label="ionized Ca")
    ax.axhline(ICA_LOW_MMOL_L, color="grey", ls="--", lw=0.8, label="iCa 1.10")
    ax.set_ylabel("iCa, mmol/L")
    ax.set_xlabel("time, min")
    for a in axes:
        _cramps(a, trace)
        a.grid(alpha=0.3)
        a.legend(loc="lower left", fontsize=8)
    fig.suptitle(title or (f"Session {trace.session_id}" if trace.session_id else "Session"))
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
