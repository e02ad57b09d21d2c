"""Shared builders for the web tests (no tests here): a small database, logins, a live uvicorn server.

Test modules that name this module in ``pytest_plugins`` get the ``db`` and ``app`` fixtures.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import live_server
import numpy as np
import pandas as pd
import pytest

from crampwatch.model import load_scenario
from crampwatch.store import Store
from crampwatch.trace import Trace
from crampwatch.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"
PASSWORDS = {
    "clin": "clinician-pass-1",
    "pat1": "patient-pass-1",
    "pat2": "patient-pass-2",
    "adm": "admin-pass-123",
}


@dataclass
class Db:
    store: Store
    url: str
    p1: str
    p2: str
    s1: str
    s2: str


def recorded_trace(duration_min: float = 240.0, cramp_at: float | None = 150.0) -> Trace:
    """A plausible recorded session (falling RBV and BP, stable Na) with an optional cramp event."""
    t = np.arange(0.0, duration_min + 1, 5.0)
    frac = t / duration_min
    data = pd.DataFrame(
        {
            "t_min": t,
            "rbv_pct": 100 - 12 * frac,
            "sbp_mmhg": 145 - 30 * frac,
            "dbp_mmhg": 80 - 12 * frac,
            "map_mmhg": 102 - 18 * frac,
            "hr_bpm": 72 + 12 * frac,
            "plasma_na_mmol_l": 136 + 2 * frac,
            "osm_mosm_kg": 302 - 14 * frac,
            "ica_mmol_l": 1.08 + 0.1 * frac,
            "uf_cum_l": 3.5 * frac,
        }
    )
    events = (
        pd.DataFrame({"t_min": [cramp_at], "kind": ["cramp"], "severity": [6.0], "note": ["calf"]})
        if cramp_at is not None
        else pd.DataFrame(columns=["t_min", "kind", "severity", "note"])
    )
    return Trace(data, events, {c: "measured" for c in data.columns if c != "t_min"})


_TEMPLATE: dict[str, object] = {}


def make_db(tmp_path: Path) -> Db:
    """A fresh copy of a small database (built once per test process: argon2 hashing is slow on purpose)."""
    if "ids" not in _TEMPLATE:
        template_dir = Path(tempfile.mkdtemp(prefix="crampwatch-web-test-"))
        atexit.register(shutil.rmtree, template_dir, True)
        store = _build_db(f"sqlite:///{template_dir / 'web.db'}")
        _TEMPLATE["ids"] = (store.p1, store.p2, store.s1, store.s2)
        _TEMPLATE["path"] = template_dir / "web.db"
        store.store.close()
    shutil.copy(_TEMPLATE["path"], tmp_path / "web.db")
    url = f"sqlite:///{tmp_path / 'web.db'}"
    return Db(Store.open(url=url), url, *_TEMPLATE["ids"])


@pytest.fixture()
def db(tmp_path: Path) -> Db:
    """A fresh copy of the small web-test database."""
    return make_db(tmp_path)


@pytest.fixture()
def app(db: Db):
    """The web application on ``db`` with a fixed session key."""
    return create_app(db.store, secret_key="k" * 32)


def _build_db(url: str) -> Db:
    """Two patients with one recorded session each, and one user per role (plus a 2nd patient user)."""
    store = Store.open(url=url)
    a = load_scenario(EXAMPLES / "high_uf.yaml")
    b = load_scenario(EXAMPLES / "stable.yaml")
    p1 = store.add_patient(a.patient, name="Alma Berg")
    p2 = store.add_patient(b.patient, name="Bruno Costa")
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    s1 = store.add_session(
        p1,
        a.prescription,
        recorded_trace(a.prescription.duration_min),
        started_at=start,
        pre_weight_kg=a.patient.pre_weight_kg,
        post_weight_kg=a.post_weight_kg,
    )
    s2 = store.add_session(
        p2,
        b.prescription,
        recorded_trace(b.prescription.duration_min, None),
        started_at=start + timedelta(hours=2),
        pre_weight_kg=b.patient.pre_weight_kg,
    )
    store.add_user("clin", PASSWORDS["clin"], "clinician")
    store.add_user("pat1", PASSWORDS["pat1"], "patient", patient_id=p1)
    store.add_user("pat2", PASSWORDS["pat2"], "patient", patient_id=p2)
    store.add_user("adm", PASSWORDS["adm"], "admin")
    return Db(store, url, p1, p2, s1, s2)


def form_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def page_login(client, username: str, password: str | None = None):
    """Log in through the HTML form (with its CSRF token); returns the response (not followed)."""
    token = form_csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password or PASSWORDS[username], "csrf_token": token},
        follow_redirects=False,
    )


def patient_report_form(client, **fields: str) -> dict[str, str]:
    """Log in as ``pat1``; a cramp report form from the /me page (calf, a new key) with ``fields``."""
    page_login(client, "pat1")
    me = client.get("/me").text
    return {"csrf_token": form_csrf(me), "idempotency_key": uuid.uuid4().hex, "muscle": "calf", **fields}


def api_login(client, username: str, password: str | None = None) -> dict[str, str]:
    """Log in through the API; returns the headers (CSRF) for unsafe requests."""
    r = client.post("/api/login", json={"username": username, "password": password or PASSWORDS[username]})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


class LiveServer(live_server.LiveServer):
    """A live server with a fixed session key (so logins survive a restart)."""

    def __init__(self, database_url: str, secret_key: str = TEST_SECRET_KEY, port: int | None = None) -> None:
        super().__init__(database_url, secret_key=secret_key, port=port)


def view_concurrently(clients, path: str, views_each: int = 5) -> list[int]:
    """Each client views ``path`` ``views_each`` times, one thread per client, after two warm-up views (the
    page is cached from the second); the status codes answered."""
    from tests.store_fixtures import run_in_threads

    clients[0].get(path)
    clients[0].get(path)
    answers: list[int] = []

    def view(client) -> None:
        for _ in range(views_each):
            answers.append(client.get(path).status_code)

    assert run_in_threads(view, [(c,) for c in clients]) == []
    return answers
