"""The append-only audit log: who did what to which patient's data, and which accesses were refused."""

from __future__ import annotations

from sqlalchemy import select

from crampwatch.errors import require_range
from crampwatch.store.base import StoreBase, as_utc
from crampwatch.store.records import AuditRecord
from crampwatch.store.schema import ID_LENGTH, AuditRow
from crampwatch.store.validation import require_text

MAX_AUDIT_DETAIL_CHARS = 4000


class AuditStore(StoreBase):
    """Audit entries."""

    def audit(
        self, *, username: str | None, action: str, patient_id: str | None = None, detail: str = ""
    ) -> None:
        """Append an audit entry (who did what to which patient's data)."""
        action = require_text(action, "action", 64)
        detail = _printable(str(detail or ""))[:MAX_AUDIT_DETAIL_CHARS]
        with self._write() as s:
            s.add(
                AuditRow(
                    username=None if username is None else _printable(str(username))[:64],
                    action=action,
                    patient_id=None if patient_id is None else _printable(str(patient_id))[:ID_LENGTH],
                    detail=detail,
                )
            )

    def list_audit(self, limit: int = 100, patient_id: str | None = None) -> list[AuditRecord]:
        """The latest audit entries, newest first."""
        limit = int(require_range("limit", limit, 1, 100_000))
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if patient_id is not None:
            query = query.where(AuditRow.patient_id == patient_id)
        with self._read() as s:
            return [
                AuditRecord(
                    id=r.id,
                    at=as_utc(r.at),
                    username=r.username,
                    action=r.action,
                    patient_id=r.patient_id,
                    detail=r.detail,
                )
                for r in s.scalars(query)
            ]


def _printable(text: str) -> str:
    """Text an attacker chose, made safe to store: no NUL or other control characters, valid UTF-8."""
    cleaned = "".join(c if c.isprintable() else "?" for c in text)
    return cleaned.encode("utf-8", "replace").decode("utf-8")
