"""Storing machine messages: a batch in one transaction with a fixed number of statements (duplicates,
known patients and running sessions read once; new messages inserted together), sessions opened by a
patient's first message and closed, by the end of treatment or a timeout, into a recorded session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, load_only

from crampwatch.io.machine.messages import ERROR, MachineMessage, Refusal
from crampwatch.signals import MAX_T_MIN, SIGNAL_SPECS, T_MIN
from crampwatch.store import codec
from crampwatch.store.base import as_utc, new_id, require_patient
from crampwatch.store.live_records import (
    OBSERVATIONS,
    IngestOutcome,
    LiveMessageRecord,
    message_record,
)
from crampwatch.store.schema import LiveMessageRow, LiveSessionRow, PatientRow, SessionRow
from crampwatch.store.sessions import insert_session
from crampwatch.trace import Trace

#: What ingest reads of a running session.
_RUNNING_COLUMNS = (
    LiveSessionRow.id,
    LiveSessionRow.patient_id,
    LiveSessionRow.opened_at,
    LiveSessionRow.last_seq,
    LiveSessionRow.closed_at,
)
#: Minutes an observation may predate the session's first one (clock jitter between devices; modelling
#: choice).
EARLY_TOLERANCE_MIN = 1.0


def ingest_batch(
    s: Session, messages: Sequence[MachineMessage], now: datetime
) -> list[IngestOutcome | Refusal]:
    """Store ``messages`` inside the caller's transaction; per message its outcome or its refusal."""
    results: list[IngestOutcome | Refusal | None] = [None] * len(messages)
    todo = list(range(len(messages)))
    while todo:  # a second round only for a patient whose treatment ended earlier in the batch
        todo = _round(s, messages, todo, results, now)
    return results  # type: ignore[return-value]


def _round(
    s: Session, messages: Sequence[MachineMessage], todo: list[int], results: list[Any], now: datetime
) -> list[int]:
    batch = [messages[i] for i in todo]
    stored = {
        k: (seq, sid)
        for k, seq, sid in s.execute(
            select(LiveMessageRow.key, LiveMessageRow.seq, LiveMessageRow.live_session_id).where(
                LiveMessageRow.key.in_({m.key for m in batch})
            )
        )
    }
    patients = {m.patient_id for m in batch}
    known = set(s.scalars(select(PatientRow.id).where(PatientRow.id.in_(patients))))
    running = {
        r.patient_id: r
        for r in s.scalars(
            select(LiveSessionRow)
            .options(load_only(*_RUNNING_COLUMNS))  # not the prescription: read on close only
            .where(LiveSessionRow.patient_id.in_(patients), LiveSessionRow.closed_at.is_(None))
        )
    }
    rows: list[dict[str, Any]] = []
    placed: list[tuple[int, LiveSessionRow, dict[str, Any], bool]] = []
    first_of_key: dict[str, int] = {}
    ended: set[str] = set()
    later: list[int] = []
    for i in todo:
        m = messages[i]
        if m.key in stored or m.key in first_of_key:
            continue  # resolved below, once the first copy has its seq
        if m.patient_id in ended:
            later.append(i)
            continue
        try:
            row, opened = _session_for(s, m, known, running, now)
            values = _values(row, m)
        except Refusal as refusal:
            results[i] = refusal
            continue
        t_min = max((v[0] for v in values), default=_minutes(now, row.opened_at))
        data = {"key": m.key, "live_session_id": row.id, "kind": OBSERVATIONS, T_MIN: t_min,
                "payload": {"values": [list(v) for v in values], "end": m.end_of_treatment},
                "username": None, "received_at": now}  # fmt: skip
        rows.append(data)
        placed.append((i, row, data, opened))
        first_of_key[m.key] = i
        if m.end_of_treatment:
            ended.add(m.patient_id)
    _insert(s, rows, placed, results, now)
    for i in todo:
        m = messages[i]
        if results[i] is None and i not in later:
            results[i] = _duplicate(s, m, stored, first_of_key, results)
    return later


def _insert(
    s: Session, rows: list[dict[str, Any]], placed: list[Any], results: list[Any], now: datetime
) -> None:
    if not rows:
        return
    # Core statements on the tables (the ORM's bulk machinery costs more than the statements here)
    messages = LiveMessageRow.__table__
    sessions = LiveSessionRow.__table__
    seqs = (
        s.execute(insert(messages).returning(messages.c.seq, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )
    last: dict[str, int | None] = {}
    for (i, row, data, opened), seq in zip(placed, seqs, strict=True):
        prev = last.get(row.id, row.last_seq)
        last[row.id] = seq
        record = message_record(_Row(seq=seq, **data), prev)
        results[i] = IngestOutcome(record, row.patient_id, opened=opened, closed=record.end_of_treatment)
    s.execute(
        update(sessions)
        .where(sessions.c.id == bindparam("session_id"))
        .values(last_seq=bindparam("seq"), last_message_at=bindparam("at")),
        [{"session_id": sid, "seq": seq, "at": now} for sid, seq in last.items()],
    )
    for i, row, _data, _opened in placed:
        if results[i].closed:
            close(s, row.id, "end_of_treatment", now)


class _Row:
    """The attributes :func:`message_record` reads, for a row inserted without an ORM object."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def _duplicate(
    s: Session,
    m: MachineMessage,
    stored: dict[str, tuple[int, str]],
    first_of_key: dict[str, int],
    results: list[Any],
) -> IngestOutcome | Refusal:
    if m.key in stored:
        found = s.get(LiveMessageRow, stored[m.key][0])
        session = s.get(LiveSessionRow, found.live_session_id)
        return IngestOutcome(message_record(found, None), session.patient_id, duplicate=True)
    first = results[first_of_key[m.key]]
    if isinstance(first, Refusal):
        return first
    return IngestOutcome(first.message, first.patient_id, duplicate=True)


def _session_for(
    s: Session, m: MachineMessage, known: set[str], running: dict[str, LiveSessionRow], now: datetime
) -> tuple[LiveSessionRow, bool]:
    pid = m.patient_id
    if pid not in known:
        raise Refusal(ERROR, f"patient {pid[:64]!r} (PID-3) is not a known patient", pid)
    if pid in running:
        return running[pid], False
    if not m.observations:
        raise Refusal(ERROR, f"patient {pid[:64]!r} has no running treatment to end", pid)
    running[pid] = _open(s, m, now)
    return running[pid], True


def _open(s: Session, message: MachineMessage, now: datetime) -> LiveSessionRow:
    prescription = s.scalar(
        select(SessionRow.prescription)
        .where(SessionRow.patient_id == message.patient_id)
        .order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
        .limit(1)
    )
    if prescription is None:
        raise Refusal(
            ERROR,
            f"patient {message.patient_id[:64]!r} has no stored prescription (no recorded session)",
            message.patient_id,
        )
    row = LiveSessionRow(
        id=new_id(),
        patient_id=message.patient_id,
        source=message.source[:200],
        opened_at=min(o.observed_at for o in message.observations),
        prescription=prescription,
        last_message_at=now,
    )
    s.add(row)
    s.flush()
    return row


def _minutes(moment: datetime, origin: datetime) -> float:
    return (as_utc(moment) - as_utc(origin)).total_seconds() / 60.0


def _values(row: LiveSessionRow, message: MachineMessage) -> list[tuple[float, str, float]]:
    values = []
    for k, obs in enumerate(message.observations, start=1):
        t = _minutes(obs.observed_at, row.opened_at)
        if t < -EARLY_TOLERANCE_MIN or t > MAX_T_MIN:
            raise Refusal(
                ERROR,
                f"observation {k} ({obs.signal}): {t:.1f} min from the session's first observation "
                f"(allowed 0–{MAX_T_MIN:g} min)",
                message.patient_id,
            )
        values.append((round(max(t, 0.0), 6), obs.signal, obs.value))
    return values


def append_message(
    s: Session,
    row: LiveSessionRow,
    key: str,
    kind: str,
    t_min: float,
    payload: dict[str, Any],
    user: str | None,
) -> LiveMessageRecord:
    """Add one message (an acknowledgement) to a running session inside the caller's transaction."""
    msg = LiveMessageRow(
        key=key, live_session_id=row.id, kind=kind, t_min=t_min, payload=payload, username=user
    )
    s.add(msg)
    s.flush()
    prev = row.last_seq
    row.last_seq = msg.seq
    return message_record(msg, prev)


def close(s: Session, live_session_id: str, reason: str, now: datetime) -> None:
    """Mark a running session closed; its observations become the recorded session of the same id (none:
    closed as ``empty``)."""
    row = s.get(LiveSessionRow, live_session_id)
    s.flush()
    payloads = s.scalars(
        select(LiveMessageRow.payload)
        .where(LiveMessageRow.live_session_id == row.id, LiveMessageRow.kind == OBSERVATIONS)
        .order_by(LiveMessageRow.seq)
    )
    trace = observations_trace([tuple(v) for p in payloads for v in p.get("values", [])], row.id)
    row.closed_at = now
    row.close_reason = reason if trace is not None else "empty"
    if trace is None:
        return
    require_patient(s, row.patient_id)
    insert_session(
        s,
        SessionRow(
            id=row.id,
            patient_id=row.patient_id,
            started_at=row.opened_at,
            prescription=row.prescription,
            trace_parquet=codec.trace_to_parquet(trace),
            trace_sources=dict(trace.sources),
        ),
        [],
    )


def observations_trace(values: Sequence[tuple[float, str, float]], session_id: str) -> Trace | None:
    """A trace of measured observations (one row per time point, NaN where a signal was not observed at
    that time; the later of two values at one time wins), or ``None`` without observations."""
    if not values:
        return None
    frame = pd.DataFrame(values, columns=[T_MIN, "signal", "value"])
    wide = frame.pivot_table(index=T_MIN, columns="signal", values="value", aggfunc="last").sort_index()
    columns = [name for name in SIGNAL_SPECS if name in wide.columns]
    data = wide[columns].reset_index()
    data.columns.name = None
    data = data.astype({c: np.float64 for c in data.columns})
    return Trace(data=data, sources={c: "measured" for c in columns}, session_id=session_id)
