"""Take the screenshots in docs/screenshots/ with Playwright and Debian's chromium.

Builds a demo database in a temporary directory, serves it with uvicorn on a free loopback port and
captures: login, unit overview, patient list, patient page, trend page, session page (with a what-if run
and the optimizer's suggestions), the session page on a phone, patient phone page.
``--url`` uses an already running demo server instead (credentials as printed by ``crampwatch demo``).

    python3 scripts/screenshots.py [--out docs/screenshots] [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crampwatch.demo import build_demo  # noqa: E402
from crampwatch.store import Store  # noqa: E402
from tests.live_server import LiveServer, browser_login, launch_chromium  # noqa: E402


def _serve_demo(tmp: Path, patients: int) -> LiveServer:
    url = f"sqlite:///{tmp / 'demo.db'}"
    store = Store.open(url=url)
    build_demo(store, n_patients=patients)
    store.close()
    return LiveServer(url).start()


def _login(page: Page, base: str, username: str, password: str) -> None:
    browser_login(page, base, username, password, wait_until="networkidle")


def capture(base: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        desktop = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
        page = desktop.new_page()
        page.goto(base + "/login")
        page.fill("input[name=username]", "clinician")
        page.screenshot(path=out / "login.png")
        shots.append(out / "login.png")
        _login(page, base, "clinician", "demo-clinician")
        page.screenshot(path=out / "patients.png", full_page=True)
        shots.append(out / "patients.png")
        page.goto(base + "/unit")
        page.screenshot(path=out / "unit.png", full_page=True)
        shots.append(out / "unit.png")
        # the unit overview ranks the patient with the highest recent cramp burden first
        page.locator("table.unit tbody tr").first.locator("a").first.click()
        page.wait_for_selector("#trend-chart .js-plotly-plot")
        page.screenshot(path=out / "trend.png", full_page=True)
        shots.append(out / "trend.png")
        page.click(".crumbs a >> nth=1")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=out / "patient.png", full_page=True)
        shots.append(out / "patient.png")
        cramp_row = page.locator("table.list tbody tr", has=page.locator(".badge.red")).first
        cramp_row.locator("a").first.click()
        page.wait_for_selector(".js-plotly-plot")
        session_url = page.url
        page.screenshot(path=out / "session.png", full_page=False)
        shots.append(out / "session.png")
        page.click("#optimize button[type=submit]")
        page.wait_for_selector("#optimize-result ol, #optimize-result .error", timeout=60_000)
        suggestion = page.locator("button[data-whatif]").first
        if suggestion.count():
            suggestion.click()  # fills the what-if form with the suggestion and runs it
        else:
            page.fill("input[name=duration_min]", "270")
            page.click("#whatif button[type=submit]")
        page.wait_for_selector("#whatif-chart .js-plotly-plot", timeout=30_000)
        page.locator("#whatif").scroll_into_view_if_needed()
        page.screenshot(path=out / "session_whatif.png", full_page=True)
        shots.append(out / "session_whatif.png")
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        mobile = phone.new_page()
        _login(mobile, base, "clinician", "demo-clinician")
        mobile.goto(session_url)
        mobile.wait_for_selector(".js-plotly-plot")
        mobile.screenshot(path=out / "session_phone.png", full_page=False)
        shots.append(out / "session_phone.png")
        phone.clear_cookies()
        _login(mobile, base, "patient1", "demo-patient1")
        mobile.check("input[name=muscle][value=calf]")
        mobile.check("input[name=severity][value='6']")
        mobile.fill("textarea[name=note]", "Right calf, started an hour after the session")
        mobile.click("button.big")
        mobile.wait_for_selector("#received")
        mobile.screenshot(path=out / "patient_phone.png", full_page=True)
        shots.append(out / "patient_phone.png")
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--url", help="an already running demo server")
    parser.add_argument("--patients", type=int, default=8)
    args = parser.parse_args()
    server = None
    with tempfile.TemporaryDirectory(prefix="crampwatch-shots-") as tmp:
        try:
            base = args.url
            if base is None:
                server = _serve_demo(Path(tmp), args.patients)
                base = server.url
            for path in capture(base.rstrip("/"), args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
