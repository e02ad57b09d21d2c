"""Live sessions in the store: machine messages stored durably in arrival order, duplicates recognised by
their key, a session opened by a patient's first message and closed (into a recorded session of the same id)
by the end of treatment or a timeout, and the engine's update after each message stored once.

``seq`` (the message's row number) orders everything a live session receives, observations and
acknowledgements alike, so a session is replayed exactly by reading its messages by ``seq``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from crampwatch.io.machine.messages import ERROR, MachineMessage, Refusal
from crampwatch.signals import T_MIN
from crampwatch.store import codec
from crampwatch.store.base import StoreBase, new_id
from crampwatch.store.live_ingest import append_message, close, ingest_batch, observations_trace
from crampwatch.store.live_records import (
    ACKNOWLEDGEMENT,
    OBSERVATIONS,
    IngestOutcome,
    LiveMessageRecord,
    LiveSessionRecord,
    message_record,
    session_record,
)
from crampwatch.store.schema import LiveMessageRow, LiveSessionRow, LiveUpdateRow

__all__ = [
    "ACKNOWLEDGEMENT",
    "OBSERVATIONS",
    "IngestOutcome",
    "LiveMessageRecord",
    "LiveSessionRecord",
    "LiveStore",
    "observations_trace",
]


#: ``step`` of a stored update row (rows from before steps were stored are updates).
UPDATE = "update"
_STEP = func.coalesce(LiveUpdateRow.data["step"].as_string(), UPDATE)


def _seq_window(query: Any, seq: Any, upto_seq: int | None, after_seq: int | None) -> Any:
    """``query`` limited to the rows with ``after_seq < seq <= upto_seq`` (each bound when given)."""
    if upto_seq is not None:
        query = query.where(seq <= upto_seq)
    if after_seq is not None:
        query = query.where(seq > after_seq)
    return query


class LiveStore(StoreBase):
    """Live sessions, their messages and the engine's updates."""

    def ingest_messages(
        self, messages: Sequence[MachineMessage], now: datetime | None = None
    ) -> list[IngestOutcome | Refusal]:
        """Store a batch of machine messages in one transaction (one disk sync for all); per message its
        outcome, or the :class:`Refusal` that kept it out (the others are stored all the same)."""
        with self._write() as s:
            return ingest_batch(s, messages, now or datetime.now(UTC))

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
                return IngestOutcome(message_record(found, None), row.patient_id, duplicate=True)
            t_min = s.scalar(
                select(func.max(LiveMessageRow.t_min)).where(LiveMessageRow.live_session_id == row.id)
            )
            payload = {"reason": reason, "snooze_min": float(snooze_min)}
            msg = append_message(s, row, key, ACKNOWLEDGEMENT, float(t_min or 0.0), payload, username)
            return IngestOutcome(msg, row.patient_id)

    def close_live_session(self, live_session_id: str, reason: str, now: datetime | None = None) -> bool:
        """Close an open live session (False when it was not open): its observations become the recorded
        session of the same id."""
        with self._write() as s:
            row = s.get(LiveSessionRow, live_session_id)
            if row is None or row.closed_at is not None:
                return False
            close(s, row.id, reason, now or datetime.now(UTC))
            return True

    def open_live_sessions(self, patient_id: str | None = None) -> list[LiveSessionRecord]:
        """The running sessions, oldest first."""
        query = select(LiveSessionRow).where(LiveSessionRow.closed_at.is_(None))
        if patient_id is not None:
            query = query.where(LiveSessionRow.patient_id == patient_id)
        with self._read() as s:
            return [
                session_record(r)
                for r in s.scalars(query.order_by(LiveSessionRow.opened_at, LiveSessionRow.id))
            ]

    def get_live_session(self, live_session_id: str) -> LiveSessionRecord | None:
        with self._read() as s:
            row = s.get(LiveSessionRow, live_session_id)
            return None if row is None else session_record(row)

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

    def live_messages(
        self, live_session_id: str, upto_seq: int | None = None, after_seq: int | None = None
    ) -> list[LiveMessageRecord]:
        """The session's messages in order (those with ``after_seq < seq <= upto_seq`` when given)."""
        query = _seq_window(
            select(LiveMessageRow).where(LiveMessageRow.live_session_id == live_session_id),
            LiveMessageRow.seq,
            upto_seq,
            after_seq,
        )
        with self._read() as s:
            rows = list(s.scalars(query.order_by(LiveMessageRow.seq)))
        out: list[LiveMessageRecord] = []
        for row in rows:
            out.append(message_record(row, out[-1].seq if out else after_seq))
        return out

    def live_update_steps(
        self, live_session_id: str, upto_seq: int | None = None, after_seq: int | None = None
    ) -> dict[int, str]:
        """How the engine took each of the session's messages in: seq -> ``update``, ``coalesced`` (folded
        into a later update) or ``failed`` (refused); messages without a stored update are missing."""
        query = _seq_window(
            select(LiveUpdateRow.seq, _STEP).where(LiveUpdateRow.live_session_id == live_session_id),
            LiveUpdateRow.seq,
            upto_seq,
            after_seq,
        )
        with self._read() as s:
            return {seq: step for seq, step in s.execute(query)}

    def save_live_updates(self, updates: Iterable[tuple[int, str, float, dict[str, Any]]]) -> list[bool]:
        """Store engine updates ``(seq, live_session_id, t_min, data)`` once each: per update, whether it was
        new (False: an update for that message was already stored, by this or another worker).

        Updates are derived data: on SQLite they are committed without waiting for the disk, and one lost to
        a power failure is recomputed on start (the engine replays the stored messages)."""
        # the rows are made before the write lock is taken: a worker (often run at a lower priority) holds
        # the lock only for two statements, so the ACK path's next group commit does not wait on its CPU
        rows = [
            {"seq": seq, "live_session_id": live_id, T_MIN: t_min, "data": codec.to_jsonable(data)}
            for seq, live_id, t_min, data in updates
        ]
        seqs = [r["seq"] for r in rows]
        with self._write(durable=False) as s:
            have = (
                set(s.scalars(select(LiveUpdateRow.seq).where(LiveUpdateRow.seq.in_(seqs))))
                if seqs
                else set()
            )
            added: list[bool] = []
            new_rows: list[dict[str, Any]] = []
            for row in rows:
                new = row["seq"] not in have
                if new:
                    new_rows.append(row)
                    have.add(row["seq"])
                added.append(new)
            if new_rows:
                s.execute(insert(LiveUpdateRow.__table__), new_rows)
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
            .where(LiveUpdateRow.live_session_id.in_(list(live_session_ids)), _STEP == UPDATE)
            .group_by(LiveUpdateRow.live_session_id)
            .subquery()
        )
        with self._read() as s:
            rows = s.execute(select(LiveUpdateRow).join(newest, newest.c.seq == LiveUpdateRow.seq)).scalars()
            return {r.live_session_id: dict(r.data) for r in rows}

    def live_updates(self, live_session_id: str) -> list[dict[str, Any]]:
        """Every update of a session in message order (the live timeline; not the rows of messages folded
        into a later update or refused by the engine)."""
        return self._updates(LiveUpdateRow.live_session_id == live_session_id)

    def stored_live_updates(self, seqs: Sequence[int]) -> list[dict[str, Any]]:
        """The stored engine updates (not markers) of these messages, in message order."""
        return self._updates(LiveUpdateRow.seq.in_(list(seqs)))

    def _updates(self, where: Any) -> list[dict[str, Any]]:
        """The stored updates (not markers) of the rows where ``where`` holds, in message order."""
        with self._read() as s:
            rows = s.scalars(select(LiveUpdateRow).where(where, _STEP == UPDATE).order_by(LiveUpdateRow.seq))
            return [dict(r.data) for r in rows]

    def latest_values(self, live_session_id: str) -> dict[str, tuple[float, float]]:
        """The latest value of each signal of a session: signal -> (t_min, value)."""
        latest: dict[str, tuple[float, float]] = {}
        for message in self.live_messages(live_session_id):
            for t_min, name, value in message.values:
                if name not in latest or t_min >= latest[name][0]:
                    latest[name] = (t_min, value)
        return latest
