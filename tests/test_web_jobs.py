"""Heavy work as bounded jobs: one training per unit, one refit per patient, a per-process limit on
optimizer runs with 429 and Retry-After beyond it, trained models stored inactive, and pages that stay
fast while jobs run."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import LiveServer
from sqlalchemy import update
from test_web_helpers import PASSWORDS, TEST_SECRET_KEY, api_login, form_csrf, make_db, page_login

from crampwatch.store.kept import JOB_STALE_AFTER, finish_job, latest_jobs, start_job
from crampwatch.store.schema import JobRow, utcnow
from crampwatch.store.unit_models import active_unit_model

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures


def _block(app) -> threading.Event:
    """Fill this app's job capacity with jobs that wait for the returned event."""
    release = threading.Event()
    for _ in range(app.state.jobs.capacity):
        app.state.jobs.submit(release.wait, 60)
    return release


def test_optimizer_runs_beyond_the_process_limit_get_429(app, db):
    clin = TestClient(app)
    headers = api_login(clin, "clin")
    release = _block(app)
    try:
        r = clin.post(f"/api/sessions/{db.s1}/optimize", headers=headers)
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 600
        page = TestClient(app)
        page_login(page, "clin")
        token = form_csrf(page.get(f"/sessions/{db.s1}").text)
        r = page.post(f"/sessions/{db.s1}/optimize", data={"csrf_token": token})
        assert r.status_code == 429 and "busy" in r.text and r.headers["retry-after"]
        assert page.get("/patients").status_code == 200  # pages are not jobs
    finally:
        release.set()
    deadline = time.monotonic() + 60
    while app.state.jobs.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    r = clin.post(f"/api/sessions/{db.s1}/optimize", headers=headers)
    assert r.status_code == 200 and "recommendations" in r.json()


def test_one_training_per_unit_and_the_model_stays_inactive(app, db):
    admin = TestClient(app)
    page_login(admin, "adm")
    running = start_job(db.store, "train_unit_model", "unit", "someone")
    token = form_csrf(admin.get("/model").text)
    for _ in range(8):
        r = admin.post("/model/train", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "someone" in r.text
    finish_job(db.store, running.id, error="stopped by the test")
    r = admin.post("/model/train", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    deadline = time.monotonic() + 300
    while latest_jobs(db.store, "train_unit_model")[0].state == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job = latest_jobs(db.store, "train_unit_model")[0]
    assert job.state == "done" and job.result["model_id"] == 1
    assert active_unit_model(db.store) is None  # activated only by an explicit action
    assert [a.action for a in db.store.list_audit(limit=50)].count("train_unit_model") == 1


def test_one_refit_per_patient(app, db):
    clin = TestClient(app)
    headers = api_login(clin, "clin")
    running = start_job(db.store, "refit_twin", db.p1, "clin")
    r = clin.post(f"/api/patients/{db.p1}/twin", headers=headers)
    assert r.status_code == 429 and r.headers["retry-after"]
    assert clin.post(f"/api/patients/{db.p2}/twin", headers=headers).status_code in (200, 422)
    finish_job(db.store, running.id)
    assert clin.post(f"/api/patients/{db.p1}/twin", headers=headers).status_code == 200


def test_a_job_whose_process_died_does_not_block_forever(db):
    first = start_job(db.store, "refit_twin", db.p1, "clin")
    assert start_job(db.store, "refit_twin", db.p1, "clin") is None
    with db.store._write() as s:
        s.execute(
            update(JobRow)
            .where(JobRow.id == first.id)
            .values(heartbeat_at=utcnow() - JOB_STALE_AFTER - timedelta(seconds=1))
        )
    assert latest_jobs(db.store, "refit_twin", db.p1)[0].state == "failed"
    assert start_job(db.store, "refit_twin", db.p1, "clin") is not None


#: Concurrent clients asking for heavy work during the measurement, as in the security review.
CONCURRENT_JOBS = 8
#: Page requests measured idle and busy.
SAMPLES = 15
#: A page may take at most this many times its idle median while the jobs run (median over SAMPLES). The
#: review measured 8 ms -> 1 858 ms (x230) with 12 unbounded optimizer runs; modelling choice with room
#: for a loaded 2-core test machine.
MAX_SLOWDOWN = 8.0


def _median_latency(client: httpx.Client, path: str) -> float:
    times = []
    for _ in range(SAMPLES):
        t0 = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@pytest.mark.slow  # a live server under 8 concurrent optimizer clients
def test_pages_stay_fast_while_eight_jobs_are_asked_for(tmp_path):
    db = make_db(tmp_path)
    db.store.close()
    with LiveServer(db.url, secret_key=TEST_SECRET_KEY) as live:
        login = httpx.post(live.url + "/api/login", json={"username": "clin", "password": PASSWORDS["clin"]})
        cookies, headers = dict(login.cookies), {"X-CSRF-Token": login.json()["csrf_token"]}
        page = httpx.Client(base_url=live.url, cookies=cookies, timeout=300)
        # compiled kernels loaded and the page's caches filled before anything is measured
        assert page.post(f"/api/sessions/{db.s1}/optimize", headers=headers).status_code == 200
        page.get("/unit")
        idle = _median_latency(page, "/unit")
        stop = threading.Event()
        outcomes: list[int] = []

        def ask_for_jobs() -> None:
            with httpx.Client(base_url=live.url, cookies=cookies, timeout=300) as c:
                while not stop.is_set():
                    r = c.post(f"/api/sessions/{db.s1}/optimize", headers=headers)
                    outcomes.append(r.status_code)
                    if r.status_code == 429:
                        stop.wait(min(1.0, float(r.headers["retry-after"])))

        threads = [threading.Thread(target=ask_for_jobs) for _ in range(CONCURRENT_JOBS)]
        for t in threads:
            t.start()
        try:
            time.sleep(2.0)  # the jobs are running and queued
            busy = _median_latency(page, "/unit")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=300)
        page.close()
    print(f"idle {idle * 1000:.1f} ms, busy {busy * 1000:.1f} ms, outcomes {sorted(set(outcomes))}")
    assert 429 in outcomes and 200 in outcomes
    assert busy <= MAX_SLOWDOWN * idle, (idle, busy)


def test_the_job_queue_survives_an_application_restart():
    from crampwatch.web.jobs import JobRunner

    jobs = JobRunner(threads=1, max_waiting=1)
    release = threading.Event()
    jobs.submit(release.wait, 60)
    waiting = jobs.submit(lambda: "never")
    jobs.shutdown()  # the waiting job is dropped and no longer counted
    assert waiting.cancelled() and jobs.in_flight == 1
    release.set()
    assert jobs.submit(lambda: "again").result(timeout=60) == "again"
    deadline = time.monotonic() + 60
    while jobs.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert jobs.in_flight == 0
