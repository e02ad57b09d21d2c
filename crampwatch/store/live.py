"""Live sessions in the store: machine messages stored durably in arrival order, duplicates recognised by
their key, a session opened by a patient's first message and closed (into a recorded session of the same id)
by the end of treatment or a timeout, and the engine's update after each message stored once.

``seq`` (the message's row number) orders everything a live session receives, observations and
acknowledgements alike, so a session is replayed exactly by reading its messages by ``seq``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crampwatch.io.machine.messages import ERROR, MachineMessage, Refusal
from crampwatch.model import Prescription
from crampwatch.signals import MAX_T_MIN, SIGNAL_SPECS
from crampwatch.store import codec
from crampwatch.store.base import StoreBase, as_utc, new_id, require_patient
from crampwatch.store.schema import (
    LiveMessageRow,
    LiveSessionRow,
    LiveUpdateRow,
    PatientRow,
    SessionRow,
)
from crampwatch.store.sessions import insert_session
from crampwatch.trace import Trace

OBSERVATIONS, ACKNOWLEDGEMENT = "observations", "acknowledgement"
#: Minutes an observation may predate the session's first one (clock jitter between devices; modelling
#: choice).
EARLY_TOLERANCE_MIN = 1.0


@dataclass(frozen=True)
class LiveSessionRecord:
    id: str
    patient_id: str
    source: str
    opened_at: datetime
    last_message_at: datetime
    last_seq: int | None
    prescription: Prescription
    closed_at: datetime | None = None
    close_reason: str | None = None


@dataclass(frozen=True)
class LiveMessageRecord:
    """A stored message: ``values`` ((t_min, signal, value), ...) or an acknowledgement (``reason``,
    ``snooze_min``, ``username``); ``prev_seq`` the session's message before it."""

    seq: int
    live_session_id: str
    kind: str
    t_min: float
    values: tuple[tuple[float, str, float], ...] = ()
    reason: str = ""
    snooze_min: float = 0.0
    username: str | None = None
    end_of_treatment: bool = False
    prev_seq: int | None = None


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one message: stored (or already stored: ``duplicate``) as ``message``;
    ``closed``: it ended the treatment."""

    message: LiveMessageRecord
    patient_id: str
    duplicate: bool = False
    closed: bool = False
    opened: bool = False
    details: dict[str, Any] = field(default_factory=dict)


class LiveStore(StoreBase):
    """Live sessions, their messages and the engine's updates."""

    def ingest_messages(
        self, messages: Sequence[MachineMessage], now: datetime | None = None
    ) -> list[IngestOutcome | Refusal]:
        """Store a batch of machine messages in one transaction (one disk sync for all); per message its
        outcome, or the :class:`Refusal` that kept it out (the others are stored all the same)."""
        now = now or datetime.now(UTC)
        results: list[IngestOutcome | Refusal] = []
        with self._write() as s:
            batch = _Batch(s, now)
            for message in messages:
                try:
                    results.append(batch.ingest(message))
                except Refusal as refusal:
                    results.append(refusal)
        return results

    def acknowledge_live(
        self, live_session_id: str, *, reason: str, snooze_min: float, username: str, key: str | None = None
    ) -> IngestOutcome:
        """Store a nurse's acknowledgement of an open session's alert as its next message."""
        with self._write() as s:
            row = s.get(LiveSessionRow, live_session_id)
            if row is None or row.closed_at is not None:
                raise Refusal(ERROR, "live session: not a running session")
            key = key or f"ack:{new_id()}"
            found = s.scalar(select(LiveMessageRow).where(LiveMessageRow.key == key))
            if found is not None:
                return IngestOutcome(_message(found, None), row.patient_id, duplicate=True)
            t_min = s.scalar(
                select(func.max(LiveMessageRow.t_min)).where(LiveMessageRow.live_session_id == row.id)
            )
            payload = {"reason": reason, "snooze_min": float(snooze_min)}
            msg = _append(s, row, key, ACKNOWLEDGEMENT, float(t_min or 0.0), payload, username)
            return IngestOutcome(msg, row.patient_id)

    def close_live_session(self, live_session_id: str, reason: str, now: datetime | None = None) -> bool:
        """Close an open live session (False when it was not open): its observations become the recorded
        session of the same id."""
        with self._write() as s:
            row = s.get(LiveSessionRow, live_session_id)
            if row is None or row.closed_at is not None:
                return False
            _close(s, row, reason, now or datetime.now(UTC))
            return True

    def open_live_sessions(self, patient_id: str | None = None) -> list[LiveSessionRecord]:
        """The running sessions, oldest first."""
        query = select(LiveSessionRow).where(LiveSessionRow.closed_at.is_(None))
        if patient_id is not None:
            query = query.where(LiveSessionRow.patient_id == patient_id)
        with self._read() as s:
            return [
                _session(r) for r in s.scalars(query.order_by(LiveSessionRow.opened_at, LiveSessionRow.id))
            ]

    def get_live_session(self, live_session_id: str) -> LiveSessionRecord | None:
        with self._read() as s:
            row = s.get(LiveSessionRow, live_session_id)
            return None if row is None else _session(row)

    def stale_live_sessions(self, last_message_before: datetime) -> list[str]:
        """Ids of the open sessions whose last message arrived before ``last_message_before``."""
        with self._read() as s:
            return list(
                s.scalars(
                    select(LiveSessionRow.id).where(
                        LiveSessionRow.closed_at.is_(None),
                        LiveSessionRow.last_message_at < last_message_before,
                    )
                )
            )

    def live_messages(self, live_session_id: str, upto_seq: int | None = None) -> list[LiveMessageRecord]:
        """The session's messages in order (those with ``seq <= upto_seq`` when given)."""
        query = select(LiveMessageRow).where(LiveMessageRow.live_session_id == live_session_id)
        if upto_seq is not None:
            query = query.where(LiveMessageRow.seq <= upto_seq)
        with self._read() as s:
            rows = list(s.scalars(query.order_by(LiveMessageRow.seq)))
        out: list[LiveMessageRecord] = []
        for row in rows:
            out.append(_message(row, out[-1].seq if out else None))
        return out

    def save_live_updates(self, updates: Iterable[tuple[int, str, float, dict[str, Any]]]) -> list[bool]:
        """Store engine updates ``(seq, live_session_id, t_min, data)`` once each: per update, whether it was
        new (False: an update for that message was already stored, by this or another worker)."""
        updates = list(updates)
        with self._write() as s:
            seqs = [u[0] for u in updates]
            have = (
                set(s.scalars(select(LiveUpdateRow.seq).where(LiveUpdateRow.seq.in_(seqs))))
                if seqs
                else set()
            )
            added: list[bool] = []
            for seq, live_id, t_min, data in updates:
                new = seq not in have
                if new:
                    s.add(
                        LiveUpdateRow(
                            seq=seq, live_session_id=live_id, t_min=t_min, data=codec.to_jsonable(data)
                        )
                    )
                    have.add(seq)
                added.append(new)
        return added

    def applied_seqs(self, seqs: Sequence[int]) -> set[int]:
        """Which of these messages already have a stored update."""
        with self._read() as s:
            return set(s.scalars(select(LiveUpdateRow.seq).where(LiveUpdateRow.seq.in_(list(seqs)))))

    def latest_live_updates(self, live_session_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The newest update of each of these sessions (by message order)."""
        if not live_session_ids:
            return {}
        newest = (
            select(LiveUpdateRow.live_session_id, func.max(LiveUpdateRow.seq).label("seq"))
            .where(LiveUpdateRow.live_session_id.in_(list(live_session_ids)))
            .group_by(LiveUpdateRow.live_session_id)
            .subquery()
        )
        with self._read() as s:
            rows = s.execute(select(LiveUpdateRow).join(newest, newest.c.seq == LiveUpdateRow.seq)).scalars()
            return {r.live_session_id: dict(r.data) for r in rows}

    def live_updates(self, live_session_id: str) -> list[dict[str, Any]]:
        """Every update of a session in message order (the live timeline)."""
        with self._read() as s:
            rows = s.scalars(
                select(LiveUpdateRow)
                .where(LiveUpdateRow.live_session_id == live_session_id)
                .order_by(LiveUpdateRow.seq)
            )
            return [dict(r.data) for r in rows]

    def latest_values(self, live_session_id: str) -> dict[str, tuple[float, float]]:
        """The latest value of each signal of a session: signal -> (t_min, value)."""
        latest: dict[str, tuple[float, float]] = {}
        for message in self.live_messages(live_session_id):
            for t_min, name, value in message.values:
                if name not in latest or t_min >= latest[name][0]:
                    latest[name] = (t_min, value)
        return latest


class _Batch:
    """One ingest transaction: the open sessions met so far are kept, so a batch reads each once."""

    def __init__(self, s: Session, now: datetime) -> None:
        self.s = s
        self.now = now
        self.open: dict[str, LiveSessionRow | None] = {}
        self.known: dict[str, bool] = {}

    def ingest(self, message: MachineMessage) -> IngestOutcome:
        s = self.s
        found = s.scalar(select(LiveMessageRow).where(LiveMessageRow.key == message.key))
        if found is not None:
            row = s.get(LiveSessionRow, found.live_session_id)
            return IngestOutcome(_message(found, None), row.patient_id if row else "", duplicate=True)
        row, opened = self._session_for(message)
        values = _values(row, message)
        t_min = max((v[0] for v in values), default=_minutes(self.now, row.opened_at))
        payload = {"values": [list(v) for v in values], "end": message.end_of_treatment}
        record = _append(s, row, message.key, OBSERVATIONS, t_min, payload, None)
        row.last_message_at = self.now
        closed = False
        if message.end_of_treatment:
            _close(s, row, "end_of_treatment", self.now)
            self.open[row.patient_id] = None
            closed = True
        return IngestOutcome(record, row.patient_id, closed=closed, opened=opened)

    def _session_for(self, message: MachineMessage) -> tuple[LiveSessionRow, bool]:
        pid = message.patient_id
        if pid not in self.known:
            self.known[pid] = self.s.get(PatientRow, pid) is not None
        if not self.known[pid]:
            raise Refusal(ERROR, f"patient {pid[:64]!r} (PID-3) is not a known patient", pid)
        if pid not in self.open:
            self.open[pid] = self.s.scalar(
                select(LiveSessionRow).where(
                    LiveSessionRow.patient_id == pid, LiveSessionRow.closed_at.is_(None)
                )
            )
        row = self.open[pid]
        if row is not None:
            return row, False
        if not message.observations:
            raise Refusal(ERROR, f"patient {pid[:64]!r} has no running treatment to end", pid)
        row = _open(self.s, message, self.now)
        self.open[pid] = row
        return row, True


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


def _append(
    s: Session,
    row: LiveSessionRow,
    key: str,
    kind: str,
    t_min: float,
    payload: dict[str, Any],
    user: str | None,
) -> LiveMessageRecord:
    msg = LiveMessageRow(
        key=key, live_session_id=row.id, kind=kind, t_min=t_min, payload=payload, username=user
    )
    s.add(msg)
    s.flush()
    prev = row.last_seq
    row.last_seq = msg.seq
    return _message(msg, prev)


def _message(row: LiveMessageRow, prev_seq: int | None) -> LiveMessageRecord:
    p = row.payload or {}
    return LiveMessageRecord(
        seq=row.seq,
        live_session_id=row.live_session_id,
        kind=row.kind,
        t_min=row.t_min,
        values=tuple((float(t), str(n), float(v)) for t, n, v in p.get("values", [])),
        reason=str(p.get("reason", "")),
        snooze_min=float(p.get("snooze_min", 0.0)),
        username=row.username,
        end_of_treatment=bool(p.get("end", False)),
        prev_seq=prev_seq,
    )


def _session(row: LiveSessionRow) -> LiveSessionRecord:
    return LiveSessionRecord(
        id=row.id,
        patient_id=row.patient_id,
        source=row.source,
        opened_at=as_utc(row.opened_at),
        last_message_at=as_utc(row.last_message_at),
        last_seq=row.last_seq,
        prescription=Prescription.model_validate(row.prescription),
        closed_at=as_utc(row.closed_at),
        close_reason=row.close_reason,
    )


def _close(s: Session, row: LiveSessionRow, reason: str, now: datetime) -> None:
    """Mark closed; its observations become the recorded session ``row.id`` (none: ``empty``)."""
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
    frame = pd.DataFrame(values, columns=["t_min", "signal", "value"])
    wide = frame.pivot_table(index="t_min", columns="signal", values="value", aggfunc="last").sort_index()
    columns = [name for name in SIGNAL_SPECS if name in wide.columns]
    data = wide[columns].reset_index()
    data.columns.name = None
    data = data.astype({c: np.float64 for c in data.columns})
    return Trace(data=data, sources={c: "measured" for c in columns}, session_id=session_id)
