"""The Store on SQLite and PostgreSQL: round trips, validation, atomicity, idempotency, concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text

from crampwatch.errors import InputError
from crampwatch.model import Event, Labs
from crampwatch.store import DEFAULT_DATABASE_URL, Store, codec, resolve_url, security
from crampwatch.store import sessions as store_sessions
from crampwatch.store.cache import LRUCache
from crampwatch.store.migrate import current_revision, downgrade, head_revision, upgrade
from crampwatch.store.schema import Base, SessionRow, UserRow
from crampwatch.trace import SIGNALS, Trace
from tests import store_fixtures
from tests.store_fixtures import (
    at,
    make_patient,
    make_prescription,
    make_trace,
    run_in_threads,
    use_cheap_argon2,
)

database_url = store_fixtures.database_url
store = store_fixtures.store


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_argon2(monkeypatch)


# ------------------------------------------------------------------------------------------- migrations


def test_upgrade_head_matches_metadata(database_url: str) -> None:
    s = Store.open(database_url)
    try:
        with s.engine.connect() as conn:
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diffs == []
        assert current_revision(s.engine) == head_revision() == "0004"
    finally:
        s.close()
    # Opening again is a no-op migration and keeps the data.
    s2 = Store.open(database_url)
    try:
        s2.add_patient(make_patient())
    finally:
        s2.close()
    s3 = Store.open(database_url)
    try:
        assert [p.id for p in s3.list_patients()] == ["P001"]
    finally:
        s3.close()


def test_concurrent_first_open_migrates_once(database_url: str) -> None:
    """Several server processes starting on an empty database at once: one migrates, none fails."""
    stores: list[Store] = []
    barrier = threading.Barrier(4)

    def open_store() -> None:
        barrier.wait()
        stores.append(Store.open(database_url))

    errors = run_in_threads(open_store, [()] * 4)
    try:
        assert errors == []
        assert all(current_revision(st.engine) == head_revision() for st in stores)
    finally:
        for st in stores:
            st.close()


def test_downgrade_base_then_upgrade(database_url: str) -> None:
    s = Store.open(database_url)
    try:
        s.add_patient(make_patient())
        downgrade(s.engine, "base")
        assert current_revision(s.engine) is None
        assert set(inspect(s.engine).get_table_names()) <= {"alembic_version"}
        upgrade(s.engine)
        assert current_revision(s.engine) == head_revision()
        assert s.list_patients() == []
    finally:
        s.close()


def test_newer_schema_is_refused(database_url: str) -> None:
    s = Store.open(database_url)
    try:
        with s.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        s.close()
    with pytest.raises(RuntimeError, match="newer than this crampwatch"):
        Store.open(database_url)


def test_metadata_diff_is_detected(database_url: str) -> None:
    """The comparison above can fail: a column missing from the database is reported."""
    s = Store.open(database_url)
    try:
        with s.engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_audit_log_at"))
        with s.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert any(d[0] == "add_index" for d in diffs)
    finally:
        s.close()


# --------------------------------------------------------------------------------------------- patients


def test_patient_round_trip_and_validation(store: Store) -> None:
    p = make_patient("P001")
    assert store.add_patient(p, name="Ada Lovelace") == "P001"
    rec = store.get_patient("P001")
    assert rec is not None and rec.name == "Ada Lovelace"
    assert rec.patient == p
    assert rec.created_at.tzinfo is not None
    assert store.get_patient("nope") is None
    with pytest.raises(InputError, match="patient.id"):
        store.add_patient(make_patient("P001"))
    with pytest.raises(InputError, match="pre_weight_kg"):
        store.add_patient(
            {
                "id": "P9",
                "sex": "male",
                "age_years": 50,
                "height_cm": 170,
                "pre_weight_kg": 5,
                "dry_weight_kg": 70,
            }
        )
    store.update_patient_summary("P001", "hypovolemia")
    assert store.get_patient("P001").recurring_cause == "hypovolemia"
    store.update_patient_summary("P001", None)
    assert store.list_patients()[0].recurring_cause is None
    with pytest.raises(InputError, match="patient_id"):
        store.update_patient_summary("ghost", "osmotic")
    store.update_patient(make_patient("P001", age_years=59), name="A. L.")
    rec = store.get_patient("P001")
    assert rec.patient.age_years == 59 and rec.name == "A. L."


# --------------------------------------------------------------------------------------------- sessions


def test_session_round_trip(store: Store) -> None:
    store.add_patient(make_patient())
    trace = make_trace()
    labs = Labs(na_mmol_l=135, k_mmol_l=5.4)
    started = datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    sid = store.add_session(
        "P001",
        make_prescription(uf_profile="linear_decreasing"),
        trace,
        started_at=started,
        session_id="S1",
        pre_weight_kg=70.2,
        post_weight_kg=67.9,
        labs=labs,
    )
    assert sid == "S1"
    rec = store.get_session("S1")
    assert rec is not None
    assert rec.patient_id == "P001"
    assert rec.started_at == started and rec.started_at.tzinfo == UTC
    assert rec.prescription == make_prescription(uf_profile="linear_decreasing")
    assert rec.labs == labs
    assert (rec.pre_weight_kg, rec.post_weight_kg) == (70.2, 67.9)
    pd.testing.assert_frame_equal(rec.trace.data, trace.data)
    assert list(rec.trace.events["kind"]) == ["cramp", "saline_bolus"]
    assert rec.trace.events["severity"].iloc[0] == 7.0 and np.isnan(rec.trace.events["severity"].iloc[1])
    assert rec.trace.sources == trace.sources
    assert rec.trace.session_id == "S1"
    assert rec.trace.cramp_times().tolist() == [150.0]
    assert rec.assessment is None
    assert store.get_session("missing") is None
    # A generated id is unique.
    other = store.add_session("P001", make_prescription(), make_trace(cramp_at=None), started_at=at(8))
    assert other != "S1" and store.get_session(other) is not None


def test_decoded_trace_is_cached_and_each_caller_gets_a_copy(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_patient(make_patient())
    trace = make_trace()
    store.add_session("P001", make_prescription(), trace, started_at=at(8), session_id="S1")
    decoded: list[bytes] = []
    real = codec.parquet_to_frame
    monkeypatch.setattr(codec, "parquet_to_frame", lambda blob: decoded.append(blob) or real(blob))
    first = store.get_session("S1")
    first.trace.data.loc[0, "sbp_mmhg"] = -1.0  # a caller changing its copy
    first.trace.sources["sbp_mmhg"] = "simulated"
    second = store.get_session("S1")
    assert len(decoded) == 1  # Parquet decoded once
    pd.testing.assert_frame_equal(second.trace.data, trace.data)
    assert second.trace.sources == trace.sources and second.trace.session_id == "S1"
    # events and assessments are read on every call: never stale
    store.add_events("S1", [Event(t_min=200, kind="cramp", severity=3)])
    store.save_assessment("S1", {"overall_risk": 0.3, "causes": []}, "v2")
    third = store.get_session("S1")
    assert third.trace.cramp_times().tolist() == [150.0, 200.0] and third.assessment_model_version == "v2"
    assert second.trace.cramp_times().tolist() == [150.0]
    assert len(decoded) == 1


def test_lru_cache_keeps_the_most_recently_used() -> None:
    cache: LRUCache[int] = LRUCache(2)
    calls: list[str] = []

    def make(key: str) -> int:
        calls.append(key)
        return len(calls)

    assert [cache.get_or_create(k, lambda k=k: make(k)) for k in ("a", "b", "a", "c", "b", "a")] == [
        1,
        2,
        1,
        3,
        4,
        5,
    ]
    assert calls == ["a", "b", "c", "b", "a"] and len(cache) == 2
    assert (cache.hits, cache.misses) == (1, 5)
    off: LRUCache[int] = LRUCache(0)
    assert [off.get_or_create("a", lambda: make("a")) for _ in range(2)] == [6, 7] and len(off) == 0
    with pytest.raises(ValueError):
        LRUCache(-1)


def test_naive_datetime_is_utc(store: Store) -> None:
    store.add_patient(make_patient())
    store.add_session(
        "P001", make_prescription(), make_trace(), started_at=datetime(2026, 1, 5, 7, 0), session_id="S"
    )
    assert store.get_session("S").started_at == datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def test_session_validation(store: Store) -> None:
    store.add_patient(make_patient())
    trace, rx = make_trace(), make_prescription()
    with pytest.raises(InputError, match="patient_id"):
        store.add_session("ghost", rx, trace, started_at=at(8))
    store.add_session("P001", rx, trace, started_at=at(8), session_id="S1")
    with pytest.raises(InputError, match="session_id"):
        store.add_session("P001", rx, trace, started_at=at(9), session_id="S1")
    with pytest.raises(InputError, match="pre_weight_kg"):
        store.add_session("P001", rx, trace, started_at=at(9), pre_weight_kg=0)
    with pytest.raises(InputError, match="started_at"):
        store.add_session("P001", rx, trace, started_at="yesterday")  # type: ignore[arg-type]
    bad_events = trace.with_events(
        pd.DataFrame({"t_min": [10.0], "kind": ["sneeze"], "severity": [1.0], "note": [""]})
    )
    with pytest.raises(InputError, match="kind"):
        store.add_session("P001", rx, bad_events, started_at=at(9))
    bad_source = Trace(trace.data, trace.events, {"sbp_mmhg": "guessed"})
    with pytest.raises(InputError, match="trace.sources.sbp_mmhg"):
        store.add_session("P001", rx, bad_source, started_at=at(9))
    numbered = trace.data.copy()
    numbered[0] = 1.0
    with pytest.raises(InputError, match="unique text"):
        store.add_session("P001", rx, Trace(numbered, trace.events, {}), started_at=at(9))
    bad_time = Trace(trace.data.assign(t_min=trace.data["t_min"] - 10), trace.events, {})
    with pytest.raises(InputError, match="t_min"):
        store.add_session("P001", rx, bad_time, started_at=at(9))
    assert [s.id for s in store.list_sessions("P001")] == ["S1"]


def test_add_session_failure_midway_leaves_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_patient(make_patient())
    calls = []

    def explode(session, session_id, events):
        assert session.get(SessionRow, session_id) is not None  # the session row is written, not committed
        calls.append(session_id)
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_sessions, "_insert_events", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        store.add_session("P001", make_prescription(), make_trace(), started_at=at(8), session_id="S-half")
    assert calls == ["S-half"]
    monkeypatch.undo()
    assert store.get_session("S-half") is None
    assert store.list_sessions("P001") == []
    assert store.list_patients()[0].n_sessions == 0
    # The same id can be used afterwards: nothing was left behind.
    assert store.add_session("P001", make_prescription(), make_trace(), started_at=at(8), session_id="S-half")


def test_events_and_assessments(store: Store) -> None:
    store.add_patient(make_patient())
    store.add_session(
        "P001", make_prescription(), make_trace(cramp_at=None), started_at=at(8), session_id="S1"
    )
    store.add_session(
        "P001", make_prescription(), make_trace(cramp_at=None), started_at=at(8, day=4), session_id="S2"
    )
    summaries = store.list_sessions("P001")
    assert [s.had_cramp for s in summaries] == [False, False]
    store.add_events("S2", [Event(t_min=200, kind="cramp", severity=4), {"t_min": 30, "kind": "uf_stopped"}])
    with pytest.raises(InputError, match=r"events\[1\]"):
        store.add_events("S2", [Event(t_min=1, kind="other"), {"t_min": -3, "kind": "cramp"}])
    with pytest.raises(InputError, match="session_id"):
        store.add_events("S9", [Event(t_min=1, kind="other")])
    frame = pd.DataFrame(
        {"t_min": [5.0, 6.0], "kind": ["other", "bogus"], "severity": [1.0, 2.0], "note": ["", ""]}
    )
    with pytest.raises(InputError, match=r"events\[1\]\.kind"):
        store.add_events("S2", frame)
    store.add_events("S2", frame.iloc[:1])
    events = store.get_session("S2").trace.events
    assert events["t_min"].tolist() == [
        5.0,
        30.0,
        160.0,
        200.0,
    ]  # sorted, the rejected batch left out entirely
    summaries = store.list_sessions("P001")
    assert [(s.id, s.had_cramp) for s in summaries] == [("S1", False), ("S2", True)]

    assessment = {
        "session_id": "S2",
        "overall_risk": np.float64(0.62),
        "causes": [
            {"cause": "hypovolemia", "score": 0.7, "evidence": [{"value": float("nan")}]},
            {"cause": "osmotic", "score": 0.3},
        ],
        "metrics": {"uf_rate_ml_kg_h": np.float32(14.2), "sp_ktv": float("inf")},
    }
    store.save_assessment("S2", assessment, "1.0")
    rec = store.get_session("S2")
    assert rec.assessment["causes"][0]["evidence"][0]["value"] is None
    assert rec.assessment["metrics"]["sp_ktv"] is None
    assert rec.assessment["metrics"]["uf_rate_ml_kg_h"] == pytest.approx(14.2, rel=1e-6)
    assert rec.assessment_model_version == "1.0"
    store.save_assessment("S2", {"overall_risk": 0.2, "causes": [{"cause": "osmotic", "score": 0.4}]}, "1.1")
    s2 = store.list_sessions("P001")[1]
    assert (s2.top_cause, s2.overall_risk) == ("osmotic", 0.2)
    assert store.get_session("S2").assessment_model_version == "1.1"
    with pytest.raises(InputError, match="overall_risk"):
        store.save_assessment("S2", {"overall_risk": 1.7, "causes": []}, "1.2")
    with pytest.raises(InputError, match="session_id"):
        store.save_assessment("S404", {"overall_risk": 0.1}, "1.2")
    assert store.list_sessions("P001")[0].top_cause is None


def test_list_patients_counts(store: Store) -> None:
    store.add_patient(make_patient("P2"), name="Second")
    store.add_patient(make_patient("P1"))
    store.add_session("P1", make_prescription(), make_trace(), started_at=at(8, day=1), session_id="a")
    store.add_session(
        "P1", make_prescription(), make_trace(cramp_at=None), started_at=at(8, day=3), session_id="b"
    )
    store.add_session(
        "P1", make_prescription(), make_trace(cramp_at=None), started_at=at(8, day=5), session_id="c"
    )
    # A patient's own report linked to session b makes it a cramp session too.
    store.add_report(
        patient_id="P1",
        reported_at=at(12, day=3),
        muscle="foot",
        severity=3,
        note="",
        session_id="b",
        idempotency_key="r1",
    )
    summaries = {p.id: p for p in store.list_patients()}
    assert [p.id for p in store.list_patients()] == ["P1", "P2"]
    assert (summaries["P1"].n_sessions, summaries["P1"].n_cramp_sessions) == (3, 2)
    assert summaries["P1"].last_session_at == at(8, day=5)
    assert (summaries["P2"].n_sessions, summaries["P2"].n_cramp_sessions, summaries["P2"].name) == (
        0,
        0,
        "Second",
    )
    assert summaries["P2"].last_session_at is None
    assert store.list_patients("P1") == [summaries["P1"]] and store.list_patients("P2") == [summaries["P2"]]
    assert store.list_patients("P404") == []


# ---------------------------------------------------------------------------------------------- reports


def test_reports_idempotent_and_validated(store: Store) -> None:
    store.add_patient(make_patient("P1"))
    store.add_patient(make_patient("P2"))
    store.add_session("P2", make_prescription(), make_trace(), started_at=at(8), session_id="S-P2")
    kwargs = {"patient_id": "P1", "reported_at": at(10), "muscle": "calf", "severity": 6, "note": "woke me"}
    rec, created = store.add_report(**kwargs, t_min=95.0, idempotency_key="k-1")
    assert created and rec.severity == 6 and rec.t_min == 95.0 and rec.reported_at == at(10)
    again, created_again = store.add_report(**{**kwargs, "severity": 9}, idempotency_key="k-1")
    assert not created_again and again.id == rec.id and again.severity == 6
    assert store.count_reports() == 1
    for bad, field in [(-1, "severity"), (11, "severity"), (5.5, "severity"), (True, "severity")]:
        with pytest.raises(InputError, match=field):
            store.add_report(**{**kwargs, "severity": bad}, idempotency_key=f"bad-{bad}")
    with pytest.raises(InputError, match="patient_id"):
        store.add_report(**{**kwargs, "patient_id": "ghost"}, idempotency_key="k-ghost")
    with pytest.raises(InputError, match="session_id"):
        store.add_report(**kwargs, session_id="S-P2", idempotency_key="k-other-session")
    with pytest.raises(InputError, match="muscle"):
        store.add_report(**{**kwargs, "muscle": " "}, idempotency_key="k-muscle")
    with pytest.raises(InputError, match="idempotency_key"):
        store.add_report(**{**kwargs, "patient_id": "P2"}, idempotency_key="k-1")
    with pytest.raises(InputError, match="t_min"):
        store.add_report(**kwargs, t_min=-5, idempotency_key="k-t")
    assert store.count_reports() == 1
    store.add_report(**{**kwargs, "reported_at": at(9)}, idempotency_key="k-0")
    assert [r.idempotency_key for r in store.list_reports("P1")] == ["k-0", "k-1"]
    assert store.list_reports("P2") == []


def test_concurrent_reports_same_key_create_one(store: Store) -> None:
    store.add_patient(make_patient("P1"))
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(6)

    def report(key: str) -> None:
        barrier.wait()
        rec, created = store.add_report(
            patient_id="P1", reported_at=at(10), muscle="calf", severity=5, note="", idempotency_key=key
        )
        results.append((rec.id, created))

    assert run_in_threads(report, [("same",)] * 6) == []
    assert sum(created for _, created in results) == 1
    assert len({rid for rid, _ in results}) == 1
    barrier.reset()
    assert run_in_threads(report, [(f"k{i}",) for i in range(6)]) == []
    assert store.count_reports() == 7


# ------------------------------------------------------------------------------------------------ users


def test_users_and_authentication(store: Store) -> None:
    store.add_patient(make_patient("P1"))
    doc = store.add_user("dr.who", "correct horse", "clinician")
    pat = store.add_user("p1", "battery staple", "patient", patient_id="P1")
    assert (doc.role, pat.patient_id) == ("clinician", "P1")
    assert store.authenticate("dr.who", "correct horse") == doc
    assert store.authenticate("dr.who", "Correct horse") is None
    assert store.authenticate("nobody", "correct horse") is None
    assert store.get_user("p1") == pat and store.get_user("zz") is None
    assert [u.username for u in store.list_users()] == ["dr.who", "p1"]
    with store.engine.connect() as conn:
        stored = conn.execute(select(UserRow.password_hash).where(UserRow.username == "dr.who")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    cases = [
        (("dr.who", "another pass", "clinician"), "username"),
        (("x", "another pass", "janitor"), "role"),
        (("x", "short", "admin"), "password"),
        (("x", "another pass", "patient"), "patient_id"),
        (("x", "another pass", "admin", "P1"), "patient_id"),
        (("x y", "another pass", "admin"), "username"),
        (("x", "another pass", "patient", "ghost"), "patient_id"),
    ]
    for args, field in cases:
        with pytest.raises(InputError, match=field):
            store.add_user(*args)
    assert len(store.list_users()) == 2
    store.set_password("p1", "new password!")
    assert store.authenticate("p1", "battery staple") is None
    assert store.authenticate("p1", "new password!") == pat


def test_production_argon2_parameters_and_rehash(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 9106 parameters in production; a hash made with weaker ones is upgraded at the next login."""
    store.add_user("old", "old password", "admin")  # made with the cheap test parameters
    monkeypatch.undo()  # back to the production hasher
    assert security.hash_password("whatever-12").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert store.authenticate("old", "old password") is not None
    with store.engine.connect() as conn:
        stored = conn.execute(select(UserRow.password_hash).where(UserRow.username == "old")).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert store.authenticate("old", "old password") is not None


def test_audit_log(store: Store) -> None:
    store.audit(username="dr.who", action="view_patient", patient_id="P1", detail="/patients/P1")
    store.audit(username=None, action="login_failed", detail="x" * 10_000)
    store.audit(username="dr.who", action="view_patient", patient_id="P2")
    entries = store.list_audit()
    assert [e.action for e in entries] == ["view_patient", "login_failed", "view_patient"]
    assert entries[0].patient_id == "P2"  # newest first
    assert len(entries[1].detail) == 4000
    assert [e.patient_id for e in store.list_audit(patient_id="P1")] == ["P1"]
    assert len(store.list_audit(limit=1)) == 1
    with pytest.raises(InputError, match="action"):
        store.audit(username="x", action="")


# ------------------------------------------------------------------------------------ SQLite specifics


def test_sqlite_pragmas(tmp_path) -> None:
    s = Store.open(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        s.close()


def test_sqlite_concurrent_writers_and_readers(tmp_path) -> None:
    """Threads sharing one Store, plus a second Store on the same file, write without 'database is locked'."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    a, b = Store.open(url), Store.open(url)
    a.add_patient(make_patient("P1"))

    def work(st: Store, i: int) -> None:
        for j in range(10):
            st.audit(username=f"u{i}", action="write", detail=str(j))
            st.add_report(
                patient_id="P1",
                reported_at=at(10),
                muscle="calf",
                severity=j % 11,
                note="",
                idempotency_key=f"{i}-{j}",
            )
            st.list_patients()

    errors = run_in_threads(work, [(a if i % 2 else b, i) for i in range(6)])
    try:
        assert errors == []
        assert a.count_reports() == 60 and len(b.list_audit(limit=1000)) == 60
    finally:
        a.close()
        b.close()


def test_acknowledged_report_survives_sigkill(tmp_path) -> None:
    """A report returned by add_report is on disk even if the process is killed right after."""
    db = tmp_path / "k.db"
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import UTC, datetime
        from crampwatch.store import Store
        from tests.store_fixtures import make_patient
        s = Store.open({f"sqlite:///{db}"!r})
        s.add_patient(make_patient("P1"))
        rec, created = s.add_report(patient_id="P1", reported_at=datetime.now(UTC), muscle="calf",
                                    severity=8, note="acked", idempotency_key="ack-1")
        print("acknowledged", rec.id, created, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -9, proc.stderr
    assert "acknowledged 1 True" in proc.stdout
    s = Store.open(f"sqlite:///{db}")
    try:
        reports = s.list_reports("P1")
        assert [(r.note, r.severity) for r in reports] == [("acked", 8)]
    finally:
        s.close()


# ------------------------------------------------------------------------------------------------- URLs


def test_url_resolution(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRAMPWATCH_DATABASE_URL", raising=False)
    assert resolve_url(None) == DEFAULT_DATABASE_URL == "sqlite:///crampwatch.db"
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("CRAMPWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with Store.open() as s:
        s.add_patient(make_patient())
    assert (tmp_path / "env.db").exists()
    with pytest.raises(InputError, match="database_url"):
        Store.open("mysql://u@h/db")
    with pytest.raises(InputError, match="database_url"):
        Store.open("not a url://")


def test_in_memory_sqlite_is_shared_between_threads() -> None:
    with Store.open("sqlite://") as s:
        s.add_patient(make_patient())
        seen: list[int] = []
        t = threading.Thread(target=lambda: seen.append(len(s.list_patients())))
        t.start()
        t.join()
        assert seen == [1]


# ------------------------------------------------------------------------------------- trace encoding


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    columns=st.lists(st.sampled_from(sorted(SIGNALS)), min_size=0, max_size=6, unique=True),
    seed=st.integers(0, 2**32 - 1),
    nan_fraction=st.floats(0, 1),
)
def test_parquet_blob_round_trip_is_exact(n: int, columns: list[str], seed: int, nan_fraction: float) -> None:
    """Any trace table comes back bit-for-bit: float64 values, NaN positions and column order."""
    rng = np.random.default_rng(seed)
    data = {"t_min": np.sort(rng.uniform(0, 720, n))}
    for name in columns:
        values = rng.normal(100, 30, n)
        values[rng.uniform(size=n) < nan_fraction] = np.nan
        data[name] = values
    frame = pd.DataFrame(data)
    back = codec.parquet_to_frame(codec.trace_to_parquet(Trace(frame)))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
