"""Side-by-side plot of the simulated current and recommended sessions (PNG via matplotlib)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from crampwatch.clinical_labels import display_label
from crampwatch.errors import InputError
from crampwatch.optimizer.result import OptimizationResult
from crampwatch.signals import ICA_MMOL_L, PLASMA_NA_MMOL_L, RBV_PCT, SBP_MMHG, T_MIN, UF_CUM_L, UREA_MMOL_L

#: Signals shown, in panel order (titles are the signal registry's labels with units).
PANELS: tuple[str, ...] = (RBV_PCT, SBP_MMHG, PLASMA_NA_MMOL_L, ICA_MMOL_L, UREA_MMOL_L, UF_CUM_L)


def plot_result(result: OptimizationResult, path: str | Path) -> Path:
    """Write a PNG with one panel per signal, the current session and each recommendation overlaid."""

    out = Path(path)
    if out.suffix.lower() != ".png":
        raise InputError(f"--plot: {out.name} must end in .png", "plot")
    traces = result.traces
    if not traces:
        raise InputError("--plot: no simulated traces are available for this result", "plot")
    fig = Figure(figsize=(13, 7))
    axes = fig.subplots(2, 3, sharex=True)
    for ax, name in zip(axes.flat, PANELS, strict=True):
        for i, (title, tr) in enumerate(traces.items()):
            y = tr.signal(name)
            if y is None:
                continue
            ax.plot(
                tr.t_min,
                y,
                lw=2.2 if i == 0 else 1.4,
                ls="-" if i == 0 else "--",
                color="black" if i == 0 else f"C{i - 1}",
                label=title,
            )
        ax.set_title(display_label(name), fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel(display_label(T_MIN))
    axes.flat[0].legend(fontsize=8)
    pid = result.scenario.patient.id
    fig.suptitle(f"{pid}: current prescription vs recommendations (simulated)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out
