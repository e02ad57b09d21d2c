"""The append-only audit log: who did what to which patient's data, and which accesses were refused.

Entries of logged-in users are written at once and durably: :meth:`AuditStore.audit` returns only after its
entry is committed. Entries handed in by concurrent requests of one process share a transaction (group
commit, :mod:`crampwatch.store.group_commit`), so that page views do not queue behind each other's commit.

Anonymous refusals (failed logins, refused logins, missing CSRF tokens before login) arrive as counts per
kind, client and minute (:meth:`AuditStore.audit_counts`), so that no client without an account can make
the log grow by one row per request; such count rows are deleted after :data:`AGGREGATE_RETENTION` (every
other entry is kept).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from crampwatch.errors import InputError, require_range
from crampwatch.store.base import StoreBase, as_utc
from crampwatch.store.group_commit import GroupCommit
from crampwatch.store.records import AuditRecord
from crampwatch.store.schema import ID_LENGTH, AuditPatientRow, AuditRow, utcnow
from crampwatch.store.validation import require_text

MAX_AUDIT_DETAIL_CHARS = 4000
#: Patient ids recorded for one view of a list (the largest unit's patient list; modelling choice).
MAX_LISTED_PATIENTS = 5000
#: Anonymous count rows are kept 90 days (modelling choice: a quarter, enough to trace an attack).
AGGREGATE_RETENTION = timedelta(days=90)
#: The most entries one page of the audit log holds.
MAX_AUDIT_PAGE = 1000


@dataclass(frozen=True)
class AuditCount:
    """``count`` anonymous events of kind ``action`` from ``client`` in the minute starting at ``minute``."""

    action: str
    client: str
    minute: datetime
    count: int
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditQuery:
    """Filters and paging of :meth:`AuditStore.list_audit` (every filter optional)."""

    limit: int = 100
    before_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    username: str | None = None
    action: str | None = None
    patient_id: str | None = None

#: What each audit action means, as the audit log view shows it (an action without an entry is shown as
#: its words, never as its identifier).
AUDIT_ACTION_LABELS: dict[str, str] = {
    "login": "Logged in",
    "login_failed": "Login failed",
    "login_limited": "Login refused: too many attempts",
    "logout": "Logged out",
    "password_changed": "Changed the password",
    "password_change_failed": "Password change failed",
    "password_change_limited": "Password change refused: too many attempts",
    "access_denied": "Access refused",
    "csrf_refused": "Request refused: form token missing or invalid",
    "list_patients": "Viewed the patient list",
    "view_patient": "Viewed a patient",
    "view_own_record": "Viewed own record",
    "view_sessions": "Viewed the sessions of a patient",
    "view_session": "Viewed a session",
    "view_assessment": "Viewed a session assessment",
    "view_reports": "Viewed cramp reports",
    "view_trend": "Viewed the trend across sessions",
    "unit_overview": "Viewed the unit overview",
    "view_twin": "Viewed the patient twin",
    "refit_twin": "Fitted the patient twin",
    "report_cramp": "Reported a cramp",
    "whatif": "Ran a what-if simulation",
    "optimize": "Searched prescriptions",
    "view_admin": "Viewed users and audit log",
    "list_users": "Listed the users",
    "view_audit": "Viewed the audit log",
    "add_user": "Added a user",
    "end_sessions": "Ended the login sessions of a user",
    "train_unit_model": "Trained the unit model (not yet in use)",
    "start_training": "Started training the unit model",
    "view_unit_model": "Viewed the unit model card",
    "activate_unit_model": "Put a unit model in use",
    "deactivate_unit_model": "Stopped using the unit model",
    "cli_add_user": "Added a user (command line)",
    "cli_set_password": "Set a password (command line)",
    "cli_end_sessions": "Ended login sessions (command line)",
    "cli_export": "Exported a patient record (command line)",
    "view_chairs": "Viewed the running chairs",
    "view_live_session": "Viewed the live timeline of a running session",
    "live_alert_acknowledged": "Acknowledged a chairside alert",
    "live_message_refused": "Machine message refused",
}


def audit_action_label(action: str) -> str:
    """The audit log's words for ``action`` ("view_trend" -> "Viewed the trend across sessions"); an action
    without a label is shown as its words ("some_action" -> "Some action")."""
    label = AUDIT_ACTION_LABELS.get(action)
    if label is not None:
        return label
    words = action.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


#: The statement that appends entries (``count`` takes its column default).
_INSERT_ENTRY = insert(AuditRow.__table__)
_INSERT_LISTED = insert(AuditPatientRow.__table__)


@dataclass(frozen=True)
class _Entry:
    row: dict[str, Any]
    listed: tuple[str, ...]


class AuditStore(StoreBase):
    """Audit entries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._entries: GroupCommit[_Entry] = GroupCommit(self._append_entries)

    def audit(
        self,
        *,
        username: str | None,
        action: str,
        patient_id: str | None = None,
        detail: str = "",
        patient_ids: Iterable[str] = (),
    ) -> None:
        """Append an audit entry (who did what to which patient's data; ``patient_ids``: the patients a
        list view showed)."""
        action = require_text(action, "action", 64)
        detail = _printable(str(detail or ""))[:MAX_AUDIT_DETAIL_CHARS]
        listed = sorted({_printable(str(p))[:ID_LENGTH] for p in patient_ids})[:MAX_LISTED_PATIENTS]
        row = {
            "at": utcnow(),
            "username": None if username is None else _printable(str(username))[:64],
            "action": action,
            "patient_id": None if patient_id is None else _printable(str(patient_id))[:ID_LENGTH],
            "detail": detail,
        }
        self._entries.submit(_Entry(row, tuple(listed)))

    def _append_entries(self, entries: Sequence[_Entry]) -> None:
        """Write ``entries`` in one durable transaction, in the order given (prebuilt INSERTs, no unit of
        work: every page view writes an entry)."""
        with self._write() as s:
            conn = s.connection()
            for has_list, run in itertools.groupby(entries, key=lambda e: bool(e.listed)):
                if not has_list:
                    conn.execute(_INSERT_ENTRY, [e.row for e in run])
                    continue
                for e in run:
                    audit_id = conn.execute(_INSERT_ENTRY, e.row).inserted_primary_key[0]
                    conn.execute(_INSERT_LISTED, [{"audit_id": audit_id, "patient_id": p} for p in e.listed])

    def audit_counts(self, counts: Sequence[AuditCount]) -> None:
        """Write anonymous events as one row per kind, client and minute (``count``), in one transaction;
        count rows older than :data:`AGGREGATE_RETENTION` are deleted."""
        if not counts:
            return
        with self._write() as s:
            for c in counts:
                detail = f"ip={_printable(c.client)[:100]}"
                if c.accounts:
                    detail += "; accounts: " + ", ".join(_printable(a)[:64] for a in c.accounts)
                s.add(
                    AuditRow(
                        at=c.minute,
                        username=None,
                        action=require_text(c.action, "action", 64),
                        detail=detail[:MAX_AUDIT_DETAIL_CHARS],
                        count=int(c.count),
                    )
                )
            s.execute(
                delete(AuditRow).where(
                    AuditRow.username.is_(None),
                    AuditRow.action.in_(sorted({c.action for c in counts})),
                    AuditRow.at < utcnow() - AGGREGATE_RETENTION,
                )
            )

    def list_audit(
        self, limit: int = 100, patient_id: str | None = None, *, query: AuditQuery | None = None
    ) -> list[AuditRecord]:
        """Audit entries, newest first, filtered and paged by ``query`` (``before_id``: entries older than
        that one, for the next page). A patient filter also finds the list views that showed the patient."""
        q = query or AuditQuery(limit=limit, patient_id=patient_id)
        n = int(require_range("limit", q.limit, 1, 100_000))
        stmt = select(AuditRow).where(*_filters(q)).order_by(AuditRow.id.desc()).limit(n)
        with self._read() as s:
            rows = list(s.scalars(stmt))
            listed = _listed_patients(s, [r.id for r in rows])
        return [
            AuditRecord(
                id=r.id,
                at=as_utc(r.at),
                username=r.username,
                action=r.action,
                patient_id=r.patient_id,
                detail=r.detail,
                count=r.count or 1,
                patient_ids=listed.get(r.id, ()),
            )
            for r in rows
        ]


def _filters(q: AuditQuery) -> list[object]:
    if q.since is not None and q.until is not None and q.since > q.until:
        raise InputError("since: after until (allowed since <= until)", "since")
    filters: list[object] = []
    if q.before_id is not None:
        filters.append(AuditRow.id < q.before_id)
    if q.since is not None:
        filters.append(AuditRow.at >= q.since)
    if q.until is not None:
        filters.append(AuditRow.at <= q.until)
    if q.username is not None:
        filters.append(AuditRow.username == q.username)
    if q.action is not None:
        filters.append(AuditRow.action == q.action)
    if q.patient_id is not None:
        shown = select(AuditPatientRow.audit_id).where(AuditPatientRow.patient_id == q.patient_id)
        filters.append(or_(AuditRow.patient_id == q.patient_id, AuditRow.id.in_(shown)))
    return filters


def _listed_patients(s: Session, ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not ids:
        return {}
    out: dict[int, list[str]] = {}
    rows = s.execute(
        select(AuditPatientRow.audit_id, AuditPatientRow.patient_id)
        .where(AuditPatientRow.audit_id.in_(ids))
        .order_by(AuditPatientRow.patient_id)
    )
    for audit_id, pid in rows:
        out.setdefault(audit_id, []).append(pid)
    return {k: tuple(v) for k, v in out.items()}


def _printable(text: str) -> str:
    """Text an attacker chose, made safe to store: no NUL or other control characters, valid UTF-8."""
    cleaned = "".join(c if c.isprintable() else "?" for c in text)
    return cleaned.encode("utf-8", "replace").decode("utf-8")
