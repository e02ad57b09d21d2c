"""Clinician and patient views: clinical wording, chart reference bands, time zones, contrast, compression."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from test_web_helpers import page_login

from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.web import charts, wording

pytest_plugins = ["test_web_helpers"]
STATIC = Path(__file__).resolve().parents[1] / "crampwatch" / "web" / "static"


def _figure(page: str, index: int = 0) -> dict:
    blocks = re.findall(r'<script type="application/json" class="plot-figure">(.*?)</script>', page, re.S)
    return json.loads(blocks[index].replace("<\\/", "</"))


def _visible_text(page: str) -> str:
    """Page text outside scripts and tags."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def test_evidence_reads_as_clinical_text_with_units_and_directions():
    item = {"signal": "dialysate_na_mmol_l", "value": 138.0, "threshold": 138.0, "t_min": None}
    text = wording.evidence_text(item, {"dialysate_na_mmol_l": 138.0, "na_gradient_mmol_l": -3.0})
    assert text == "Dialysate Na 138 mmol/L, 3 mmol/L below plasma, at the 138 mmol/L limit"
    rbv = wording.evidence_text({"signal": "rbv_pct", "value": 84.1, "t_min": 150, "threshold": 86})
    assert rbv == "RBV 84.1 % at 150 min, 1.9 points below the 86 % limit"
    assert wording.evidence_text({"signal": "diabetes", "value": True, "threshold": True}) == "Diabetes: yes"
    nadir = {"signal": "sbp_mmhg", "value": 84.0, "t_min": 200, "threshold": 90, "note": "nadir"}
    assert wording.evidence_text(nadir) == "Lowest SBP 84 mmHg at 200 min, 6 mmHg below the 90 mmHg limit"


def test_overlap_wording_says_how_top_causes_relate():
    close = [{"cause": "hypocalcemia", "score": 1.0}, {"cause": "hypomagnesemia", "score": 0.9}]
    assert "act together" in wording.overlap_text(close)
    lead = [{"cause": "hypovolemia", "score": 0.93}, {"cause": "neuropathy", "score": 0.02}]
    assert wording.overlap_text(lead).startswith("Hypovolemia leads (0.93)")
    assert "No mechanism" in wording.overlap_text([{"cause": "osmotic", "score": 0.01}])


def test_clinician_session_page_uses_clinical_names_and_no_second_person(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    page = client.get(f"/sessions/{db.s1}").text
    evidence = " ".join(re.findall(r'<ul class="evidence">(.*?)</ul>', page, re.S))
    assert "_mmol_l" not in evidence and "_pct" not in evidence and "(threshold" not in evidence
    assert "limit" in evidence and "mmol/L" in evidence
    assert 'class="overlap"' in page
    words = re.findall(r"\b(you|your)\b", _visible_text(page), re.I)
    assert words == []


def test_patient_session_page_is_in_plain_language(app, db):
    client = TestClient(app)
    page_login(client, "pat1")
    page = client.get(f"/sessions/{db.s1}").text
    text = _visible_text(page)
    assert "most likely reason" in text and "stretch" in text
    for clinical in ("saline", "mmol/L", "RBV", "score", "spKt/V", "evidence", "Preciado"):
        assert clinical not in text, clinical


def test_session_chart_has_bands_uf_rate_and_cramp_markers_on_every_panel(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    fig = _figure(client.get(f"/sessions/{db.s1}").text)
    layout = fig["layout"]
    titles = [a["text"] for a in layout["annotations"] if a.get("xref") == "paper"]
    assert any("UF rate" in t for t in titles) and len(titles) == 6
    levels = {
        round(s["y0"], 3) for s in layout["shapes"] if s["type"] == "line" and s.get("y0") == s.get("y1")
    }
    for name in (
        "rbv_critical_pct",
        "idh_nadir_sbp_mmhg",
        "ufr_10_ml_kg_h",
        "ufr_13_ml_kg_h",
        "ica_low_mmol_l",
    ):
        assert round(THRESHOLDS[name].value, 3) in levels, name
    shaded = [s for s in layout["shapes"] if s["type"] == "rect"]
    assert len(shaded) == 4  # critical RBV, IDH, hyponatremia, low iCa
    cramps = [a for a in layout["annotations"] if a["text"].startswith("cramp")]
    assert len(cramps) == 6 and all(a["text"] == "cramp 6/10" for a in cramps)
    axes = [k for k in layout if k.startswith("xaxis")]
    assert all(layout[k]["showticklabels"] for k in axes)
    uf = next(d for d in fig["data"] if d["yaxis"] == "y3")
    assert 0 < max(v for v in uf["y"] if v is not None) < 40  # mL/kg/h, not mL/h


def test_whatif_overlay_has_one_legend_entry_per_run():
    trace = charts_trace()
    fig = charts.session_figure(trace, weight_kg=70, compare=trace)
    legend = [d["name"] for d in fig["data"] if d.get("showlegend")]
    assert legend == ["current prescription", "what-if"]
    colours = {d["line"]["color"] for d in fig["data"] if d.get("legendgroup") == "what-if"}
    assert len(colours) >= 6
    dashes = {d["line"]["dash"] for d in fig["data"] if d.get("legendgroup") == "current prescription"}
    assert dashes == {"dash"}


def charts_trace():
    from test_web_helpers import recorded_trace

    return recorded_trace()


def test_times_name_their_zone(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    page = client.get(f"/patients/{db.p1}").text
    stamps = re.findall(r'<time datetime="([^"]+)" data-format="datetime">([^<]+)</time>', page)
    assert stamps and all(iso.endswith("+00:00") and text.endswith(" UTC") for iso, text in stamps)


def _luminance(colour: str) -> float:
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_muted_text_meets_aa_contrast():
    css = (STATIC / "style.css").read_text()
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    for background in (variables["bg"], "#ffffff", "#e3e7eb"):  # page, card, badge backgrounds
        assert _contrast(variables["muted"], background) >= 4.5, background
    assert _contrast(variables["red"], "#fbe3e0") >= 4.5  # cramp badge
    assert _contrast(variables["ok"], "#e8f6ee") >= 4.5  # "received" confirmation


def test_charts_have_text_alternatives(app, db):
    client = TestClient(app)
    page_login(client, "clin")
    page = client.get(f"/sessions/{db.s1}").text
    assert re.search(r'<div class="plot" role="img" aria-label="[^"]+">', page)
    table = page[page.index('class="chart-text"') :]
    assert "RBV" in table and "Lowest (time)" in table


def test_static_files_are_compressed(app):
    client = TestClient(app)
    js = client.get("/static/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert js.headers["content-encoding"] == "gzip"
    assert int(js.headers["content-length"]) < len(js.content) / 2
    css = client.get("/static/style.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers.get("content-encoding") == "gzip"


def test_reference_labels_stay_inside_their_panel_and_clear_of_each_other():
    from crampwatch.web.chart_layout import label_sides

    # a critical RBV line near the bottom of its panel: its label goes above the line, not onto the time axis
    assert label_sides(((88.0, "critical RBV 88 %", True),), [87.0, 101.0]) == ["bottom"]
    # UF rate 10 and 13 mL/kg/h near the top with 12.6 mL/kg/h data: the labels must not face each other
    sides = label_sides(((10.0, "10", False), (13.0, "13", False)), [-1.0, 14.0])
    assert sides == ["top", "top"]
    # close lines in the middle: one label above, one below
    assert sorted(label_sides(((10.0, "10", False), (13.0, "13", False)), [5.0, 30.0])) == ["bottom", "top"]
