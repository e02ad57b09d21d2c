"""The clinician's session page is rendered once per version of what it shows: the same page for every
clinician (with their own name and CSRF token), a new one when the session's events, its assessment,
the patient's twin or the active unit model change."""

from __future__ import annotations

import gzip

import pandas as pd
from fastapi.testclient import TestClient
from test_web_helpers import api_login, view_concurrently

from crampwatch.web import session_cache

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures


def _clinician(app, name: str = "clin", password: str | None = None) -> tuple[TestClient, str]:
    client = TestClient(app)
    token = api_login(client, name, password)["X-CSRF-Token"]
    return client, token


def test_one_rendering_serves_every_clinician_with_their_own_token(app, db, monkeypatch):
    db.store.add_user("dr.second", "second-clinician-pass", "clinician")
    first, token1 = _clinician(app)
    second, token2 = _clinician(app, "dr.second", "second-clinician-pass")
    cache = app.state.session_pages
    page1 = first.get(f"/sessions/{db.s1}").text  # assesses and stores: not cached yet
    page1 = first.get(f"/sessions/{db.s1}").text
    page2 = second.get(f"/sessions/{db.s1}").text
    assert len(cache) == 1 and cache.hits >= 1
    assert token1 in page1 and token2 not in page1 and token2 in page2 and token1 not in page2
    assert ">clin (clinician)<" in page1 and ">dr.second (clinician)<" in page2
    assert session_cache.CSRF_PLACEHOLDER not in page1 + page2
    assert session_cache.USER_PLACEHOLDER not in page1 + page2
    # the cached page is the page the ordinary rendering gives
    monkeypatch.setattr(session_cache, "page_key", lambda *args: None)
    assert first.get(f"/sessions/{db.s1}").text == page1


def test_a_change_to_what_the_page_shows_renders_it_anew(app, db):
    client, token = _clinician(app)
    cache = app.state.session_pages
    client.get(f"/sessions/{db.s1}")
    before = client.get(f"/sessions/{db.s1}").text
    misses = cache.misses
    events = pd.DataFrame({"t_min": [200.0], "kind": ["cramp"], "severity": [3.0], "note": ["second cramp"]})
    db.store.add_events(db.s1, events)
    after = client.get(f"/sessions/{db.s1}").text
    assert cache.misses > misses and after != before
    misses = cache.misses
    r = client.post(f"/api/patients/{db.p1}/twin", headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    client.get(f"/sessions/{db.s1}")  # the assessment is redone with the twin (stored, new id)
    with_twin = client.get(f"/sessions/{db.s1}").text
    assert cache.misses > misses and with_twin != after
    assert client.get(f"/sessions/{db.s1}").text == with_twin


def _views(db) -> int:
    return sum(1 for a in db.store.list_audit(1000) if a.action == "view_session" and a.patient_id == db.p1)


def test_every_view_of_a_cached_page_is_checked_and_audited(app, db):
    client, _ = _clinician(app)
    cache = app.state.session_pages
    client.get(f"/sessions/{db.s1}")
    client.get(f"/sessions/{db.s1}")
    hits, views = cache.hits, _views(db)
    assert client.get(f"/sessions/{db.s1}").status_code == 200
    assert cache.hits == hits + 1 and _views(db) == views + 1
    for name in ("adm", "pat2"):  # no access to this patient: refused although the page is cached
        other = TestClient(app)
        api_login(other, name)
        assert other.get(f"/sessions/{db.s1}").status_code == 403
    assert _views(db) == views + 1


def test_a_changed_patient_record_renders_the_page_anew(app, db):
    client, _ = _clinician(app)
    cache = app.state.session_pages
    client.get(f"/sessions/{db.s1}")
    version = db.store.session_view_version(db.s1)
    before = client.get(f"/sessions/{db.s1}").text
    assert db.store.session_view_version(db.s1) == version  # viewing changes nothing the page shows
    misses = cache.misses
    record = db.store.get_patient(db.p1)
    db.store.update_patient(record.patient, name="Alma Berg-Lind")
    assert db.store.session_view_version(db.s1) != version
    after = client.get(f"/sessions/{db.s1}").text
    assert cache.misses == misses + 1 and "Alma Berg-Lind" in after and "Alma Berg-Lind" not in before
    assert db.store.session_view_version("no-such-session") is None


def test_a_cached_page_is_the_same_compressed_or_not(app, db):
    client, token = _clinician(app)
    client.get(f"/sessions/{db.s1}")
    client.get(f"/sessions/{db.s1}")
    packed = client.get(f"/sessions/{db.s1}", headers={"Accept-Encoding": "gzip"})
    plain = client.get(f"/sessions/{db.s1}", headers={"Accept-Encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert packed.text == plain.text and token in plain.text  # httpx decompresses the gzip answer
    user, csrf = session_cache.USER_PLACEHOLDER, session_cache.CSRF_PLACEHOLDER
    page = session_cache.split_page(f"<p>{user}</p>{csrf}")
    body = session_cache.personalized_gzip(page, username="dr. <b>", csrf="tok")
    assert gzip.decompress(body).decode() == "<p>dr. &lt;b&gt;</p>tok"


def test_concurrent_views_are_each_audited_before_they_are_answered(app, db):
    """Views from many threads share audit transactions; each answered view has its committed entry."""
    clients = [_clinician(app)[0] for _ in range(6)]
    views = _views(db) + 2  # with the two warm-up views
    assert view_concurrently(clients, f"/sessions/{db.s1}") == [200] * 30
    assert _views(db) == views + 30
