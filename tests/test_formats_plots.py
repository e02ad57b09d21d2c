"""The generated format documentation, the shipped machine-export example, and the session figure."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from typer.testing import CliRunner

from crampwatch.cli.main import app
from crampwatch.clinical_labels import display_label
from crampwatch.formats import DOC_PATH, render_formats_markdown
from crampwatch.model import load_scenario
from crampwatch.plotting import plot_trace, session_figure
from crampwatch.signals import SIGNAL_SPECS
from crampwatch.simulator import simulate

ROOT = Path(__file__).resolve().parents[1]


def test_formats_md_is_generated_from_the_registries_and_up_to_date() -> None:
    text = render_formats_markdown()
    assert DOC_PATH.read_text(encoding="utf-8") == text, "run: python3 -m crampwatch.formats"
    for spec in SIGNAL_SPECS.values():  # every trace column with its unit and range
        assert f"| `{spec.name}` | {spec.label} | {spec.unit} |" in text
    assert "contracts.md" not in text and "physiology.md" not in text


def test_readme_machine_export_command_runs_with_the_shipped_examples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT / "examples" / "machine")
    args = ["analyze", "machine.csv", "--hemobp", "--scenario", "patient.yaml", "--events", "events.csv"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "Cramp causes for session machine" in r.output
    r = CliRunner().invoke(app, [*args, "--json"])
    assert r.exit_code == 0 and '"overall_risk"' in r.output


@pytest.fixture(scope="module")
def figure():
    sc = load_scenario(ROOT / "examples" / "high_uf.yaml")
    events = pd.DataFrame({"t_min": [150.0], "kind": ["cramp"], "severity": [6.0], "note": ["calf"]})
    fig = session_figure(simulate(sc).with_events(events), weight_kg=sc.post_weight_kg)
    FigureCanvasAgg(fig).draw()
    return fig


def test_legends_sit_beside_the_curves_and_every_curve_is_labelled(figure) -> None:
    panels = [ax for ax in figure.axes if ax.get_legend() is not None]
    assert len(panels) >= 6
    for ax in panels:
        legend = ax.get_legend().get_window_extent()
        assert legend.x0 >= ax.get_window_extent().x1  # right of the plotting area: covers no curve
    bp = next(ax for ax in panels if ax.get_ylabel() == "Blood pressure (mmHg)")
    assert {"SBP", "MAP", "DBP"} <= {t.get_text() for t in bp.get_legend().get_texts()}
    # the osmolality curve has its own labelled axis and a legend entry
    twin = next(ax for ax in figure.axes if ax.get_ylabel() == display_label("osm_mosm_kg"))
    assert twin.lines
    sodium = next(ax for ax in panels if ax.get_ylabel() == "Sodium (mmol/L)")
    assert "Osmolality" in {t.get_text() for t in sodium.get_legend().get_texts()}
    labels = {ax.get_ylabel() for ax in figure.axes}
    assert {display_label("uf_rate_ml_h"), display_label("hr_bpm"), display_label("rbv_pct")} <= labels
    assert any(t.get_text() == "cramp 6/10" for t in figure.axes[0].texts)


def test_plotting_leaves_the_global_backend_alone(tmp_path: Path) -> None:
    before = matplotlib.get_backend()
    sc = load_scenario(ROOT / "examples" / "stable.yaml")
    assert plot_trace(simulate(sc), tmp_path / "s.png").stat().st_size > 10_000
    assert matplotlib.get_backend() == before
    uses = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "crampwatch").rglob("*.py")
        if re.search(r"matplotlib\.use\(|import matplotlib\.pyplot", p.read_text(encoding="utf-8"))
    ]
    assert not uses


def test_io_does_not_import_the_analyzer() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "crampwatch" / "io").rglob("*.py")
        if re.search(r"^\s*(from|import) crampwatch\.causes", p.read_text(encoding="utf-8"), re.M)
    ]
    assert not offenders
