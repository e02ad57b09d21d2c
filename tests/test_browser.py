"""End-to-end in a real browser: Debian's chromium driven by Playwright against a uvicorn server."""

from __future__ import annotations

import os

import pytest
from live_server import CHROMIUM, browser_login
from test_web_helpers import PASSWORDS

pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


def _login(page, base: str, username: str) -> None:
    browser_login(page, base, username, PASSWORDS[username])


def test_clinician_reads_a_session(server, browser):
    live, db = server
    page = browser.new_page()
    problems: list[str] = []  # console errors include Content-Security-Policy violations
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    _login(page, live.url, "clin")
    assert page.url.endswith("/patients")
    page.click("text=Alma Berg")
    page.click(f"a[href='/sessions/{db.s1}']")
    page.wait_for_selector("#timelines .js-plotly-plot")
    # plotly drew the five panels (one SVG axis title each) and the cramp marker annotation
    assert page.locator("#timelines .js-plotly-plot .subplot").count() >= 5
    assert page.locator("#timelines .annotation-text", has_text="cramp").count() >= 1
    causes = page.locator("#causes ol.causes > li")
    assert causes.count() >= 5
    assert page.locator("#causes").inner_text().startswith("Why this patient cramps")
    # what-if through htmx
    page.fill("input[name=duration_min]", "300")
    page.click("#whatif button[type=submit]")
    page.wait_for_selector("#whatif-chart .js-plotly-plot", timeout=30_000)
    assert "Session time 210 → 300 min" in page.locator("#whatif-result").inner_text()
    assert problems == []
    page.close()


def test_patient_reports_and_cannot_see_others(server, browser):
    live, db = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    _login(page, live.url, "pat1")
    assert page.url.endswith("/me")
    page.check("input[name=muscle][value=foot]")
    page.check("input[name=severity][value='7']")
    page.fill("textarea[name=note]", "browser test: left foot at night")
    page.click("button.big")
    page.wait_for_selector("#received")
    assert "Received" in page.locator("#received").inner_text()
    assert "browser test: left foot at night" in page.locator("#history").inner_text()
    # another patient's page and API are forbidden
    response = page.goto(f"{live.url}/patients/{db.p2}")
    assert response.status == 403
    response = page.goto(f"{live.url}/sessions/{db.s2}")
    assert response.status == 403
    status = page.evaluate(f"fetch('/api/patients/{db.p2}').then(r => r.status)")
    assert status == 403
    own = page.evaluate("fetch('/api/reports').then(r => r.json())")
    assert [r["note"] for r in own] == ["browser test: left foot at night"]
    context.close()
