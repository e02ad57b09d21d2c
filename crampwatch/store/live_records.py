"""Records of live sessions and their messages (plain, immutable; no database objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crampwatch.model import Prescription
from crampwatch.store.base import as_utc
from crampwatch.store.schema import LiveMessageRow, LiveSessionRow

OBSERVATIONS, ACKNOWLEDGEMENT = "observations", "acknowledgement"


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


def message_record(row: LiveMessageRow, prev_seq: int | None) -> LiveMessageRecord:
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


def session_record(row: LiveSessionRow) -> LiveSessionRecord:
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
