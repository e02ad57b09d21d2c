"""Fixtures shared by the browser test modules: a live uvicorn server on a fresh database and Debian's
chromium driven by Playwright (each module gets its own, as ``scope="module"`` says)."""

from __future__ import annotations

import pytest
from test_web_helpers import LiveServer, make_db


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """(live server, its database) for the requesting module."""
    db = make_db(tmp_path_factory.mktemp(request.module.__name__.replace("test_", "")))
    db.store.close()
    live = LiveServer(db.url).start()
    yield live, db
    live.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, through Playwright (the module is skipped without Playwright)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from live_server import launch_chromium

    with sync_api.sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()
