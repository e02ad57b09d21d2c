"""The engine applier: a chair's messages that wait together are folded into one update without dropping an
observation, acknowledgements keep their own update, refused observations are left out, and an engine
rebuilt from the store (restart, another worker) folds the stored messages as their rows say."""

from __future__ import annotations

from datetime import timedelta

import pytest
from live_fixtures import T0, StandInEngine, make_live_store

from crampwatch.chairside.applier import Applier
from crampwatch.io.machine.messages import MachineMessage, Observation


@pytest.fixture
def store(tmp_path):
    s = make_live_store(f"sqlite:///{tmp_path / 'live.db'}")
    yield s
    s.close()


def message(key: str, minute: float, patient_id: str = "P001", rbv: float = 99.0) -> MachineMessage:
    moment = T0 + timedelta(minutes=minute)
    return MachineMessage(key, "test", patient_id, (Observation(moment, "rbv_pct", rbv),))


def ingest(store, *messages: MachineMessage):
    return [r.message for r in store.ingest_messages(list(messages))]


class Engines:
    """A factory that remembers the engines it built."""

    def __init__(self) -> None:
        self.built: list[StandInEngine] = []

    def __call__(self, session) -> StandInEngine:
        self.built.append(StandInEngine(session))
        return self.built[-1]


def apply_and_store(store, applier: Applier, messages):
    results = applier.apply(messages)
    store.save_live_updates((m.seq, m.live_session_id, m.t_min, d) for m, d in results)
    return [d for _, d in results]


def test_waiting_messages_of_a_chair_are_folded_into_one_update(store):
    engines = Engines()
    applier = Applier(store, engines)
    batch = ingest(
        store, message("a0", 0, rbv=99.0), message("b0", 0, "P002"), message("a1", 1, rbv=95.0),
        message("a2", 2, rbv=89.0),
    )  # fmt: skip
    rows = apply_and_store(store, applier, batch)
    assert [r["step"] for r in rows] == ["coalesced", "update", "coalesced", "update"]
    a = rows[3]
    assert a["messages_covered"] == 3 and a["message_t_min"] == 2.0
    assert a["cramp_risk_30min"] == pytest.approx(0.55)  # the last RBV, as observing each would give
    assert a["latest"]["rbv_pct"] == [2.0, 89.0]
    assert rows[1]["messages_covered"] == 1
    p1 = next(e for e in engines.built if e.session.patient_id == "P001")
    assert p1.calls == [("assimilate", 0.0), ("assimilate", 1.0), ("observe", 2.0)]
    # one row per message; the timeline and the tiles show the updates only
    sid = batch[0].live_session_id
    assert store.live_update_steps(sid) == {
        batch[0].seq: "coalesced",
        batch[2].seq: "coalesced",
        batch[3].seq: "update",
    }
    assert [u["seq"] for u in store.live_updates(sid)] == [batch[3].seq]
    assert store.latest_live_updates([sid])[sid]["seq"] == batch[3].seq


def test_an_engine_rebuilt_from_the_store_folds_as_the_rows_say(store):
    first = Applier(store, Engines())
    apply_and_store(store, first, ingest(store, message("a0", 0), message("a1", 1, rbv=96.0)))
    apply_and_store(store, first, ingest(store, message("a2", 2, rbv=93.0)))
    nxt = ingest(store, message("a3", 3, rbv=90.0))
    expected = first.apply(nxt)[0][1]

    engines = Engines()
    rebuilt = Applier(store, engines)  # a restarted process, or the worker that took the partition over
    got = rebuilt.apply(nxt)[0][1]
    assert rebuilt.replays == 1
    (engine,) = engines.built
    assert engine.calls == [("assimilate", 0.0), ("observe", 1.0), ("observe", 2.0), ("observe", 3.0)]
    assert got == expected


def test_an_acknowledgement_keeps_its_own_update_and_the_message_before_it_too(store):
    applier = Applier(store, Engines())
    (m0,) = ingest(store, message("a0", 0, rbv=89.0))
    ack = store.acknowledge_live(m0.live_session_id, reason="seen", snooze_min=0, username="nurse").message
    (m1,) = ingest(store, message("a1", 1, rbv=88.0))
    rows = apply_and_store(store, applier, [m0, ack, m1])
    assert [r["step"] for r in rows] == ["update", "update", "update"]
    assert [r["level"] for r in rows] == ["alert", "watch", "watch"]


def test_an_observation_that_goes_back_in_time_is_left_out(store):
    engines = Engines()
    applier = Applier(store, engines)
    batch = ingest(store, message("a0", 0), message("a1", 5, rbv=95.0))
    apply_and_store(store, applier, batch)
    sid = batch[0].live_session_id
    late = ingest(store, message("a2", 3, rbv=80.0), message("a3", 6, rbv=94.0))
    rows = apply_and_store(store, applier, late)
    assert rows[0]["step"] == "failed" and "before the last update" in rows[0]["engine_error"]
    assert rows[1]["step"] == "update" and rows[1]["cramp_risk_30min"] == pytest.approx(0.3)
    # a rebuilt engine leaves it out as well
    rebuilt = Applier(store, Engines())
    (nxt,) = ingest(store, message("a4", 7, rbv=93.0))
    assert rebuilt.apply([nxt])[0][1]["step"] == "update"
    assert store.live_update_steps(sid)[late[0].seq] == "failed"


def test_engines_of_sessions_closed_elsewhere_are_dropped(store):
    applier = Applier(store, Engines())
    batch = ingest(store, message("a0", 0), message("b0", 0, "P002"))
    applier.apply(batch)
    assert applier.sessions == {m.live_session_id for m in batch}
    applier.forget_all_but({batch[1].live_session_id})
    assert applier.sessions == {batch[1].live_session_id}
