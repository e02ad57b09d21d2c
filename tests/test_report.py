"""Self-contained HTML report."""

from __future__ import annotations

import html
import re

import pandas as pd
from helpers_traces import drop, make

from crampwatch.causes import assess
from crampwatch.clinical_labels import display_label
from crampwatch.report import render_html
from crampwatch.trace import SIGNALS


def test_report_is_self_contained_and_complete() -> None:
    trace, sc = make("mixed_hypo_osmotic", events=[(172.0, "cramp")])
    a = assess(trace, sc, fill_missing=False)
    page = render_html(a, trace, sc)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # no script at all: the timeline is inline SVG, so the page opens offline and stays small
    assert not re.search(r"<script[^>]+src=", page) and "<script" not in page
    assert "<svg" in page and len(page) < 500_000
    # ranked causes, evidence, explanations, recommendations, sources, the cramp marker
    for cause in ("hypovolemia", "osmotic", "hypocalcemia"):
        assert cause in page
    assert "Preciado 2019" in page and "Flythe 2011" in page
    assert "Raise dialysate Na" in page and "blood volume" in page
    assert '"text":"cramp"' in page.replace(" ", "") or "cramp" in page
    supported = [f for f in a.causes if f.score > 0]
    assert page.count("<table>") >= len(supported)


def test_report_marks_estimated_and_missing_signals() -> None:
    trace, sc = make("stable")
    trace = drop(trace, "rbv_pct")
    trace.sources["sbp_mmhg"] = "estimated"
    a = assess(trace, sc, fill_missing=False)
    page = render_html(a, trace.with_events(pd.DataFrame({"t_min": [], "kind": []})), sc)
    assert "Missing: Relative blood volume (%)" in page
    assert "SBP (estimated)" in page


def _visible_text(page: str) -> str:
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_report_speaks_in_clinical_labels_and_skips_unsupported_causes() -> None:
    trace, sc = make("mixed_hypo_osmotic", events=[(172.0, "cramp")])
    a = assess(trace, sc, fill_missing=False)
    page = render_html(a, trace, sc)
    text = _visible_text(page)
    # labels with units from the signal registry, never code names
    for label in ("Relative blood volume (%)", "UF rate per kg (mL/kg/h)", "Ultrafiltration rate (mL/h)"):
        assert label in text
    names = set(SIGNALS) | {e.signal for f in a.causes for e in f.evidence} | set(a.metrics)
    assert not [n for n in names if re.search(rf"\b{n}\b", text)]
    # UF-rate and heart-rate panels are drawn
    assert display_label("uf_rate_ml_h") in text and display_label("hr_bpm") in text
    # score-0 causes: one line, no section
    zero = [f for f in a.causes if f.score == 0]
    assert zero and "Not supported by this session" in text
    assert text.count(" — score ") == len(a.causes) - len(zero)
    assert "Cramps at 172 min" in text  # the text alternative of the timeline
