"""Clinician view in a real browser: what-if safety, optimizer suggestions, phone layout, time zones."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from live_server import CHROMIUM, browser_login
from test_web_helpers import PASSWORDS

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
    assert "dialysate_na_mmol_l" in alert.inner_text()
    assert page.locator("#whatif-chart").count() == 0
    context.close()


def test_show_in_whatif_fills_the_form_with_the_suggestion(server, browser):
    pytest.importorskip("crampwatch.optimizer")
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
