"""ORU^R01 machine messages read with python-hl7, and their acknowledgements (MSA AA / AE / AR).

The message layout is the Dialysis Machine HL7 Implementation Guide's (IHE PCD-01): MSH, PID (PID-3 the
store's patient id), OBR, then one OBX per observation: OBX-3 the code (see
:mod:`crampwatch.io.machine.codes`), OBX-5 the value, OBX-6 the unit (UCUM), OBX-14 the time of the
observation (else OBR-7, else MSH-7). Times
without a UTC offset are taken as UTC. An OBX ``MDC_HDIALY_MACH_MODE_OF_OPERATION`` with a post-treatment
mode, or the local ``treatment_end`` code, ends the treatment.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import hl7

from crampwatch.io.machine.codes import END_MODES, LOCAL_END, LOCAL_SYSTEM, MODE_OF_OPERATION, signal_of
from crampwatch.io.machine.messages import (
    ERROR,
    REJECT,
    MachineMessage,
    Observation,
    Refusal,
    as_utc,
    observation,
)

ACCEPTED_TYPES = {("ORU", "R01")}
#: Characters of a refusal reason sent back in MSA-3 (HL7 v2.6 MSA-3 is 80 characters).
MSA_TEXT_CHARS = 80


def _segment(msg: Any, name: str) -> Any:
    """The first ``name`` segment, or None."""
    try:
        return msg.segment(name)
    except (KeyError, IndexError):
        return None


def _value(segment: Any, n: int, component: int | None = None) -> str:
    """Field ``n`` of a segment (HL7 numbering; component ``component`` of its first repetition), "" when
    absent."""
    try:
        if segment is None or len(segment) <= n:
            return ""
        field = segment(n)
        return _component(field, component) if component else str(field).strip()
    except (IndexError, KeyError, TypeError, ValueError):
        return ""


def _component(field: Any, n: int) -> str:
    try:
        return str(field(1)(n)).strip()
    except (IndexError, TypeError, ValueError):
        return str(field).strip() if n == 1 else ""


def _time(text: str, fallback: datetime) -> datetime:
    if not text:
        return fallback
    try:
        return _parsed_time(text)
    except (ValueError, TypeError, OverflowError):
        raise Refusal(ERROR, f"time {text[:30]!r} is not an HL7 date/time (YYYYMMDDHHMMSS[+ZZZZ])") from None


@functools.lru_cache(maxsize=4096)
def _parsed_time(text: str) -> datetime:
    """An HL7 time in UTC (a message repeats one time in MSH-7, OBR-7 and each OBX-14; machines of a unit
    send the same minute: parsed once)."""
    return as_utc(hl7.parse_datetime(text))


def read(text: str) -> Any:
    """The python-hl7 message of ``text``; a :class:`Refusal` (AR) when it is not an HL7 v2 message."""
    try:
        msg = hl7.parse(text.replace("\r\n", "\r").replace("\n", "\r"))
        msg.segment("MSH")
    except Exception:  # noqa: BLE001  (any parser failure on arbitrary input is a malformed message)
        raise Refusal(REJECT, "not an HL7 v2 message (MSH segment missing or malformed)") from None
    return msg


def sender(msg: Any) -> tuple[str, str]:
    """(sending application MSH-3, sending facility MSH-4)."""
    msh = _segment(msg, "MSH")
    return _value(msh, 3), _value(msh, 4)


def machine_message(msg: Any, received_at: datetime | None = None) -> MachineMessage:
    """The :class:`MachineMessage` of a parsed ORU^R01; a :class:`Refusal` when crampwatch cannot store it
    (AR: type, control id; AE: patient, values, units, times)."""
    received_at = received_at or datetime.now(UTC)
    msh, obr = _segment(msg, "MSH"), _segment(msg, "OBR")
    kind = (_value(msh, 9, 1), _value(msh, 9, 2))
    control_id = _value(msh, 10)
    if kind not in ACCEPTED_TYPES:
        raise Refusal(REJECT, f"message type {'^'.join(kind)!r} is not accepted (allowed ORU^R01)")
    if not control_id:
        raise Refusal(REJECT, "MSH-10 message control id: missing")
    source = "|".join(sender(msg))
    patient_id = _value(_segment(msg, "PID"), 3, 1)
    sent_at = _time(_value(msh, 7), received_at)
    default_time = _time(_value(obr, 7), sent_at) if obr is not None else sent_at
    observations, ended = _observations(msg, default_time, patient_id)
    return MachineMessage(
        key=f"hl7:{source}|{control_id}",
        source=source,
        patient_id=patient_id,
        observations=tuple(observations),
        end_of_treatment=ended,
        sent_at=sent_at,
    )


def parse(text: str, received_at: datetime | None = None) -> tuple[Any, MachineMessage]:
    """:func:`read` then :func:`machine_message`."""
    msg = read(text)
    return msg, machine_message(msg, received_at)


def _observations(msg: Any, default_time: datetime, patient_id: str) -> tuple[list[Observation], bool]:
    out: list[Observation] = []
    ended = False
    for k, seg in enumerate(msg.segments("OBX") if _segment(msg, "OBX") is not None else [], start=1):
        code = seg(3) if len(seg) > 3 else ""
        identifier, text, system = (_component(code, n) for n in (1, 2, 3))
        value = str(seg(5)).strip() if len(seg) > 5 else ""
        if MODE_OF_OPERATION in (identifier, text):
            ended = ended or value.upper() in END_MODES
            continue
        if system == LOCAL_SYSTEM and LOCAL_END in (identifier, text):
            ended = True
            continue
        signal = signal_of(system, identifier, text)
        if signal is None:
            continue
        unit = _component(seg(6), 1) if len(seg) > 6 else ""
        when = _time(str(seg(14)).strip() if len(seg) > 14 else "", default_time)
        try:
            out.append(observation(signal, value, unit, when, f"OBX {k} ({signal})"))
        except Refusal as refusal:
            raise Refusal(refusal.code, refusal.reason, patient_id) from None
    return out, ended


def header(msg: Any) -> Any:
    """A python-hl7 message of ``msg``'s MSH segment alone: all its :func:`acknowledgement` needs (kept
    instead of the whole message while the message waits for storage)."""
    return msg.create_message([msg.segment("MSH")])


def acknowledgement(msg: Any | None, code: str, reason: str = "") -> str:
    """The ACK of a parsed message (``msg`` None: of an unparseable one) with MSA-1 ``code`` and MSA-3
    ``reason``, as HL7 text (segments separated by carriage returns)."""
    text = hl7.Message.escape(hl7.parse("MSH|^~\\&|\r"), reason[:MSA_TEXT_CHARS]) if reason else ""
    if msg is not None:
        ack = msg.create_ack(code, application="CRAMPWATCH")
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        ack = hl7.parse(f"MSH|^~\\&|CRAMPWATCH||||{stamp}||ACK|{stamp}|P|2.6\rMSA|{code}|\r")
    if not text:
        return str(ack).rstrip("\r") + "\r"
    lines = str(ack).rstrip("\r").split("\r")
    lines = [line + (f"|{text}" if line.startswith("MSA") else "") for line in lines]
    return "\r".join(lines) + "\r"
