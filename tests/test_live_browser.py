"""The chairside view in a real browser: machine messages over MLLP move a tile live (server-sent events),
the alert fires, a nurse acknowledges it in two taps, and the audit row is written."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hl7.client import MLLPClient
from live_fixtures import oru
from live_server import CHROMIUM, browser_login, free_port
from test_web_helpers import LiveServer, make_db

from crampwatch.store import Store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def chairside(tmp_path_factory):
    """(server, MLLP port, database) with a nurse account; the server's engine is the stand-in."""
    db = make_db(tmp_path_factory.mktemp("chairside"))
    db.store.add_user("nurse", "nurse-pass-123", "nurse")
    db.store.close()
    mllp_port = free_port()
    env = {
        "CRAMPWATCH_MLLP_PORT": str(mllp_port),
        "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    server = LiveServer(db.url)
    server.factory, server.extra_env = "live_app:app", env
    server.start()
    yield server, mllp_port, db
    server.stop()


def send(port: int, *messages: str) -> list[bytes]:
    with MLLPClient("127.0.0.1", port) as client:
        return [client.send_message(m) for m in messages]


def test_tile_updates_alert_fires_and_is_acknowledged(chairside, browser):
    server, mllp_port, db = chairside
    page = browser.new_page(viewport={"width": 1024, "height": 768})  # a tablet
    browser_login(page, server.url, "nurse", "nurse-pass-123")
    page.goto(server.url + "/chairs")
    page.wait_for_selector('#stream-state[data-state="live"]')
    assert page.is_visible("#no-chairs")

    send(mllp_port, oru("B1", db.p1, 0, {"rbv_pct": 99.0, "sbp_mmhg": 132, "dbp_mmhg": 78}))
    tile = page.locator(".chair").first
    tile.wait_for()  # the measured values come first, then the engine's update
    assert "Alma Berg" in tile.inner_text() and "No warning" in tile.inner_text()
    assert tile.locator('[data-field="bp"]').inner_text() == "132/78.0"
    page.wait_for_selector('.chair:not([data-seq=""])')

    send(mllp_port, oru("B2", db.p1, 5, {"rbv_pct": 94.0}))
    page.wait_for_selector('.chair [data-field="t_min"]:has-text("5.00 min")')
    page.wait_for_selector(".chair.level-watch")
    assert tile.locator('[data-field="rbv"]').inner_text() == "94.0"

    send(mllp_port, oru("B3", db.p1, 10, {"rbv_pct": 88.0}))
    page.wait_for_selector(".chair.level-alert")
    assert "ALERT" in tile.inner_text() and "60 %" in tile.inner_text()
    assert "Lower the UF rate" in tile.inner_text()

    tile.locator(".ack-open").click()  # first tap
    tile.locator('.ack-reason[data-reason="Seen, acting on it"]').click()  # second tap
    page.wait_for_selector(".chair.level-watch")
    store = Store.open(db.url)
    try:
        (entry,) = [a for a in store.list_audit(100) if a.action == "live_alert_acknowledged"]
        assert (
            entry.username == "nurse" and entry.patient_id == db.p1 and "Seen, acting on it" in entry.detail
        )
        (live,) = store.open_live_sessions()
        assert [m.kind for m in store.live_messages(live.id)][-1] == "acknowledgement"
    finally:
        store.close()

    # the running session's live timeline has every update so far
    page.goto(server.url + f"/chairs/{live.id}")
    assert page.locator("#timeline tbody tr").count() == 4, page.content()[:3000]
    page.close()


def test_phone_layout_shows_one_tile_per_row_and_session_end_removes_it(chairside, browser):
    server, mllp_port, db = chairside
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    browser_login(page, server.url, "nurse", "nurse-pass-123")
    send(mllp_port, oru("C1", db.p2, 0, {"rbv_pct": 99.5}))
    page.goto(server.url + "/chairs")
    page.wait_for_selector('#stream-state[data-state="live"]')
    tiles = page.locator(".chair")
    assert tiles.count() >= 1
    box = tiles.first.bounding_box()
    assert box["width"] <= 390 and box["x"] >= 0
    before = tiles.count()
    send(mllp_port, oru("C2", db.p2, 1, {"rbv_pct": 99.0}, end=True))
    deadline = time.monotonic() + 30  # (no wait_for_function: the page's CSP forbids evaluating strings)
    while tiles.count() != before - 1 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert tiles.count() == before - 1
    context.close()
