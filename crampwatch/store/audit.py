"""The append-only audit log: who did what to which patient's data, and which accesses were refused."""

from __future__ import annotations

from sqlalchemy import select

from crampwatch.errors import require_range
from crampwatch.store.base import StoreBase, as_utc
from crampwatch.store.records import AuditRecord
from crampwatch.store.schema import ID_LENGTH, AuditRow
from crampwatch.store.validation import require_text

MAX_AUDIT_DETAIL_CHARS = 4000

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
    "train_unit_model": "Trained the unit model",
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
