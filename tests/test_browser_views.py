"""Clinician view in a real browser: what-if safety, optimizer suggestions, phone layout, time zones; the
twin chart draws (desktop and phone) with its legend clear of the plot, every button style is readable
against what is behind it, Back + Send stores one report, the unit overview keeps its risk column on a
phone."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from live_server import CHROMIUM, browser_login
from test_web_helpers import PASSWORDS

from crampwatch.store import Store

pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


def _session_page(browser, live, db, **context_args):
    context = browser.new_context(**context_args)
    page = context.new_page()
    browser_login(page, live.url, "clin", PASSWORDS["clin"])
    page.goto(f"{live.url}/sessions/{db.s1}")
    page.wait_for_selector("#timelines .js-plotly-plot")
    return context, page


def test_whatif_errors_replace_the_result_and_inputs_carry_ranges(server, browser):
    live, db = server
    context, page = _session_page(browser, live, db)
    duration = page.locator("input[name=duration_min]")
    assert duration.get_attribute("min") == "30" and duration.get_attribute("max") == "600"
    assert page.locator("input[name=dialysate_na_mmol_l]").get_attribute("max") == "160"
    page.fill("input[name=duration_min]", "300")
    page.click("#whatif button[type=submit]")
    page.wait_for_selector("#whatif-chart .js-plotly-plot", timeout=30_000)
    # editing an input removes the result at once: it belongs to other values
    page.fill("input[name=duration_min]", "20")
    assert page.locator("#whatif-chart").count() == 0
    assert "Inputs changed" in page.locator("#whatif-result").inner_text()
    # the browser refuses an out-of-range value before sending it
    assert page.evaluate("document.querySelector('input[name=duration_min]').validity.valid") is False
    # with client checks bypassed, the server's 422 is shown in the panel
    page.fill("input[name=duration_min]", "240")
    page.fill("input[name=dialysate_na_mmol_l]", "165")
    page.evaluate("document.querySelector('form.whatif-form').noValidate = true")
    page.click("#whatif button[type=submit]")
    alert = page.wait_for_selector("#whatif-result [role=alert]", timeout=30_000)
    assert "Dialysate Na: 165 mmol/L is outside the allowed 120–160 mmol/L" in alert.inner_text()
    assert page.locator("#whatif-chart").count() == 0
    context.close()


def test_show_in_whatif_fills_the_form_with_the_suggestion(server, browser):
    live, db = server
    context, page = _session_page(browser, live, db)
    page.click("#optimize button[type=submit]")
    button = page.wait_for_selector("button[data-whatif]", timeout=60_000)
    settings = json.loads(button.get_attribute("data-whatif"))
    button.click()
    page.wait_for_selector("#whatif-chart .js-plotly-plot", timeout=30_000)
    for name, value in settings.items():
        shown = page.locator(f"form.whatif-form [name={name}]").input_value()
        if isinstance(value, list):
            assert json.loads(shown) == value
        elif isinstance(value, str):
            assert shown == value
        else:
            assert float(shown) == pytest.approx(float(value))
    assert "suggestion 1" in page.locator(".filled-note").inner_text()
    context.close()


def test_phone_layout_puts_causes_first_and_nothing_overflows(server, browser):
    live, db = server
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    context, page = _session_page(browser, live, db, **phone)
    causes = page.locator("#causes").bounding_box()
    chart = page.locator("#timelines").bounding_box()
    assert causes["y"] < chart["y"] and causes["y"] < 900
    page.fill("input[name=duration_min]", "300")
    page.click("#whatif button[type=submit]")
    page.wait_for_selector("#whatif-chart .js-plotly-plot", timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{live.url}/patients")
    assert page.locator("td.recurring").first.is_visible()
    context.close()


def test_causes_come_before_the_chart_toolbar_in_tab_order(server, browser):
    live, db = server
    context, page = _session_page(browser, live, db, viewport={"width": 1400, "height": 900})
    first_cause = page.locator("#causes summary").first
    toolbar = page.locator("#timelines .modebar-btn").first
    before = page.evaluate(
        "([a, b]) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
        [first_cause.element_handle(), toolbar.element_handle()],
    )
    assert before
    # wide screens still show the chart on the left of the causes
    assert page.locator("#timelines").bounding_box()["x"] < page.locator("#causes").bounding_box()["x"]
    context.close()


def test_new_york_patient_sees_and_confirms_local_time(server, browser):
    live, db = server
    context = browser.new_context(timezone_id="America/New_York", viewport={"width": 390, "height": 844})
    page = context.new_page()
    browser_login(page, live.url, "pat2", PASSWORDS["pat2"])
    prefilled = page.input_value("input[name=reported_at]")
    now_ny = datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)
    assert abs(datetime.fromisoformat(prefilled) - now_ny) < timedelta(minutes=2)
    page.fill("input[name=reported_at]", "2026-12-01T12:44")
    page.check("input[name=severity][value='4']")
    page.click("button.big")
    page.wait_for_selector("#received")
    text = page.locator("#received").inner_text()
    assert "2026-12-01 12:44 EST" in text, text
    assert "12:44 EST" in page.locator("#history").inner_text()
    context.close()


def test_trend_page_and_unit_overview(server, browser):
    live, db = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    browser_login(page, live.url, "clin", PASSWORDS["clin"])
    page.click("header nav >> text=Unit overview")
    page.wait_for_selector("table.unit")
    first = page.locator("table.unit tbody tr").first
    assert "Alma Berg" in first.inner_text()  # the patient with cramps ranks first
    first.locator("a").first.click()
    page.wait_for_selector("#trend-chart .js-plotly-plot")
    assert page.url.endswith(f"/patients/{db.p1}/trend")
    assert page.locator("#trend-chart .js-plotly-plot .subplot").count() == 5
    row = page.locator("table.trend tbody tr").first.inner_text()
    assert "(6/10)" in row and "Hypovolemia" in row
    context.close()


def test_unit_overview_on_a_phone_shows_the_recurring_cause(server, browser):
    live, db = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    browser_login(page, live.url, "clin", PASSWORDS["clin"])
    page.goto(f"{live.url}/unit")
    assert page.locator("table.unit td.recurring").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{live.url}/patients/{db.p1}/trend")
    page.wait_for_selector("#trend-chart .js-plotly-plot")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


DESKTOP = {"viewport": {"width": 1400, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
#: WCAG 2.1 AA contrast: 4.5 for text, 3 for large text (>= 24 px, or >= 18.66 px bold).
CONTRAST_JS = """
(button) => {
  const rgba = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  let el = button, bg = null;
  while (el) {
    const c = rgba(getComputedStyle(el).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) { bg = c.slice(0, 3); break; }
    el = el.parentElement;
  }
  bg = bg || [255, 255, 255];
  const style = getComputedStyle(button);
  const fg = rgba(style.color).slice(0, 3);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
  return {ratio: (a + 0.05) / (b + 0.05), large: size >= 24 || (bold && size >= 18.66),
          text: button.innerText.trim(), cls: button.className};
}
"""


def _login(browser, live, user, **context_args):
    context = browser.new_context(**context_args)
    page = context.new_page()
    browser_login(page, live.url, user, PASSWORDS[user])
    return context, page


def _twin_chart_drawn(page) -> None:
    """The twin chart has its RBV and SBP traces, and its legend overlaps no plot area."""
    page.wait_for_selector("#twin-panel .js-plotly-plot .scatterlayer .trace", timeout=30_000)
    assert page.locator("#twin-panel .js-plotly-plot .scatterlayer .trace").count() >= 2
    legend = page.locator("#twin-panel .js-plotly-plot .legend").bounding_box()
    plots = page.locator("#twin-panel .js-plotly-plot .nsewdrag")
    for i in range(plots.count()):
        plot = plots.nth(i).bounding_box()
        apart = legend["y"] >= plot["y"] + plot["height"] or legend["y"] + legend["height"] <= plot["y"]
        assert apart, (legend, plot)


def test_twin_chart_draws_on_desktop_and_phone_with_its_legend_clear_of_the_plot(server, browser):
    live, db = server
    context, page = _login(browser, live, "clin", **DESKTOP)
    page.goto(f"{live.url}/patients/{db.p1}")
    page.wait_for_selector("#twin-panel button[type=submit]")
    if page.locator("#twin-parameters").count() == 0:
        page.click("#twin-panel button[type=submit]")
        page.wait_for_selector("#twin-parameters", timeout=120_000)
    _twin_chart_drawn(page)
    context.close()
    # on a phone, and on a fresh load (the panel arrives by htmx each time), 11 h behind UTC: the session
    # of 2026-11-02 08:00 UTC is the evening of 1 November there, in the legend and the fit's date alike
    context, page = _login(browser, live, "clin", timezone_id="Pacific/Pago_Pago", **PHONE)
    page.goto(f"{live.url}/patients/{db.p1}")
    _twin_chart_drawn(page)
    legend = page.locator("#twin-panel .legendtext").evaluate_all("els => els.map(e => e.textContent)")
    assert legend == ["2026-11-01 measured"], legend
    assert "UTC" not in page.locator("#twin-panel p").first.inner_text()
    context.close()


def _check_buttons(page, where: str) -> set[str]:
    styles = set()
    for handle in page.locator("button:visible").element_handles():
        result = page.evaluate(CONTRAST_JS, handle)
        if not result["text"]:
            continue  # an icon (the chart tool bar): no text to read
        need = 3.0 if result["large"] else 4.5
        assert result["ratio"] >= need, f"{where}: button {result['text']!r} ({result['cls']}) {result}"
        styles.add(result["cls"] or "default")
    return styles


def test_every_button_style_is_readable(server, browser):
    live, db = server
    seen: set[str] = set()
    for user, path in (("adm", "/admin"), ("pat1", "/me")):
        context, page = _login(browser, live, user, **DESKTOP)
        page.goto(f"{live.url}{path}")
        seen |= _check_buttons(page, path)
        context.close()
    # the admin's "End sessions" buttons sit on the white table, the header's "Log out" on the dark bar
    assert {"default", "link", "big"} <= seen, seen
    # every button class the style sheet defines, placed where the pages put buttons: a card and a table
    context, page = _login(browser, live, "clin", **DESKTOP)
    page.goto(f"{live.url}/patients")
    classes = page.evaluate(
        """() => [...new Set([...document.styleSheets].flatMap(s => [...s.cssRules])
              .map(r => r.selectorText || '').flatMap(t => [...t.matchAll(/button\\.([\\w-]+)/g)])
              .map(m => m[1]))]"""
    )
    assert {"link", "big", "small"} <= set(classes)
    page.evaluate(
        """(classes) => {
          const card = document.createElement('section'); card.className = 'card';
          const table = document.createElement('table'); table.className = 'list';
          const row = table.insertRow().insertCell();
          for (const c of ['', ...classes]) {
            for (const host of [card, row]) {
              const b = document.createElement('button'); b.className = c; b.textContent = 'Probe ' + c;
              host.appendChild(b);
            }
          }
          document.querySelector('main').append(card, table);
        }""",
        classes,
    )
    _check_buttons(page, "probe")
    context.close()


def test_back_and_send_stores_one_report(server, browser):
    live, db = server
    context, page = _login(browser, live, "pat2", **PHONE)
    store = Store.open(url=db.url)
    try:
        before = len(store.list_reports(db.p2))
        page.goto(f"{live.url}/me")
        page.check("input[name=muscle][value='thigh']")
        page.check("input[name=severity][value='5']")
        page.click("button.big")
        page.wait_for_selector("#received")
        page.go_back()
        page.wait_for_selector("#report-form")
        page.check("input[name=muscle][value='thigh']")
        page.check("input[name=severity][value='5']")
        page.click("button.big")
        page.wait_for_selector("#received")
        assert len(store.list_reports(db.p2)) == before + 1
        # a new report from the page that confirmed the first is a second report
        page.check("input[name=severity][value='3']")
        page.click("button.big")
        page.wait_for_selector("#received")
        assert len(store.list_reports(db.p2)) == before + 2
    finally:
        store.close()
        context.close()


def test_unit_overview_on_a_phone_keeps_its_risk_column(server, browser):
    live, db = server
    context, page = _login(browser, live, "clin", **PHONE)
    page.goto(f"{live.url}/unit")
    header = page.locator("table.unit th", has_text="Assessed risk")
    assert header.is_visible()
    cell = page.locator("table.unit tbody tr").first.locator("td.risk")
    box = cell.bounding_box()
    assert cell.is_visible() and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


OVERLAPS_JS = """
(root) => {
  const boxes = (sel) => [...root.querySelectorAll(sel)].map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.width > 0 && r.height > 0);
  const hit = (a, b) =>
    a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const labels = boxes('.annotation');
  const ticks = boxes('.xtick text, .ytick text');
  const legend = boxes('.legend .bg');
  const out = [];
  for (const [a, ra] of labels) {
    for (const [t, rt] of ticks) { if (hit(ra, rt)) out.push(a.textContent + ' on tick ' + t.textContent); }
    for (const [l, rl] of legend) { if (hit(ra, rl)) out.push(a.textContent + ' under the legend'); }
  }
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const [a, b] = [labels[i], labels[j]];
      if (hit(a[1], b[1])) out.push(a[0].textContent + ' on ' + b[0].textContent);
    }
  }
  return out;
}
"""


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_chart_labels_legends_and_titles_do_not_overlap(server, browser, size):
    live, db = server
    context, page = _session_page(browser, live, db, **(DESKTOP if size == "desktop" else PHONE))
    page.fill("input[name=duration_min]", "270")
    page.click("#whatif button[type=submit]")
    page.wait_for_selector("#whatif-chart .js-plotly-plot", timeout=60_000)
    for chart in ("#timelines .js-plotly-plot", "#whatif-chart .js-plotly-plot"):
        overlaps = page.evaluate(OVERLAPS_JS, page.locator(chart).element_handle())
        assert overlaps == [], (chart, overlaps)
    # the blood pressure panel draws three lines: its title names each in its colour (the panel's legend)
    titles = page.locator("#timelines .annotation").evaluate_all("els => els.map(e => e.textContent)")
    assert any(
        t.startswith("Blood pressure (mmHg)") and all(s in t for s in ("SBP", "MAP", "DBP")) for t in titles
    )
    page.goto(f"{live.url}/patients/{db.p1}/trend")
    page.wait_for_selector("#trend-chart .js-plotly-plot")
    overlaps = page.evaluate(OVERLAPS_JS, page.locator("#trend-chart .js-plotly-plot").element_handle())
    assert overlaps == [], ("trend", overlaps)
    context.close()


def test_session_title_history_and_trend_charts_use_the_viewers_day(server, browser):
    # 11 h behind UTC, the session of 2026-11-02 08:00 UTC took place on the evening of 1 November
    live, db = server
    context, page = _login(browser, live, "clin", timezone_id="Pacific/Pago_Pago", **DESKTOP)
    page.goto(f"{live.url}/sessions/{db.s1}")
    page.wait_for_selector("h1 time[data-local]")
    assert page.title().startswith("Session 2026-11-01"), page.title()
    page.goto(f"{live.url}/patients/{db.p1}")
    page.wait_for_selector("#history-chart .js-plotly-plot")
    x = page.evaluate("() => document.querySelector('#history-chart .js-plotly-plot').data[0].x")
    assert x == ["2026-11-01 21:00:00"], x
    page.goto(f"{live.url}/patients/{db.p1}/trend")
    page.wait_for_selector("#trend-chart .js-plotly-plot")
    first_x = page.evaluate(
        "() => { const p = document.querySelector('#trend-chart .js-plotly-plot');"
        " return [p.data[0].x[0], p.layout.xaxis.range[0]]; }"
    )
    # the session, and the axis starting half a day before it
    assert first_x == ["2026-11-01 21:00:00", "2026-11-01 09:00:00"], first_x
    context.close()
