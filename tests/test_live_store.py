"""Live sessions in the store, on SQLite and PostgreSQL: batch ingest, duplicates, refusals that keep the
rest of a batch, close into a recorded session, timeouts, updates stored once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from live_fixtures import T0, make_live_store, session_values
from store_fixtures import BACKENDS, fresh_pg_schema_url

from crampwatch.io.machine.messages import MachineMessage, Observation, Refusal
from crampwatch.store.live import IngestOutcome
from crampwatch.store.schema import LiveUpdateRow


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "sqlite":
        s = make_live_store(f"sqlite:///{tmp_path / 'live.db'}")
        yield s
        s.close()
    else:
        for url in fresh_pg_schema_url():
            s = make_live_store(url)
            yield s
            s.close()


def message(key: str, minute: float, patient_id: str = "P001", end: bool = False, **values: float):
    moment = T0 + timedelta(minutes=minute)
    values = values or session_values(int(minute))
    return MachineMessage(
        key=key,
        source="test",
        patient_id=patient_id,
        observations=tuple(Observation(moment, name, value) for name, value in values.items()),
        end_of_treatment=end,
    )


def test_a_batch_is_stored_with_duplicates_and_refusals_apart(store):
    results = store.ingest_messages(
        [
            message("a", 0),
            message("b", 1),
            message("a", 0),
            message("c", 2, patient_id="NOBODY"),
            message("d", 1, "P002"),
        ]
    )
    assert [type(r) for r in results] == [IngestOutcome, IngestOutcome, IngestOutcome, Refusal, IngestOutcome]
    assert results[2].duplicate and results[2].message.seq == results[0].message.seq
    assert results[0].opened and not results[1].opened and results[4].opened
    assert results[1].message.prev_seq == results[0].message.seq
    sessions = {s.patient_id: s for s in store.open_live_sessions()}
    assert set(sessions) == {"P001", "P002"}
    assert sessions["P001"].opened_at == T0
    assert [m.t_min for m in store.live_messages(sessions["P001"].id)] == [0.0, 1.0]
    # a second delivery of the same batch stores nothing new
    again = store.ingest_messages([message("a", 0), message("b", 1)])
    assert all(r.duplicate for r in again)


def test_observation_before_the_session_start_is_refused(store):
    store.ingest_messages([message("a", 10)])
    (refusal,) = store.ingest_messages([message("b", 5)])
    assert isinstance(refusal, Refusal) and refusal.code == "AE" and "-5.0 min" in refusal.reason


def test_end_of_treatment_closes_into_a_recorded_session(store):
    store.ingest_messages([message(f"m{k}", k) for k in range(0, 31, 5)])
    (live,) = store.open_live_sessions()
    (outcome,) = store.ingest_messages([message("end", 31, end=True, rbv_pct=97.0)])
    assert outcome.closed
    assert store.open_live_sessions() == []
    recorded = store.get_session(live.id)
    assert recorded.patient_id == "P001" and recorded.started_at == T0
    assert list(recorded.trace.data["t_min"]) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 31.0]
    assert recorded.trace.data["rbv_pct"].iloc[-1] == 97.0
    assert recorded.trace.data["sbp_mmhg"].notna().sum() == 3  # BP every 15 min only
    assert recorded.prescription == live.prescription
    # the next message of that patient opens a new live session
    (next_outcome,) = store.ingest_messages([message("next", 300)])
    assert next_outcome.opened and next_outcome.message.live_session_id != live.id


def test_timeout_closes_and_updates_are_stored_once(store):
    (first,) = store.ingest_messages([message("a", 0)], now=T0)
    live_id = first.message.live_session_id
    assert store.save_live_updates([(first.message.seq, live_id, 0.0, {"level": "none"})]) == [True]
    assert store.save_live_updates([(first.message.seq, live_id, 0.0, {"level": "alert"})]) == [False]
    assert store.live_updates(live_id) == [{"level": "none"}]
    with store._read() as s:  # the row's own defaults are filled in (rows are inserted in one statement)
        assert s.get(LiveUpdateRow, first.message.seq).created_at is not None
    assert store.stale_live_sessions(T0 + timedelta(minutes=1)) == [live_id]
    assert store.close_live_session(live_id, "timeout")
    assert not store.close_live_session(live_id, "timeout")
    assert store.get_live_session(live_id).close_reason == "timeout"
    assert store.get_session(live_id) is not None


def test_acknowledgement_is_the_next_message_of_the_session(store):
    (first,) = store.ingest_messages([message("a", 7)])
    live_id = first.message.live_session_id
    ack = store.acknowledge_live(live_id, reason="Seen, acting on it", snooze_min=15, username="nurse1")
    assert ack.message.kind == "acknowledgement" and ack.message.prev_seq == first.message.seq
    assert ack.message.t_min == 0.0 and ack.message.snooze_min == 15
    stored = store.live_messages(live_id)
    assert [m.kind for m in stored] == ["observations", "acknowledgement"]
    assert stored[1].reason == "Seen, acting on it" and stored[1].username == "nurse1"
    store.close_live_session(live_id, "timeout")
    with pytest.raises(Refusal):
        store.acknowledge_live(live_id, reason="late", snooze_min=0, username="nurse1")
