"""Self-contained HTML report."""

from __future__ import annotations

import re

import pandas as pd
from helpers_traces import drop, make

from crampwatch.causes import assess
from crampwatch.report import render_html


def test_report_is_self_contained_and_complete() -> None:
    trace, sc = make("mixed_hypo_osmotic", events=[(172.0, "cramp")])
    a = assess(trace, sc, fill_missing=False)
    page = render_html(a, trace, sc)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # Plotly is inlined: no external script sources, and the library itself is in the page
    assert not re.search(r"<script[^>]+src=", page)
    assert "Plotly" in page and len(page) > 1_000_000
    # ranked causes, evidence, explanations, recommendations, sources, the cramp marker
    for cause in ("hypovolemia", "osmotic", "hypocalcemia"):
        assert cause in page
    assert "Preciado 2019" in page and "Flythe 2011" in page
    assert "Raise dialysate Na" in page and "blood volume" in page
    assert '"text":"cramp"' in page.replace(" ", "") or "cramp" in page
    assert page.count("<table>") >= len(a.causes)


def test_report_marks_estimated_and_missing_signals() -> None:
    trace, sc = make("stable")
    trace = drop(trace, "rbv_pct")
    trace.sources["sbp_mmhg"] = "estimated"
    a = assess(trace, sc, fill_missing=False)
    page = render_html(a, trace.with_events(pd.DataFrame({"t_min": [], "kind": []})), sc)
    assert "Missing: rbv_pct" in page
    assert "SBP (estimated)" in page
