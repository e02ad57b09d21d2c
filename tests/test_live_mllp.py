"""The HL7 v2 listener on a real MLLP socket: each ACK code, duplicates, unknown patients, limits, fuzzed
input, a standard client (python-hl7's ``mllp_send``) feeding a whole session, and a restart mid-session."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import hl7
import pytest
from hl7.client import MLLPClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_fixtures import StandInEngine, make_live_store, oru, running_service, session_values

from crampwatch.chairside.settings import LiveSettings


@pytest.fixture
def store(tmp_path):
    s = make_live_store(f"sqlite:///{tmp_path / 'live.db'}")
    yield s
    s.close()


def msa(ack: bytes | str) -> tuple[str, str, str]:
    """(MSA-1 code, MSA-2 control id, MSA-3 text) of an ACK."""
    text = ack.decode() if isinstance(ack, bytes) else ack
    msg = hl7.parse(text.strip("\x0b\x1c\r\n").replace("\n", "\r"))
    seg = msg.segment("MSA")
    return str(seg(1)), str(seg(2)), msg.unescape(str(seg(3))) if len(seg) > 3 else ""


def send(port: int, *messages: str | bytes) -> list[tuple[str, str, str]]:
    with MLLPClient("127.0.0.1", port) as client:
        return [msa(client.send_message(m)) for m in messages]


def refusals(store) -> list[str]:
    return [a.detail for a in store.list_audit(1000) if a.action == "live_message_refused"]


def test_accepted_message_is_stored_before_aa_and_opens_a_session(store):
    with running_service(store) as svc:
        assert send(svc.port, oru("M1", values=session_values(0))) == [("AA", "M1", "")]
        # AA came back: the message is in the store already (no wait)
        (session,) = store.open_live_sessions()
        (message,) = store.live_messages(session.id)
        assert session.patient_id == "P001"
        assert {n for _, n, _ in message.values} == {"rbv_pct", "uf_rate_ml_h", "sbp_mmhg", "dbp_mmhg"}
        svc.drain()
        (update,) = store.live_updates(session.id)
        assert update["seq"] == message.seq and update["cramp_risk_30min"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        (oru("E1", patient_id="NOBODY"), "AE", "not a known patient"),
        (oru("E2", values={"rbv_pct": 400.0}), "AE", "out of range for rbv_pct"),
        (oru("E3", extra_obx="OBX|9|NM|sbp_mmhg^SBP^99CW||120|kPa|||||F"), "AE", "unit 'kPa' does not fit"),
        (oru("E4", values={"rbv_pct": "abc"}), "AE", "is not a number"),
        (oru("R1").replace("ORU^R01^ORU_R01", "ADT^A01"), "AR", "message type 'ADT^A01' is not accepted"),
        (oru("").replace("||P|2.6", "||P|2.6"), "AR", "control id: missing"),
        ("this is not HL7", "AR", "not an HL7 v2 message"),
    ],
)
def test_refused_messages_get_ae_or_ar_with_the_reason_and_are_audited(store, text, code, reason):
    with running_service(store) as svc:
        ((got, _, why),) = send(svc.port, text)
        assert got == code and reason in why
        assert store.open_live_sessions() == []
        assert any(reason in d and code in d for d in refusals(store))
        # the connection and the listener keep working
        assert send(svc.port, oru("OK1"))[0][0] == "AA"


def test_patient_without_a_stored_prescription_is_refused(store):
    from store_fixtures import make_patient

    store.add_patient(make_patient("P009"))
    with running_service(store) as svc:
        ((code, _, why),) = send(svc.port, oru("N1", patient_id="P009"))
    assert code == "AE" and "no stored prescription" in why


def test_repeated_control_id_is_stored_once_and_acked_again(store):
    with running_service(store) as svc:
        acks = send(
            svc.port, oru("D1", minute=0), oru("D1", minute=0), oru("D2", minute=1), oru("D1", minute=0)
        )
        assert [a[0] for a in acks] == ["AA"] * 4
        (session,) = store.open_live_sessions()
        assert [m.t_min for m in store.live_messages(session.id)] == [0.0, 1.0]
        svc.drain()
        assert len(store.live_update_steps(session.id)) == 2  # one engine row per stored message


def test_sender_allowlist_and_address_allowlist(store):
    allow = LiveSettings(mllp_port=0, allowed_senders=("UNIT1",))
    with running_service(store, settings=allow) as svc:
        assert send(svc.port, oru("S1"), oru("S2", facility="ELSEWHERE")) == [
            ("AA", "S1", ""),
            ("AR", "S2", "sending facility 'ELSEWHERE' (MSH-4) is not allowed"),
        ]
    closed = LiveSettings(mllp_port=0, allowed_addresses=("10.0.0.0/8",))
    with (
        running_service(store, settings=closed) as svc,
        socket.create_connection(("127.0.0.1", svc.port)) as s,
    ):
        s.settimeout(5)
        assert s.recv(100) == b""  # closed at once
    assert any("address 127.0.0.1 is not allowed" in d for d in refusals(store))


def test_oversized_message_is_refused_and_idle_connection_closed(store):
    small = LiveSettings(mllp_port=0, max_message_bytes=2048, idle_timeout_s=0.5)
    with running_service(store, settings=small) as svc:
        big = oru("BIG", extra_obx="NTE|1||" + "x" * 5000)
        ((code, _, why),) = send(svc.port, big)
        assert code == "AR" and "larger than 2048 bytes" in why
        with socket.create_connection(("127.0.0.1", svc.port)) as s:
            s.settimeout(5)
            started = time.monotonic()
            assert s.recv(100) == b""  # the server closed the silent connection
            assert time.monotonic() - started < 4
        assert send(svc.port, oru("AFTER"))[0][0] == "AA"


PIECES = ["MSH|^~\\&|A|B", "PID|||P001", "OBX|1|NM|rbv_pct^^99CW||", "|", "^", "\r", "\\", "ORU^R01"]
FUZZ = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda t: ("MSH|^~\\&|" + t).encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from(PIECES), max_size=12).map(lambda parts: "".join(parts).encode()),
)  # fmt: skip


def test_fuzzed_messages_never_stop_the_listener(store):
    with running_service(store) as svc:

        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
        @given(FUZZ)
        def one(payload: bytes):
            payload = payload.replace(b"\x1c\r", b"").replace(b"\x0b", b"")
            with socket.create_connection(("127.0.0.1", svc.port), timeout=10) as s:
                s.sendall(b"\x0b" + payload + b"\x1c\r")
                answer = b""
                while not answer.endswith(b"\x1c\r"):
                    chunk = s.recv(4096)
                    assert chunk, "connection closed without an ACK"
                    answer += chunk
            assert msa(answer)[0] in ("AA", "AE", "AR")

        one()
        assert send(svc.port, oru("ALIVE"))[0][0] == "AA"


def test_standard_client_mllp_send_feeds_a_whole_session(store, tmp_path):
    """python-hl7's ``mllp_send`` (not part of crampwatch) sends a file of ORU^R01 messages."""
    messages = [oru(f"F{m:03d}", minute=m, values=session_values(m), end=(m == 60)) for m in range(0, 61, 2)]
    path = tmp_path / "session.hl7"
    path.write_bytes(b"".join(b"\x0b" + m.encode() + b"\x1c\r" for m in messages))
    with running_service(store) as svc:
        out = subprocess.run(
            [sys.executable, "-c", "from hl7.client import mllp_send; mllp_send()", "--file", str(path),
             "--port", str(svc.port), "127.0.0.1"],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        acks = [msa(a) for a in out.stdout.split("\x1c") if "MSA" in a]
        assert [a[0] for a in acks] == ["AA"] * len(messages)
        assert [a[1] for a in acks] == [f"F{m:03d}" for m in range(0, 61, 2)]
        svc.drain()
    # the end-of-treatment message closed it: a recorded session like any other
    assert store.open_live_sessions() == []
    recorded = store.list_sessions("P001")[-1]
    trace = store.get_session(recorded.id).trace
    assert list(trace.data["t_min"]) == [float(m) for m in range(0, 61, 2)]
    assert trace.data["rbv_pct"].iloc[-1] == pytest.approx(100 - 0.08 * 60)
    assert trace.sources["rbv_pct"] == "measured"
    # every message was taken in by the engine once: its own update, or folded into the next one
    assert len(store.live_update_steps(recorded.id)) == len(messages)
    assert sum(u["messages_covered"] for u in store.live_updates(recorded.id)) == len(messages)
    assert store.live_updates(recorded.id)[-1]["message_t_min"] == 60.0


def risks(store, session_id: str) -> dict[float, float]:
    """The stand-in engine's risk after each message that has an update, by message time."""
    return {u["message_t_min"]: u["cramp_risk_30min"] for u in store.live_updates(session_id)}


def test_restart_mid_session_resumes_by_replaying_the_stored_messages(store, tmp_path):
    first = [oru(f"R{m:03d}", minute=m, values=session_values(m)) for m in range(0, 30)]
    later = [oru(f"R{m:03d}", minute=m, values=session_values(m)) for m in range(30, 60)]
    # reference: one uninterrupted run on another database
    other = make_live_store(f"sqlite:///{tmp_path / 'ref.db'}")
    with running_service(other) as svc:
        send(svc.port, *first, *later)
        svc.drain()
    (ref_session,) = other.open_live_sessions()
    reference = risks(other, ref_session.id)
    other.close()

    with running_service(store) as svc:
        send(svc.port, *first)
        svc.drain()
    (session,) = store.open_live_sessions()  # still running after the stop
    engines: list[StandInEngine] = []

    def tracked(live_session):
        engines.append(StandInEngine(live_session))
        return engines[-1]

    with running_service(store, make_engine=tracked) as svc:
        assert [a[0] for a in send(svc.port, *later)] == ["AA"] * len(later)
        svc.drain()
        assert svc.service.applier.replays == 1
    # the new engine saw the 30 stored messages again (replay), then the 30 new ones
    assert len(engines) == 1 and len(engines[0].calls) == 60
    # each message's update (where it has one: the engine folds messages together when behind) is the one of
    # the uninterrupted run
    resumed = risks(store, session.id)
    assert max(resumed) == max(reference) == 59.0
    assert all(resumed[t] == reference[t] for t in resumed.keys() & reference.keys())
    assert len(store.live_update_steps(session.id)) == 60


def test_the_early_warning_engine_updates_each_stored_message(store):
    """With crampwatch's engine (built from the stored patient and prescription), each message gets the
    contract's update: 30-min cramp risk, level, forecast with its band."""
    from crampwatch.chairside.engines import store_engine_factory

    with running_service(store, make_engine=store_engine_factory(store)) as svc:
        send(svc.port, *[oru(f"E{m}", minute=m, values=session_values(m)) for m in range(0, 20, 5)])
        svc.drain(timeout=120)
    (session,) = store.open_live_sessions()
    updates = store.live_updates(session.id)
    assert updates[-1]["message_t_min"] == 15.0
    assert sum(u["messages_covered"] for u in updates) == 4
    for u in updates:
        assert 0.0 <= u["cramp_risk_30min"] <= 1.0 and u["level"] in ("none", "watch", "alert")
        band = u["forecast_30min"]
        assert band["rbv_pct_lo"] <= band["rbv_pct"] <= band["rbv_pct_hi"]
        assert "engine_error" not in u
    assert updates[-1]["latest"]["sbp_mmhg"] == [15.0, 138.5]


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        FUZZ,
        st.builds(
            lambda k, v: oru("P", values={k: v}).encode(),
            st.sampled_from(["rbv_pct", "sbp_mmhg", "uf_rate_ml_h", "qb_ml_min", "nope"]),
            st.text(max_size=12),
        ),
    )
)
def test_reading_any_text_gives_a_message_or_a_refusal(payload: bytes):
    """The reader behind the listener: any input is a machine message or a Refusal (AE/AR), nothing else."""
    from crampwatch.io.machine import hl7_oru
    from crampwatch.io.machine.messages import Refusal

    try:
        msg, message = hl7_oru.parse(payload.decode("utf-8", errors="replace"))
    except Refusal as refusal:
        assert refusal.code in ("AE", "AR") and refusal.reason
        hl7_oru.acknowledgement(None, refusal.code, refusal.reason)
    else:
        assert message.key.startswith("hl7:") and hl7_oru.acknowledgement(msg, "AA")
